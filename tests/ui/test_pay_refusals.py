"""Paying when the terminal says no, or nothing, on a Hindi screen, like a shopper: each reason is said once (the
payment page's line, not the banner too), in Hindi, and the shopper can try again and pay exactly once."""

from __future__ import annotations

import re

import pytest

from kiosk.payments.simulator import Terminal
from kiosk.payments.terminal import ChargeStatus, TerminalError, TerminalReply
from kiosk.ui.models import CartTableModel
from tests.ui.helpers import tap, tap_cell
from tests.ui.real import make_real, milk_to_payment

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


class MoodyTerminal(Terminal):
    """The simulator, which can also not answer (``silent``) or keep a charge waiting (``pending``)."""

    mood: str | None = None

    def charge(self, request):
        if self.mood == "silent":
            raise TerminalError("no answer from the terminal (simulated)")
        if self.mood == "pending":
            return TerminalReply(ChargeStatus.PENDING, message="waiting for the shopper's PIN",
                                 idempotency_key=request.idempotency_key)
        return super().charge(request)

    def status(self, idempotency_key):  # also what the kiosk's payment watch hears, in the background
        if self.mood == "silent":
            raise TerminalError("no answer from the terminal (simulated)")
        if self.mood == "pending":
            return TerminalReply(ChargeStatus.PENDING, message="waiting for the shopper's PIN",
                                 idempotency_key=idempotency_key)
        return super().status(idempotency_key)


@pytest.fixture
def hindi_milk(tmp_path, qtbot):
    """A Hindi shopper with milk on the bill, on the payment page; the terminal declines above ₹1."""
    terminal = MoodyTerminal(decline_over=100)
    service, window, recognizer, _scale = make_real(tmp_path, qtbot, terminal=terminal)
    qtbot.waitUntil(window.language_button.isVisible)  # the service's languages (ShopperPrefsChanged)
    tap(qtbot, window.language_button)
    qtbot.waitUntil(lambda: window.translations.language == "hi")
    milk_to_payment(qtbot, service, window, recognizer)
    yield service, window, terminal
    window.close()
    service.close()


def pay_by_card(qtbot, window) -> str:
    """Tap Card; the payment page's line once the service answered (refused: the method buttons come back)."""
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt" or window.payment.method_buttons["card"].isEnabled())
    return window.payment.info.text()


def said_once_in_hindi(window, text: str, *words: str) -> None:
    assert window.page == "payment"
    assert not LATIN_WORD.search(text), text
    assert all(word in text for word in words), text
    assert not window.banner.isVisible(), window.banner.text()  # not a second time in the banner


def test_a_declined_card_is_said_once_in_hindi_and_the_retry_pays_once(qtbot, hindi_milk):
    service, window, terminal = hindi_milk
    said_once_in_hindi(window, pay_by_card(qtbot, window), "भुगतान पूरा नहीं हुआ", "अस्वीकार")
    terminal.decline_over = None
    pay_by_card(qtbot, window)
    assert window.page == "receipt"
    assert [r["status"] for r in terminal.ledger()] == ["declined", "approved"]


def test_a_silent_or_waiting_terminal_is_said_in_hindi_and_a_busy_cart_too(qtbot, hindi_milk):
    """No answer, then no answer about the payment waiting, then a payment not confirmed yet: each in Hindi on the
    payment page; back on the cart, removing the milk meanwhile is refused in Hindi; then the shopper pays once."""
    service, window, terminal = hindi_milk
    amount = window.payment.amount.text()  # the bill, as the payment page shows it
    terminal.mood = "silent"
    said_once_in_hindi(window, pay_by_card(qtbot, window), "टर्मिनल ने जवाब नहीं दिया", amount)
    said_once_in_hindi(window, pay_by_card(qtbot, window), "स्टाफ़ को बुलाएँ", amount)  # that payment still waits
    terminal.mood = "pending"
    said_once_in_hindi(window, pay_by_card(qtbot, window), "पुष्टि नहीं की", amount)
    tap(qtbot, window.payment.cancel_button)
    tap_cell(qtbot, window.cart.table, 0, CartTableModel.REMOVE)  # the ✕ on the milk's line
    tap(qtbot, window.confirm.buttons["remove"])
    qtbot.waitUntil(window.banner.isVisible)
    assert "भुगतान चल रहा है" in window.banner.text() and amount in window.banner.text()
    assert not LATIN_WORD.search(window.banner.text()), window.banner.text()
    assert window.cart_model.rowCount() == 1
    terminal.mood = None
    terminal.decline_over = None
    tap(qtbot, window.pay_button)
    pay_by_card(qtbot, window)
    assert window.page == "receipt"
    assert [r["status"] for r in terminal.ledger()] == ["approved"]
