"""``folder:PATH``: the images of a folder replayed in sorted file-name order.

Options: ``fps=N`` (real-time delivery rate for the capture worker, default 10; 0 = unpaced),
``loop=0|1`` (start again after the last image, default 0) and ``hold=K`` (each image is
delivered as K consecutive frames, so a demo can show a still scene without duplicate files).

A corrupt, truncated (no end-of-image marker, or a libjpeg "corrupt data" warning), oversized (more pixels
than :data:`~kiosk.bundle_format.preprocess.CAMERA_MAX_PIXELS` in its header), extremely narrow or empty image is
skipped before it is decoded in full, with a logged warning, and counted in :attr:`Source.skipped`; it is not
retried on later loops (:func:`kiosk.bundle_format.preprocess.decode_frame`).
Held frames share one read-only array: copy before drawing on it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from kiosk.bundle_format.preprocess import CAMERA_MAX_PIXELS, IMAGE_SUFFIXES, decode_frame, read_photo
from kiosk.camera.base import FPS_RANGE, CameraError, FrameSource, Option, SourceUnavailable, fps_ok, parse_bool
from kiosk.inputfiles import not_a

log = logging.getLogger(__name__)



def load_frame_image(path: Path) -> tuple[np.ndarray | None, str]:
    """Decode one image file as a camera frame (at most :data:`CAMERA_MAX_PIXELS`); returns ``(image, "")`` or
    ``(None, reason)``."""
    data, why = read_photo(path)
    return decode_frame(data, CAMERA_MAX_PIXELS) if data is not None else (None, why)


class Source(FrameSource):
    scheme = "folder"
    live = False
    options = (
        Option("fps", float, 10.0, "real-time delivery rate for the capture worker (0 = unpaced)",
               fps_ok, f"0 or {FPS_RANGE}"),
        Option("loop", parse_bool, False, "start again after the last image instead of ending", None, "0 or 1"),
        Option("hold", int, 1, "frames each image is shown for", lambda v: v >= 1, "an integer >= 1"),
    )

    def __init__(self, uri, target, options):
        super().__init__(uri, target, options)
        if not target:
            raise CameraError(f"camera source {uri!r}: missing folder path (folder:PATH)")
        self.path = Path(target).expanduser()
        if not self.path.is_dir():
            raise CameraError(f"camera source {uri!r}: {not_a(self.path, 'a folder')}")
        self.files = sorted(p for p in self.path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            suffixes = ", ".join(IMAGE_SUFFIXES)
            raise CameraError(f"camera source {uri!r}: folder {str(self.path)!r} has no images ({suffixes})")
        self.skipped: list[tuple[Path, str]] = []
        self._bad: set[Path] = set()
        self.loops = 0
        self._position = 0
        self._held: np.ndarray | None = None
        self._held_left = 0
        self._current_file: Path | None = None

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)

    @property
    def current_file(self) -> Path | None:
        """The file the last delivered frame came from."""
        return self._current_file

    def _open(self) -> None:
        self.pacing_fps = self.config["fps"] or None
        self._position = 0
        self._held = None
        self._held_left = 0

    def _next_image(self) -> np.ndarray | None:
        produced_this_pass = False
        scanned = 0
        while True:
            if self._position >= len(self.files):
                if not self.config["loop"]:
                    return None
                if scanned >= len(self.files) and not produced_this_pass:
                    raise SourceUnavailable(
                        f"camera source {self.uri!r}: no readable image in folder {str(self.path)!r}"
                    )
                self._position = 0
                self.loops += 1
            path = self.files[self._position]
            self._position += 1
            scanned += 1
            if path in self._bad:
                continue
            image, reason = load_frame_image(path)
            if image is None:
                self._bad.add(path)
                self.skipped.append((path, reason))
                log.warning("%s: skipping %s: %s", self.name, path.name, reason)
                continue
            produced_this_pass = True
            self._current_file = path
            return image

    def _read(self):
        if self._held_left <= 0:
            image = self._next_image()
            if image is None:
                return None
            image.setflags(write=False)
            self._held = image
            self._held_left = self.config["hold"]
        self._held_left -= 1
        rate = self.config["fps"]
        timestamp = self._next_index / rate if rate else float(self._next_index)
        return self._make_frame(self._held, timestamp)

    def _close(self) -> None:
        self._held = None
        self._held_left = 0
