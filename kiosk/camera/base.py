"""Frame sources selected by URI, one file per kind, and the registry that picks one.

A URI is ``SCHEME:TARGET[?key=value&...]``::

    camera:0?width=1280&height=720&fps=30     OpenCV capture device (index or /dev/videoN)
    file:clips/tray.mp4?loop=1&fps=15         video file, optionally looped and paced
    folder:assets/demo/camera?fps=5&hold=3    image folder replayed in sorted order

Adding a kind = adding one module that defines a :class:`FrameSource` subclass named
``Source`` with a unique ``scheme`` and listing it in ``SOURCE_MODULES``. Modules are imported
when their scheme is selected, so OpenCV is loaded only when a source is opened.

Every source declares its options (name, type, default, description); unknown keys and bad
values raise :class:`CameraError` (a :class:`~kiosk.errors.UserError`) naming the URI.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from kiosk.errors import UserError
from kiosk.uri import split_device_uri

SOURCE_MODULES = {
    "camera": "kiosk.camera.opencv_device",
    "file": "kiosk.camera.video_file",
    "folder": "kiosk.camera.image_folder",
}


class CameraError(UserError):
    """A frame-source URI or option that cannot be used (message names the URI and the reason)."""


class SourceUnavailable(CameraError):
    """The source could not be opened (camera unplugged or busy, unreadable video file)."""


class SourceLost(Exception):
    """A source that was delivering frames stopped doing so (camera unplugged, driver error).

    Not a :class:`UserError`: :class:`~kiosk.camera.capture.CaptureWorker` reopens live
    sources with backoff when it sees this.
    """


@dataclass(frozen=True, eq=False)  # compared by identity: arrays have no single truth value
class Frame:
    """One BGR uint8 image from a source.

    ``index`` counts frames delivered by the source since it was opened (it keeps growing
    across loops and reconnects); ``timestamp`` is seconds: media time (index / fps) for
    replayed sources, ``time.monotonic()`` for devices; ``source`` is the source's name (URI).
    """

    index: int
    timestamp: float
    image: np.ndarray
    source: str

    @property
    def shape(self) -> tuple[int, ...]:
        return self.image.shape


@dataclass(frozen=True)
class Option:
    """One documented URI option: ``parse`` turns the text into a value, ``check`` validates it."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    check: Callable[[Any], bool] | None = None
    requirement: str = ""


#: the frame rates an ``fps`` option may name (besides 0 where it means unpaced): a finite rate from one frame in
#: 100 s to 1,000 a second (``fps=1e-300`` passed ``>= 0``, then a 1e300 s wait killed the capture thread)
MIN_FPS, MAX_FPS = 0.01, 1000.0
FPS_RANGE = f"{MIN_FPS:g} to {MAX_FPS:g}"


def fps_ok(value: float, *, zero: bool = True) -> bool:
    """A usable ``fps`` option: :data:`MIN_FPS` to :data:`MAX_FPS` (NaN and infinity are not), or 0 when ``zero``."""
    return (zero and value == 0) or MIN_FPS <= value <= MAX_FPS


