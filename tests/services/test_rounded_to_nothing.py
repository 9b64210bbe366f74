"""A bill of 1-49 paise rounds to ₹0 (the total is rounded to the rupee, README "Money", as every bill is): it closes
as a sale with ₹0 due and nothing charged. Before, Pay refused it ("the bill is ₹0.00"), so one ₹20/kg item at the
scale's 20 g minimum (40 paise) could not be sold at all."""

from __future__ import annotations

from kiosk.staff.accounts import add_account


def test_a_forty_paise_bill_is_sold_with_nothing_due(kit):
    k = kit()
    add_account(k.service.store, "Ravi", "supervisor", "7391", by="test")
    k.scale.set_weight(20)
    k.service.poll_scale()
    line = k.service.choose("watermelon")
    assert k.service.staff_unlock("7391", "101")
    k.service.staff_override_price(line, 20_00)  # ₹20/kg × 20 g = 40 paise
    k.service.staff_lock()
    assert (k.service.cart_view().bill.gross, k.service.cart_view().bill.total) == (40, 0)
    receipt = k.service.pay("card", expected_total_paise=0)
    assert (receipt.bill.gross, receipt.bill.round_off, receipt.bill.total) == (40, -40, 0)
    sale = k.service.store.last_sale()
    assert sale.total == 0 and k.service.store.live_payment(sale.cart_id) is None  # no terminal asked for ₹0
    assert k.service.cart_view().lines == ()
