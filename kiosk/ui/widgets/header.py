"""The header on every page: the store's name, what the page is for, and the shopper's buttons — language, larger
text, Help — and Staff. Every text elides rather than widen the window.

Help has a visible state: while a call is up it reads "Staff called — cancel" (amber) and a tap cancels it. A screen
reader hears each button's words and what it does (F1, the keypad's Help key, is Help: :mod:`kiosk.ui.keyboard`)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QWidget

from kiosk.ui.i18n import LANGUAGE_NAMES, translate
from kiosk.ui.widgets.common import Translatable, line, repolish, touch_button

__all__ = ["Header"]

_C = "Header"


class Header(Translatable, QWidget):
    language_requested = Signal(str)  # the code of the language to switch to
    large_text_requested = Signal(bool)
    help_requested = Signal(bool)  # True: call staff, False: cancel the call

    def __init__(self, store_name: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)  # a QWidget subclass paints no QSS background
        self.languages: tuple[str, ...] = ("en",)
        self.language = "en"
        self.large_text = False
        self.help_active = False
        self.large_text_possible = True
        self.shopper_page = True
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 4, 8, 4)
        row.setSpacing(8)
        self.title = line(store_name, "headerTitle")
        self.hint = line("", "headerHint")
        self.language_button = touch_button("", "languageButton")
        self.text_button = touch_button("", "largeTextButton")
        self.help_button = touch_button("", "helpButton")
        self.staff_button = touch_button("", "staffButton")
        for button in (self.language_button, self.text_button, self.help_button, self.staff_button):
            policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            policy.setRetainSizeWhenHidden(True)  # the header keeps its shape on every page
            button.setSizePolicy(policy)
            button.setProperty("role", "headerButton")
        row.addWidget(self.title, 4)
        row.addWidget(self.hint, 3)
        for button in (self.language_button, self.text_button, self.help_button, self.staff_button):
            row.addWidget(button)
        self.language_button.clicked.connect(self._next_language)
        self.text_button.clicked.connect(lambda: self.large_text_requested.emit(not self.large_text))
        self.help_button.clicked.connect(lambda: self.help_requested.emit(not self.help_active))
        self.retranslate()

    def retranslate(self) -> None:
        other = self._other()
        self.language_button.setText(LANGUAGE_NAMES.get(other, other))
        self.text_button.setText(translate("Header", "Aa Normal text") if self.large_text else
                                 translate("Header", "Aa Larger"))
        self.help_button.setText(translate("Header", "Staff called — cancel") if self.help_active else
                                 translate("Header", "Help"))
        self.staff_button.setText(translate("Header", "Staff"))
        # for a screen reader: "Aa" is no word, and what each button does
        self.language_button.set_spoken("", translate("Header", "Change the language"))
        self.text_button.set_spoken(translate("Header", "Normal text size") if self.large_text else
                                    translate("Header", "Larger text"))
        self.help_button.set_spoken("", translate("Header", "Calls a member of staff to this kiosk"))
        self.staff_button.set_spoken("", translate("Header", "For store staff only"))

    def _other(self) -> str:
        if self.language not in self.languages or len(self.languages) < 2:
            return self.languages[0] if self.languages else "en"
        return self.languages[(self.languages.index(self.language) + 1) % len(self.languages)]

    def _next_language(self) -> None:
        self.language_requested.emit(self._other())

    def set_prefs(self, language: str, large_text: bool, languages: tuple[str, ...]) -> None:
        self.language, self.large_text, self.languages = language, large_text, tuple(languages) or ("en",)
        self.text_button.setProperty("active", large_text)
        repolish(self.text_button)
        self.retranslate()
        self._show_buttons()

    def set_help(self, active: bool) -> None:
        self.help_active = active
        self.help_button.setProperty("active", active)
        repolish(self.help_button)
        self.retranslate()

    def set_large_text_possible(self, possible: bool) -> None:
        """Larger text needs a screen with room for it (not on 800×600): the button shows only where it helps."""
        self.large_text_possible = possible
        self._show_buttons()

    def set_page(self, hint: str, *, shopper: bool, staff_button: bool) -> None:
        """What the page is for; the shopper's buttons on shopper pages; Staff where staff may step in."""
        self.hint.setText(hint)
        self.shopper_page = shopper
        self.staff_button.setVisible(staff_button)
        self._show_buttons()

    def _show_buttons(self) -> None:
        shopper = self.shopper_page
        self.language_button.setVisible(shopper and len(self.languages) > 1)
        self.text_button.setVisible(shopper and self.large_text_possible)
        self.help_button.setVisible(shopper)
