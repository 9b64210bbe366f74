"""The receipt printer interface and the choice of driver by URI.

A driver prints the receipt's text as stored with the sale (the legal record: one monospace line per printed line,
at most the roll's width) and cuts the paper. Drivers are imported when their scheme is asked for.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kiosk.errors import UserError

__all__ = ["PrinterError", "ReceiptPrinter", "open_printer", "DRIVERS"]

#: URI scheme → "module:class" of its driver
DRIVERS = {"escpos": "kiosk.printing.escpos:EscPosPrinter"}


class PrinterError(UserError):
    """The receipt printer cannot be used (unknown URI, device missing or refusing the bytes)."""


@runtime_checkable
class ReceiptPrinter(Protocol):
    def print_text(self, text: str) -> None:
        """Print ``text`` (lines of at most the roll's width) and cut; raises :class:`PrinterError`."""

    def describe(self) -> str: ...

    def close(self) -> None: ...


def open_printer(uri: str) -> ReceiptPrinter:
    """The driver for ``uri`` (``escpos:/dev/usb/lp0``, ``escpos:var/receipts.prn``)."""
    import importlib

    scheme, sep, target = str(uri).partition(":")
    if not sep or scheme not in DRIVERS or not target:
        raise PrinterError(f"receipt_printer={uri!r}: expected one of {', '.join(s + ':PATH' for s in DRIVERS)}")
    module, _, name = DRIVERS[scheme].partition(":")
    return getattr(importlib.import_module(module), name)(target)
