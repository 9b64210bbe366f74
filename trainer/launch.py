"""Launching the trainer under torchrun: ``checkout train … --nproc-per-node N`` re-runs itself as
``torchrun --nproc-per-node N -m trainer …`` (rendezvous on 127.0.0.1) (``python -m trainer`` = ``checkout train``).

Multi-node jobs call torchrun directly on every node (see docs/distributed.md); this module builds the same
command lines, so what the docs show is what the code runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Sequence

#: ``checkout train`` options that belong to the launcher, not to the workers
LAUNCHER_OPTIONS = ("--nproc-per-node",)


def strip_launcher_options(argv: Sequence[str]) -> list[str]:
    """``argv`` without ``--nproc-per-node N`` / ``--nproc-per-node=N``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in LAUNCHER_OPTIONS:
            skip = True
            continue
        if any(a.startswith(o + "=") for o in LAUNCHER_OPTIONS):
            continue
        out.append(a)
    return out


def train_argv(argv: Sequence[str] | None = None) -> list[str]:
    """The ``checkout train`` arguments of this process (everything after the ``train`` command word)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "train" not in argv:
        raise ValueError(f"no 'train' command in {argv!r}")
    return strip_launcher_options(argv[argv.index("train") + 1 :])


def torchrun_command(train_args: Sequence[str], nproc_per_node: int, nnodes: int = 1, node_rank: int = 0,
                     master_addr: str | None = None, master_port: int | None = None, max_restarts: int = 0,
                     rdzv_id: str | None = None) -> list[str]:
    """``python -m torch.distributed.run … -m trainer TRAIN_ARGS`` for one node of a job.

    One node without a master address rendezvouses privately on 127.0.0.1 and a free port (what torchrun's
    ``--standalone`` does, on the loopback address only). Otherwise the rendezvous is torchrun's store on
    ``master_addr:master_port`` (node rank 0 hosts it).
    """
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc_per_node)]
    if nnodes == 1 and master_addr is None:
        cmd += ["--nnodes", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", "127.0.0.1:0",
                "--rdzv-id", rdzv_id or uuid.uuid4().hex[:12]]
    else:
        if master_addr is None or master_port is None:
            raise ValueError("a multi-node launch needs master_addr and master_port")
        cmd += ["--nnodes", str(nnodes), "--node-rank", str(node_rank), "--master-addr", master_addr,
                "--master-port", str(master_port)]
        if rdzv_id:
            cmd += ["--rdzv-id", rdzv_id]
    if max_restarts:
        cmd += ["--max-restarts", str(max_restarts)]
    return cmd + ["-m", "trainer", *train_args]


def relaunch_with_torchrun(nproc_per_node: int, argv: Sequence[str] | None = None,
                           max_restarts: int | None = None) -> int:
    """Run this ``checkout train`` command as ``nproc_per_node`` DDP processes on this machine; their exit code.

    ``max_restarts`` (default: ``$CHECKOUT_MAX_RESTARTS`` or 0) lets torchrun restart the workers after a
    failure; they resume from the run's last checkpoint.
    """
    if nproc_per_node < 1:
        from kiosk.errors import UserError

        raise UserError(f"--nproc-per-node {nproc_per_node}: at least 1")
    if max_restarts is None:
        max_restarts = int(os.environ.get("CHECKOUT_MAX_RESTARTS", "0") or 0)
    cmd = torchrun_command(train_argv(argv), nproc_per_node, max_restarts=max_restarts)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc_per_node)))
    print("launching:", " ".join(cmd[2:]), flush=True)
    return subprocess.run(cmd, env=env).returncode
