"""Staff's price override at the limit of what a price can be (probe: ₹2,14,74,837 keyed on the price pad overflowed a
32-bit ``Signal(int)``: a traceback, an empty error line, and the fake service got paise=0)."""

from __future__ import annotations

from catalog.model import MAX_PRICE_PAISE
from tests.ui.helpers import open_price_page, tap, type_keys
from tests.ui.real import PIN, make_real

LIMIT = "A price is at most ₹1,00,00,000.00"


def test_a_price_past_the_limit_is_one_line_and_never_reaches_the_service(qtbot, window, service):
    assert MAX_PRICE_PAISE == 10**9
    open_price_page(qtbot, window, service)
    type_keys(qtbot, window.price.keypad, "21474837")  # 2,147,483,700 paise: past a C int, past ₹1 crore
    tap(qtbot, window.price.ok_button)
    assert window.price.error.text() == LIMIT
    assert window.page == "price"
    assert [c for c in service.calls if c[0] == "staff_override_price"] == []


def test_the_price_field_takes_no_more_rupee_digits_than_the_limit_has(qtbot, window, service):
    open_price_page(qtbot, window, service)
    type_keys(qtbot, window.price.keypad, "2147483648")  # 10 digits: the field keeps 8
    assert window.price.edit.text() == "21474836"
    window.price.edit.clear()
    type_keys(qtbot, window.price.keypad, "12.505")  # at most two decimals
    assert window.price.edit.text() == "12.50"


def test_the_limit_itself_reaches_the_service_as_whole_paise(qtbot, window, service):
    line_id = open_price_page(qtbot, window, service)
    type_keys(qtbot, window.price.keypad, "10000000")  # ₹1 crore
    tap(qtbot, window.price.ok_button)
    (call,) = [c for c in service.calls if c[0] == "staff_override_price"]
    assert call == ("staff_override_price", line_id, MAX_PRICE_PAISE) and type(call[2]) is int


def test_the_real_service_keeps_the_line_and_says_the_limit(tmp_path, qtbot):
    service, win, _rec, _scale = make_real(tmp_path, qtbot)
    try:
        line_id = service.choose("avocado")
        qtbot.waitUntil(lambda: bool(win.staff_model.cart_view.lines))
        tap(qtbot, win.staff_button)
        type_keys(qtbot, win.pin.keypad, PIN)
        tap(qtbot, win.pin.ok_button)
        qtbot.waitUntil(lambda: win.page == "staff")
        win.staff.table.select_line(line_id)
        win._staff_override(line_id)
        type_keys(qtbot, win.price.keypad, "21474837")
        tap(qtbot, win.price.ok_button)
        assert win.price.error.text() == LIMIT and win.page == "price"
        assert [(x.line_id, x.total_text) for x in service.cart_view().lines] == [(line_id, "₹120.00")]
    finally:
        win.close()
        service.stop()
