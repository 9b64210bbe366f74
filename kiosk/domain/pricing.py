"""Line prices, the GST-inclusive tax table and the rupee round-off of a bill.

Rules (all amounts int paise, all weights int grams):

* unit item: ``unit_price × qty``;
* weighed item: ``price_per_kg × net_grams / 1000``, rounded half-up to the paisa, per line;
* shelf prices INCLUDE GST. The bill groups lines by GST rate; for each rate the gross is
  split into taxable value ``round_half_up(gross × 100 / (100 + rate))`` and tax
  ``gross − taxable``; the tax is split into CGST (half, rounded half-up) and SGST (the rest),
  so ``taxable + CGST + SGST == gross`` exactly, and the sum over rates is the bill's gross;
* the amount payable is the gross rounded to the nearest rupee (50 paise up); the
  difference is shown as "Round off" (between −0.49 and +0.50);
* the bill's item count (printed "Items", ``receipt list``, ``receipt day``) counts what the shopper carries out:
  each unit of a unit line (3 × milk is 3 items), one per weighed line (1.2 kg of apples is 1 item) —
  :func:`line_items`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from kiosk.domain.money import round_half_up, round_to_rupee

__all__ = [
    "GST_RATES_BP",
    "SoldBy",
    "TaxRow",
    "Bill",
    "unit_line_total",
    "weighed_line_total",
    "split_inclusive_gst",
    "compute_bill",
    "format_rate",
    "line_items",
]

#: GST slabs the kiosk accepts, in basis points (500 = 5 %).
GST_RATES_BP: frozenset[int] = frozenset({0, 500, 1200, 1800, 2800})
GRAMS_PER_KG = 1000


class SoldBy(str, enum.Enum):
    """How a SKU is priced: per unit (price per piece) or by weight (price per kg)."""

    UNIT = "unit"
    WEIGHT = "weight"


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be int, not {type(value).__name__} ({value!r})")


def unit_line_total(unit_price: int, qty: int) -> int:
    """``unit_price × qty`` in paise; qty must be a positive int."""
    _check_count("unit_price", unit_price)
    _check_count("qty", qty)
    if unit_price < 0:
        raise ValueError(f"unit price must not be negative, got {unit_price}")
    if qty <= 0:
        raise ValueError(f"quantity must be at least 1, got {qty}")
    return unit_price * qty


def weighed_line_total(price_per_kg: int, net_grams: int) -> int:
    """``price_per_kg × net_grams / 1000`` rounded half-up to the paisa; 0 g is refused."""
    _check_count("price_per_kg", price_per_kg)
    _check_count("net_grams", net_grams)
    if price_per_kg < 0:
        raise ValueError(f"price per kg must not be negative, got {price_per_kg}")
    if net_grams <= 0:
        raise ValueError(f"net weight must be at least 1 g, got {net_grams} g")
    return round_half_up(Fraction(price_per_kg * net_grams, GRAMS_PER_KG))


def line_items(sold_by: SoldBy | str, qty: int | None) -> int:
    """Items a line counts on the bill: its quantity for a unit line, 1 for a weighed line."""
    if SoldBy(sold_by) is SoldBy.WEIGHT:
        return 1
    _check_count("qty", qty)
    if qty <= 0:
        raise ValueError(f"quantity must be at least 1, got {qty}")
    return qty


def format_rate(rate_bp: int) -> str:
    """``500 -> '5%'``, ``250 -> '2.5%'``, ``1200 -> '12%'``."""
    whole, frac = divmod(rate_bp, 100)
    return f"{whole}%" if frac == 0 else f"{whole}.{frac:02d}".rstrip("0") + "%"


@dataclass(frozen=True, slots=True)
class TaxRow:
    """One row of the bill's GST table: all lines at one rate, tax included in ``gross``."""

    rate_bp: int
    gross: int
    taxable: int
    cgst: int
    sgst: int

    @property
    def tax(self) -> int:
        return self.cgst + self.sgst

    @property
    def half_rate_bp(self) -> int:
        """The CGST (= SGST) rate in basis points: half the GST rate."""
        return self.rate_bp // 2


def split_inclusive_gst(gross: int, rate_bp: int) -> TaxRow:
    """Split a tax-inclusive gross at one rate into taxable value, CGST and SGST (exact in paise).

    An odd paisa of tax goes to CGST (``cgst = round_half_up(tax / 2)``), SGST gets the rest.
    """
    _check_count("gross", gross)
    _check_count("rate_bp", rate_bp)
    if rate_bp not in GST_RATES_BP:
        raise ValueError(f"GST rate {format_rate(rate_bp)} is not one of {sorted(r // 100 for r in GST_RATES_BP)} %")
    taxable = round_half_up(Fraction(gross * 10_000, 10_000 + rate_bp))
    tax = gross - taxable
    cgst = round_half_up(Fraction(tax, 2))
    return TaxRow(rate_bp=rate_bp, gross=gross, taxable=taxable, cgst=cgst, sgst=tax - cgst)


@dataclass(frozen=True, slots=True)
class Bill:
    """Totals of a bill: gross of all lines, GST table by rate, round-off and the amount payable."""

    gross: int
    tax_rows: tuple[TaxRow, ...]
    round_off: int
    total: int
    item_count: int

    @property
    def taxable(self) -> int:
        return sum(r.taxable for r in self.tax_rows)

    @property
    def cgst(self) -> int:
        return sum(r.cgst for r in self.tax_rows)

    @property
    def sgst(self) -> int:
        return sum(r.sgst for r in self.tax_rows)


def compute_bill(lines: Iterable[tuple[int, int] | tuple[int, int, int]]) -> Bill:
    """Build the bill from ``(line_total, gst_rate_bp, items)`` per line (tax-inclusive line totals; ``items``:
    :func:`line_items`). A ``(line_total, gst_rate_bp)`` pair counts one item."""
    by_rate: dict[int, int] = {}
    count = 0
    for line in lines:
        total, rate_bp, items = line if len(line) == 3 else (*line, 1)
        _check_count("line total", total)
        _check_count("items", items)
        if rate_bp not in GST_RATES_BP:
            raise ValueError(f"GST rate {rate_bp} bp is not an accepted slab")
        if items < 1:
            raise ValueError(f"a line counts at least 1 item, got {items}")
        by_rate[rate_bp] = by_rate.get(rate_bp, 0) + total
        count += items
    rows = tuple(split_inclusive_gst(by_rate[r], r) for r in sorted(by_rate))
    gross = sum(by_rate.values())
    total = round_to_rupee(gross)
    return Bill(gross=gross, tax_rows=rows, round_off=total - gross, total=total, item_count=count)
