"""GS1 variable-measure codes (restricted circulation numbers, prefix 2; 02 for UPC-A labels): an item number and
an embedded price or weight, laid out as the store's label scales print them.

A layout is 13 letters over the EAN-13 digits (:func:`~kiosk.barcodes.gtin.canonical_gtin` form):

====  ==========================================================================================
P     a prefix digit (the layout's ``prefix``, e.g. ``21``)
I     a digit of the item number (the catalog's PLU, leading zeros dropped)
V     a digit of the value: paise for ``kind = "price"``, grams for ``kind = "weight"``
K     the price/weight check digit over 4 or 5 V digits (GS1 General Specifications, "check digit
      calculation for price/weight fields": weights 2-, 2-, 3, 5- for 4 digits; 5+, 2-, 5-, 5+, 2- for 5)
C     the EAN-13 check digit (always last)
====  ==========================================================================================

Defaults (``kiosk.toml`` ``[[barcodes.variable]]`` replaces them)::

    21 price   PPIIIIIVVVVVC     item 5 digits, price ₹000.00-999.99
    22 price   PPIIIIKVVVVVC     item 4 digits, price with its check digit
    28 weight  PPIIIIIVVVVVC     item 5 digits, 0-99,999 g
    29 weight  PPIIIIKVVVVVC     item 4 digits, weight with its check digit

A code with a wrong EAN check digit never gets here; one with a wrong embedded check digit is refused as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.errors import UserError

__all__ = ["BarcodeConfigError", "VariableLayout", "VariableMeasure", "DEFAULT_LAYOUTS", "match_variable",
           "price_check_digit"]

# GS1 weighting of one digit: 2- (2d, units minus tens), 3 (3d, units), 5+ (5d, units plus tens), 5- (units minus tens)
_TWO_MINUS = (0, 2, 4, 6, 8, 9, 1, 3, 5, 7)
_THREE = (0, 3, 6, 9, 2, 5, 8, 1, 4, 7)
_FIVE_PLUS = (0, 5, 1, 6, 2, 7, 3, 8, 4, 9)
_FIVE_MINUS = (0, 5, 9, 4, 8, 3, 7, 2, 6, 1)


class BarcodeConfigError(UserError):
    """A ``[barcodes]`` setting that is unknown or malformed (names the key and the reason)."""


def price_check_digit(value: str) -> int:
    """The GS1 check digit of a 4- or 5-digit price/weight field (``'2875'`` → 9, ``'14685'`` → 6)."""
    d = [int(c) for c in value]
    if len(d) == 4:
        total = _TWO_MINUS[d[0]] + _TWO_MINUS[d[1]] + _THREE[d[2]] + _FIVE_MINUS[d[3]]
        return (total * 3) % 10
    if len(d) == 5:
        total = _FIVE_PLUS[d[0]] + _TWO_MINUS[d[1]] + _FIVE_MINUS[d[2]] + _FIVE_PLUS[d[3]] + _TWO_MINUS[d[4]]
        return _FIVE_MINUS.index((10 - total % 10) % 10)
    raise ValueError(f"a price/weight check digit covers 4 or 5 digits, not {len(d)}")


@dataclass(frozen=True)
class VariableMeasure:
    """A parsed label: the item number (PLU form), ``kind`` and the value (paise or grams)."""

    code: str
    item: str
    kind: str  # "price" | "weight"
    value: int


@dataclass(frozen=True)
class VariableLayout:
    prefix: str
    kind: str
    layout: str

    def __post_init__(self) -> None:
        where = f"[[barcodes.variable]] prefix {self.prefix!r}"
        lay = self.layout
        digits = isinstance(self.prefix, str) and self.prefix.isascii() and self.prefix.isdigit()
        if not (digits and 1 <= len(self.prefix) <= 3):
            raise BarcodeConfigError(f"{where}: prefix must be 1-3 digits")
        if self.kind not in ("price", "weight"):
            raise BarcodeConfigError(f"{where}: kind must be 'price' or 'weight', not {self.kind!r}")
        if not isinstance(lay, str) or len(lay) != 13 or set(lay) - set("PIVKC") or not lay.endswith("C"):
            raise BarcodeConfigError(f"{where}: layout {lay!r} must be 13 letters of P I V K C ending in C")
        counts = {c: lay.count(c) for c in "PIVKC"}
        if counts["P"] != len(self.prefix) or not lay.startswith("P" * len(self.prefix)):
            raise BarcodeConfigError(f"{where}: layout {lay!r} must start with one P per prefix digit")
        if counts["C"] != 1 or counts["I"] < 1 or counts["V"] < 1 or counts["K"] > 1:
            raise BarcodeConfigError(f"{where}: layout {lay!r} needs I and V digits, one C, at most one K")
        if counts["K"] and counts["V"] not in (4, 5):
            raise BarcodeConfigError(f"{where}: layout {lay!r}: a K check digit covers 4 or 5 V digits")

    def _digits(self, code: str, letter: str) -> str:
        return "".join(d for d, c in zip(code, self.layout) if c == letter)

    def parse(self, gtin: str) -> VariableMeasure | None:
        """The label in ``gtin`` (EAN-13 with a verified check digit), or ``None``: not this layout, or a wrong
        embedded check digit."""
        if len(gtin) != 13 or not gtin.startswith(self.prefix):
            return None
        value = self._digits(gtin, "V")
        check = self._digits(gtin, "K")
        if check and price_check_digit(value) != int(check):
            return None
        item = self._digits(gtin, "I").lstrip("0") or "0"
        return VariableMeasure(gtin, item, self.kind, int(value))

    @classmethod
    def from_dict(cls, data: dict) -> VariableLayout:
        if not isinstance(data, dict) or set(data) - {"prefix", "kind", "layout"}:
            raise BarcodeConfigError(f"[[barcodes.variable]]: expected prefix, kind and layout, got {data!r}")
        return cls(str(data.get("prefix", "")), str(data.get("kind", "")), str(data.get("layout", "")))

    def to_dict(self) -> dict:
        return {"prefix": self.prefix, "kind": self.kind, "layout": self.layout}


DEFAULT_LAYOUTS = (
    VariableLayout("21", "price", "PPIIIIIVVVVVC"),
    VariableLayout("22", "price", "PPIIIIKVVVVVC"),
    VariableLayout("28", "weight", "PPIIIIIVVVVVC"),
    VariableLayout("29", "weight", "PPIIIIKVVVVVC"),
)


def match_variable(gtin: str,
                   layouts: tuple[VariableLayout, ...] = DEFAULT_LAYOUTS) -> tuple[bool, VariableMeasure | None]:
    """``(claimed, label)``: ``claimed`` when a layout's prefix owns this code (then ``label`` is ``None`` when
    its embedded check digit is wrong: the scan is ignored, not looked up as a plain GTIN)."""
    for layout in sorted(layouts, key=lambda x: -len(x.prefix)):
        if len(gtin) == 13 and gtin.startswith(layout.prefix):
            return True, layout.parse(gtin)
    return False, None