def as_bgr8(image: np.ndarray, uri: str) -> np.ndarray:
    """``image`` as the 8-bit BGR every consumer expects: greyscale and BGRA become BGR, 16-bit is scaled to 8-bit.
    Any other kind of frame (float, signed, 2 or 5 channels) raises :class:`SourceLost` naming it: a 16-bit or float
    frame passed through made the recogniser see the previous frame again."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise SourceLost(f"camera source {uri!r} delivers {image.dtype} frames of shape {image.shape} "
                         "(8- or 16-bit greyscale, BGR or BGRA expected)")
    if image.ndim == 2 or image.shape[2] == 1:
        image = np.repeat(image.reshape(*image.shape[:2], 1), 3, axis=2)
    elif image.shape[2] == 4:
        image = np.ascontiguousarray(image[:, :, :3])
    return image


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 0/1")


def split_uri(uri: str) -> tuple[str, str, dict[str, str]]:
    """``'folder:x?fps=5'`` → ``('folder', 'x', {'fps': '5'})``; raises CameraError for malformed URIs."""
    return split_device_uri(uri, "camera source", "camera:0, file:PATH or folder:PATH", CameraError)


class FrameSource(ABC):
    """A source of :class:`Frame` objects; construct with :func:`create_source` / :func:`open_source`.

    Subclasses implement :meth:`_open`, :meth:`_read` and :meth:`_close`; ``read`` returns the
    next frame, ``None`` at the end of a non-looping replay, and raises :class:`SourceLost`
    when a device fails mid-stream. ``live`` sources (devices) are reopened by the capture
    worker after a loss; replays are not. ``pacing_fps`` is the real-time rate a replay should
    be delivered at (``None``: the source paces itself or is unpaced).
    """

    scheme: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()
    live: ClassVar[bool] = False

    def __init__(self, uri: str, target: str, options: dict[str, str]):
        self.uri = uri
        self.name = uri
        self.target = target
        self.config = self._parse_options(options)
        self.pacing_fps: float | None = None
        self.is_open = False
        self._next_index = 0

    # -- options -------------------------------------------------------------------------
    def _parse_options(self, given: dict[str, str]) -> dict[str, Any]:
        known = {opt.name: opt for opt in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            allowed = ", ".join(known) or "none"
            raise CameraError(
                f"camera source {self.uri!r}: unknown option(s) {', '.join(unknown)} (allowed: {allowed})"
            )
        values: dict[str, Any] = {}
        for name, opt in known.items():
            if name not in given:
                values[name] = opt.default
                continue
            text = given[name]
            try:
                value = opt.parse(text)
            except (TypeError, ValueError):
                value = None
                ok = False
            else:
                ok = opt.check(value) if opt.check else True
            if not ok:
                need = f" ({opt.requirement})" if opt.requirement else ""
                raise CameraError(
                    f"camera source {self.uri!r}: bad value {text!r} for option {name!r}{need}: {opt.help}"
                )
            values[name] = value
        return values

    @classmethod
    def describe_options(cls) -> str:
        return "\n".join(f"{o.name} (default {o.default!r}): {o.help}" for o in cls.options)

    # -- lifecycle -----------------------------------------------------------------------
    def open(self) -> FrameSource:
        """Open (or reopen) the source; raises :class:`SourceUnavailable` when it cannot."""
        if self.is_open:
            self.close()
        self._open()
        self.is_open = True
        return self

    def read(self) -> Frame | None:
        if not self.is_open:
            raise SourceLost(f"{self.name}: read() on a source that is not open")
        return self._read()

    def close(self) -> None:
        if self.is_open:
            self.is_open = False
            self._close()

    def _make_frame(self, image: np.ndarray, timestamp: float) -> Frame:
        image = as_bgr8(image, self.uri)
        frame = Frame(index=self._next_index, timestamp=timestamp, image=image, source=self.name)
        self._next_index += 1
        return frame

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _read(self) -> Frame | None: ...

    @abstractmethod
    def _close(self) -> None: ...

    def __enter__(self) -> FrameSource:
        if not self.is_open:
            self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        """Every frame in order until the end (opens the source if needed); no pacing, no drops."""
        if not self.is_open:
            self.open()
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r})"


def source_class(scheme: str, uri: str = "") -> type[FrameSource]:
    try:
        module_name = SOURCE_MODULES[scheme]
    except KeyError:
        choices = ", ".join(f"{s}:" for s in SOURCE_MODULES)
        raise CameraError(
            f"camera source {uri or scheme!r}: unknown scheme {scheme!r}; choose one of {choices}"
        ) from None
    module = importlib.import_module(module_name)
    return module.Source


def create_source(uri: str) -> FrameSource:
    """Build the source for ``uri`` without opening it (URI and options are validated here)."""
    scheme, target, options = split_uri(uri)
    return source_class(scheme, uri)(uri, target, options)


def open_source(uri: str) -> FrameSource:
    """Build and open the source for ``uri``; raises :class:`CameraError` with a clear message."""
    return create_source(uri).open()
