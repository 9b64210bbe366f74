"""Launching the trainer under torchrun: ``checkout train … --nproc-per-node N`` re-runs itself as
``torchrun --nproc-per-node N -m trainer …`` (rendezvous on 127.0.0.1) (``python -m trainer`` = ``checkout train``).

Multi-node jobs call torchrun directly on every node (see docs/distributed.md); this module builds the same
command lines, so what the docs show is what the code runs.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

#: ``checkout train`` options that belong to the launcher, not to the workers
LAUNCHER_OPTIONS = ("--nproc-per-node",)
#: the folder a launch gives its workers (``trainer/__main__.py``): a rank that refuses its input leaves ``rank-N``
REFUSALS_ENV = "CHECKOUT_REFUSALS"


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
    ``master_addr:master_port`` (node rank 0 hosts it), its join bounded by the workers' ``--rdzv-timeout``
    (default 300 s): torchrun's own rendezvous comes before any worker starts, so without ``--rdzv-conf`` a node
    whose peers never come waits torchrun's 900 s (static) / 600 s (c10d) first.
    """
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc_per_node)]
    if nnodes == 1 and master_addr is None:
        cmd += ["--nnodes", "1", "--rdzv-backend", "c10d", "--rdzv-endpoint", "127.0.0.1:0",
                "--rdzv-id", rdzv_id or uuid.uuid4().hex[:12]]
    else:
        if master_addr is None or master_port is None:
            raise ValueError("a multi-node launch needs master_addr and master_port")
        cmd += ["--nnodes", str(nnodes), "--node-rank", str(node_rank), "--master-addr", master_addr,
                "--master-port", str(master_port), "--rdzv-conf", rdzv_conf(_rdzv_timeout(train_args))]
        if rdzv_id:
            cmd += ["--rdzv-id", rdzv_id]
    if max_restarts:
        cmd += ["--max-restarts", str(max_restarts)]
    return cmd + ["-m", "trainer", *train_args]


def rdzv_conf(timeout_s: float) -> str:
    """torchrun's ``--rdzv-conf`` bounding its rendezvous: ``timeout`` is the static rendezvous' (``--master-addr``:
    node rank 0's store waits that long for the other nodes, they that long to reach it), ``join_timeout`` the
    c10d rendezvous' (``--rdzv-backend c10d``)."""
    seconds = max(1, math.ceil(timeout_s))
    return f"timeout={seconds},join_timeout={seconds}"


def _rdzv_timeout(train_args: Sequence[str], default: float = 300.0) -> float:
    """The ``--rdzv-timeout`` among the workers' arguments (their option's default if none)."""
    args = list(train_args)
    for i, a in enumerate(args):
        if a == "--rdzv-timeout" and i + 1 < len(args):
            return float(args[i + 1])
        if a.startswith("--rdzv-timeout="):
            return float(a.split("=", 1)[1])
    return default


