"""``checkout bench startup``: how long a new kiosk process takes to show its first suggestion, and its memory.

Each run starts a fresh process (``python -m kiosk.bench_startup --child …``) that does what ``checkout kiosk``
does with a window — imports, opens catalog, store, scale and bundle (:meth:`CheckoutService.from_config`),
builds and shows the window (Qt, offscreen unless a display is asked for), starts live mode on the camera
replay — and reports, on ``CLOCK_MONOTONIC`` (one clock for all processes), when each step was done and when
the first suggestion reached the window, plus its resident memory then (``VmRSS``) and at its peak
(``VmHWM``; with ``--whole-replay`` the process runs the whole basket before it reports its peak). The parent
takes its clock just before it starts the child, so ``total`` counts Python's own start-up too. The report gives
the median over ``--runs`` and each run.

The camera replay sets when the first item appears: the item trigger learns the empty tray from 5 still
frames and fires after 5 still frames of the item, so with the demo replay at 30 fps (``hold=8``) the item
is on the tray 0.27 s after the camera opened and fires at frame 13 (0.43 s); ``camera_first_item_s`` is
printed next to the totals so the kiosk's own share can be read off.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from kiosk.subcommands import bounded

__all__ = ["run_startup_bench", "format_startup", "DEFAULT_CAMERA"]

DEFAULT_CAMERA = "folder:assets/demo/camera?fps=30&hold=8"
STEPS = ("imported", "service_opened", "window_shown", "first_suggestion")


def _memory_mb() -> dict[str, float]:
    out = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def _child(args) -> int:
    """Runs in the measured process: the window on a real service, until its first suggestion."""
    marks = {}
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from kiosk.config import KioskConfig
    from kiosk.services import CheckoutService
    from kiosk.ui.app import build_window

    marks["imported"] = time.monotonic()
    config = KioskConfig(bundle=args.bundle, catalog=args.catalog, store=args.store, captures=args.captures,
                         camera=args.camera, scale=args.scale)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with CheckoutService.from_config(config) as service:
        marks["service_opened"] = time.monotonic()
        window, bridge = build_window(service, config)
        window.resize(1280, 800)
        window.show()
        app.processEvents()
        marks["window_shown"] = time.monotonic()

        def first(_event) -> None:
            if "first_suggestion" not in marks:
                app.processEvents()  # the tiles are laid out and painted
                marks["first_suggestion"] = time.monotonic()
                memory.update(_memory_mb())
                if not args.whole_replay:
                    QTimer.singleShot(0, app.quit)

        def replay_over() -> None:
            capture = service.capture
            if capture is not None and capture.state.finished:
                app.quit()

        memory: dict[str, float] = {}
        bridge.suggestions_ready.connect(first)
        QTimer.singleShot(int(args.timeout * 1000), app.quit)
        poll = QTimer(interval=100, timeout=replay_over)
        if args.whole_replay:
            poll.start()
        service.start()
        app.exec()
        service.stop()
    # the kernel updates VmHWM lazily: it can read below an RSS seen earlier
    peak = max(_memory_mb().get("VmHWM", 0.0), memory.get("VmRSS", 0.0), memory.get("VmHWM", 0.0))
    print(json.dumps({"marks": marks, "memory_mb": {**memory, "VmHWM": peak}}))
    return 0 if "first_suggestion" in marks else 1


def _one_run(args, folder: Path, n: int) -> dict:
    env = dict(os.environ)
    if not args.display:
        env["QT_QPA_PLATFORM"] = "offscreen"
    cmd = [sys.executable, "-m", "kiosk.bench_startup", "--child", "--bundle", str(args.bundle), "--catalog",
           str(args.catalog), "--store", str(folder / f"kiosk-{n}.sqlite"), "--captures", str(folder / "captures"),
           "--camera", args.camera, "--scale", args.scale, "--timeout", str(args.timeout)]
    if args.whole_replay:
        cmd.append("--whole-replay")
    t0 = time.monotonic()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout + 60)
    if done.returncode != 0:
        from kiosk.errors import UserError

        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if time.monotonic() - t0 < args.timeout:  # it stopped by itself: its reason, not a wait it never made
            raise UserError(f"bench startup: run {n}: the kiosk stopped before its first suggestion ({tail})")
        raise UserError(f"bench startup: run {n} saw no suggestion within {args.timeout} s ({tail})")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    steps = {k: report["marks"][k] - t0 for k in STEPS}
    return {"steps_s": steps, "memory_mb": report["memory_mb"]}


def run_startup_bench(args) -> dict:
    import tempfile

    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        for n in range(args.runs):
            runs.append(_one_run(args, Path(tmp), n))
    median = {k: statistics.median(r["steps_s"][k] for r in runs) for k in STEPS}
    rss = statistics.median(r["memory_mb"].get("VmRSS", float("nan")) for r in runs)
    peak = max(r["memory_mb"].get("VmHWM", float("nan")) for r in runs)
    return {"camera": args.camera, "bundle": str(args.bundle), "runs": runs, "median_s": median,
            "whole_replay": bool(args.whole_replay),
            "rss_mb_at_first_suggestion": rss, "peak_rss_mb": peak, "camera_first_item_s": _first_item_s(args)}


def _first_item_s(args) -> float | None:
    """When the demo replay's trigger fires, counted from the camera opening (frame 13 at the replay's fps)."""
    from urllib.parse import parse_qs, urlsplit

    fps = parse_qs(urlsplit(args.camera.replace("folder:", "folder://", 1)).query).get("fps", [None])[0]
    return round(13 / float(fps), 3) if fps else None


def format_startup(result: dict) -> str:
    m = result["median_s"]
    lines = [f"bench startup: {len(result['runs'])} fresh process(es), bundle {result['bundle']}, "
             f"camera {result['camera']}",
             "step (median s from process start): " + ", ".join(f"{k} {m[k]:.2f}" for k in STEPS),
             f"first suggestion {m['first_suggestion']:.2f} s after process start "
             f"(the replay puts the item down and the trigger fires {result['camera_first_item_s']} s after the "
             "camera opens)",
             f"resident memory at the first suggestion {result['rss_mb_at_first_suggestion']:.0f} MB, "
             f"peak {result['peak_rss_mb']:.0f} MB" + (" (whole replay)" if result.get("whole_replay") else "")]
    for i, r in enumerate(result["runs"]):
        memory = r["memory_mb"]
        lines.append(f"  run {i}: " + ", ".join(f"{k} {v:.2f}" for k, v in r["steps_s"].items())
                     + f"; VmRSS {memory.get('VmRSS', 0):.0f} MB, VmHWM {memory.get('VmHWM', 0):.0f} MB")
    return "\n".join(lines)


def _parser():
    import argparse

    p = argparse.ArgumentParser(prog="python -m kiosk.bench_startup")
    p.add_argument("--child", action="store_true")
    for name in ("bundle", "catalog", "store", "captures", "camera", "scale"):
        p.add_argument(f"--{name}")
    p.add_argument("--timeout", type=bounded(float, above=0, high=86400), default=30.0)
    p.add_argument("--whole-replay", action="store_true")
    return p


if __name__ == "__main__":
    raise SystemExit(_child(_parser().parse_args()))
