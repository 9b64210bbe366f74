"""Staff names that cannot pass for one another: what a name may hold (:func:`name_problem`) and the key two names
are compared by (:func:`name_key`; the sales database holds it under a unique index).

"Asha Rao" and "Аsha Rao" (a Cyrillic А), "Asha Rao" with an invisible Hangul filler (U+3164) or braille blank
(U+2800) after it or a combining grapheme joiner (U+034F) inside, "ＡＳＨＡ RAO" (full width), "ﬁ" and "fi", "Émile" and
"émile": each pair reads the same on the till and in the audit log. So a name may not hold an invisible character
(Unicode's default-ignorable code points, the Hangul fillers, the braille blank), letters of two
scripts in one word, or more than :data:`MAX_MARKS` combining marks on one letter; and two names are the same name
when their keys are equal: NFKC, case-folded, invisible characters dropped, white space collapsed, and the Cyrillic and
Greek letters that look like Latin ones read as those (so "Аѕһа" in Cyrillic alone is "asha" too).

Plain Python (no database), below both users: :mod:`kiosk.store.staff` keeps the key, :mod:`kiosk.staff.accounts`
refuses a name.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_MARKS", "name_key", "name_problem"]

#: combining marks one letter may carry (Vietnamese and Devanagari need two or three; a stack of 22 is a smear)
MAX_MARKS = 4

_IGNORABLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
              (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x2800, 0x2800),
              (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
              (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF))


def _invisible(ch: str) -> bool:
    """Shows as nothing (or a blank) yet is not white space: a default-ignorable code point (soft hyphen, combining
    grapheme joiner, Hangul fillers, zero-width and bidi controls, variation selectors, tags) or the braille blank."""
    code = ord(ch)
    return any(low <= code <= high for low, high in _IGNORABLE)


#: Cyrillic and Greek letters (case-folded) that look like a Latin one, read as that letter in the key
_LOOKALIKE = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "ë", "і": "i", "ї": "ï", "ј": "j", "к": "k", "м": "m", "н": "h",
    "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ӏ": "l", "ɡ": "g",
    "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "h", "ι": "i", "κ": "k", "μ": "m", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ϲ": "c",
})

#: scripts written together within one word (Japanese mixes kanji and kana)
_SAME_SCRIPT = {"CJK": "CJK", "HIRAGANA": "CJK", "KATAKANA": "CJK", "KATAKANA-HIRAGANA": "CJK", "HANGUL": "CJK",
                "BOPOMOFO": "CJK", "IDEOGRAPHIC": "CJK"}


def _script(ch: str) -> str | None:
    """The script of a letter, as its Unicode name begins (None: not a letter, or a modifier letter of any script)."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    first = unicodedata.name(ch, "").split(" ", 1)[0]
    if not first or first == "MODIFIER":
        return None
    return _SAME_SCRIPT.get(first, first)


def name_problem(name: str) -> str | None:
    """Why ``name`` (one line, white space collapsed) will not do as a staff name, None when it will."""
    hidden = sorted({f"U+{ord(c):04X}" for c in name if _invisible(c)})
    if hidden:
        return f"it holds invisible character(s) {', '.join(hidden)}"
    folded = unicodedata.normalize("NFKC", name)
    for word in folded.split():
        scripts = {s for s in map(_script, word) if s}
        if len(scripts) > 1:
            return f"the word {word!r} mixes letters of {' and '.join(s.title() for s in sorted(scripts))}"
    marks = 0
    for ch in unicodedata.normalize("NFC", name):
        marks = marks + 1 if unicodedata.category(ch).startswith("M") else 0
        if marks > MAX_MARKS:
            return f"more than {MAX_MARKS} combining marks on one letter"
    return None


def name_key(name: str) -> str:
    """What two staff names are compared by: equal keys, the same name to a reader (see the module's text)."""
    text = "".join(c for c in str(name) if not _invisible(c))
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFKC", text).translate(_LOOKALIKE)
    return " ".join(text.split())
