"""Printing the receipt for the shopper (the Print button): the sale's stored text on the configured printer
(:mod:`kiosk.printing`), audited as ``receipt_printed`` (with the printer's warning for staff, e.g. paper near its
end). A printer that cannot print (out of paper, cover open, not connected …) is ``receipt_not_printed`` with the
reason, and the shopper is told why and that staff can reprint it: the sale is recorded either way. Without
``receipt_printer`` there is no printer and the receipt screen offers no Print button.

Staff see the printer's state beside the other devices' (:class:`~kiosk.services.events.PrinterStatus`, sent when it
changes): a warning it printed with (paper near its end), a reason it refused to print, or all well again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kiosk.printing import PrinterError, ReceiptPrinter, open_printer
from kiosk.services import audit
from kiosk.services.errors import CheckoutError
from kiosk.services.events import Notice, PrinterStatus

__all__ = ["ReceiptDesk"]

log = logging.getLogger(__name__)


class ReceiptDesk:
    def __init__(self, uri: str, store: Any, emit: Callable[..., None], printer: ReceiptPrinter | None = None) -> None:
        self._store, self._emit = store, emit
        self.printer = printer if printer is not None else (open_printer(uri) if uri else None)
        #: the printer's state as last told (None: it has not printed since the kiosk started)
        self.status: PrinterStatus | None = None

    @property
    def available(self) -> bool:
        return self.printer is not None

    def print(self, receipt_no: str | None = None) -> str:
        """Print the receipt ``receipt_no`` (None: the last sale's); returns its number."""
        if self.printer is None:
            raise CheckoutError("no receipt printer is set up at this kiosk (receipt_printer)")
        sale = self._store.sale(receipt_no) if receipt_no else self._store.last_sale()
        if sale is None:
            raise CheckoutError(f"no receipt {receipt_no} to print" if receipt_no else "no sale yet: nothing to print")
        try:
            self.printer.print_text(sale.receipt_text)
        except PrinterError as exc:
            log.warning("receipt %s not printed: %s", sale.receipt_no, exc)
            self._tell(PrinterStatus("error", exc.reason, str(exc)))
            audit.record(self._store, "receipt_not_printed", "shopper", receipt_no=sale.receipt_no, reason=exc.reason)
            raise CheckoutError(f"receipt {sale.receipt_no} not printed: {exc.reason} — staff can reprint") from None
        audit.record(self._store, "receipt_printed", "shopper", receipt_no=sale.receipt_no, **self._warning())
        self._printed()
        self._emit(Notice("info", f"receipt {sale.receipt_no} printed: please take it"))
        return sale.receipt_no

    def _warning(self) -> dict[str, str]:
        """What the printer said that staff should know though it printed (``printer_warning``), logged."""
        warning = str(getattr(self.printer, "warning", "") or "")
        if warning:
            log.warning("receipt printer: %s", warning)
        return {"printer_warning": warning} if warning else {}

    def print_document(self, text: str, what: str, who: str) -> None:
        """Print a staff document (``what``: ``day_report``) on the receipt printer, audited as ``<what>_printed``."""
        if self.printer is None:
            raise CheckoutError("no receipt printer is set up at this kiosk (receipt_printer)")
        try:
            self.printer.print_text(text)
        except PrinterError as exc:
            log.warning("%s not printed: %s", what, exc)
            self._tell(PrinterStatus("error", exc.reason, str(exc)))
            raise CheckoutError(f"the receipt printer did not print: {exc.reason}") from None
        audit.record(self._store, f"{what}_printed", who, **self._warning())
        self._printed()

    def _printed(self) -> None:
        """It printed: staff's line says the warning it printed with, or that all is well (after one)."""
        warning = str(getattr(self.printer, "warning", "") or "")
        self._tell(PrinterStatus("warn", warning) if warning else PrinterStatus("ok"))

    def _tell(self, status: PrinterStatus) -> None:
        """Send ``status`` when it differs from the last one (the first "all well" is not news either)."""
        changed = status != (self.status or PrinterStatus("ok"))
        self.status = status
        if changed:
            self._emit(status)

    def close(self) -> None:
        if self.printer is not None:
            self.printer.close()
