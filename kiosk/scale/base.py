"""What every scale driver returns, the driver interface, and the registry that picks a driver by URI.

A URI is ``SCHEME:TARGET[?key=value&...]``::

    serial:/dev/ttyUSB0?protocol=mt-sics&baud=9600   a real scale on a serial port (pyserial)
    sim:                                             a simulated scale a UI slider sets (sim:250 starts at 250 g)
    script:assets/demo/scale.txt                     readings played from a script, one per poll

Weights are integer grams. A driver never lets an exception escape from :meth:`Scale.read`:
garbled, partial or missing answers become a :class:`WeightReading` with status ``error`` and
the raw bytes kept for diagnostics. Configuration mistakes (unknown scheme, bad option, a
port that does not exist) raise :class:`ScaleError`, a :class:`~kiosk.errors.UserError`.
"""

from __future__ import annotations

import enum
import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from kiosk.errors import UserError
from kiosk.uri import split_device_uri

#: scheme → (module, class); modules are imported when their scheme is selected
SCALE_DRIVERS = {
    "serial": ("kiosk.scale.serial_scale", "SerialScale"),
    "sim": ("kiosk.scale.simulated", "SimulatedScale"),
    "script": ("kiosk.scale.simulated", "ScriptedScale"),
}


class ScaleError(UserError):
    """A scale URI, option, script or port that cannot be used (message names it and the reason)."""


class WeightStatus(str, enum.Enum):
    OK = "ok"
    OVERLOAD = "overload"  # more than the scale's capacity
    UNDERLOAD = "underload"  # below the zero range (pan lifted, negative beyond range)
    ERROR = "error"  # no answer, garbled answer, hardware fault


@dataclass(frozen=True)
class WeightReading:
    """One poll of the scale.

    ``grams`` is meaningful only when ``status`` is ``ok`` (it is 0 otherwise); ``stable`` is
    False while the load is in motion. ``raw`` holds the bytes the device sent (or the script
    line) and ``message`` says what went wrong, both for diagnostics.
    """

    grams: int
    stable: bool
    status: WeightStatus = WeightStatus.OK
    raw: bytes = b""
    message: str = ""

    @classmethod
    def error(cls, message: str, raw: bytes = b"") -> WeightReading:
        return cls(0, False, WeightStatus.ERROR, bytes(raw), message)

    @property
    def ok(self) -> bool:
        return self.status is WeightStatus.OK

    @property
    def usable(self) -> bool:
        """A stable, in-range weight that may go on a bill."""
        return self.status is WeightStatus.OK and self.stable


class Scale(ABC):
    """A weighing device. ``read`` polls once; ``zero`` sets the current load as zero and says
    whether the device accepted it; ``close`` releases the port. Safe to use as a context manager."""

    scheme: ClassVar[str] = ""
    #: polled by camera frames instead of by time (a replayed recording, see :meth:`poll_due_at_frame`)
    paced_by_frames: ClassVar[bool] = False

    name: str = "scale"

    @classmethod
    def from_uri(cls, uri: str, target: str, options: dict[str, str]) -> Scale:
        """Build the driver from a parsed URI (``open_scale`` calls this)."""
        raise ScaleError(f"scale {uri!r}: {cls.__name__} cannot be opened from a URI")

    @abstractmethod
    def read(self) -> WeightReading: ...

    @abstractmethod
    def zero(self) -> bool: ...

    def poll_due_at_frame(self, frame_index: int) -> bool:
        """For scales ``paced_by_frames``: catch up with camera frame ``frame_index`` and say whether to read now.
        Real scales are polled by time and never are."""
        return False

    def close(self) -> None:
        """Release the port or device. An optional hook, not abstract: drivers with nothing to release keep this."""
        return None

    def __enter__(self) -> Scale:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def split_scale_uri(uri: str) -> tuple[str, str, dict[str, str]]:
    """``'serial:/dev/ttyUSB0?baud=9600'`` → ``('serial', '/dev/ttyUSB0', {'baud': '9600'})``."""
    return split_device_uri(uri, "scale", "serial:PORT?protocol=..., sim: or script:FILE", ScaleError)


def reject_unknown_options(uri: str, options: dict[str, str], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        listed = ", ".join(allowed) or "none"
        raise ScaleError(f"scale {uri!r}: unknown option(s) {', '.join(unknown)} (allowed: {listed})")


def scale_class(scheme: str, uri: str = "") -> type[Scale]:
    try:
        module_name, class_name = SCALE_DRIVERS[scheme]
    except KeyError:
        choices = ", ".join(f"{s}:" for s in SCALE_DRIVERS)
        raise ScaleError(f"scale {uri or scheme!r}: unknown scheme {scheme!r}; choose one of {choices}") from None
    return getattr(importlib.import_module(module_name), class_name)


def open_scale(uri: str) -> Scale:
    """The driver for ``uri``, ready to read; raises :class:`ScaleError` with a clear message."""
    scheme, target, options = split_scale_uri(uri)
    return scale_class(scheme, uri).from_uri(uri, target, options)
