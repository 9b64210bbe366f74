import itertools
import random

import pytest

from kiosk.domain.pricing import (
    GST_RATES_BP,
    compute_bill,
    format_rate,
    split_inclusive_gst,
    unit_line_total,
    weighed_line_total,
)


def test_unit_line_total():
    assert unit_line_total(4550, 3) == 13650
    assert unit_line_total(0, 2) == 0


@pytest.mark.parametrize("qty", [0, -1])
def test_unit_quantity_must_be_positive(qty):
    with pytest.raises(ValueError):
        unit_line_total(100, qty)


def test_huge_quantities_stay_exact():
    assert unit_line_total(99_999_99, 10**12) == 99_999_99 * 10**12
    assert weighed_line_total(123_457, 10**15 + 1) == (123_457 * (10**15 + 1) * 2 + 1000) // 2000


@pytest.mark.parametrize(
    "per_kg, grams, paise",
    [
        (26000, 512, 13312),  # 260.00/kg x 0.512 kg = 133.12 exactly
        (6000, 1, 6),  # 60/kg x 1 g = 6 paise
        (999, 1, 1),  # 0.999 paise -> 1
        (499, 1, 0),  # 0.499 paise -> 0
        (500, 1, 1),  # 0.5 paise -> 1 (half-up)
        (4999, 333, 1665),  # 1664.667 -> 1665
        (12345, 1500, 18518),  # 18517.5 -> 18518
        (12345, 1000, 12345),
    ],
)
def test_weighed_line_total_half_up(per_kg, grams, paise):
    assert weighed_line_total(per_kg, grams) == paise


@pytest.mark.parametrize("grams", [0, -5])
def test_zero_grams_refused(grams):
    with pytest.raises(ValueError, match="at least 1 g"):
        weighed_line_total(6000, grams)


def test_float_weight_refused():
    with pytest.raises(TypeError):
        weighed_line_total(6000, 12.5)


def test_split_exact_and_odd_paise():
    row = split_inclusive_gst(25000, 1200)  # 250.00 incl. 12 %
    assert row.taxable == 22321 and row.cgst + row.sgst == 2679
    assert (row.cgst, row.sgst) == (1340, 1339)  # odd paisa goes to CGST
    assert row.taxable + row.cgst + row.sgst == 25000
    assert row.half_rate_bp == 600


def test_split_zero_rate():
    row = split_inclusive_gst(13312, 0)
    assert (row.taxable, row.cgst, row.sgst) == (13312, 0, 0)


def test_split_rejects_unknown_rate():
    with pytest.raises(ValueError):
        split_inclusive_gst(1000, 700)


@pytest.mark.parametrize("rate", sorted(GST_RATES_BP))
def test_split_sums_exactly_for_many_amounts(rate):
    rng = random.Random(rate)
    for gross in itertools.chain(range(0, 400), (rng.randrange(1, 10**9) for _ in range(500))):
        row = split_inclusive_gst(gross, rate)
        assert row.taxable + row.cgst + row.sgst == gross
        assert 0 <= row.cgst - row.sgst <= 1
        # the taxable value is the nearest paisa to gross / (1 + rate)
        assert abs(row.taxable * (10000 + rate) - gross * 10000) <= (10000 + rate) // 2


def test_compute_bill_by_rate_and_round_off():
    bill = compute_bill([(13312, 0), (17900, 500), (25000, 1200), (7200, 0)])
    assert bill.gross == 63412
    assert [r.rate_bp for r in bill.tax_rows] == [0, 500, 1200]
    assert bill.tax_rows[0].gross == 20512
    assert bill.taxable + bill.cgst + bill.sgst == bill.gross
    assert bill.total == 63400 and bill.round_off == -12
    assert bill.item_count == 4


@pytest.mark.parametrize("gross, total, off", [(1250, 1300, 50), (1249, 1200, -49), (1251, 1300, 49), (1300, 1300, 0)])
def test_bill_round_off_boundary(gross, total, off):
    bill = compute_bill([(gross, 500)])
    assert (bill.total, bill.round_off) == (total, off)
    assert bill.gross + bill.round_off == bill.total


def test_empty_bill():
    bill = compute_bill([])
    assert (bill.gross, bill.total, bill.round_off, bill.tax_rows) == (0, 0, 0, ())


def test_format_rate():
    assert [format_rate(r) for r in (0, 250, 500, 1200, 1250)] == ["0%", "2.5%", "5%", "12%", "12.5%"]
