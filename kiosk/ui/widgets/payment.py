"""Simulated payment: the amount, a choice of method, a short "processing" pause, then the
owner calls the service's ``pay`` (this panel only emits ``pay_requested(method)``)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from kiosk.ui.widgets.common import label, touch_button

__all__ = ["PaymentPanel"]


class PaymentPanel(QWidget):
    pay_requested = Signal(str)
    cancelled = Signal()
    METHODS = (("card", "Card"), ("upi", "UPI"), ("cash", "Cash at desk"))

    def __init__(self, *, processing_ms: int = 1200, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("paymentPanel")
        self.processing_ms = processing_ms
        self._pending: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._finish)
        column = QVBoxLayout(self)
        column.setContentsMargins(40, 24, 40, 24)
        column.setSpacing(16)
        self.title = label("Pay", "pageTitle")
        self.amount = label("₹0.00", "payAmount")
        self.amount.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.info = label("Choose how you pay", "payInfo", wrap=True)
        self.info.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        row.setSpacing(16)
        self.method_buttons = {}
        for key, text in self.METHODS:
            button = touch_button(text, f"payMethod_{key}")
            button.setProperty("role", "payMethod")
            button.setMinimumHeight(110)
            button.clicked.connect(lambda _=False, k=key: self.start(k))
            row.addWidget(button)
            self.method_buttons[key] = button
        self.cancel_button = touch_button("Back to cart", "payCancel")
        self.cancel_button.clicked.connect(self._cancel)
        column.addWidget(self.title)
        column.addStretch(1)
        column.addWidget(self.amount)
        column.addWidget(self.info)
        column.addLayout(row)
        column.addStretch(1)
        column.addWidget(self.cancel_button)

    def prepare(self, total_text: str) -> None:
        """Show ``total_text`` and wait for a method."""
        self._timer.stop()
        self._pending = None
        self.amount.setText(total_text)
        self.info.setText("Choose how you pay")
        self._set_busy(False)

    def start(self, method: str) -> None:
        self._pending = method
        self._set_busy(True)
        name = dict(self.METHODS)[method]
        self.info.setText(f"{name}: follow the terminal… processing payment")
        self._timer.start(self.processing_ms)

    def _finish(self) -> None:
        method, self._pending = self._pending, None
        if method is not None:
            self.pay_requested.emit(method)

    def _cancel(self) -> None:
        self._timer.stop()
        self._pending = None
        self.cancelled.emit()

    def failed(self, message: str) -> None:
        self._set_busy(False)
        self.info.setText(f"Payment not completed: {message}")

    def _set_busy(self, busy: bool) -> None:
        for button in self.method_buttons.values():
            button.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)

    @property
    def busy(self) -> bool:
        return self._pending is not None
