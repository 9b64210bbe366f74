"""The receipt screen after payment: the printed bill (monospace) and "new customer", which
also comes back by itself after a while."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QVBoxLayout, QWidget

from kiosk.ui.widgets.common import label, touch_button

__all__ = ["ReceiptPanel"]


class ReceiptPanel(QWidget):
    done = Signal()

    def __init__(self, *, auto_return_s: float = 30.0, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("receiptPanel")
        self.receipt: Any = None
        self.auto_return_s = auto_return_s
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.done)
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 16, 24, 16)
        row.setSpacing(24)
        side = QVBoxLayout()
        side.setSpacing(12)
        self.title = label("Thank you!", "receiptTitle")
        self.summary = label("", "receiptSummary", wrap=True)
        self.new_button = touch_button("Start a new order", "newOrder")
        self.new_button.setMinimumHeight(96)
        self.new_button.clicked.connect(self._done)
        side.addWidget(self.title)
        side.addWidget(self.summary)
        side.addStretch(1)
        side.addWidget(self.new_button)
        self.text = QPlainTextEdit()
        self.text.setObjectName("receiptText")
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addLayout(side, 2)
        row.addWidget(self.text, 3)

    def show_receipt(self, receipt: Any, text: str | None = None) -> None:
        """Show ``receipt`` (a :class:`kiosk.domain.receipt.Receipt`); ``text`` is its printed form
        when the service already has it (else ``receipt.to_text()``)."""
        self.receipt = receipt
        self.title.setText("Thank you!")
        self.text.setPlainText(text or receipt.to_text())
        total = getattr(getattr(receipt, "bill", None), "total", None)
        from kiosk.domain.money import format_inr  # domain formatting, same as the printed bill

        paid = f"{format_inr(total)} paid" if isinstance(total, int) else "Paid"
        method = getattr(receipt, "payment_method", "")
        self.summary.setText(f"{paid}{' by ' + method.upper() if method else ''}.\n"
                             f"Receipt {receipt.receipt_no}. Please take your items.")
        if self.auto_return_s > 0:
            self._timer.start(int(self.auto_return_s * 1000))

    def show_duplicate(self, text: str) -> None:
        """A staff reprint: the duplicate's text (marked as such by the store); not a new sale."""
        self.title.setText("Duplicate receipt")
        self.summary.setText("Reprinted for staff: a copy, not a new sale.")
        self.text.setPlainText(text)
        if self.auto_return_s > 0:
            self._timer.start(int(self.auto_return_s * 1000))

    def _done(self) -> None:
        self._timer.stop()
        self.done.emit()
