"""GS1 element strings as scanners send them: application identifiers run together, a variable-length field ended by
the FNC1 separator (ASCII GS, ``\\x1d``) unless it is the last one, often after an AIM symbology identifier
(``]e0`` DataBar, ``]C1`` GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR).

:func:`bracketed` turns ``]e00100012345678905\\x1d3103000548`` into the human-readable
``(01)00012345678905(3103)000548`` the camera's decoder gives, so both go through one parser
(:func:`kiosk.barcodes.frames.parse_gs1_elements`). Only application identifiers whose length GS1 fixes, or which
the till reads, are split; anything else is not guessed (``None``): a misread weight or price must never become
money.
"""

from __future__ import annotations

import re

__all__ = ["SYMBOLOGY_IDS", "bracketed", "looks_like_element_string", "without_symbology_id"]

SYMBOLOGY_IDS = ("]e0", "]C1", "]d2", "]Q3")
GS = "\x1d"
#: AI -> fixed data length (GS1 General Specifications, the predefined-length table)
_FIXED = {"00": 18, "01": 14, "02": 14, "11": 6, "12": 6, "13": 6, "15": 6, "16": 6, "17": 6, "20": 2}
#: AI -> the most digits or characters of a variable-length field (ended by GS or the end)
_VARIABLE = {"10": 20, "21": 20, "22": 20, "30": 8, "37": 8, "240": 30, "241": 30, "250": 30, "251": 30,
             "400": 30, "401": 30, "402": 17, "403": 30}
_MEASURE = re.compile(r"3[1-6][0-9][0-5]")  # 310n … 369n: a measure with n decimals, 6 digits
_AMOUNT = re.compile(r"39[0-3][0-9]")  # 390n … 393n: an amount, up to 15 digits (393n: 3 currency digits more)


def looks_like_element_string(text: str) -> bool:
    """A scanner's text that is a GS1 element string, not a plain GTIN (which is 8, 12, 13 or 14 digits)."""
    body = _strip_symbology(text)
    return body != text or GS in body or (len(body) > 14 and body[:2] in ("01", "02") and body.isascii())


def _strip_symbology(text: str) -> str:
    return text[3:] if text[:3] in SYMBOLOGY_IDS else text


def without_symbology_id(text: str) -> str:
    """A plain code without the AIM symbology identifier a scanner set to send them puts first (``]E0`` EAN-13,
    ``]E4`` EAN-8, ``]A0`` …); GS1 element strings keep theirs (:func:`looks_like_element_string` reads it)."""
    if re.match(r"^\][A-Za-z][0-9]", text) and text[:3] not in SYMBOLOGY_IDS:
        return text[3:]
    return text


def _field(body: str, at: int) -> tuple[str, int, int] | None:
    """``(ai, fixed length or -most, length of the AI)`` of the field at ``at``; None: not one the till knows."""
    if body[at:at + 2] in _FIXED:
        return body[at:at + 2], _FIXED[body[at:at + 2]], 2
    if body[at:at + 2] in _VARIABLE:
        return body[at:at + 2], -_VARIABLE[body[at:at + 2]], 2
    if body[at:at + 3] in _VARIABLE:
        return body[at:at + 3], -_VARIABLE[body[at:at + 3]], 3
    four = body[at:at + 4]
    if _MEASURE.fullmatch(four):
        return four, 6, 4
    if _AMOUNT.fullmatch(four):
        return four, -18 if four.startswith("393") else -15, 4
    return None


def bracketed(text: str) -> str | None:
    """``(AI)value…`` of a scanner's raw element string, or None where it cannot be split without guessing."""
    body = _strip_symbology(text).strip(GS)
    if not body or not body.isascii() or any(not (c.isprintable() or c == GS) for c in body):
        return None
    out, at = [], 0
    while at < len(body):
        found = _field(body, at)
        if found is None:
            return None
        ai, length, ai_len = found
        start = at + ai_len
        if length > 0:
            value, at = body[start:start + length], start + length
            if len(value) != length or GS in value:
                return None
        else:
            end = body.find(GS, start)
            end = len(body) if end < 0 else end
            value, at = body[start:end], end
            if not value or len(value) > -length:
                return None
        out.append(f"({ai}){value}")
        while at < len(body) and body[at] == GS:
            at += 1
    return "".join(out)

