"""The receipt printer interface and the choice of driver by URI.

A driver prints the receipt's text as stored with the sale (the legal record: one monospace line per printed line,
at most the roll's width) and cuts the paper. Drivers are imported when their scheme is asked for.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from kiosk.errors import UserError

__all__ = ["PrinterError", "ReceiptPrinter", "open_printer", "printer_uri_problem", "DRIVERS", "NOT_CONNECTED",
           "NOT_ANSWERING", "NOT_WORKING", "OUT_OF_PAPER", "COVER_OPEN", "OFFLINE", "PRINTER_FAULT"]

#: URI scheme → "module:class" of its driver
DRIVERS = {"escpos": "kiosk.printing.escpos:EscPosPrinter"}


#: why a receipt was not printed, in words a shopper can read (:attr:`PrinterError.reason`)
NOT_CONNECTED = "the printer is not connected"
NOT_ANSWERING = "the printer does not answer"
NOT_WORKING = "the printer is not working"
OUT_OF_PAPER = "the printer is out of paper"
COVER_OPEN = "the printer's cover is open"
OFFLINE = "the printer is offline"
PRINTER_FAULT = "the printer reports a fault"


class PrinterError(UserError):
    """The receipt printer cannot be used (unknown URI, device missing or refusing the bytes). The message names the
    device and what it did, for the log; :attr:`reason` is one of the short reasons above, for the screen."""

    def __init__(self, message: str, reason: str = NOT_WORKING) -> None:
        super().__init__(message)
        self.reason = reason


@runtime_checkable
class ReceiptPrinter(Protocol):
    def print_text(self, text: str) -> None:
        """Print ``text`` (lines of at most the roll's width) and cut; raises :class:`PrinterError`."""

    def describe(self) -> str: ...

    def close(self) -> None: ...


def _driver(uri: str) -> tuple[type, str]:
    import importlib

    scheme, sep, target = str(uri).partition(":")
    if not sep or scheme not in DRIVERS or not target:
        raise PrinterError(f"receipt_printer={uri!r}: expected one of {', '.join(s + ':PATH' for s in DRIVERS)}")
    module, _, name = DRIVERS[scheme].partition(":")
    return getattr(importlib.import_module(module), name), target


def printer_uri_problem(uri: str) -> str | None:
    """Why ``uri`` is not a receipt printer URI (None: it is one); what the config check says, without touching the
    device (it may be unplugged while the kiosk starts)."""
    try:
        driver, target = _driver(uri)
        driver.parse_target(target)
    except PrinterError as exc:
        return str(exc)
    return None


def open_printer(uri: str) -> ReceiptPrinter:
    """The driver for ``uri`` (``escpos:/dev/usb/lp0``, ``escpos:file:var/receipts.prn``)."""
    driver, target = _driver(uri)
    return driver(target)
