"""Staff's pages in the middle of a shopper's sale, on the real service, like a person: a reprinted receipt and the
end-of-day report lead back to the staff page (never to a new shopper), and when staff mode locks (the idle
time-out) no staff-only page stays on screen — the receipts list, a duplicate, the report included."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.ui.helpers import tap, tap_list_row, type_keys
from tests.ui.real import PIN, make_real
from tests.ui.test_integration import place


@pytest.fixture
def real(tmp_path, qtbot):
    """The window on the real service with the shared staff PIN, a clock the test moves, a 2 s receipt countdown."""
    now = [datetime.now(timezone.utc)]  # the store dates its sales by the real day
    service, window, recognizer, scale = make_real(tmp_path, qtbot, clock=lambda: now[0], receipt_return_s=2,
                                                   staff_timeout_s=60.0)
    yield service, window, recognizer, scale, now
    window.close()
    service.close()


def sell_milk(qtbot, service, window, recognizer) -> None:
    recognizer.answer = [("arla-standard-milk", 0.6), ("oatly-oat-milk", 0.2)]
    place(service, "07_arla-standard-milk.jpg")
    qtbot.waitUntil(lambda: window.suggestions.state == "choose")
    rows = window.cart_model.rowCount()
    tap(qtbot, window.suggestions.buttons[0])
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == rows + 1)


def pay_and_next_shopper(qtbot, window) -> None:
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    tap(qtbot, window.receipt.new_button)
    assert window.page == "checkout"


def sign_in(qtbot, window) -> None:
    tap(qtbot, window.staff_button)
    type_keys(qtbot, window.pin.keypad, PIN)
    tap(qtbot, window.pin.ok_button)
    qtbot.waitUntil(lambda: window.page == "staff")


def to_hindi(qtbot, window) -> None:
    qtbot.waitUntil(window.language_button.isVisible)
    tap(qtbot, window.language_button)
    qtbot.waitUntil(lambda: window.translations.language == "hi")


def test_a_reprint_mid_sale_goes_back_to_staff_and_the_shoppers_sale_carries_on(qtbot, real):
    """A Hindi shopper has milk on the bill and a banana waiting for the scale; staff reprint an earlier receipt: the
    duplicate has Back (no countdown), Back is the staff page, Done is the shopper's screen as it was — still Hindi,
    still asking for the banana's weight, which the scale then adds."""
    service, window, recognizer, scale, _now = real
    sell_milk(qtbot, service, window, recognizer)
    pay_and_next_shopper(qtbot, window)
    earlier = service.last_sale.receipt_no
    to_hindi(qtbot, window)
    sell_milk(qtbot, service, window, recognizer)
    recognizer.answer = [("banana", 0.6), ("granny-smith", 0.2)]
    place(service, "01_banana.jpg")
    qtbot.waitUntil(lambda: window.suggestions.state == "choose")
    tap(qtbot, window.suggestions.buttons[0])
    qtbot.waitUntil(lambda: window.suggestions.state == "weigh")
    sign_in(qtbot, window)
    tap(qtbot, window.staff.reprint_button)
    assert window.page == "receipts" and window.receipts.receipt_numbers() == [earlier]
    tap_list_row(qtbot, window.receipts.list, 0)
    qtbot.waitUntil(lambda: window.page == "receipt")
    assert "DUPLICATE" in window.receipt.text.toPlainText()
    assert window.receipt.new_button.text() == "वापस"  # Back, in the shopper's language
    assert not window.language_button.isVisible() and not window.help_button.isVisible()  # a staff page
    qtbot.wait(2600)  # longer than the receipt's countdown: a duplicate has none
    assert window.page == "receipt" and service.staff_unlocked
    tap(qtbot, window.receipt.new_button)
    assert window.page == "staff" and service.staff_unlocked
    tap(qtbot, window.staff.done_button)
    assert window.page == "checkout" and not service.staff_unlocked
    assert window.translations.language == "hi"  # the shopper's language, as they left it
    assert window.suggestions.state == "weigh" and window.weight.awaiting and service.awaiting_weight
    assert window.cart_model.rowCount() == 1
    scale.set_weight(548)
    service.poll_scale()
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 2)
    qtbot.waitUntil(lambda: window.suggestions.state == "added")


def test_the_day_report_goes_back_to_staff(qtbot, real):
    service, window, recognizer, _scale, _now = real
    sell_milk(qtbot, service, window, recognizer)
    pay_and_next_shopper(qtbot, window)
    sell_milk(qtbot, service, window, recognizer)
    sign_in(qtbot, window)
    tap(qtbot, window.staff.day_button)
    qtbot.waitUntil(lambda: window.page == "receipt")
    assert "END OF DAY" in window.receipt.text.toPlainText() and window.receipt.new_button.text() == "Back"
    qtbot.wait(2600)
    assert window.page == "receipt"
    tap(qtbot, window.receipt.new_button)
    assert window.page == "staff" and service.staff_unlocked and window.cart_model.rowCount() == 1


@pytest.mark.parametrize("where", ["receipts", "duplicate", "report"])
def test_the_idle_time_out_leaves_every_staff_only_page(qtbot, real, where):
    """Staff walk away from the receipts list, a duplicate or the report: the idle time-out locks staff mode and the
    screen goes back to the shopper's checkout — no way back to a staff page without the PIN."""
    service, window, recognizer, _scale, now = real
    sell_milk(qtbot, service, window, recognizer)
    pay_and_next_shopper(qtbot, window)
    sign_in(qtbot, window)
    if where == "report":
        tap(qtbot, window.staff.day_button)
    else:
        tap(qtbot, window.staff.reprint_button)
        if where == "duplicate":
            tap_list_row(qtbot, window.receipts.list, 0)
    qtbot.waitUntil(lambda: window.page == ("receipts" if where == "receipts" else "receipt"))
    now[0] += timedelta(seconds=600)
    qtbot.waitUntil(lambda: window.page == "checkout", timeout=5000)  # the idle check runs every second
    assert not service.staff_unlocked
    assert window.staff_button.isVisible() and window.language_button.isVisible()
    tap(qtbot, window.staff_button)
    assert window.page == "pin"  # the way back in is the PIN


@pytest.fixture
def far_zone(monkeypatch):
    """A local zone whose calendar day differs from UTC's right now (UTC+14 from 10:00 UTC, else UTC−11)."""
    import time

    zone = "Pacific/Kiritimati" if datetime.now(timezone.utc).hour >= 10 else "Pacific/Pago_Pago"
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield zone
    monkeypatch.undo()
    time.tzset()


def test_todays_receipts_are_the_stores_day_whatever_zone_the_clock_reads_in(qtbot, far_zone, tmp_path):
    """The service's clock may read in UTC (an injected clock, NTP-fed UTC): staff's "today" is still the store's
    calendar day, the day its sales are dated by (it listed nothing when the two days differed)."""
    service, window, recognizer, _scale = make_real(tmp_path, qtbot, clock=lambda: datetime.now(timezone.utc))
    try:
        sell_milk(qtbot, service, window, recognizer)
        pay_and_next_shopper(qtbot, window)
        sign_in(qtbot, window)
        tap(qtbot, window.staff.reprint_button)
        assert window.page == "receipts" and window.receipts.receipt_numbers() == [service.last_sale.receipt_no]
    finally:
        window.close()
        service.close()
