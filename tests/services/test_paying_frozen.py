"""What the shopper agreed to pay is what is charged (probe: the payment page showed ₹120.00, a scan added ₹250 and
Card charged ₹370.00). ``pay(method, expected_total_paise)`` refuses a bill that is not the total shown; and once the
shopper is on the payment page (``freeze_cart``) the cart stays as it is: a scan or an item placed is refused with a
notice, an item waiting for the scale waits, staff's changes and removals are refused -- until ``unfreeze_cart`` (the
shopper went back) or the sale."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kiosk.services import CheckoutError, Notice
from kiosk.store import SalesStore
from tests.services.conftest import PIN, place

UNIT_ANSWER = [("oatly-oat-milk", 0.6), ("arla-standard-milk", 0.3), ("banana", 0.05)]
JUICE, OATLY = "2000000000282", "2000000000459"  # bravo-apple-juice ₹250, oatly-oat-milk ₹275 (demo EAN-13s)
WAIT = "finish or cancel the payment first: the bill cannot change while you pay"


def intents(k):
    with SalesStore.open(k.config.store) as store:
        return store.payments()


def test_pay_refuses_a_bill_that_is_not_the_total_the_shopper_was_shown(kit):
    k = kit(UNIT_ANSWER)
    s = k.service
    s.choose("avocado")  # ₹120
    shown = s.cart_view().bill.total
    assert shown == 12000
    s.scanned(JUICE)  # the probe's scan: ₹370 now
    with pytest.raises(CheckoutError) as refused:
        s.pay("card", shown)
    assert str(refused.value) == "the bill is now ₹370.00, not the ₹120.00 shown: check it and pay again"
    assert intents(k) == [] and s.cart_view().bill.total == 37000  # nothing asked of the terminal, nothing lost
    receipt = s.pay("card", 37000)
    assert receipt.bill.total == 37000


@pytest.mark.parametrize("shown", [12000.0, "12000", True, Fraction(12000)])
def test_an_amount_shown_that_is_not_whole_paise_is_refused(kit, shown):
    k = kit(UNIT_ANSWER)
    k.service.choose("avocado")
    with pytest.raises(CheckoutError, match="the amount shown must be whole paise"):
        k.service.pay("card", shown)
    assert intents(k) == []


def test_a_scan_while_the_shopper_pays_is_refused_with_a_notice_and_counts_after(kit):
    k = kit(UNIT_ANSWER)
    s = k.service
    s.choose("avocado")
    frozen = s.freeze_cart()
    assert frozen.bill.total == 12000 and frozen.cart_id == s.cart_view().cart_id
    assert s.scanned(JUICE) is None
    assert s.cart_view().bill.total == 12000
    assert k.of(Notice)[-1] == Notice("warning", "finish or cancel the payment first: the scan was not added")
    s.unfreeze_cart()  # the shopper went back to the cart
    assert s.scanned(OATLY) is not None and s.cart_view().bill.total == 39500


def test_an_item_placed_while_the_shopper_pays_is_not_added(kit):
    k = kit(UNIT_ANSWER, threshold=0.5)
    s = k.service
    s.choose("avocado")
    s.freeze_cart()
    ready = place(s)  # oat milk at 0.6, above the 0.5 threshold: added at once, but for the payment
    assert ready.auto_added_line_id is None and [x.sku for x in s.cart_view().lines] == ["avocado"]
    assert Notice("warning", WAIT) in k.of(Notice)


def test_an_item_waiting_for_the_scale_waits_while_the_shopper_pays(kit):
    k = kit(UNIT_ANSWER)
    s = k.service
    s.choose("avocado")
    assert s.choose("banana") is None and s.awaiting_weight is not None  # nothing on the scale yet
    s.freeze_cart()
    k.scale.set_weight(500)
    s.poll_scale()
    s.poll_scale()
    assert [x.sku for x in s.cart_view().lines] == ["avocado"] and s.awaiting_weight is not None
    s.unfreeze_cart()
    s.poll_scale()
    assert [x.sku for x in s.cart_view().lines] == ["avocado", "banana"] and s.awaiting_weight is None


def test_removals_and_staff_changes_wait_for_the_payment_page_to_close(kit):
    k = kit(UNIT_ANSWER)
    s = k.service
    line_id = s.choose("avocado")
    s.freeze_cart()
    with pytest.raises(CheckoutError, match=WAIT):
        s.remove_line(line_id)
    assert s.staff_unlock(PIN)
    for change in (lambda: s.staff_void(line_id), lambda: s.staff_override_price(line_id, 100),
                   lambda: s.staff_correct(line_id, "mango")):
        with pytest.raises(CheckoutError, match=WAIT):
            change()
    assert [(x.line_id, x.total) for x in s.cart_view().lines] == [(line_id, 12000)]


def test_the_sale_ends_the_freeze_and_an_empty_cart_is_not_frozen(kit):
    k = kit(UNIT_ANSWER)
    s = k.service
    with pytest.raises(CheckoutError, match="nothing to pay: the cart is empty"):
        s.freeze_cart()
    s.choose("avocado")
    s.pay("card", s.freeze_cart().bill.total)
    assert s.scanned(JUICE) is not None and s.cart_view().bill.total == 25000  # the next shopper's cart