def relaunch_with_torchrun(nproc_per_node: int, argv: Sequence[str] | None = None,
                           max_restarts: int | None = None) -> int:
    """Run this ``checkout train`` command as ``nproc_per_node`` DDP processes on this machine; 0, or after one
    ``checkout: error:`` line, 2 when a worker refused its input (its own error line) and 1 for any other failure
    (a crash, a signal).

    ``max_restarts`` (default: ``$CHECKOUT_MAX_RESTARTS`` or 0) lets torchrun restart the workers after a
    failure; they resume from the run's last checkpoint. SIGTERM and SIGINT to this process are passed on to torchrun
    (which stops its workers), and this process waits for it. Once a worker fails, torchrun's and the workers'
    tracebacks go to a log file the error line names, not to the terminal.
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
    with tempfile.TemporaryDirectory(prefix="checkout-refusals-") as marks:
        proc = subprocess.Popen(cmd, env={**env, REFUSALS_ENV: marks}, stderr=subprocess.PIPE, text=True,
                                errors="replace", bufsize=1)
        received: list[int] = []
        with _forwarding_signals(proc, received):
            held = _relay_stderr(proc.stderr)
            rc = proc.wait()
        names = [p.name.removeprefix("rank-") for p in Path(marks).glob("rank-*")]
        refused = sorted(int(n) for n in names if n.isascii() and n.isdigit())
    if rc == 0:
        sys.stderr.writelines(held)  # a failure torchrun recovered from (--max-restarts): keep its report visible
        return 0
    line, status = failure_line(held, rc, received, refused)
    print(f"checkout: error: {line}{_saved(held)}", file=sys.stderr, flush=True)
    return status


#: a line from which on the workers' and torchrun's output is a failure report (kept in a file, not shown)
_FAILING = re.compile(r"^(\[rank\d+\]:\s*)?Traceback \(most recent call last\)|^checkout: error:|failed \(exitcode:")


def _relay_stderr(stream) -> list[str]:
    """Copy torchrun's stderr through until a failure begins; return the failure's lines (held back)."""
    held: list[str] = []
    for text in stream:
        if held or _FAILING.search(text):
            held.append(text)
        else:
            sys.stderr.write(text)
            sys.stderr.flush()
    return held


@contextmanager
def _forwarding_signals(proc: subprocess.Popen, received: list[int]):
    """While torchrun runs, SIGTERM/SIGINT to this launcher go to torchrun (it stops its workers) and are noted."""
    def forward(signum, _frame):
        received.append(signum)
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, forward)
        except ValueError:  # not the main thread: signals stay with their default handling
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def failure_line(held: list[str], rc: int, received: list[int], refused: Sequence[int] = ()) -> tuple[str, int]:
    """(the one line that says why the job failed, the exit status): which rank, its exit code or signal, and the
    first ``checkout: error:`` a worker printed; status 2 when that worker refused its input, else 1. ``refused``:
    the ranks that said they refused (their marks): the lowest is named, whatever torchrun saw first (it may have
    stopped that rank with SIGTERM while it was exiting, after a peer lost its connection)."""
    if received:
        return (f"stopped by {signal.Signals(received[0]).name}; torchrun and its workers have exited "
                f"(exit code {rc})"), 1
    text = "".join(held)
    own = next((t.strip().split("checkout: error:", 1)[1].strip() for t in held if "checkout: error:" in t), None)
    if own is not None and refused:
        return f"rank {min(refused)} exited with code 2: {own}", 2
    rank, exit_code = _failed_rank(text, refused=own is not None)
    who = f"rank {rank}" if rank is not None else "a worker"
    if exit_code is not None and exit_code < 0:
        how = f"was killed by {_signal_name(-exit_code)}"
    else:
        how = f"exited with code {exit_code if exit_code is not None else rc}"
    return (f"{who} {how}: {own}" if own else f"{who} {how}"), (2 if own and exit_code == 2 else 1)


def _failed_rank(text: str, *, refused: bool) -> tuple[int | None, int | None]:
    """(rank, exit code) of the failure to name from torchrun's report: when a worker refused its input (exit code
    2), the lowest such rank — the others only went down with it, and which of them torchrun saw first is a race —
    else its root cause."""
    failures = [(int(r), int(c)) for r, c in  # a report's own lines, not "failed (exitcode: 1) local_rank: 1" in a log
                re.findall(r"^\s*rank\s*:\s*(\d+).*?^\s*exitcode\s*:\s*(-?\d+)", text, re.S | re.M)]
    refusals = sorted(f for f in failures if f[1] == 2)
    if refused and refusals:
        return refusals[0]
    root = text.split("Root Cause", 1)[-1]
    rank = re.search(r"^\s*rank\s*:\s*(\d+)", root, re.M)
    code = re.search(r"^\s*exitcode\s*:\s*(-?\d+)", root, re.M)
    return (int(rank.group(1)) if rank else None), (int(code.group(1)) if code else None)


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def _saved(held: list[str]) -> str:
    """Where the held-back report went (a temporary file), as the error line's tail."""
    if not held:
        return ""
    fd, path = tempfile.mkstemp(prefix="checkout-torchrun-", suffix=".log")
    with os.fdopen(fd, "w") as fh:
        fh.writelines(held)
    return f" (the workers' and torchrun's report: {path})"
