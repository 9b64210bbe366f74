"""USB barcode scanners: the driver interface and the registry that picks one by ``[barcodes] scanner`` URI.

=========================  ==========================================================================
``wedge:``                 a scanner in keyboard mode typing into the kiosk window (:mod:`.wedge`)
``serial:PORT?baud=9600``  a scanner in USB-CDC/serial mode sending one code per line (:mod:`.serial_scanner`)
=========================  ==========================================================================

A driver's :meth:`Scanner.read` waits up to ``timeout`` seconds for one complete code and returns its text (the
caller checks the check digit: a misread is ignored, never guessed); it never raises for a garbled line, which is
logged with its raw bytes and dropped. Configuration mistakes raise :class:`ScannerError`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod

from kiosk.errors import UserError
from kiosk.uri import split_device_uri

__all__ = ["SCANNER_DRIVERS", "Scanner", "ScannerError", "open_scanner"]

#: scheme → (module, class), imported when selected
SCANNER_DRIVERS = {
    "wedge": ("kiosk.barcodes.wedge", "KeyboardWedge"),
    "serial": ("kiosk.barcodes.serial_scanner", "SerialScanner"),
}


class ScannerError(UserError):
    """A scanner URI, option or port that cannot be used (names it and the reason)."""


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
