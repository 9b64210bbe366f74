"""How text from stored or received data is put on a person's terminal: :func:`display`, one shared escape.

A hand-edited database row or a forged batch can hold terminal control sequences (ESC ``[1A`` ``[2K`` erases the
line above, ``ESC [8m`` hides what follows, ``ESC ]0;`` retitles the window) or bidi overrides that reorder what is
read, and so fake an ``OK`` or hide a ``FAILED``. Every command that prints such data passes each line it prints
through :func:`display` (:func:`display_lines`), at the printing layer: C0 and C1 controls (ESC, CR, LF, DEL, CSI …),
format characters (bidi overrides and isolates, zero-width spaces, the BOM), line and paragraph separators and lone
surrogates are shown as ``\\uXXXX`` escapes -- JSON's own, so a JSON line stays valid JSON. Zero-width (non-)joiners
are kept: Indic scripts (a Hindi name) need them. Standard library only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

__all__ = ["display", "display_lines"]

_UNSAFE = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
_KEPT = frozenset(("\u200c", "\u200d"))  # ZWNJ, ZWJ: part of how Devanagari and other scripts are written


def _escaped(ch: str) -> str:
    cp = ord(ch)
    if cp > 0xFFFF:  # as JSON writes it: a surrogate pair
        cp -= 0x10000
        return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"
    return f"\\u{cp:04x}"


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in _UNSAFE and ch not in _KEPT


def display(text: object) -> str:
    """``text`` as one line a terminal shows as it is: every control, format or separator character escaped."""
    text = str(text)
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escaped(ch) if _unsafe(ch) else ch for ch in text)


def display_lines(lines: Iterable[object]) -> str:
    """The lines, each through :func:`display`, joined by newlines (no newline at the end)."""
    return "\n".join(display(line) for line in lines)
