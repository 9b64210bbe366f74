"""``checkout bench enroll``: seconds from ``checkout sku enroll`` to the running kiosk's first suggestion of the SKU.

A real :class:`~kiosk.services.checkout.CheckoutService` (headless, on the bundle and catalog given, a gallery of its
own) is fed camera frames at ``--fps`` from a thread: the empty tray, then the probe photo held still until the
trigger fires, then the empty tray again, over and over, as a shopper who keeps placing the new item. Meanwhile
``checkout sku enroll SKU --images DIR`` runs as its own process on the same gallery. The clock starts when that
command is started and stops at the first placement whose suggestions hold the SKU: command start-up, model load,
photo checks, embedding, the gallery write, the kiosk noticing the new revision and the wait for the next placement
are all in it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from kiosk.errors import UserError

FRAME = 480  # side of the simulated camera frame (px)


def _frames(probes: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    import cv2

    rng = np.random.default_rng(0)
    empty = np.clip(np.full((FRAME, FRAME, 3), 120.0) + rng.normal(0, 3, (FRAME, FRAME, 3)), 0, 255).astype(np.uint8)
    placed = []
    for probe in probes:
        frame = empty.copy()
        h, w = probe.shape[:2]
        scale = 0.8 * FRAME / max(h, w)
        item = cv2.resize(probe, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        y, x = (FRAME - item.shape[0]) // 2, (FRAME - item.shape[1]) // 2
        frame[y : y + item.shape[0], x : x + item.shape[1]] = item
        placed.append(frame)
    return empty, placed


class _Shopper(threading.Thread):
    """Places the probe photos one after another, each until the trigger fired, then clears the tray."""

    def __init__(self, service, empty: np.ndarray, placed: list[np.ndarray], fps: float) -> None:
        super().__init__(name="bench-shopper", daemon=True)
        self.service, self.empty, self.placed, self.period = service, empty, placed, 1.0 / fps
        self.stop = threading.Event()
        self.placements = 0

    def _show(self, frame: np.ndarray, count: int) -> bool:
        for _ in range(count):
            if self.stop.is_set():
                return False
            t = time.perf_counter()
            fired = self.service.process_frame(frame)
            self.stop.wait(max(0.0, self.period - (time.perf_counter() - t)))
            if fired is not None:
                self.placements += 1
                return True
        return True

    def run(self) -> None:
        cfg = self.service.config.trigger
        self._show(self.empty, cfg.learn_frames + 2)
        i = 0
        while not self.stop.is_set():
            self._show(self.placed[i % len(self.placed)], cfg.still_frames + 10)
            self._show(self.empty, cfg.clear_frames + 2)
            i += 1


def _service(args, work: Path):
    from kiosk.config import KioskConfig
    from kiosk.services.checkout import CheckoutService

    config = KioskConfig(bundle=str(args.bundle), catalog=str(args.catalog), store=str(work / "sales.sqlite"),
                         captures=str(work / "captures"), gallery=str(work / "gallery"), scale="sim:",
                         weight_check=False, weight_rerank=False)
    return CheckoutService.from_config(config)


def _check_work(work: Path | None) -> None:
    """``--work`` must be a new or empty folder: the bench's kiosk writes a gallery, a sales database, its audit key
    and captures there, and enrolls the SKU from every photo given: a kiosk's own folder would be changed."""
    if work is None:
        return
    try:
        if work.exists() and (not work.is_dir() or any(work.iterdir())):
            raise UserError(f"{work}: not an empty folder; the bench writes a gallery, a sales database and captures "
                            "there, so --work must be new or empty (leave it out for a temporary one)")
    except OSError as exc:
        raise UserError(f"{work}: cannot be read ({exc.strerror or exc})") from None


def _probes(paths: list[Path]) -> list[np.ndarray]:
    from kiosk.bundle_format.preprocess import read_image

    probes = []
    for path in paths:
        image = read_image(path)
        if image is None:
            raise UserError(f"{path}: a probe photo cannot be read")
        probes.append(image)
    return probes


def bench_enroll(args) -> dict:
    from kiosk.services.events import SuggestionsReady

    _check_work(args.work)
    probes = _probes(args.probe)
    with tempfile.TemporaryDirectory(prefix="bench-enroll-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        service = _service(args, work)
        seen: list[tuple[float, list[str]]] = []
        service.add_listener(lambda e: seen.append((time.perf_counter(), [s.sku for s in e.suggestions]))
                             if isinstance(e, SuggestionsReady) else None)
        shopper = _Shopper(service, *_frames(probes), args.fps)
        shopper.start()
        try:
            return _measure(args, work, shopper, seen)
        finally:
            shopper.stop.set()
            shopper.join(10)
            service.close()


def _measure(args, work: Path, shopper: _Shopper, seen: list) -> dict:
    deadline = time.perf_counter() + args.timeout
    while shopper.placements < 2 and time.perf_counter() < deadline:  # the kiosk is up and recognising
        time.sleep(0.05)
    before = [skus for _, skus in seen]
    if any(args.sku in skus for skus in before):
        raise UserError(f"{args.sku} was suggested before it was enrolled: is it a trained SKU?")
    cmd = [sys.executable, "-m", "kiosk", "sku", "enroll", args.sku, "--images", str(args.images), "--gallery",
           str(work / "gallery"), "--bundle", str(args.bundle), "--catalog", str(args.catalog), "--json",
           *(["--different-from", *args.different_from] if getattr(args, "different_from", None) else [])]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    t_enrolled = time.perf_counter()
    if done.returncode != 0:
        raise UserError(f"checkout sku enroll {args.sku} failed: {done.stderr.strip().splitlines()[-1:]}")
    while time.perf_counter() < deadline:
        hits = [(t, skus) for t, skus in list(seen) if t >= t0 and args.sku in skus]
        if hits:
            t, skus = hits[0]
            return {"sku": args.sku, "seconds_to_suggestion": t - t0, "enroll_seconds": t_enrolled - t0,
                    "top1": skus[0] == args.sku, "placements": shopper.placements, "fps": args.fps}
        time.sleep(0.02)
    raise UserError(f"{args.sku} was not suggested within {args.timeout:.0f} s of `checkout sku enroll`")
