"""The receipt screen after payment: the bill as a document — the store's legal header (name, address, phone,
GSTIN), the items with what staff changed, the totals and the full GST table, which never scrolls away (only a long
list of items scrolls) — a Print button when the kiosk has a printer, and "Start a new order" counting down to the
welcome screen. A staff reprint (a duplicate) and the end-of-day report show here too: for staff, with "Back" to the
staff page and no countdown (a shopper's sale may be in progress behind them).

The words are the shopper's language; the printed receipt (``SaleClosed.receipt_text``, the legal record) is the
store's, kept in :attr:`ReceiptPanel.text`, which a staff reprint (a marked duplicate) shows as printed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk.domain.money import format_inr, format_paise
from kiosk.domain.pricing import format_rate
from kiosk.ui.i18n import translate
from kiosk.ui.widgets.common import Translatable, label, line, touch_button
from kiosk.ui.widgets.payment import method_text

__all__ = ["ReceiptPanel", "ReceiptView"]

_C = "Receipt"


def _clear(layout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item.widget() is not None:
            item.widget().deleteLater()
        elif item.layout() is not None:
            _clear(item.layout())


class ReceiptView(Translatable, QFrame):
    """A :class:`kiosk.domain.receipt.Receipt` laid out like the paper one, in the shopper's language."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("receiptView")
        self.receipt: Any = None
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 10, 14, 10)
        column.setSpacing(4)
        self.head = QVBoxLayout()
        self.head.setSpacing(0)
        column.addLayout(self.head)
        self.items_box = QWidget()
        self.items_box.setObjectName("receiptItems")
        self.items = QGridLayout(self.items_box)
        self.items.setContentsMargins(0, 0, 0, 0)
        self.items.setHorizontalSpacing(10)
        self.items.setVerticalSpacing(0)
        self.items.setColumnStretch(0, 1)
        self.scroll = QScrollArea()
        self.scroll.setObjectName("receiptScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setMinimumHeight(60)  # the lines scroll; the totals and the GST table keep their full height
        self.scroll.setWidget(self.items_box)
        column.addWidget(self.scroll, 1)
        self.totals = QGridLayout()
        self.totals.setHorizontalSpacing(10)
        self.totals.setVerticalSpacing(0)
        self.totals.setColumnStretch(0, 1)
        column.addLayout(self.totals)
        self.tax = QGridLayout()
        self.tax.setHorizontalSpacing(10)
        self.tax.setVerticalSpacing(0)
        self.tax.setColumnStretch(0, 1)
        column.addLayout(self.tax)
        self.footer = line("", "receiptFooter")
        column.addWidget(self.footer)

    def retranslate(self) -> None:
        self.show_receipt(self.receipt)

    def show_receipt(self, receipt: Any) -> None:
        self.receipt = receipt
        for layout in (self.head, self.items, self.totals, self.tax):
            _clear(layout)
        if receipt is None:
            self.footer.setText("")
            return
        self._head(receipt)
        self._items(receipt)
        self._totals(receipt)
        self._tax_table(receipt)
        self.footer.setText(translate("Receipt", "Prices include GST. CGST = SGST = half the GST."))

    def _head(self, r: Any) -> None:
        store = r.store
        texts = [(store.name, "receiptStore"), (store.address, "receiptLine"),
                 (translate("Receipt", "Phone {phone}").format(phone=store.phone)
                  if getattr(store, "phone", "") else "",
                  "receiptLine"),
                 (f"GSTIN {store.gstin}" if store.gstin else "", "receiptLine"),
                 (translate("Receipt", "TAX INVOICE") if store.gstin else translate("Receipt", "RECEIPT"),
                  "receiptDoc"),
                 (translate("Receipt", "Receipt {number} · {when}").format(
                     number=r.receipt_no, when=r.issued_at.strftime("%d-%m-%Y %H:%M")), "receiptLine")]
        for text, name in texts:
            if text:
                cell = line(text, name)
                cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
                self.head.addWidget(cell)

    def _items(self, r: Any) -> None:
        row = 0
        for item in r.lines:
            self.items.addWidget(line(item.name, "receiptItem"), row, 0)
            self.items.addWidget(self._right(format_inr(item.total), "receiptItem"), row, 1)
            detail = f"{item.detail()} · GST {format_rate(item.gst_bp)}"
            self.items.addWidget(line(detail, "receiptDetail"), row + 1, 0, 1, 2)
            row += 2
            if getattr(item, "note", ""):
                self.items.addWidget(line(self._note(item.note), "receiptNote"), row, 0, 1, 2)
                row += 1
        self.items.setRowStretch(row, 1)

    @staticmethod
    def _note(note: str) -> str:
        """The receipt's English mark, in the shopper's words."""
        if note.startswith("corrected by staff (was ") and note.endswith(")"):
            return translate("Receipt", "Corrected by staff (was {was})").format(
                was=note[len("corrected by staff (was "):-1])
        if note.startswith("price changed by staff (was ") and note.endswith(")"):
            return translate("Receipt", "Price changed by staff (was {was})").format(
                was=note[len("price changed by staff (was "):-1])
        return note

    @staticmethod
    def _right(text: str, name: str):
        cell = line(text, name)
        cell.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        cell.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        return cell

    def _totals(self, r: Any) -> None:
        b = r.bill
        rows = [(translate("Receipt", "Items: {n}").format(n=sum(x.qty or 1 for x in r.lines)), "", "receiptLine"),
                (translate("Receipt", "Gross (incl. GST)"), format_inr(b.gross), "receiptLine"),
                (translate("Receipt", "Round off"), format_inr(b.round_off, sign=True), "receiptLine"),
                (translate("Receipt", "TOTAL"), format_inr(b.total), "receiptTotal")]
        if r.payment_method:
            rows.append((translate("Receipt", "Paid by"), method_text(r.payment_method), "receiptLine"))
        rows += self._staff_changes(getattr(r, "staff_changes", None))
        for i, (left, right, name) in enumerate(rows):
            self.totals.addWidget(line(left, name), i, 0)
            self.totals.addWidget(self._right(right, name), i, 1)

    @staticmethod
    def _staff_changes(changes: Any) -> list[tuple[str, str, str]]:
        """What staff changed, each kind apart (voided outright with what it would have cost, corrected, re-priced):
        a correction or price change is never counted as a void of the line it replaced."""
        if changes is None:
            return []
        rows = []
        if changes.voided:
            rows.append((translate("Receipt", "Voided by staff: {n} (not charged)").format(n=changes.voided),
                         format_inr(changes.voided_paise) if changes.voided_paise else "", "receiptNote"))
        if changes.corrected:
            rows.append((translate("Receipt", "Corrected by staff: {n}").format(n=changes.corrected), "",
                         "receiptNote"))
        if changes.repriced:
            rows.append((translate("Receipt", "Re-priced by staff: {n}").format(n=changes.repriced), "",
                         "receiptNote"))
        return rows

    def _tax_table(self, r: Any) -> None:
        b = r.bill
        head = ["GST", translate("Receipt", "Taxable"), "CGST", "SGST", translate("Receipt", "Total")]
        for c, text in enumerate(head):
            self.tax.addWidget(self._right(text, "receiptTaxHead") if c else line(text, "receiptTaxHead"), 0, c)
        rows = [(format_rate(t.rate_bp), t.taxable, t.cgst, t.sgst, t.gross) for t in b.tax_rows]
        rows.append((translate("Receipt", "All"), b.taxable, b.cgst, b.sgst, b.gross))
        for i, (rate, *amounts) in enumerate(rows, 1):
            self.tax.addWidget(line(rate, "receiptTax"), i, 0)
            for c, paise in enumerate(amounts, 1):
                self.tax.addWidget(self._right(format_paise(paise), "receiptTax"), i, c)


class ReceiptPanel(Translatable, QWidget):
    """Emits ``done`` (new order: tapped, or when the countdown ends), ``back`` (staff leave a duplicate or the
    report) and ``print_requested``."""

    done = Signal()
    back = Signal()
    print_requested = Signal()

    def __init__(self, *, auto_return_s: float = 30.0, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("receiptPanel")
        self.receipt: Any = None
        self.auto_return_s = auto_return_s
        self.remaining = 0
        self._kind = "sale"
        self._printed = False
        self._print_pending = False
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._count_down)
        row = QHBoxLayout(self)
        row.setContentsMargins(20, 12, 20, 12)
        row.setSpacing(20)
        side = QVBoxLayout()
        side.setSpacing(10)
        self.title = line("", "receiptTitle")
        self.summary = label("", "receiptSummary", wrap=True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.print_button = touch_button("", "printReceipt")
        self.print_button.clicked.connect(self.print_requested)
        self.print_status = label("", "printStatus", wrap=True)
        self.print_status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.new_button = touch_button("", "newOrder")
        self.new_button.setMinimumHeight(96)
        self.new_button.clicked.connect(self._done)
        side.addWidget(self.title)
        side.addWidget(self.summary)
        side.addWidget(self.print_button)
        side.addWidget(self.print_status)
        side.addStretch(1)
        side.addWidget(self.new_button)
        self.view = ReceiptView()
        self.text = QPlainTextEdit()
        self.text.setObjectName("receiptText")
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.text.hide()
        row.addLayout(side, 4)
        row.addWidget(self.view, 5)
        row.addWidget(self.text, 5)
        self.retranslate()

    def retranslate(self) -> None:
        self._render()

    def show_receipt(self, receipt: Any, text: str | None = None, *, can_print: bool = False) -> None:
        """Show ``receipt`` (a :class:`kiosk.domain.receipt.Receipt`); ``text`` is its printed form when the service
        already has it (else ``receipt.to_text()``)."""
        self.receipt, self._kind, self._printed = receipt, "sale", False
        self.text.setPlainText(text or receipt.to_text())
        self.view.show_receipt(receipt)
        self.view.show()
        self.text.hide()
        self.print_button.setVisible(can_print)
        self.print_status.setText("")
        self._start_countdown()

    def show_duplicate(self, text: str) -> None:
        """A staff reprint: the duplicate's text (marked as such by the store); not a new sale — Back to the staff
        page, no countdown."""
        self._kind, self._printed = "duplicate", False
        self.text.setPlainText(text)
        self.text.show()
        self.view.hide()
        self.print_button.hide()
        self.print_status.setText("")
        self._tick.stop()
        self.remaining = 0
        self._render()

    def show_report(self, text: str, can_print: bool = False) -> None:
        """The end-of-day report for staff (today's takings as printed); not a sale. Print when a printer is set up."""
        self.show_duplicate(text)
        self._kind = "report"
        self.print_button.setVisible(can_print)
        self._render()

    @property
    def kind(self) -> str:
        """What the page shows: ``sale`` (the shopper's receipt), ``duplicate`` or ``report`` (for staff)."""
        return self._kind

    @property
    def for_staff(self) -> bool:
        """A duplicate or the report: a staff page, not the shopper's receipt."""
        return self._kind != "sale"

    @property
    def print_pending(self) -> bool:
        """A print asked for has not ended (the printer is asked off the Qt thread): Print is off meanwhile."""
        return self._print_pending

    def printing(self) -> None:
        """Print was tapped: off, and saying so, until :meth:`printed` (one print at a time on one printer)."""
        self._print_pending = True
        self.print_button.setEnabled(False)
        self.print_status.setText(translate("Receipt", "Printing…"))

    def printed(self, ok: bool, message: str = "", *, shown: Any = "") -> None:
        """The print went out (``ok``) or why not. ``shown``: what was printed (a receipt, or ``"report"``): when the
        page shows something else by now (the next shopper's receipt) only Print comes back on; None: nothing to say.
        """
        self._print_pending = False
        self.print_button.setEnabled(True)
        if shown is None:
            self.print_status.setText("")
            return
        if isinstance(shown, str) and shown not in ("", self._kind) or \
                not isinstance(shown, str) and (self._kind != "sale" or shown is not self.receipt):
            return
        self._printed = ok
        done = translate("Receipt", "Printed.") if self._kind == "report" else \
            translate("Receipt", "Printed: please take your receipt.")
        self.print_status.setText(done if ok else message)
        self._render()

    def _start_countdown(self) -> None:
        self.remaining = int(round(self.auto_return_s))
        if self.remaining > 0:
            self._tick.start()
        else:
            self._tick.stop()
        self._render()

    def _count_down(self) -> None:
        self.remaining -= 1
        if self.remaining <= 0:
            self._done()
        else:
            self._render()

    def _render(self) -> None:
        if self._kind == "duplicate":
            self.title.setText(translate("Receipt", "Duplicate receipt"))
            self.summary.setText(translate("Receipt", "Reprinted for staff: a copy, not a new sale."))
        elif self._kind == "report":
            self.title.setText(translate("Receipt", "End of day"))
            self.summary.setText(translate("Receipt", "Today's takings, for staff: not a sale."))
        else:
            self.title.setText(translate("Receipt", "Thank you!"))
            self.summary.setText(self._summary())
        self.print_button.setText(translate("Receipt", "Print again") if self._printed else
                                  translate("Receipt", "Print receipt"))
        if self.for_staff:
            self.new_button.setText(translate("Receipt", "Back"))
            return
        new = translate("Receipt", "Start a new order")
        self.new_button.setText(translate("Receipt", "Start a new order ({seconds} s)").format(seconds=self.remaining)
                                if self._tick.isActive() and self.remaining > 0 else new)

    def _summary(self) -> str:
        receipt = self.receipt
        if receipt is None:
            return ""
        total = getattr(getattr(receipt, "bill", None), "total", None)
        method = getattr(receipt, "payment_method", "")
        paid = translate("Receipt", "{amount} paid by {method}.").format(amount=format_inr(total),
                                                                         method=method_text(method)) \
            if isinstance(total, int) and method else translate("Receipt", "Paid.")
        return "\n".join((paid, translate("Receipt", "Receipt {number}.").format(number=receipt.receipt_no),
                          translate("Receipt", "Please take your items.")))

    def _done(self) -> None:
        self._tick.stop()
        self.remaining = 0
        (self.back if self.for_staff else self.done).emit()
