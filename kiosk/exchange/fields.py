"""Field rules the till, the catalog and head office's trainer share, so a value one side takes the others take too.

* a SKU id: the catalog's rule, 1-64 of ``a-z 0-9 . _ -`` starting with a letter or digit (:func:`sku_problem`);
* a whole number read from a file's text: an optional ``-`` and ASCII digits only (:func:`whole_number`) — Python's
  ``int()`` also takes ``'٣'`` (an Arabic-Indic three), ``'1_0'`` and ``'\\u0663'``-style digits of any script.

Standard library only, like the rest of :mod:`kiosk.exchange`.
"""

from __future__ import annotations

import re

__all__ = ["MAX_SKU_CHARS", "SKU_RE", "sku_problem", "whole_number"]

MAX_SKU_CHARS = 64
SKU_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")  # [0-9] in a str pattern: ASCII digits only (\d is any script)
_WHOLE = re.compile(r"^-?[0-9]{1,18}\Z")


def sku_problem(value) -> str | None:
    """Why ``value`` is not a SKU id, or None."""
    if not isinstance(value, str) or not value:
        return "empty"
    if len(value) > MAX_SKU_CHARS:
        return f"longer than {MAX_SKU_CHARS} characters ({len(value)})"
    if not SKU_RE.match(value):
        return "must be lower-case letters, digits, '.', '_' or '-' (starting with a letter or digit)"
    return None


def whole_number(text: str) -> int | None:
    """``text`` (blanks around it allowed) as an ``int`` when it is an optional ``-`` and 1-18 ASCII digits; else
    None (a digit of another script, ``1_0``, ``+1``, ``1.0``, ``1e3``, an empty field)."""
    raw = text.strip() if isinstance(text, str) else ""
    return int(raw) if _WHOLE.match(raw) else None
