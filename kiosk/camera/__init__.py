"""Frame sources by URI (``camera:0``, ``file:PATH``, ``folder:PATH``) and the capture thread.

OpenCV is imported only when a source of that kind is created.
"""

from kiosk.camera.base import (
    CameraError,
    Frame,
    FrameSource,
    SourceLost,
    SourceUnavailable,
    create_source,
    open_source,
)
from kiosk.camera.capture import Backoff, CaptureState, CaptureStatus, CaptureWorker, iter_frames

__all__ = [
    "Backoff",
    "CameraError",
    "CaptureState",
    "CaptureStatus",
    "CaptureWorker",
    "Frame",
    "FrameSource",
    "SourceLost",
    "SourceUnavailable",
    "create_source",
    "iter_frames",
    "open_source",
]
