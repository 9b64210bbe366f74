"""Printed money fits its column at every roll width: no amount is cut, run into its neighbour or loses its unit.

Every number with two decimals on a printed receipt or end-of-day report must stand alone (spaces, a line's edge,
``(``, ``)`` or ``/kg`` around it) and parse back to a stored paise figure; the numbers found are exactly the
figures the receipt or report holds, and no line is wider than the roll. Checked at the rolls in use (32, 42 and
48 columns) and any width from 32 to 64, for prices up to the catalog's ₹1 crore cap, 999 units or 100 kg a line,
staff price changes, and day totals far past ₹10 crore.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.model import MAX_PRICE_PAISE
from kiosk.domain.cart import MAX_NET_GRAMS, MAX_UNIT_QTY, Cart, CartLine
from kiosk.domain.money import parse_inr
from kiosk.domain.pricing import GST_RATES_BP, TaxRow, split_inclusive_gst
from kiosk.domain.receipt import Receipt, StoreInfo, columns, tax_table

FAST = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
WHEN = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
WIDTHS = st.one_of(st.sampled_from([32, 42, 48]), st.integers(32, 64))
#: a printed amount: standing alone, two decimals, optional sign and rupee sign
AMOUNT = re.compile(r"(?:(?<=[\s(])|^)([+-]?₹?\d[\d,]*\.\d\d)(?=\s|$|\)|/kg)")
#: anything that looks like a figure with decimals at all (an amount run into its neighbour or cut shows here)
DECIMAL = re.compile(r"\d+\.\d+")


def printed_amounts(text: str, width: int) -> Counter:
    assert all(columns(line) <= width for line in text.splitlines()), text
    found = Counter()
    for line in text.splitlines():
        amounts = AMOUNT.findall(line)
        weights = re.findall(r"\d+\.\d{3} kg", line)
        rates = re.findall(r"\d+\.\d+%", line)
        assert len(DECIMAL.findall(line)) == len(amounts) + len(weights) + len(rates), f"{line!r} in\n{text}"
        found.update(parse_inr(a) for a in amounts)
    return found


def receipt_figures(r: Receipt, was: list[int]) -> Counter:
    b = r.bill
    want = Counter([b.gross, b.round_off, b.total, *was])
    for row in r.lines:
        want.update([row.unit_price, row.total])
    for t in b.tax_rows:
        want.update([t.taxable, t.cgst, t.sgst, t.gross])
    want.update(sum(getattr(t, k) for t in b.tax_rows) for k in ("taxable", "cgst", "sgst", "gross"))
    if r.staff_changes.voided_paise:
        want[r.staff_changes.voided_paise] += 1
    return want


PRICE = st.integers(1, MAX_PRICE_PAISE)
LINE = st.tuples(st.sampled_from(["unit", "weight"]), PRICE, st.sampled_from(sorted(GST_RATES_BP)),
                 st.integers(1, MAX_UNIT_QTY), st.integers(1, MAX_NET_GRAMS), st.none() | PRICE,
                 st.booleans())


def _line(i: int, kind: str, price: int, gst: int, qty: int, grams: int, replaces: str | None = None) -> CartLine:
    if kind == "unit":  # a SKU per line: each prints as a row of its own
        return CartLine.unit(f"s{i}", "Item", price, gst, qty, replaces=replaces)
    return CartLine.weighed(f"w{i}", "Loose", price, gst, grams, replaces=replaces)


def build(lines) -> tuple[Receipt, list[int]]:
    cart, was = Cart("c"), []
    for i, (kind, price, gst, qty, grams, new_price, void) in enumerate(lines):
        line = cart.add(_line(i, kind, price, gst, qty, grams))
        if new_price is not None and new_price != price:  # a staff price change: the receipt says "was ₹…"
            cart.add(_line(i, kind, new_price, gst, qty, grams, replaces=line.line_id))
            cart.void(line.line_id)
            was.append(price)
        elif void and len(cart.lines) > 1:
            cart.void(line.line_id)
    cart.close()
    return Receipt.from_cart(cart, "K1-000001", WHEN, store=StoreInfo(kiosk_id="K1"), payment_method="upi"), was


@FAST
@given(st.lists(LINE, min_size=1, max_size=5), WIDTHS)
def test_every_printed_amount_on_a_receipt_is_whole_and_fits_the_roll(lines, width):
    r, was = build(lines)
    # identical unit lines print as one row: the row's figures are what the receipt holds
    assert printed_amounts(r.to_text(width), width) == receipt_figures(r, was)


def test_a_15_lakh_day_at_18_percent_prints_every_gst_figure_whole():
    """The probe's day: 300 sales of ₹5,100 at 18 %; the old table read ``18%1296609.00116697.00116694~``."""
    one = split_inclusive_gst(5_100_00, 1800)  # the report adds each receipt's own figures
    rows = [TaxRow(1800, *(300 * v for v in (one.gross, one.taxable, one.cgst, one.sgst)))]
    for width in (32, 42, 48):
        text = "\n".join(tax_table(rows, width))
        assert printed_amounts(text, width) == Counter([129660900, 11669700, 11669400, 153000000] * 2)
        assert "1296609.00" in text.split() and "116694.00" in text.split()


def test_a_staff_price_note_keeps_its_was_price_whole():
    """The probe's bill: a weighed ₹1,250/kg and a ₹1,25,000 line re-priced; 42 columns cut '/kg', 32 the price."""
    cart = Cart("c")
    a = cart.add(CartLine.weighed("cashew", "Cashew W240", 1_250_00, 500, 500))
    cart.add(CartLine.weighed("cashew", "Cashew W240", 1_100_00, 500, 500, replaces=a.line_id))
    cart.void(a.line_id)
    b = cart.add(CartLine.unit("tv", "Television 43in", 1_25_000_00, 1800))
    cart.add(CartLine.unit("tv", "Television 43in", 1_20_000_00, 1800, replaces=b.line_id))
    cart.void(b.line_id)
    cart.close()
    r = Receipt.from_cart(cart, "K1-000001", WHEN)
    for width in (32, 42, 48):
        text = r.to_text(width)
        assert "₹1,250.00/kg)" in text and "₹1,25,000.00)" in text
        assert printed_amounts(text, width) == receipt_figures(r, [1_250_00, 1_25_000_00])
