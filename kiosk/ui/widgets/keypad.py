"""On-screen keys for a touch screen: a numeric keypad (PIN, PLU, price) and a compact
keyboard (names). Both only emit the key pressed; the owner edits its line edit. By keyboard each is one Tab stop
and the arrow keys move between its keys (Enter or Space presses one); a key that is a glyph is named for a screen
reader ("Delete last character")."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QLineEdit, QWidget

from kiosk.ui.i18n import mark, translate
from kiosk.ui.widgets.common import Translatable, arrow_group, touch_button

__all__ = ["NumericKeypad", "OnScreenKeyboard", "apply_key", "BACKSPACE", "CLEAR"]

BACKSPACE = "⌫"
CLEAR = "Clear"
SPACE = "Space"
#: keys whose label is a word (translated); the key itself stays the same
_WORDS = {CLEAR: mark("Keys", "Clear"), SPACE: mark("Keys", "Space")}
#: keys shown as a glyph: what a screen reader says for them
_SPOKEN = {BACKSPACE: mark("Keys", "Delete last character"), ".": mark("Keys", "Decimal point")}


def apply_key(edit: QLineEdit, key: str) -> None:
    """Type ``key`` into ``edit`` (⌫ deletes the last character, Clear empties it)."""
    if key == BACKSPACE:
        edit.backspace()
    elif key == CLEAR:
        edit.clear()
    elif key == SPACE:
        edit.insert(" ")
    else:
        edit.insert(key)


class _Keys(Translatable, QWidget):
    pressed = Signal(str)
    ROWS: tuple[tuple[str, ...], ...] = ()

    def __init__(self, name: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(5)
        self.keys: dict[str, object] = {}
        for r, row in enumerate(self.ROWS):
            c = 0
            for key in row:
                span = 2 if key in (SPACE,) else 1
                button = touch_button(key, f"key_{self._ident(key)}", self)
                button.setProperty("role", "key")
                button.clicked.connect(lambda _=False, k=key: self.pressed.emit(k))
                grid.addWidget(button, r, c, 1, span)
                self.keys[key] = button
                c += span
        arrow_group(self, roving=True)
        self.retranslate()

    def retranslate(self) -> None:
        for key, word in _WORDS.items():
            if key in self.keys:
                self.keys[key].setText(translate("Keys", word))
        for key, words in _SPOKEN.items():
            if key in self.keys:
                self.keys[key].set_spoken(translate("Keys", words))

    @staticmethod
    def _ident(key: str) -> str:
        return {BACKSPACE: "backspace", ".": "dot", SPACE: "space"}.get(key, key.lower())


class NumericKeypad(_Keys):
    """1–9, then (``.`` or Clear), 0, ⌫."""

    def __init__(self, *, decimal: bool = False, parent=None, name: str = "numericKeypad") -> None:
        self.ROWS = (("1", "2", "3"), ("4", "5", "6"), ("7", "8", "9"), ("." if decimal else CLEAR, "0", BACKSPACE))
        super().__init__(name, parent)


class OnScreenKeyboard(_Keys):
    """Digits and letters for a product name or PLU."""

    ROWS = (
        ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0"),
        ("Q", "W", "E", "R", "T", "Y", "U", "I", "O", "P"),
        ("A", "S", "D", "F", "G", "H", "J", "K", "L", BACKSPACE),
        ("Z", "X", "C", "V", "B", "N", "M", SPACE, CLEAR),
    )

    def __init__(self, parent=None) -> None:
        super().__init__("onScreenKeyboard", parent)
