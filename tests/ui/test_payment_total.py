"""The payment page charges what it shows (probe: the page showed ₹120.00, a scan added ₹250 and Card charged
₹370.00). Opening it freezes the cart in the service (``freeze_cart``): a scan or a weighed item finishing meanwhile
is not added (a notice says why); leaving it by any way but the sale lets the cart change again; the page follows
the cart whenever it changes; and ``pay`` is told the total shown when the method was tapped."""

from __future__ import annotations

from tests.ui.helpers import tap
from tests.ui.real import make_real

JUICE, OATLY = "2000000000282", "2000000000459"  # ₹250 and ₹275 (the demo catalog's EAN-13s)


def test_a_scan_on_the_payment_page_is_not_sold_and_card_charges_the_total_shown(tmp_path, qtbot):
    service, win, _rec, _scale = make_real(tmp_path, qtbot)
    try:
        service.choose("avocado")
        qtbot.waitUntil(lambda: win.pay_button.isEnabled())
        tap(qtbot, win.pay_button)
        assert win.page == "payment" and win.payment.amount.text() == "₹120.00"
        assert service.scanned(JUICE) is None  # what the live loop does with a scanner's code
        qtbot.waitUntil(lambda: win.banner.isVisible())
        assert win.banner.text() == "Finish or cancel the payment first: the scan was not added"
        assert service.cart_view().bill.total == 12000 and win.payment.amount.text() == "₹120.00"
        tap(qtbot, win.payment.method_buttons["card"])
        qtbot.waitUntil(lambda: win.page == "receipt", timeout=5000)
        assert win.receipt.receipt.bill.total == 12000
        assert service.scanned(OATLY) is not None  # the next shopper's cart is not frozen
    finally:
        win.close()
        service.stop()


def test_a_weighed_item_waits_while_the_shopper_pays_and_is_added_after_back_to_cart(tmp_path, qtbot):
    service, win, _rec, scale = make_real(tmp_path, qtbot)
    try:
        service.choose("avocado")
        assert service.choose("banana") is None  # waits for the scale
        qtbot.waitUntil(lambda: win.pay_button.isEnabled())
        tap(qtbot, win.pay_button)
        scale.set_weight(500)
        service.poll_scale()
        qtbot.wait(50)
        assert [x.sku for x in service.cart_view().lines] == ["avocado"] and win.payment.amount.text() == "₹120.00"
        tap(qtbot, win.payment.cancel_button)
        assert win.page == "checkout"
        service.poll_scale()
        qtbot.waitUntil(lambda: win.cart_model.rowCount() == 2)
        tap(qtbot, win.pay_button)
        total = service.cart_view().bill
        assert total.total > 12000 and win.payment.amount.text() == total.total_text
    finally:
        win.close()
        service.stop()


def test_the_page_follows_the_cart_and_pay_is_told_the_total_tapped(qtbot, window, service):
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tap(qtbot, window.pay_button)
    assert ("freeze_cart",) in service.calls and service.frozen
    assert window.payment.amount.text() == "₹99.00"
    service.cart.add_unit("mango", "Mango", 8000, 0)  # the cart changed all the same (a race, another client)
    service._changed()
    qtbot.waitUntil(lambda: window.payment.amount.text() == "₹179.00")
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    assert service.expected_totals == [17900]


def test_a_tap_made_before_the_cart_changed_is_refused_on_the_page(qtbot, window, service):
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tap(qtbot, window.pay_button)
    window.payment.processing_ms = 10_000  # the shopper taps Card; the terminal screen is still coming up
    tap(qtbot, window.payment.method_buttons["card"])
    service.cart.add_unit("mango", "Mango", 8000, 0)
    service._changed()
    qtbot.waitUntil(lambda: window.payment.amount.text() == "₹179.00")
    window.payment._timer.stop()
    window.payment._finish()
    qtbot.waitUntil(lambda: window.payment.info.text().startswith("Payment not completed"))  # pay: off the Qt thread
    assert service.expected_totals == [9900] and service.receipts == []
    assert window.page == "payment"
    assert window.payment.info.text() == ("Payment not completed: Your bill is now ₹179.00, not the ₹99.00 shown: "
                                          "check it and pay again")


def test_back_to_cart_unfreezes_it(qtbot, window, service):
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.cancel_button)
    assert window.page == "checkout" and not service.frozen and service.calls[-1] == ("unfreeze_cart",)
    window.show_page("search")  # other pages ask nothing of the service
    assert service.calls[-1] == ("unfreeze_cart",)
