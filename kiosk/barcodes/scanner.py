"""USB barcode scanners: the driver interface and the registry that picks one by ``[barcodes] scanner`` URI.

=========================  ==========================================================================
``wedge:``                 a scanner in keyboard mode typing into the kiosk window (:mod:`.wedge`)
``serial:PORT?baud=9600``  a scanner in USB-CDC/serial mode sending one code per line (:mod:`.serial_scanner`)
=========================  ==========================================================================

A driver's :meth:`Scanner.read` waits up to ``timeout`` seconds for one complete code and returns its text (the
caller checks the check digit: a misread is ignored, never guessed); it never raises for a garbled line, which is
logged with its raw bytes and dropped. Configuration mistakes raise :class:`ScannerError`.

A driver that can lose its device (the serial one: a cable pulled) reports ``lost`` and ``live`` again to the
observers of :meth:`Scanner.add_observer` (a :class:`ScannerStatus`, once per change), as the camera's capture worker
does. :class:`CodeBuffer` is how drivers tell a code's characters from a fragment left over from a scan cut short:
a pause longer than the gap between two characters ends it.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import AnyStr, Generic

from kiosk.errors import UserError
from kiosk.uri import split_device_uri

__all__ = ["SCANNER_DRIVERS", "CodeBuffer", "Scanner", "ScannerError", "ScannerStatus", "open_scanner"]

log = logging.getLogger(__name__)

#: scheme → (module, class), imported when selected
SCANNER_DRIVERS = {
    "wedge": ("kiosk.barcodes.wedge", "KeyboardWedge"),
    "serial": ("kiosk.barcodes.serial_scanner", "SerialScanner"),
}


class ScannerError(UserError):
    """A scanner URI, option or port that cannot be used (names it and the reason)."""


@dataclass(frozen=True)
class ScannerStatus:
    """What a scanner's observers receive: ``state`` ``live`` or ``lost`` (the device is gone; it is reopened after
    ``retry_in`` seconds, attempt ``attempt``), and the device's own error text."""

    state: str
    error: str = ""
    attempt: int = 0
    retry_in: float | None = None


LIVE = ScannerStatus("live")


class CodeBuffer(Generic[AnyStr]):
    """The characters of the code being received (``str`` key presses or ``bytes`` off a port).

    A scanner sends a code's characters back to back; a pause longer than ``gap_s`` since the last of them means
    the rest is never coming (a scan cut short, a misread, a cable pulled mid-code): :meth:`expire` drops what
    came, so it is never glued onto the next scan. Times are when the characters ARRIVED, never when someone got
    round to them: the keyboard wedge passes each key event's own time, the serial driver's reader thread (which
    does nothing but read the port) stamps bytes as it reads them and expires the code when the line is silent."""

    def __init__(self, gap_s: float, empty: AnyStr) -> None:
        self.gap_s, self._empty = gap_s, empty
        self.data: AnyStr = empty
        self.last = 0.0

    def add(self, chunk: AnyStr, now: float) -> None:
        """``chunk`` arrived at ``now`` (an empty one marks a keystroke that adds nothing)."""
        self.data += chunk
        self.last = now

    def expire(self, now: float) -> AnyStr:
        """What was dropped because nothing came for longer than the gap (empty when nothing was)."""
        if self.data and now - self.last > self.gap_s:
            return self.clear()
        return self._empty

    def clear(self) -> AnyStr:
        """Drop what came; returns it."""
        old, self.data = self.data, self._empty
        return old


class Scanner(ABC):
    scheme = ""
    name = "scanner"
    #: fed key presses by the kiosk window (keyboard wedge), not read from a device
    needs_window = False

    @classmethod
    def from_uri(cls, uri: str, target: str, options: dict[str, str]) -> Scanner:
        raise ScannerError(f"scanner {uri!r}: {cls.__name__} cannot be opened from a URI")

    @abstractmethod
    def read(self, timeout: float) -> str | None:
        """One scanned code (text without its terminator), or ``None`` when none came within ``timeout`` s."""

    def close(self) -> None:
        """Release the device (an optional hook)."""
        return None

    # -- the device's state, for whoever shows it -------------------------------------------------
    @property
    def status(self) -> ScannerStatus:
        return self.__dict__.get("_status", LIVE)

    def add_observer(self, observer: Callable[[ScannerStatus], None]) -> None:
        """``observer(status)`` is called on the reading thread at every change of :attr:`status`; keep it quick."""
        self.__dict__.setdefault("_observers", []).append(observer)

    def remove_observer(self, observer: Callable[[ScannerStatus], None]) -> None:
        self.__dict__.setdefault("_observers", []).remove(observer)

    def _set_status(self, status: ScannerStatus) -> None:
        self.__dict__["_status"] = status
        for observer in list(self.__dict__.get("_observers", ())):
            try:
                observer(status)
            except Exception:  # an observer's bug must not stop the scanner
                log.exception("%s: scanner state observer failed", self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def open_scanner(uri: str) -> Scanner | None:
    """The driver for ``uri``; ``None`` for an empty URI (no scanner)."""
    if not uri or not uri.strip():
        return None
    scheme, target, options = split_device_uri(uri, "scanner", "wedge: or serial:PORT?baud=9600", ScannerError)
    try:
        module_name, class_name = SCANNER_DRIVERS[scheme]
    except KeyError:
        raise ScannerError(f"scanner {uri!r}: unknown scheme {scheme!r}; choose wedge: or serial:") from None
    return getattr(importlib.import_module(module_name), class_name).from_uri(uri, target, options)
