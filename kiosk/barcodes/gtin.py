"""GTINs as the till reads them: digits only, check digit verified, one canonical form for the catalog.

EAN-8 stays 8 digits; UPC-A (12) becomes its EAN-13 form with a leading 0 (that is how GS1 defines it and how a
scanner set to EAN-13 sends it); UPC-E (8 digits, number system 0 or 1) is expanded to UPC-A first; GTIN-14 stays
14 unless its indicator digit is 0 (then it is the GTIN-13 itself). A code whose check digit is wrong is refused
(``None``), never corrected: a misread digit must not become a neighbour's product.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.model import gtin_check_digit, is_valid_gtin

__all__ = ["ScannedCode", "canonical_gtin", "expand_upce", "lookup_forms", "with_check_digit"]


@dataclass(frozen=True)
class ScannedCode:
    """One decoded barcode: canonical ``gtin``, the symbology, where it came from (``camera``, ``scanner``) and, for
    a GS1 DataBar Expanded label, the net weight or price it carries."""

    gtin: str
    symbology: str = ""
    source: str = ""
    net_grams: int | None = None
    price_paise: int | None = None


def with_check_digit(body: str) -> str:
    """``'400638133393'`` → ``'4006381333931'`` (for tests and generated labels)."""
    return body + str(gtin_check_digit(body))


def expand_upce(code: str) -> str | None:
    """An 8-digit UPC-E (number system, 6 digits, check) → its 12-digit UPC-A, or ``None`` when it is not one."""
    if len(code) != 8 or not (code.isascii() and code.isdigit()) or code[0] not in "01":
        return None
    ns, d, check = code[0], code[1:7], code[7]
    last = d[5]
    if last in "012":
        body = f"{d[0:2]}{last}0000{d[2:5]}"
    elif last == "3":
        body = f"{d[0:3]}00000{d[3:5]}"
    elif last == "4":
        body = f"{d[0:4]}00000{d[4]}"
    else:
        body = f"{d[0:5]}0000{last}"
    return ns + body + check


def canonical_gtin(text: str, symbology: str = "") -> str | None:
    """The catalog's form of a scanned code, or ``None`` for anything that is not a GTIN with a right check digit.

    ``symbology`` (``UPCE`` …) disambiguates 8-digit codes: UPC-E is expanded, anything else is an EAN-8."""
    code = text.strip() if isinstance(text, str) else ""
    if not code.isascii() or not code.isdigit():
        return None
    if len(code) == 8 and symbology.upper().replace("-", "") == "UPCE":
        code = expand_upce(code) or ""
    if len(code) == 14 and code.startswith("0"):
        code = code[1:]  # a GTIN-14 with indicator 0 is the GTIN-13 itself
    if len(code) == 12:
        code = "0" + code
    return code if is_valid_gtin(code) else None


def lookup_forms(gtin: str) -> tuple[str, ...]:
    """The spellings a catalog may hold for one GTIN: the canonical one, and the 12-digit UPC-A of a 0-led
    EAN-13 (catalogs imported from US suppliers list those)."""
    forms = [gtin]
    if len(gtin) == 13 and gtin.startswith("0"):
        forms.append(gtin[1:])
    return tuple(forms)
