"""The values a signed document (a bundle manifest, a channel index) may hold, checked in one place.

A signature says who wrote a document, not that what it says is usable: head office's tools or a person editing a
manifest by hand can sign ``"model_version": 1e30``, a NaN threshold or a ``"sha256"`` that is a path. Every number
read from one goes through :func:`number`: a JSON number (not a bool, not a string), finite, within ±2**53 (what JSON
carries exactly, and what :mod:`kiosk.exchange.document` reads back from the kiosk's own files), an integer where one
is meant, and within the field's range. Digests go through :func:`sha256_hex`. Both raise ``ValueError`` naming the
field; the reader of the document adds which file it is.
"""

from __future__ import annotations

import math
import re

__all__ = ["MAX_NUMBER", "number", "sha256_hex"]

#: what JSON carries exactly; the kiosk's own files are read back with the same bound (kiosk.exchange.document, which
#: this layer may not import: tests/bundle_format checks the two agree)
MAX_NUMBER = 2**53

_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _range(low, high, above: bool) -> str:
    lo, hi = (f"{x:g}" if isinstance(x, float) else str(x) for x in (low, high))
    if low is not None and high is not None:
        return f" {'above' if above else 'from'} {lo} {'and at most' if above else 'to'} {hi}"
    if low is not None:
        return f" {'above' if above else 'of at least'} {lo}"
    if high is not None:
        return f" of at most {hi}"
    return ""


def number(value, what: str, low: float | None = None, high: float | None = None, *, integer: bool = False,
           above: bool = False) -> int | float:
    """``value`` (an ``int`` when ``integer``, else a ``float``) when it is a finite JSON number within ±2**53 and
    ``low``..``high`` (``above``: strictly above ``low``); else ``ValueError`` naming ``what`` and the range."""
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        raise ValueError(f"{what} must be {kind}{_range(low, high, above)}, not {_shown(value)}")
    if (abs(value) > MAX_NUMBER or not math.isfinite(value)  # abs first: isfinite floats a 400-digit int
            or (low is not None and (value <= low if above else value < low))
            or (high is not None and value > high)):
        raise ValueError(f"{what} must be {kind}{_range(low, high, above)} (got {_shown(value)})")
    return int(value) if integer else float(value)


def sha256_hex(value, what: str) -> str:
    """``value`` when it is a sha256 digest as 64 lowercase hex digits; else ``ValueError`` naming ``what``."""
    if not isinstance(value, str) or not _SHA256.match(value):
        raise ValueError(f"{what} must be a sha256 digest (64 lowercase hex digits), not {_shown(value)}")
    return value
