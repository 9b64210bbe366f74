"""The window is not frozen while the card terminal charges (probe: ``_pay`` called ``service.pay`` on the Qt thread,
so nothing repainted for the whole card transaction). The service is asked off the Qt thread: the event loop goes
on (timers fire, a scan made meanwhile is refused on the banner), the payment page says it waits for the terminal
with its buttons off, and the receipt shows once the terminal answers."""

from __future__ import annotations

import threading

from PySide6.QtCore import QTimer

from kiosk.payments.simulator import Terminal
from tests.ui.helpers import tap
from tests.ui.real import make_real, milk_to_payment


class PinPad(Terminal):
    """The simulator, whose charge waits until the test lets the shopper finish typing the PIN."""

    def __init__(self) -> None:
        super().__init__()
        self.asked, self.go = threading.Event(), threading.Event()
        self.thread = ""

    def charge(self, request):
        self.thread = threading.current_thread().name
        self.asked.set()
        assert self.go.wait(5), "the test never let the terminal answer"
        return super().charge(request)


def test_the_window_keeps_running_while_the_terminal_charges_and_shows_the_receipt_after(tmp_path, qtbot):
    terminal = PinPad()
    service, window, recognizer, _scale = make_real(tmp_path, qtbot, terminal=terminal)
    try:
        milk_to_payment(qtbot, service, window, recognizer)
        tap(qtbot, window.payment.method_buttons["card"])
        qtbot.waitUntil(terminal.asked.is_set, timeout=3000)  # the page's short pause, then the charge
        assert terminal.thread != threading.main_thread().name

        ticks: list[int] = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start(10)
        qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=2000)  # the event loop runs during the charge
        timer.stop()
        assert window.page == "payment" and "follow the terminal" in window.payment.info.text()
        assert not any(b.isEnabled() for b in window.payment.method_buttons.values())
        assert not window.payment.cancel_button.isEnabled() and not window.pay_button.isEnabled()
        assert service.scanned("2000000000282") is None  # a scan now is refused at once, and said so
        qtbot.waitUntil(lambda: "finish or cancel the payment first" in window.banner.text().lower())

        terminal.go.set()
        qtbot.waitUntil(lambda: window.page == "receipt", timeout=5000)
        assert [line.sku for line in window.receipt.receipt.lines] == ["arla-standard-milk"]
        assert not list(service.cart_view().lines)  # the next shopper's cart: the scan is on no bill
    finally:
        terminal.go.set()
        window.close()
        service.close()


def test_the_next_shoppers_pay_works_as_soon_as_the_sale_closed_even_before_the_answer_is_delivered(tmp_path, qtbot):
    """The sale's SaleClosed reaches the window before the pay call's own answer; the next shopper's Pay button must
    not wait for that answer (a loaded till delivered it late and the next Pay could not be tapped), and a late
    answer of the earlier tap must not touch the next payment."""
    service, window, _recognizer, _scale = make_real(tmp_path, qtbot)
    held = []
    real_call = window.bridge.call_off_thread

    def answer_held_back(name, *args, done):
        return real_call(name, *args, done=lambda ok, result: held.append((done, ok, result)))

    window.bridge.call_off_thread = answer_held_back
    try:
        service.choose("arla-standard-milk")
        qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
        tap(qtbot, window.pay_button)
        tap(qtbot, window.payment.method_buttons["card"])
        qtbot.waitUntil(lambda: window.page == "receipt" and len(held) == 1, timeout=5000)
        window.show_page("checkout")
        service.choose("oatly-oat-milk")
        qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
        assert window.pay_button.isEnabled()  # the answer of the first tap has not been delivered yet
        tap(qtbot, window.pay_button)
        window.bridge.call_off_thread = real_call
        tap(qtbot, window.payment.method_buttons["card"])
        done, ok, result = held.pop()
        done(ok, result)  # the first tap's answer, late: the second payment goes on regardless
        qtbot.waitUntil(lambda: window.page == "receipt"
                        and [line.sku for line in window.receipt.receipt.lines] == ["oatly-oat-milk"],
                        timeout=5000)
    finally:
        window.bridge.call_off_thread = real_call
        window.close()
        service.close()
