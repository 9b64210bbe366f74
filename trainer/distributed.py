"""Distributed setup from the environment (torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_*).

A single process is the same code path: ``world_size == 1``, ``rank == 0``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str = "cpu", backend: str | None = None, timeout_s: float = 1800,
                     rdzv_timeout_s: float = 300) -> DistInfo:
    """Join the process group described by the environment; one process (no ``RANK``) is a no-op.

    Reaching the rendezvous store at ``MASTER_ADDR:MASTER_PORT`` is bounded by ``rdzv_timeout_s``; failing to
    raises :class:`kiosk.errors.UserError` naming that host and port. ``timeout_s`` bounds collectives.
    """
    if "RANK" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return DistInfo()
    import datetime

    from torch.distributed import rendezvous

    from kiosk.errors import UserError

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    backend = backend or ("nccl" if device.startswith("cuda") else "gloo")
    if backend == "smddp":
        try:
            import smdistributed.dataparallel.torch.torch_smddp  # noqa: F401  registers the backend
        except ImportError:
            raise UserError("--dist-backend smddp: SageMaker's smdistributed.dataparallel is not installed "
                            "(it exists only in SageMaker's GPU training images)") from None
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
    missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise UserError(f"RANK={rank} WORLD_SIZE={world} but {' and '.join(missing)} {verb} not set: "
                        "launch through torchrun (or checkout train --nproc-per-node N), or set "
                        "MASTER_ADDR and MASTER_PORT to node rank 0's address and a free port")
    host, port = os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"]
    try:
        store, rank, world = next(rendezvous("env://", rank, world,
                                             timeout=datetime.timedelta(seconds=rdzv_timeout_s)))
        if os.environ.get("TORCHELASTIC_USE_AGENT_STORE", "").lower() == "true":
            store = _fresh_group_store(store, rank, world, host, rdzv_timeout_s)
        store.set_timeout(datetime.timedelta(seconds=timeout_s))
        dist.init_process_group(backend, store=store, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout_s))
    except (RuntimeError, TimeoutError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise UserError(f"rank {rank} of {world}: cannot reach the rendezvous at {host}:{port} within "
                        f"{rdzv_timeout_s:g}s ({first[:200]}); check MASTER_ADDR/MASTER_PORT, that node rank 0 "
                        f"is running and that the port is open") from None
    return DistInfo(rank, world, local, backend)


def _fresh_group_store(agent_store, rank: int, world: int, host: str, timeout_s: float):
    """A key-value store of this start of the workers' own, for ``init_process_group``.

    torchrun's agent keeps one store for the workers across restarts, so after ``--max-restarts`` kicks in, a
    new rank can read the gloo/NCCL addresses the previous (dead) ranks left there and hang connecting to them
    (seen here with plain ``init_process_group`` too). Rank 0 therefore opens a new store on a free port of its
    host (``MASTER_ADDR``) and publishes the port in the agent's store; the other ranks connect to the published
    port, and a stale one (its server died with the previous rank 0) is refused, re-read and retried.
    """
    import datetime
    import time

    key = "checkout/worker_store_port"
    if rank == 0:
        own = dist.TCPStore(host, 0, world, is_master=True, wait_for_workers=False,
                            timeout=datetime.timedelta(seconds=timeout_s))
        agent_store.set(key, str(own.port))
        return own
    deadline = time.monotonic() + timeout_s
    while True:
        port = int(agent_store.get(key))  # waits (up to the store's timeout) for the first rank 0 to publish
        try:
            return dist.TCPStore(host, port, world, is_master=False, wait_for_workers=False,
                                 timeout=datetime.timedelta(seconds=max(1.0, min(3.0, deadline - time.monotonic()))))
        except (RuntimeError, TimeoutError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # the previous rank 0's port: wait for this start's rank 0 to publish its own


def is_main_process() -> bool:
    return not dist.is_initialized() or dist.get_rank() == 0


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


@contextmanager
def rank_zero_first(info: DistInfo):
    """Rank 0 runs the block while the other ranks wait, then they run it (e.g. reading the caches it wrote)."""
    if not info.is_main:
        barrier()
    yield
    if info.is_main:
        barrier()


#: backends whose collectives take CPU tensors; the others (nccl, smddp …) take only tensors on the GPU
CPU_BACKENDS = ("gloo", "mpi")


def reduction_device(backend: str, device: str | torch.device) -> torch.device:
    """Where a collective of a process group on ``backend`` runs, for a model on ``device``: the CPU under gloo or
    MPI (no copy to and from the GPU), the model's device otherwise (NCCL refuses CPU tensors)."""
    return torch.device("cpu") if backend in CPU_BACKENDS else torch.device(device)


def all_reduce_sum(values: list[float], device: str | torch.device = "cpu") -> list[float]:
    """Sum plain numbers across ranks (metrics); identity for one process.

    ``device``: the model's device; the sum is taken on :func:`reduction_device` of the process group's backend.
    """
    if not dist.is_initialized():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=reduction_device(dist.get_backend(), device))
    dist.all_reduce(t)
    return t.tolist()


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def agree_across_ranks(info: DistInfo, facts: dict, what: str) -> None:
    """Every rank's ``facts`` (small, picklable: digests, counts, names) equal rank 0's, or every rank raises the
    same :class:`kiosk.errors.UserError` naming the first rank (and its node and host) that differs and how.

    One collective right after joining, before anything is built on the facts: ranks that disagree (another
    manifest, another checkpoint) would otherwise train silently apart or hang in DDP. ``facts`` may carry an
    ``"error"``: a rank that could not compute its facts fails the whole job at once instead of leaving the others
    waiting in the next collective.
    """
    if not info.distributed or not dist.is_initialized():
        if facts.get("error"):
            from kiosk.errors import UserError

            raise UserError(facts["error"])
        return
    import socket

    from kiosk.errors import UserError

    mine = {**facts, "_node": os.environ.get("GROUP_RANK", "?"), "_host": socket.gethostname()}
    gathered: list = [None] * info.world_size
    dist.all_gather_object(gathered, mine)
    for rank, theirs in enumerate(gathered):
        if theirs.get("error"):
            raise UserError(f"rank {rank} (node {theirs['_node']}, {theirs['_host']}): {theirs['error']}")
    ref = gathered[0]
    for rank, theirs in enumerate(gathered[1:], start=1):
        diff = [k for k in ref if not k.startswith("_") and theirs.get(k) != ref[k]]
        if diff:
            shown = "; ".join(_differ(k, theirs.get(k), ref[k]) for k in diff)
            where = (f" (rank {rank} reads {theirs.get('_where')}, rank 0 {ref.get('_where')})"
                     if "_where" in ref else "")
            raise UserError(f"rank {rank} (node {theirs['_node']}, {theirs['_host']}) and rank 0 (node "
                            f"{ref['_node']}, {ref['_host']}) disagree on {what}: {shown}{where}; every node must "
                            "train on the same data from the same run")


def _differ(key: str, theirs, ref) -> str:
    """How one fact differs: for two lists the items only one side has (or "another order"), else both values."""
    if isinstance(theirs, list) and isinstance(ref, list):
        only, missing = [x for x in theirs if x not in ref], [x for x in ref if x not in theirs]
        parts = [f"{_short(only)} only here" if only else "", f"{_short(missing)} only on rank 0" if missing else ""]
        return f"{key}: {'; '.join(p for p in parts if p) or 'the same items in another order'}"
    return f"{key}: {_short(theirs)} (rank 0: {_short(ref)})"


def _short(value, limit: int = 160) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
