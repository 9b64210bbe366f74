"""The end-of-day report's money fits its column at every roll width (see test_receipt_widths.py): day totals far
past ₹10 crore, payments per method, the GST table and staff voids print whole, each parsing back to the stored
paise, and no line is wider than the roll."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.domain.pricing import GST_RATES_BP, compute_bill
from kiosk.domain.takings import Takings
from tests.domain.test_receipt_widths import WIDTHS, printed_amounts

FAST = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
DAY_TOTAL = st.integers(0, 10**12)  # ₹10 crore a day is 10**10 paise: this goes a hundred times past it (₹1,000 crore)


def stored_figures(t: Takings) -> Counter:
    """Every paise figure the report holds: totals, each payment method's amount, the GST rows and their sums, and
    every ``*_paise`` count (what staff voided, ...)."""
    want = Counter([t.gross, t.round_off, t.total, *(a for _n, a in t.payments.values())])
    for row in t.tax_rows:
        want.update([row.taxable, row.cgst, row.sgst, row.gross])
    want.update(sum(getattr(x, k) for x in t.tax_rows) for k in ("taxable", "cgst", "sgst", "gross"))
    want.update(getattr(t, f.name) for f in dataclasses.fields(t) if f.name.endswith("_paise"))
    return want


@FAST
@given(st.dictionaries(st.sampled_from(sorted(GST_RATES_BP)), DAY_TOTAL, min_size=1, max_size=5),
       st.integers(0, 10**6), st.integers(0, 10**10), WIDTHS)
def test_every_printed_amount_in_the_days_takings_is_whole_and_fits_the_roll(per_rate, sales, voided, width):
    b = compute_bill([(paise, rate) for rate, paise in per_rate.items()])
    t = Takings(date(2026, 12, 1), "K1", "Store", sales, "K1-000001", "K1-999999", sales, b.gross, b.round_off,
                b.total, b.tax_rows, {"cash": (sales, b.total // 3), "upi": (sales, b.total - b.total // 3)},
                voided=sales, voided_paise=voided)
    assert printed_amounts(t.to_text(width), width) == stored_figures(t)


def test_a_10_crore_day_prints_its_totals_and_payments_whole_at_32_columns():
    b = compute_bill([(10_00_00_000_00, 1800)])
    t = Takings(date(2026, 12, 1), "K1", "Store", 2000, "K1-000001", "K1-002000", 2000, b.gross, b.round_off,
                b.total, b.tax_rows, {"cash": (2000, b.total)})
    lines = t.to_text(32).splitlines()
    assert lines.count(" " * 16 + "₹10,00,00,000.00") == 1  # the gross, on a line of its own
    assert "TOTAL" + " " * 11 + "₹10,00,00,000.00" in lines and "  CASH     2000 ₹10,00,00,000.00" in lines
    assert printed_amounts(t.to_text(32), 32) == stored_figures(t)
