import json
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.domain.cart import Cart, CartError
from kiosk.domain.receipt import Receipt, StoreInfo

IST = timezone(timedelta(hours=5, minutes=30))
WHEN = datetime(2025, 3, 1, 14, 5, tzinfo=IST)


def closed_cart():
    n = iter(range(1, 100))
    cart = Cart("cart-1", id_factory=lambda: f"L{next(n)}")
    cart.add_unit("arla-standard-milk", "Arla Standard Milk 1 l", 7200, 0, 1)
    cart.add_weighed("granny-smith", "Granny Smith Apple", 26000, 0, 512)
    cart.add_unit("arla-standard-milk", "Arla Standard Milk 1 l", 7200, 0, 2)
    cart.add_unit("bravo-apple-juice", "Bravo Apple Juice 2 l", 25000, 1200)
    cart.add_unit("arla-natural-yoghurt", "Arla Natural Yoghurt 1 l", 17900, 500)
    v = cart.add_unit("oatly-oat-milk", "Oatly Oat Milk 1 l", 27500, 1800)
    cart.void(v.line_id)
    return cart.close()


def test_receipt_needs_closed_cart():
    cart = Cart()
    cart.add_unit("milk", "Milk", 7200, 0)
    with pytest.raises(CartError):
        Receipt.from_cart(cart, "1", WHEN)


def test_receipt_needs_aware_time():
    with pytest.raises(ValueError):
        Receipt.from_cart(closed_cart(), "1", datetime(2025, 1, 1))


def test_receipt_consolidates_unit_lines_and_totals():
    r = Receipt.from_cart(closed_cart(), "K1-000007", WHEN, payment_method="upi")
    milk = r.lines[0]
    assert (milk.qty, milk.total, milk.line_ids) == (3, 21600, ("L1", "L3"))
    assert [x.sku for x in r.lines] == ["arla-standard-milk", "granny-smith", "bravo-apple-juice",
                                        "arla-natural-yoghurt"]
    assert r.bill.gross == 21600 + 13312 + 25000 + 17900
    assert r.bill.total == 77800 and r.bill.round_off == -12
    assert r.voided_count == 1
    assert sum(x.total for x in r.lines) == r.bill.gross


def test_to_text_shows_bill():
    r = Receipt.from_cart(closed_cart(), "K1-000007", WHEN, store=StoreInfo("FreshMart", gstin="29ABCDE1234F1Z5"),
                          payment_method="cash")
    text = r.to_text()
    lines = text.splitlines()
    assert all(len(x) <= 42 for x in lines)
    assert "Receipt K1-000007" in text and "01-03-2025 14:05" in text
    assert "GSTIN 29ABCDE1234F1Z5" in text
    assert "0.512 kg x ₹260.00/kg" in text and "₹133.12" in text
    assert "3 x ₹72.00" in text
    assert any(x.startswith("Round off") and x.endswith("-₹0.12") for x in lines)
    assert any(x.startswith("TOTAL") and x.endswith("₹778.00") for x in lines)
    # the 12 % row: taxable 223.21, CGST 13.40, SGST 13.39 (odd paisa to CGST)
    assert any(x.split() == ["12%", "223.21", "13.40", "13.39", "250.00"] for x in lines)
    assert "Oatly" not in text and any(x.startswith("Voided by staff: 1 (not charged)") and x.endswith("₹275.00")
                                       for x in lines)
    assert "Corrected by staff" not in text and "Re-priced by staff" not in text


def test_round_off_up_to_50_paise_on_text():
    cart = Cart()
    cart.add_unit("a", "A", 1250, 500)
    r = Receipt.from_cart(cart.close(), "1", WHEN)
    assert r.bill.round_off == 50 and r.bill.total == 1300
    assert "+₹0.50" in r.to_text()


def test_json_round_trip_and_content():
    r = Receipt.from_cart(closed_cart(), "K1-000007", WHEN, store=StoreInfo("FreshMart", kiosk_id="K1"))
    j = r.to_json()
    d = json.loads(j)
    assert d["total"] == 77800 and d["round_off"] == -12 and d["amounts_in"] == "paise"
    assert d["issued_at"] == "2025-03-01T14:05:00+05:30"
    assert {t["rate_bp"] for t in d["tax"]} == {0, 500, 1200}
    assert Receipt.from_json(j) == r


def test_from_json_refuses_tampered_totals():
    d = json.loads(Receipt.from_cart(closed_cart(), "7", WHEN).to_json())
    d["total"] += 100
    with pytest.raises(ValueError, match="do not match"):
        Receipt.from_json(json.dumps(d))


