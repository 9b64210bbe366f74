"""Money as integer paise: exact rounding, Indian-style formatting and parsing.

Every amount on a bill is an ``int`` number of paise (₹1 = 100 paise). Intermediate
values that are not whole paise (a weighed price, a tax-inclusive split) are kept as
``fractions.Fraction`` and rounded once with :func:`round_half_up`. No ``float`` is ever
accepted: passing one raises ``TypeError`` so a stray float cannot slip onto a bill.
"""

from __future__ import annotations

import re
from fractions import Fraction
from numbers import Rational

__all__ = [
    "PAISE_PER_RUPEE",
    "RUPEE",
    "format_inr",
    "format_paise",
    "parse_inr",
    "round_half_up",
    "round_to_rupee",
]

PAISE_PER_RUPEE = 100
RUPEE = "₹"


def _as_fraction(value: int | Fraction) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, Fraction, Rational)):
        raise TypeError(f"money arithmetic needs int or Fraction, not {type(value).__name__} ({value!r})")
    return Fraction(value)


def round_half_up(value: int | Fraction) -> int:
    """Round a rational to the nearest integer, halves away from zero.

    ``round_half_up(Fraction(5, 2)) == 3`` and ``round_half_up(Fraction(-5, 2)) == -3``
    (commercial rounding: the magnitude is rounded half-up, the sign kept). Python's
    ``round()`` rounds halves to even and is therefore not used for money.
    """
    q = _as_fraction(value)
    sign = -1 if q < 0 else 1
    a = abs(q)
    whole, rest = divmod(a.numerator, a.denominator)
    if 2 * rest >= a.denominator:
        whole += 1
    return sign * whole


def round_to_rupee(paise: int) -> int:
    """Round an amount in paise to whole rupees (result still in paise), 50 paise and up go up."""
    _check_int(paise)
    return round_half_up(Fraction(paise, PAISE_PER_RUPEE)) * PAISE_PER_RUPEE


def _check_int(paise: int) -> None:
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise TypeError(f"amount must be int paise, not {type(paise).__name__} ({paise!r})")


def _group_indian(digits: str) -> str:
    """'1234567' -> '12,34,567' (last three digits, then groups of two)."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join(groups) + "," + tail


def format_inr(paise: int, *, symbol: bool = True, sign: bool = False) -> str:
    """Format paise as rupees with Indian digit grouping: ``123450 -> '₹1,234.50'``.

    Lakhs and crores group in twos (``₹12,34,567.00``). Negative amounts read
    ``-₹0.49``; with ``sign=True`` positive amounts get a ``+`` (for round-off lines).
    """
    _check_int(paise)
    rupees, p = divmod(abs(paise), PAISE_PER_RUPEE)
    body = f"{_group_indian(str(rupees))}.{p:02d}"
    prefix = "-" if paise < 0 else ("+" if sign and paise > 0 else "")
    return f"{prefix}{RUPEE if symbol else ''}{body}"


def format_paise(paise: int) -> str:
    """Plain ``1234.50`` (no symbol, no grouping): for CSV, JSON and machine-readable text."""
    _check_int(paise)
    rupees, p = divmod(abs(paise), PAISE_PER_RUPEE)
    return f"{'-' if paise < 0 else ''}{rupees}.{p:02d}"


_AMOUNT = re.compile(r"^(?P<sign>[-+]?)(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]{1,2}))?\Z")
_GROUPED = re.compile(r"^[0-9]{1,3}(,[0-9]{2})*,[0-9]{3}\Z|^[0-9]{1,3}(,[0-9]{3})+\Z|^[0-9]{1,3}\Z")


def parse_inr(text: str) -> int:
    """Parse a rupee amount into paise: ``'₹1,234.50'``, ``'Rs. 12'``, ``'-0.5'`` ...

    Accepts an optional ``₹``/``Rs``/``Rs.``/``INR`` prefix, Indian or western digit
    grouping and at most two decimals. Anything else (three decimals, letters, empty,
    a misplaced comma) raises ``ValueError`` naming the text: a bill never guesses.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_inr needs str, not {type(text).__name__}")
    s = text.strip().replace(" ", "").replace("\u00a0", "")
    sign = ""
    if s[:1] in "+-" and s:
        sign, s = s[0], s[1:]
    for prefix in (RUPEE, "INR", "Rs.", "Rs", "rs.", "rs"):
        if s.startswith(prefix):
            s = s[len(prefix):]
            break
    if s[:1] in "+-" and s and not sign:
        sign, s = s[0], s[1:]
    intpart, dot, frac = s.partition(".")
    if "," in intpart:
        if not _GROUPED.match(intpart):
            raise ValueError(f"not a rupee amount: {text!r} (misplaced digit grouping)")
        intpart = intpart.replace(",", "")
    m = _AMOUNT.match(f"{sign}{intpart}{dot}{frac}")
    if not m:
        raise ValueError(f"not a rupee amount: {text!r} (expected e.g. '₹1,234.50', at most 2 decimals)")
    paise = int(m["int"]) * PAISE_PER_RUPEE + int((m["frac"] or "0").ljust(2, "0"))
    return -paise if m["sign"] == "-" else paise
