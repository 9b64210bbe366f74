"""The ``Sku`` record and every rule a catalog row must satisfy (shared by the repository and CSV import).

Validation never raises on the first problem: :func:`validate_sku` and :func:`parse_sku_fields`
return a list of :class:`FieldError` (column, value, reason) so a CSV import can report every
bad cell of every row at once; no cell, however malformed, makes them raise.

Text that reaches a tax invoice or a spreadsheet is safe by construction: names and groups are single-line
printable text of bounded length, NFC-normalised (:func:`clean_text`: no control, format, surrogate, private-use or
line/paragraph-separator characters, so no name can add a line to a receipt); every number is ASCII digits (an
Arabic-Indic ``٥`` is not a GST rate); an image path is one printable line that never climbs out with ``..``;
barcodes are compared in their GTIN-14 form (:func:`gtin14`), so ``0012345678905`` (EAN-13) and
``012345678905`` (UPC-A) are the same product.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from kiosk.exchange.fields import SKU_RE

__all__ = [
    "GST_PERCENTS",
    "SOLD_BY",
    "CSV_COLUMNS",
    "Sku",
    "FieldError",
    "clean_text",
    "gtin14",
    "gtin_check_digit",
    "is_valid_gtin",
    "text_problem",
    "validate_sku",
    "parse_sku_fields",
    "sku_to_fields",
]

#: GST slabs accepted, in percent (the catalog stores basis points: 5 % -> 500).
GST_PERCENTS = (0, 5, 12, 18, 28)
SOLD_BY = ("unit", "weight")
MAX_PRICE_PAISE = 10**9  # ₹1 crore: anything above is a typo
MAX_NAME, MAX_GROUP, MAX_IMAGE = 120, 60, 255  # characters
MAX_DIGITS = 12  # a whole-number cell longer than this is refused before it is converted
#: Columns of the catalog CSV, in the order export writes them.
CSV_COLUMNS = (
    "sku", "name", "group", "sold_by", "price_paise", "gst_percent", "hsn", "plu", "barcodes",
    "unit_weight_min_g", "unit_weight_max_g", "active", "image",
)
REQUIRED_COLUMNS = ("sku", "name", "group", "sold_by", "price_paise", "gst_percent", "hsn")

_SKU_ID = SKU_RE  # the one rule the till, head office and the trainer share
_HSN = re.compile(r"^([0-9]{4}|[0-9]{6}|[0-9]{8})\Z")
_PLU = re.compile(r"^[1-9][0-9]{2,4}\Z")
_WHOLE = re.compile(r"^-?[0-9]+\Z")
#: Unicode categories never allowed in catalog text: controls, format (bidi overrides …), surrogates, private use,
#: unassigned, line and paragraph separators
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}


@dataclass(frozen=True, slots=True)
class Sku:
    """One sellable product. ``price_paise`` is per unit, or per kg when ``sold_by == 'weight'``."""

    sku: str
    name: str
    group: str
    sold_by: str
    price_paise: int
    gst_bp: int
    hsn: str
    plu: str | None = None
    barcodes: tuple[str, ...] = field(default=())
    unit_weight_min_g: int | None = None
    unit_weight_max_g: int | None = None
    active: bool = True
    image: str = ""

    @property
    def gst_percent(self) -> int:
        return self.gst_bp // 100

    @property
    def by_weight(self) -> bool:
        return self.sold_by == "weight"


@dataclass(frozen=True, slots=True)
class FieldError:
    column: str
    value: object
    reason: str

    def __str__(self) -> str:
        return f"column {self.column} value {self.value!r}: {self.reason}"


def _unprintable(ch: str) -> bool:
    return unicodedata.category(ch) in _UNPRINTABLE


def clean_text(text: str) -> str:
    """NFC-normalised, spaces trimmed: the form in which catalog text is stored (checked by :func:`text_problem`)."""
    return unicodedata.normalize("NFC", text).strip()


def text_problem(value: object, max_len: int, *, required: bool = True) -> str | None:
    """Why ``value`` is not single-line printable text of 1..``max_len`` characters in NFC form (None: it is)."""
    if not isinstance(value, str):
        return "must be text"
    if not value.strip():
        return "is required" if required else None
    bad = next((ch for ch in value if _unprintable(ch)), None)
    if bad is not None:
        return f"contains the unprintable character U+{ord(bad):04X} (one line of printable text only)"
    if len(value) > max_len:
        return f"must be at most {max_len} characters, not {len(value)}"
    if value != clean_text(value):
        return "must be NFC-normalised without leading or trailing spaces"
    return None


def gtin14(code: str) -> str:
    """A GTIN in its 14-digit form (zero-padded): the key under which two spellings of one barcode are the same."""
    return code.zfill(14)


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit for the digits before it (EAN-8/UPC-A/EAN-13/GTIN-14 alike)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """True for an EAN-8, UPC-A (12), EAN-13 or GTIN-14 string whose check digit is right."""
    return (isinstance(code, str) and code.isascii() and code.isdigit() and len(code) in (8, 12, 13, 14)
            and gtin_check_digit(code[:-1]) == int(code[-1]))


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def validate_sku(s: Sku) -> list[FieldError]:
    """Every rule a typed :class:`Sku` breaks (empty list: valid)."""
    errs: list[FieldError] = []
    if not isinstance(s.sku, str) or not _SKU_ID.match(s.sku):
        errs.append(FieldError("sku", s.sku, "must be 1-64 chars of a-z 0-9 . _ - starting with a letter or digit"))
    for col, limit in (("name", MAX_NAME), ("group", MAX_GROUP)):
        problem = text_problem(getattr(s, col), limit)
        if problem is not None:
            errs.append(FieldError(col, getattr(s, col), problem if problem != "is required" else
                                   f"must be 1-{limit} characters"))
    if s.sold_by not in SOLD_BY:
        errs.append(FieldError("sold_by", s.sold_by, "must be 'unit' or 'weight'"))
    if not _is_int(s.price_paise) or not 1 <= s.price_paise <= MAX_PRICE_PAISE:
        errs.append(FieldError("price_paise", s.price_paise, f"must be a whole number of paise 1..{MAX_PRICE_PAISE}"))
    if not _is_int(s.gst_bp) or s.gst_bp not in {p * 100 for p in GST_PERCENTS}:
        errs.append(FieldError("gst_percent", f"{s.gst_bp} bp" if _is_int(s.gst_bp) else s.gst_bp,
                               f"must be one of {', '.join(map(str, GST_PERCENTS))} %"))
    if not isinstance(s.hsn, str) or not _HSN.match(s.hsn):
        errs.append(FieldError("hsn", s.hsn, "HSN code must be 4, 6 or 8 digits"))
    if s.plu is not None and (not isinstance(s.plu, str) or not _PLU.match(s.plu)):
        errs.append(FieldError("plu", s.plu, "PLU must be 3-5 digits, not starting with 0"))
    seen: set[str] = set()
    for code in s.barcodes:
        if not is_valid_gtin(code):
            errs.append(FieldError("barcodes", code, "not a valid EAN-8/UPC-A/EAN-13/GTIN-14 (length or check digit)"))
        elif gtin14(code) in seen:
            errs.append(FieldError("barcodes", code, "listed twice (the same GTIN in another length)"))
        else:
            seen.add(gtin14(code))
    for col in ("unit_weight_min_g", "unit_weight_max_g"):
        v = getattr(s, col)
        if v is not None and (not _is_int(v) or not 1 <= v <= 1_000_000):
            errs.append(FieldError(col, v, "must be whole grams 1..1000000 or empty"))
    lo, hi = s.unit_weight_min_g, s.unit_weight_max_g
    if _is_int(lo) and _is_int(hi) and lo > hi:
        errs.append(FieldError("unit_weight_max_g", hi, f"smaller than unit_weight_min_g {lo}"))
    if not isinstance(s.active, bool):
        errs.append(FieldError("active", s.active, "must be true or false"))
    problem = _image_problem(s.image)
    if problem is not None:
        errs.append(FieldError("image", s.image, problem))
    return errs


def _image_problem(image: object) -> str | None:
    if not isinstance(image, str):
        return "must be a path or empty"
    problem = text_problem(image, MAX_IMAGE, required=False)
    if problem is not None:
        return problem
    if ".." in PurePosixPath(image.replace("\\", "/")).parts:
        return "an image path must stay inside the CSV file's folder (and the catalog's images/): no '..'"
    return None


def _parse_int(fields: Mapping[str, str], col: str, errs: list[FieldError], *, optional: bool = False) -> int | None:
    raw = (fields.get(col) or "").strip()
    if raw == "":
        if not optional:
            errs.append(FieldError(col, raw, "is required"))
        return None
    if not _WHOLE.match(raw):
        errs.append(FieldError(col, raw, "not a whole number"))
        return None
    if len(raw.lstrip("-")) > MAX_DIGITS:
        errs.append(FieldError(col, raw, f"more than {MAX_DIGITS} digits"))
        return None
    return int(raw)


def parse_sku_fields(fields: Mapping[str, str]) -> tuple[Sku | None, list[FieldError]]:
    """Turn one CSV row (column -> text) into a :class:`Sku`, collecting every problem."""
    errs: list[FieldError] = []

    def text(col: str) -> str:
        value = fields.get(col) or ""
        return clean_text(value) if isinstance(value, str) else ""

    for col in ("sku", "name", "group", "sold_by", "hsn"):
        if not text(col):
            errs.append(FieldError(col, text(col), "is required"))
    price = _parse_int(fields, "price_paise", errs)
    gst_raw = text("gst_percent").removesuffix("%").strip()
    gst_bp = None
    if gst_raw == "":
        errs.append(FieldError("gst_percent", gst_raw, "is required"))
    elif not _WHOLE.match(gst_raw) or len(gst_raw) > 3 or int(gst_raw) not in GST_PERCENTS:
        allowed = ", ".join(map(str, GST_PERCENTS))
        errs.append(FieldError("gst_percent", text("gst_percent"), f"must be one of {allowed}"))
    else:
        gst_bp = int(gst_raw) * 100
    wmin = _parse_int(fields, "unit_weight_min_g", errs, optional=True)
    wmax = _parse_int(fields, "unit_weight_max_g", errs, optional=True)
    active_raw = text("active").lower()
    active = True
    if active_raw in _FALSE:
        active = False
    elif active_raw and active_raw not in _TRUE:
        errs.append(FieldError("active", text("active"), "must be 1/0, true/false or yes/no"))
    barcodes = tuple(b.strip() for b in text("barcodes").replace(",", ";").split(";") if b.strip())
    if errs:
        # report the typed rules too, for the cells that did parse
        probe = Sku(text("sku"), text("name"), text("group"), text("sold_by"), price if price is not None else 1,
                    gst_bp if gst_bp is not None else 0, text("hsn"), text("plu") or None, barcodes, wmin, wmax,
                    active, text("image"))
        reported = {e.column for e in errs}
        errs += [e for e in validate_sku(probe) if e.column not in reported]
        return None, errs
    sku = Sku(text("sku"), text("name"), text("group"), text("sold_by"), price, gst_bp, text("hsn"),
              text("plu") or None, barcodes, wmin, wmax, active, text("image"))
    errs = validate_sku(sku)
    return (None, errs) if errs else (sku, [])


def sku_to_fields(s: Sku) -> dict[str, str]:
    """The CSV row of a SKU (inverse of :func:`parse_sku_fields`)."""
    return {
        "sku": s.sku, "name": s.name, "group": s.group, "sold_by": s.sold_by, "price_paise": str(s.price_paise),
        "gst_percent": str(s.gst_percent), "hsn": s.hsn, "plu": s.plu or "", "barcodes": ";".join(s.barcodes),
        "unit_weight_min_g": "" if s.unit_weight_min_g is None else str(s.unit_weight_min_g),
        "unit_weight_max_g": "" if s.unit_weight_max_g is None else str(s.unit_weight_max_g),
        "active": "1" if s.active else "0", "image": s.image,
    }
