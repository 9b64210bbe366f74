"""What "items" means on a bill: each unit of a unit line, one per weighed line (pricing.line_items), the same rule
for the bill's count (compute_bill) and the printed receipt's "Items"."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from kiosk.domain import Cart, Receipt
from kiosk.domain.pricing import SoldBy, compute_bill, line_items

ISSUED = datetime(2026, 1, 5, 10, 30, tzinfo=timezone.utc)


def _cart() -> Cart:
    cart = Cart()
    cart.add_unit("milk", "Milk 1 l", 4500, 0, qty=2)  # one line of two
    cart.add_unit("bread", "Bread", 4000, 0)
    cart.add_unit("bread", "Bread", 4000, 0)  # two lines of one, printed as one row of two
    cart.add_weighed("apple", "Apples", 18000, 0, 1250)  # weighed: one item
    return cart


def _printed_items(text: str) -> int:
    return int(re.search(r"^Items (\d+)$", text, re.MULTILINE).group(1))


def test_line_items_counts_units_and_one_per_weighed_line():
    assert line_items(SoldBy.UNIT, 3) == 3 and line_items("unit", 1) == 1
    assert line_items(SoldBy.WEIGHT, None) == 1 and line_items("weight", None) == 1
    for bad in (0, -1, None, True, 1.5):
        with pytest.raises((ValueError, TypeError)):
            line_items(SoldBy.UNIT, bad)


def test_compute_bill_counts_the_items_of_each_line():
    bill = compute_bill([(9000, 0, 2), (8000, 0, 2), (22500, 0, 1)])
    assert bill.item_count == 5 and bill.gross == 39500
    assert compute_bill([(9000, 0), (8000, 0)]).item_count == 2  # a (total, rate) pair is one item
    with pytest.raises(ValueError, match="at least 1 item"):
        compute_bill([(9000, 0, 0)])


def test_the_printed_items_follow_the_rule_the_bill_counts_by():
    cart = _cart()
    cart.close()
    receipt = Receipt.from_cart(cart, "T1-000001", ISSUED)
    by_rule = compute_bill((r.total, r.gst_bp, r.items) for r in receipt.lines)
    assert _printed_items(receipt.to_text()) == by_rule.item_count == 5
    assert by_rule.gross == receipt.bill.gross and by_rule.total == receipt.bill.total


def test_the_bill_and_the_printed_receipt_count_the_same_items():
    cart = _cart()
    assert cart.bill().item_count == 5
    cart.close()
    receipt = Receipt.from_cart(cart, "T1-000001", ISSUED)
    assert receipt.bill.item_count == _printed_items(receipt.to_text()) == 5