def test_staff_changes_are_marked_and_keep_their_place_and_the_header_is_legal():
    from kiosk.domain.cart import CartLine

    cart = Cart("cart-2")
    milk = cart.add_unit("milk", "Milk", 7200, 0)
    cart.add_unit("bread", "Bread", 4000, 500)
    cart.add(CartLine.unit("oat", "Oat Drink", 27500, 1800, line_id="n1", replaces=milk.line_id))
    cart.void(milk.line_id)
    bread = cart.lines[1]
    cart.add(CartLine.unit("bread", "Bread", 3500, 500, line_id="n2", replaces=bread.line_id))
    cart.void(bread.line_id)
    store = StoreInfo("FreshMart", "1 MG Road, Bengaluru", "29ABCDE1234F1Z5", "K1", "080 1234 5678")
    r = Receipt.from_cart(cart.close(), "K1-000008", WHEN, store=store)
    assert [(x.sku, x.note) for x in r.lines] == [("oat", "corrected by staff (was Milk)"),
                                                   ("bread", "price changed by staff (was ₹40.00)")]
    lines = r.to_text().splitlines()
    assert lines[:5] == [x.center(42).rstrip() for x in ("FreshMart", "1 MG Road, Bengaluru", "Phone 080 1234 5678",
                                                          "GSTIN 29ABCDE1234F1Z5")] + ["-" * 42]
    assert "TAX INVOICE" in lines[5]
    assert lines.index("  * corrected by staff (was Milk)") == lines.index("Oat Drink") + 2
    assert Receipt.from_json(r.to_json()) == r
    # a correction and a price change each void the line they replace: neither is a void on the bill
    assert (r.voided_count, r.staff_changes.corrected, r.staff_changes.repriced) == (0, 1, 1)
    assert "Corrected by staff: 1" in lines and "Re-priced by staff: 1" in lines
    assert not any(x.startswith("Voided") for x in lines)
    unregistered = Receipt.from_cart(cart, "K1-000009", WHEN, store=StoreInfo("Corner Shop"))
    assert "TAX INVOICE" not in unregistered.to_text() and "RECEIPT" in unregistered.to_text()


def staff_changed_cart(*, chain: bool = False) -> Cart:
    """Milk corrected to Oat Drink, Bread re-priced, Eggs voided; ``chain``: the Oat Drink then re-priced too."""
    from kiosk.domain.cart import CartLine

    cart = Cart("cart-3")
    a = cart.add_unit("milk", "Milk", 7200, 0)
    b = cart.add_unit("bread", "Bread", 4000, 500)
    c = cart.add_unit("eggs", "Eggs", 9000, 0)
    cart.add(CartLine.unit("oat", "Oat Drink", 27500, 1800, line_id="n1", replaces=a.line_id))
    cart.void(a.line_id)
    cart.add(CartLine.unit("bread", "Bread", 3500, 500, line_id="n2", replaces=b.line_id))
    cart.void(b.line_id)
    cart.void(c.line_id)
    if chain:
        cart.add(CartLine.unit("oat", "Oat Drink", 25000, 1800, line_id="n3", replaces="n1"))
        cart.void("n1")
    return cart.close()


def counts(r: Receipt) -> tuple[int, int, int, int]:
    c = r.staff_changes
    return r.voided_count, c.voided_paise, c.corrected, c.repriced


def test_voids_corrections_and_price_changes_counted_apart():
    r = Receipt.from_cart(staff_changed_cart(), "K1-000010", WHEN)
    assert counts(r) == (1, 9000, 1, 1)  # four lines voided in the cart; only Eggs by a void
    d = r.to_dict()
    assert (d["voided_count"], d["voided_paise"], d["corrected_count"], d["repriced_count"]) == (1, 9000, 1, 1)
    lines = r.to_text().splitlines()
    assert [x for x in lines if "by staff:" in x] == [
        "Voided by staff: 1 (not charged)" + " " * 4 + "₹90.00", "Corrected by staff: 1", "Re-priced by staff: 1"]
    chained = Receipt.from_cart(staff_changed_cart(chain=True), "K1-000011", WHEN)
    assert counts(chained) == (1, 9000, 1, 2)  # a corrected line re-priced: one correction, one more price change


def test_staff_changes_read_from_a_receipt_stored_before_they_were_told_apart():
    d = Receipt.from_cart(staff_changed_cart(), "K1-000010", WHEN).to_dict()
    for key in ("voided_paise", "corrected_count", "repriced_count"):
        del d[key]
    d["voided_count"] = 3  # it counted every voided line, the two a correction and a price change replaced too
    old = Receipt.from_json(json.dumps(d))
    assert counts(old) == (1, 0, 1, 1)  # from the lines' marks; the voided amount was not kept
    assert "Voided by staff: 1 (not charged)" in old.to_text().splitlines()
