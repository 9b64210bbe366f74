"""``camera:INDEX`` or ``camera:/dev/videoN``: a capture device through OpenCV ``VideoCapture``.

Options: ``width``, ``height``, ``fps`` (requested from the driver, which may pick the nearest
mode), ``fourcc`` (e.g. ``MJPG`` for USB cameras that only reach full rate compressed) and
``buffer`` (driver queue length; 1 keeps latency low). A failed read is reported as
:class:`~kiosk.camera.base.SourceLost` so the capture worker can reopen the device.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from kiosk.camera.base import FPS_RANGE, CameraError, FrameSource, Option, SourceLost, SourceUnavailable, fps_ok


def _positive(value) -> bool:
    return value > 0


def _fourcc(text: str) -> str:
    if len(text) != 4 or not text.isascii():
        raise ValueError("expected 4 ASCII characters")
    return text


class Source(FrameSource):
    scheme = "camera"
    live = True
    options = (
        Option("width", int, None, "requested frame width in pixels", _positive, "a positive integer"),
        Option("height", int, None, "requested frame height in pixels", _positive, "a positive integer"),
        Option("fps", float, None, "requested frame rate", lambda v: fps_ok(v, zero=False), FPS_RANGE),
        Option("fourcc", _fourcc, None, "pixel format the driver should deliver, e.g. MJPG or YUYV", None,
               "4 characters"),
        Option("buffer", int, 1, "frames the driver may queue (1 = lowest latency)", _positive, "a positive integer"),
    )

    def __init__(self, uri, target, options):
        super().__init__(uri, target, options)
        text = target.strip()
        if text.isascii() and text.isdigit():
            self.device: int | str = int(text)
        elif text.startswith("/dev/"):
            self.device = text
        else:
            raise CameraError(
                f"camera source {uri!r}: expected a device index (camera:0) or path (camera:/dev/video0), "
                f"got {text!r}"
            )
        self._cap = None

    def _open(self) -> None:
        cap = cv2.VideoCapture(self.device)
        if not cap.isOpened():
            cap.release()
            raise SourceUnavailable(
                f"camera source {self.uri!r}: cannot open device {self.device!r} "
                "(not connected, in use, or no permission)"
            )
        cfg = self.config
        if cfg["fourcc"]:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*cfg["fourcc"]))
        if cfg["width"]:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, cfg["width"])
        if cfg["height"]:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, cfg["height"])
        if cfg["fps"]:
            cap.set(cv2.CAP_PROP_FPS, cfg["fps"])
        cap.set(cv2.CAP_PROP_BUFFERSIZE, cfg["buffer"])
        self._cap = cap

    def _read(self):
        ok, image = self._cap.read()
        if not ok or image is None or image.size == 0:
            raise SourceLost(f"camera source {self.uri!r}: device {self.device!r} stopped delivering frames")
        return self._make_frame(np.ascontiguousarray(image), time.monotonic())  # made 8-bit BGR there

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
