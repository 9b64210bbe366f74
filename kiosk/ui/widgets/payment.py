"""Paying: the amount, a choice of method, a short "processing" pause, then the owner calls the service's ``pay``
(this panel only emits ``pay_requested(method)``).

A payment whose outcome the terminal has not told yet (``PaymentPending``: its answer was lost, the terminal did not
answer …) is asked about again in the background: the shopper reads that it is being checked, under a moving bar (the
screen is not frozen; the methods stay: a tap asks at once, never charging twice), and staff see it on the staff page
(:class:`PaymentWaitPanel`: the amount, since when, how often the terminal was asked and its last answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.i18n import mark, translate
from kiosk.ui.widgets.common import Translatable, announce, label, line, touch_button

__all__ = ["PaymentPanel", "PaymentWaitPanel", "method_text"]

_C = "Payment"


def method_text(method: str) -> str:
    """A payment method's name (``card``, ``upi``, ``cash``) in the current language, as the payment page says it;
    an unknown one as the service named it."""
    text = dict(PaymentPanel.METHODS).get(str(method or "").lower())
    return translate(_C, text) if text else str(method or "").upper()


class PaymentPanel(Translatable, QWidget):
    pay_requested = Signal(str)
    cancelled = Signal()
    METHODS = (("card", mark("Payment", "Card")), ("upi", mark("Payment", "UPI")),
               ("cash", mark("Payment", "Cash at desk")))

    def __init__(self, *, processing_ms: int = 1200, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("paymentPanel")
        self.processing_ms = processing_ms
        self._pending: str | None = None
        self._info: tuple[str, str] = ("choose", "")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._finish)
        column = QVBoxLayout(self)
        column.setContentsMargins(32, 20, 32, 20)
        column.setSpacing(14)
        self.title = line("", "pageTitle")
        self.amount = line("₹0.00", "payAmount")
        self.amount.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.info = label("", "payInfo", wrap=True)
        self.info.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.waiting: Any = None  # the PaymentPending being checked, if any
        self.total_paise: int | None = None  # the total shown now
        self.agreed_paise: int | None = None  # the total shown when the shopper tapped a method: what pay is told
        self.checking = label("", "payChecking", wrap=True)
        self.checking.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.checking.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.checking_bar = QProgressBar()
        self.checking_bar.setObjectName("payCheckingBar")
        self.checking_bar.setRange(0, 0)  # busy: it moves by itself
        self.checking_bar.setTextVisible(False)
        self.checking_bar.setFixedHeight(10)
        row = QHBoxLayout()
        row.setSpacing(14)
        self.method_buttons = {}
        for key, _text in self.METHODS:
            button = touch_button("", f"payMethod_{key}")
            button.setProperty("role", "payMethod")
            button.setMinimumHeight(110)
            button.clicked.connect(lambda _=False, k=key: self.start(k))
            row.addWidget(button)
            self.method_buttons[key] = button
        self.cancel_button = touch_button("", "payCancel")
        self.cancel_button.clicked.connect(self._cancel)
        column.addWidget(self.title)
        column.addStretch(1)
        column.addWidget(self.amount)
        column.addWidget(self.info)
        column.addWidget(self.checking)
        column.addWidget(self.checking_bar)
        column.addLayout(row)
        column.addStretch(1)
        column.addWidget(self.cancel_button)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Payment", "Pay"))
        self.cancel_button.setText(translate("Payment", "Back to cart"))
        for key, text in self.METHODS:
            self.method_buttons[key].setText(translate(_C, text))
        self._show_info()
        self.set_checking(self.waiting)

    def set_checking(self, event: Any) -> None:
        """A payment being checked with the terminal in the background (``PaymentPending``), or None."""
        self.waiting = event
        self.checking.setVisible(event is not None)
        self.checking_bar.setVisible(event is not None)
        if event is not None:
            self.checking.setText(translate("Payment", "Checking the payment of {amount} with the terminal… please "
                                                       "wait: you are never charged twice").format(
                amount=event.amount_text))

    def settled(self) -> None:
        """The payment that was checked is settled: no longer "not completed" (a notice or the receipt says how)."""
        self.set_checking(None)
        if self._info[0] == "failed" and not self.busy:
            self._info = ("choose", "")
            self._show_info()

    def _show_info(self) -> None:
        kind, detail = self._info
        if kind == "processing":
            self.info.setText(translate("Payment", "{method}: follow the terminal… processing payment").format(
                method=translate(_C, dict(self.METHODS)[detail])))
        elif kind == "failed":
            self.info.setText(translate("Payment", "Payment not completed: {reason}").format(reason=detail))
        else:
            self.info.setText(translate("Payment", "Choose how you pay"))

    def prepare(self, total_text: str, total_paise: int | None = None) -> None:
        """Show ``total_text`` (``total_paise``) and wait for a method."""
        self._timer.stop()
        self._pending = None
        self.set_amount(total_text, total_paise)
        self._info = ("choose", "")
        self._show_info()
        self._set_busy(False)

    def set_amount(self, total_text: str, total_paise: int | None = None) -> None:
        """The bill's total as it is now (the window calls this on every cart change): shown at once; a tap already
        made keeps what it agreed to (the service refuses a bill that is not that)."""
        self.amount.setText(total_text)
        self.total_paise = total_paise

    def start(self, method: str) -> None:
        self._pending = method
        self.agreed_paise = self.total_paise
        self._set_busy(True)
        self._info = ("processing", method)
        self._show_info()
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
        self._info = ("failed", message)
        self._show_info()
        announce(self.info, self.info.text(), assertive=True)

    def first_control(self) -> QWidget:
        """Where the keyboard starts: the first way to pay (Back to cart while none can be tapped)."""
        return next((b for b in self.method_buttons.values() if b.isEnabled()), self.cancel_button)

    def _set_busy(self, busy: bool) -> None:
        for button in self.method_buttons.values():
            button.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)

    @property
    def busy(self) -> bool:
        return self._pending is not None


def _since(iso: str) -> str:
    """``HH:MM`` of an ISO time (the store's clock), else the text as it is."""
    try:
        return datetime.fromisoformat(iso).strftime("%H:%M")
    except (TypeError, ValueError):
        return str(iso or "")


class PaymentWaitPanel(Translatable, QFrame):
    """Staff page: the payments whose outcome the terminal has not told yet (``PaymentPending``), hidden while none
    waits: the amount and since when; how often the kiosk asked since, and the terminal's last answer."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("paymentWait")
        self.waiting: list[Any] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(10, 2, 10, 2)
        column.setSpacing(0)
        self.title = line("", "paymentWaitTitle")  # one line each (elided, whole text as tooltip)
        self.detail = line("", "paymentWaitDetail")
        column.addWidget(self.title)
        column.addWidget(self.detail)
        self.set_waiting([])

    def retranslate(self) -> None:
        if not self.waiting:
            return
        event = self.waiting[0]
        self.title.setText(translate("Staff", "Payment of {amount} not settled since {time}: the kiosk asks the "
                                              "terminal again by itself").format(amount=event.amount_text,
                                                                                 time=_since(event.since)))
        answer = str(event.answer or "")
        if answer.startswith("no answer"):
            answer = translate("Staff", "no answer")
        elif answer == "does not match this payment":
            answer = translate("Staff", "about another payment (staff called)")
        elif answer.startswith("never received so far"):
            answer = translate("Staff", "not received by the terminal so far")
        detail = (translate("Staff", "Times asked: {count} · last answer: {answer}").format(count=event.checks,
                                                                                          answer=answer)
                  if event.checks else translate("Staff", "Outcome unknown: the terminal is asked again shortly"))
        if len(self.waiting) > 1:
            detail += " · " + translate("Staff", "{count} more waiting").format(count=len(self.waiting) - 1)
        self.detail.setText(detail)
        self.detail.setToolTip(str(event.answer or ""))

    def set_waiting(self, events: list[Any]) -> None:
        self.waiting = list(events)
        self.setVisible(bool(self.waiting))
        self.retranslate()
