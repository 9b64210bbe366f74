"""Live mode: the threads that feed the checkout from a camera and a scale.

* capture (:class:`~kiosk.camera.CaptureWorker`): keeps only the newest frame and counts what recognition
  never took; reopens a lost camera with backoff and reports its state;
* ``recognition``: takes frames and hands them to the service's ``process_frame`` (one bad frame is a notice,
  never the end of the loop);
* ``scale poll``: reads the scale ``scale_poll_hz`` times a second; a poll that fails (the store locked while a
  weighing completes, a driver bug) is a notice, never the end of the loop, and while the loop runs a reading
  older than :func:`stale_after` seconds is "scale not answering", never priced (``on_scale_polling``). A scale
  paced by frames (a replayed script) is read from the recognition thread instead, in step with the frames;
* ``scanner``: waits for codes from a USB scanner (serial, or the keyboard wedge the window feeds) and hands each
  to the service's ``scanned``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.services.events import CameraStatusChanged, FrameCaptured, Notice

__all__ = ["LiveLoop", "stale_after"]

log = logging.getLogger(__name__)

#: a reading is stale after this many poll periods without a new one …
STALE_POLLS = 5
#: … and never sooner than this many seconds (a slow serial scale, a busy machine)
STALE_MIN_S = 1.0


def stale_after(poll_hz: float) -> float:
    """Seconds after which the last reading of a scale polled ``poll_hz`` times a second is not trusted."""
    return max(STALE_POLLS / poll_hz, STALE_MIN_S)


class LiveLoop:
    """``start()`` / ``stop()`` the capture, recognition and scale threads around one service."""

    def __init__(self, *, camera: Callable[[], str], scale: Any, poll_hz: Callable[[], float],
                 process_frame: Callable[[Any], Any], poll_scale: Callable[[], Any],
                 emit: Callable[..., None], scanner: Any = None,
                 scanned: Callable[[str], Any] | None = None,
                 on_scale_polling: Callable[[float | None], None] | None = None) -> None:
        self._camera, self._scale, self._poll_hz = camera, scale, poll_hz
        self._scanner, self._scanned = scanner, scanned
        self._on_scale_polling = on_scale_polling  # told how old a reading may be while the scale thread runs
        self._process_frame, self._poll_scale, self._emit = process_frame, poll_scale, emit
        self.capture = None
        self.last_frame = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        if scanner is not None and hasattr(scanner, "add_observer"):
            scanner.add_observer(self._on_scanner_status)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        from kiosk.camera import CaptureWorker

        if self.running:
            return
        self._stop.clear()
        self.capture = CaptureWorker(self._camera(), observers=[self._on_capture_status])
        self._threads = [threading.Thread(target=self._recognition_loop, name="recognition", daemon=True)]
        if not self._scale.paced_by_frames:
            self._threads.append(threading.Thread(target=self._scale_loop, name="scale poll", daemon=True))
            if self._on_scale_polling is not None:
                self._on_scale_polling(stale_after(self._poll_hz()))
        if self._scanner is not None and self._scanned is not None:
            self._threads.append(threading.Thread(target=self._scanner_loop, name="scanner", daemon=True))
        self.capture.start()
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self.capture is not None:
            self.capture.stop(timeout)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout)
        self._threads = []
        if self._on_scale_polling is not None:
            self._on_scale_polling(None)  # readings come when someone polls again

    def _on_capture_status(self, status) -> None:
        state = status.state.value
        events: list[Any] = [CameraStatusChanged(state, status.error, status.retry_in)]
        if state == "lost":
            events.append(Notice("warning", "camera lost" + (f": {status.error}" if status.error else "")))
        elif state == "live" and self.capture is not None and self.capture.reconnects:
            events.append(Notice("info", "camera back"))
        elif state == "failed":
            events.append(Notice("error", f"camera failed: {status.error}"))
        self._emit(*events)

    def _on_scanner_status(self, status) -> None:
        if status.state == "lost":
            self._emit(Notice("warning", f"barcode scanner lost: {status.error or 'unplugged'}"))
        else:
            self._emit(Notice("info", "barcode scanner back"))

    def _recognition_loop(self) -> None:
        capture = self.capture
        while not self._stop.is_set():
            frame = capture.get(timeout=0.2)
            if frame is None:
                if capture.state.finished or not capture.running:
                    return
                continue
            try:
                if self._scale.paced_by_frames and self._scale.poll_due_at_frame(frame.index):
                    self._poll_scale()
                self.last_frame = frame
                self._emit(FrameCaptured(frame.index, frame.image))
                self._process_frame(frame)
            except Exception as exc:  # one bad frame must not stop the kiosk
                log.exception("frame %s failed", getattr(frame, "index", "?"))
                self._emit(Notice("error", f"recognition failed: {type(exc).__name__}: {exc}"))

    def _scanner_loop(self) -> None:
        while not self._stop.is_set():
            try:
                text = self._scanner.read(0.2)
                if text:
                    self._scanned(text)
            except Exception as exc:  # one bad scan must not stop the scanner
                log.exception("scan failed")
                self._emit(Notice("error", f"scan failed: {type(exc).__name__}: {exc}"))

    def _scale_loop(self) -> None:
        period = 1.0 / self._poll_hz()
        next_due = time.monotonic()
        failures = 0
        while not self._stop.is_set():
            try:
                self._poll_scale()
                failures = 0
            except Exception as exc:  # one failed poll must not stop the scale: a frozen weight would price items
                failures += 1
                if failures == 1:
                    log.exception("scale poll failed")
                    self._emit(Notice("error", f"scale reading failed: {type(exc).__name__}: {exc}"))
                elif failures % 100 == 0:
                    log.warning("scale poll failed %d times in a row: %s: %s", failures, type(exc).__name__, exc)
            next_due += period
            if self._stop.wait(max(0.0, next_due - time.monotonic())):
                return
            next_due = max(next_due, time.monotonic() - period)
