"""``checkout bench allocator``: the trainer's training step with glibc's default allocator against freed memory
kept for reuse (:mod:`trainer.allocator`, what ``checkout train`` does).

The setting belongs to a process, so each side runs in a child process of its own: the same network, frozen stages,
batch and random input, ``--steps`` timed steps after two untimed ones. Rounds alternate which side goes first, so
load that comes and goes falls on both alike. Each child reports its step times and its user and kernel CPU seconds
(``getrusage``): the kernel's share is the time spent faulting in fresh pages.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

from kiosk.errors import UserError

SIDES = ("default", "kept")
LABELS = {"default": "glibc's default (large blocks mmapped, unmapped when freed)",
          "kept": "freed memory kept for reuse (the trainer's)"}


def _child_args(args, side: str) -> list[str]:
    return [sys.executable, "-m", "trainer.bench_allocator", side, "--arch", args.arch, "--batch-size",
            str(args.batch_size), "--img-size", str(args.img_size), "--steps", str(args.steps), "--threads",
            str(args.threads), "--freeze", str(args.freeze)]


def _run_side(args, side: str) -> dict:
    try:
        done = subprocess.run(_child_args(args, side), capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        raise UserError(f"bench allocator: the {side} side ran past {args.timeout} s; fewer --steps or a smaller "
                        "--img-size") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise UserError(f"bench allocator: the {side} side failed (exit {done.returncode}): {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_allocator(args) -> int:
    """Interleaved rounds of both sides; prints each side's median step, its kernel CPU share and the ratio."""
    import torch

    from trainer.models import DEFAULT_FREEZE

    args.threads = args.threads or torch.get_num_threads()
    args.freeze = DEFAULT_FREEZE.get(args.arch, 0) if args.freeze is None else args.freeze
    runs: dict[str, list[dict]] = {side: [] for side in SIDES}
    for r in range(args.rounds):
        for side in SIDES if r % 2 == 0 else SIDES[::-1]:
            runs[side].append(_run_side(args, side))
    print(f"{args.arch}, batch {args.batch_size}, {args.img_size} px, {args.freeze} frozen stages, {args.threads} "
          f"threads, {args.rounds} interleaved rounds of {args.steps} timed training steps, one child process each")
    median = {}
    for side in SIDES:
        median[side] = statistics.median(ms for run in runs[side] for ms in run["ms"])
        user, kernel = (sum(run[k] for run in runs[side]) for k in ("user", "sys"))
        print(f"  {LABELS[side]:60s} step p50 {median[side]:7.0f} ms  kernel {kernel / (user + kernel):4.0%} of "
              "its CPU")
    print(f"  step time, default / kept: {median['default'] / median['kept']:.2f}x (above 1: keeping is faster)")
    return 0


def _child(argv: list[str]) -> None:
    """One side: ``--steps`` timed training steps; prints {"ms": [...], "user": s, "sys": s} as one JSON line."""
    p = argparse.ArgumentParser()
    p.add_argument("side", choices=SIDES)
    for name in ("--batch-size", "--img-size", "--steps", "--threads", "--freeze"):
        p.add_argument(name, type=int)
    p.add_argument("--arch")
    a = p.parse_args(argv)
    if a.side == "kept":
        from trainer.allocator import keep_freed_memory

        keep_freed_memory()
    import torch

    from trainer.bench import bench_model, make_step

    torch.set_num_threads(a.threads)
    step = make_step(bench_model(a.arch, 81, a.freeze, True), a.arch, a.freeze, True)
    x, y = torch.randn(a.batch_size, 3, a.img_size, a.img_size), torch.randint(0, 81, (a.batch_size,))
    ms = []
    start = resource.getrusage(resource.RUSAGE_SELF)
    for i in range(a.steps + 2):
        t0 = time.perf_counter()
        step(x, y)
        if i >= 2:
            ms.append((time.perf_counter() - t0) * 1000)
    end = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"ms": ms, "user": end.ru_utime - start.ru_utime, "sys": end.ru_stime - start.ru_stime}))


if __name__ == "__main__":
    try:
        _child(sys.argv[1:])
    except UserError as e:  # an unknown --arch, a --freeze beyond its stages: the parent prints this line
        print(e, file=sys.stderr)
        sys.exit(2)
