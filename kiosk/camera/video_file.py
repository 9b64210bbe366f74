"""``file:PATH``: a video file decoded with OpenCV, optionally looped and paced in real time.

Options: ``loop=0|1`` (restart at the end instead of ending, default 0) and ``fps=N``
(deliver N frames a second when run by the capture worker; default: the file's own rate;
``fps=0``: as fast as the consumer takes them). Timestamps are media time: index / rate.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kiosk.camera.base import FPS_RANGE, CameraError, FrameSource, Option, SourceUnavailable, fps_ok, parse_bool
from kiosk.inputfiles import not_a


class Source(FrameSource):
    scheme = "file"
    live = False
    options = (
        Option("loop", parse_bool, False, "restart at the end of the file instead of ending", None, "0 or 1"),
        Option("fps", float, None, "real-time delivery rate (default: the file's own rate; 0 = unpaced)",
               fps_ok, f"0 or {FPS_RANGE}"),
    )

    def __init__(self, uri, target, options):
        super().__init__(uri, target, options)
        if not target:
            raise CameraError(f"camera source {uri!r}: missing file path (file:PATH)")
        self.path = Path(target).expanduser()
        if not self.path.is_file():
            raise CameraError(f"camera source {uri!r}: {not_a(self.path, 'a video file')}")
        self._cap = None
        self._rate: float | None = None
        self.loops = 0

    def _open(self) -> None:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise SourceUnavailable(f"camera source {self.uri!r}: cannot decode video file {str(self.path)!r}")
        native = cap.get(cv2.CAP_PROP_FPS) or 0.0
        native = native if fps_ok(native, zero=False) else 0.0  # NaN, -1 or 1e-300 in a file: unpaced
        requested = self.config["fps"]
        if requested is None:
            self.pacing_fps = native if native > 0 else None
        else:
            self.pacing_fps = requested or None
        self._rate = requested or (native if native > 0 else None)
        self._cap = cap

    def _grab(self):
        ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            return None
        return np.ascontiguousarray(image)  # made 8-bit BGR by _make_frame

    def _read(self):
        image = self._grab()
        if image is None and self.config["loop"]:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            image = self._grab()
            if image is None:  # some containers cannot seek: reopen
                self._cap.release()
                self._cap = cv2.VideoCapture(str(self.path))
                image = self._grab()
            if image is not None:
                self.loops += 1
        if image is None:
            return None
        index = self._next_index
        timestamp = index / self._rate if self._rate else self._cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        return self._make_frame(image, timestamp)

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
