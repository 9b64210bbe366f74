"""A card payment whose answer was lost, like a shopper and staff meet it: the payment page says the payment is being
checked (a moving bar, not a frozen screen), the cart page's strip too, staff see the payment waiting (amount, how
often the terminal was asked, its last answer), and all of it goes when the terminal answers and the sale closes."""

from __future__ import annotations

import pytest

from kiosk.services.events import PaymentPending
from kiosk.services.paying import PaymentWatch
from tests.ui.helpers import tap, type_keys
from tests.ui.real import PIN, make_real


@pytest.fixture
def quick(monkeypatch):
    """The payment watch asks after 50 ms, pausing at most 100 ms (1 s and 30 s at the kiosk)."""
    monkeypatch.setattr(PaymentWatch, "first_s", 0.05)
    monkeypatch.setattr(PaymentWatch, "most_s", 0.1)


@pytest.fixture
def real(tmp_path, qtbot, quick):
    """The window on the real service (the simulated terminal in memory), oat milk on the bill."""
    service, window, _recognizer, _scale = make_real(tmp_path, qtbot)
    service.choose("oatly-oat-milk")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    yield service, window
    window.close()
    service.close()


def checking_shown(window) -> bool:
    return window.payment.checking.isVisible() and window.payment.checking_bar.isVisible()


def test_a_lost_answer_is_checked_in_sight_of_shopper_and_staff_and_both_clear_when_approved(qtbot, real):
    service, window = real
    terminal = service._till.terminal  # the simulated terminal
    tap(qtbot, window.pay_button)
    amount = window.payment.amount.text()
    terminal.misbehave("drop")  # the terminal approves the card, its answer is lost on the way back
    terminal.misbehave("silent", times=10_000)  # and for now it answers none of the kiosk's questions
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: checking_shown(window))
    assert window.page == "payment" and amount in window.payment.checking.text()
    assert window.payment.checking.text().startswith("Checking the payment")
    assert not window.banner.isVisible()  # said on the page, not twice
    # the tap's answer comes back from its thread after the events it sent: then a tap asks at once (never twice)
    qtbot.waitUntil(lambda: window.payment.method_buttons["card"].isEnabled())

    tap(qtbot, window.payment.cancel_button)  # back to the cart: the strip says it there
    assert window.banner.isVisible() and "Checking your payment" in window.banner.text()
    assert amount in window.banner.text()

    tap(qtbot, window.staff_button)  # staff come and sign in
    type_keys(qtbot, window.pin.keypad, PIN)
    tap(qtbot, window.pin.ok_button)
    assert window.page == "staff"
    wait = window.payment_wait
    qtbot.waitUntil(lambda: wait.isVisible() and "last answer: no answer" in wait.detail.text(), timeout=3000)
    assert amount in wait.title.text() and "Times asked" in wait.detail.text()

    terminal.behave()  # the terminal answers again: it approved that payment
    qtbot.waitUntil(lambda: window.page == "receipt", timeout=3000)
    assert not wait.isVisible() and not window.payment.checking.isVisible()
    assert [r["status"] for r in terminal.ledger()] == ["approved"] and len(service.store.sales()) == 1
    tap(qtbot, window.receipt.new_button)
    assert window.page == "checkout" and not window.banner.isVisible()  # nothing waits for the next shopper


def test_a_check_settled_otherwise_clears_and_a_late_one_for_another_cart_is_not_shown(qtbot, window, service):
    """Declined in the background: the page offers the methods again; the end of an older payment of the cart leaves
    the newer one shown; settled by a tap on the method (the receipt, no end of the check is sent): gone too; a
    question that was under way when its sale closed shows nothing."""
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    tap(qtbot, window.pay_button)
    cart = window.cart_model.cart_view.cart_id
    waiting = PaymentPending(cart, 9900, "₹99.00", "2025-01-02T10:30:00+05:30", 2, "no answer: timed out")
    window.payment.failed("The payment terminal did not answer")
    service.emit(waiting)
    qtbot.waitUntil(lambda: checking_shown(window))
    assert "10:30" in window.payment_wait.title.text() and "Times asked: 2" in window.payment_wait.detail.text()
    service.emit(PaymentPending(cart, 9900, "₹99.00", waiting.since, 3, "declined", active=False))
    qtbot.waitUntil(lambda: not window.payment.checking.isVisible())
    assert window.payment.info.text() == "Choose how you pay" and window.payment_wait.waiting == []

    newer = PaymentPending(cart, 9900, "₹99.00", "2025-01-02T10:34:00+05:30", 0, "")  # paid again: no answer
    service.emit(newer)
    qtbot.waitUntil(lambda: checking_shown(window))
    service.emit(PaymentPending(cart, 9900, "₹99.00", waiting.since, 4, "approved after the cart was released: refund "
                                "or collect", active=False))  # the older payment's end (staff are called for it)
    qtbot.wait(50)
    assert window.payment_wait.waiting == [newer] and checking_shown(window)

    service.emit(waiting)  # asked again, and this time the shopper's tap settles it: the receipt
    qtbot.waitUntil(lambda: checking_shown(window))
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    assert not window.payment_wait.waiting and window.payment.waiting is None
    service.emit(PaymentPending(cart, 9900, "₹99.00", waiting.since, 4, "no answer: timed out"))  # that cart's: late
    qtbot.wait(50)
    assert not window.payment_wait.waiting and window.payment.waiting is None
