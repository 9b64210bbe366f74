"""The window's languages: Qt's translation system, English in the source and one ``.qm`` per other language.

Every text a widget shows goes through :func:`translate` (``QCoreApplication.translate(context, text)``), texts
chosen before they are shown are marked with :func:`mark` (translated when shown), and a widget writes its texts
in a ``retranslate()`` method that runs again on every ``QEvent.LanguageChange``: switching the language redraws
every page in place, whatever the shopper was doing. Placeholders are Python's ``{name}`` fields, filled after
translation (``translate("Checkout", "Pay {total}").format(total=…)``); a translation keeps the same fields
(``tests/ui/test_i18n.py``).

The catalogues are ``kiosk/ui/i18n/kiosk_<code>.ts`` (XML, edited by translators, e.g. in Qt Linguist) and the
compiled ``kiosk_<code>.qm`` next to them; ``make translations`` refreshes the ``.ts`` from the code
(``pyside6-lupdate``) and compiles them (``pyside6-lrelease``). Shipped: ``en`` (the source) and ``hi`` (Hindi).

Amounts: Indian digit grouping in every language (``₹1,00,000.00``, :func:`kiosk.domain.money.format_inr`), Latin
digits and SI unit symbols (``kg``) as Indian retail prints them; words in the shopper's language and script.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QLocale, QTranslator

from kiosk.domain.money import format_inr

__all__ = ["I18N_DIR", "LANGUAGE_NAMES", "LUPDATE_ALIASES", "Translations", "mark", "money", "translate"]

log = logging.getLogger(__name__)

I18N_DIR = Path(__file__).resolve().parent / "i18n"
#: a language's own name, in its own script (what its button says)
LANGUAGE_NAMES = {"en": "English", "hi": "हिन्दी"}
#: Qt's locale for each shipped language (Indian English, Hindi in India)
LOCALES = {"en": "en_IN", "hi": "hi_IN"}
#: what ``pyside6-lupdate`` must be told so that it finds :func:`mark`
LUPDATE_ALIASES = "QT_TRANSLATE_NOOP+=mark"


def translate(context: str, text: str) -> str:
    """``text`` in the current language (itself when there is no translation)."""
    return QCoreApplication.translate(context, text)


def mark(context: str, text: str) -> str:
    """Marks ``text`` for the translators without translating it (it is translated where it is shown)."""
    return text


def money(paise: int) -> str:
    """An amount as every page shows it: ``₹1,00,000.00`` (Indian grouping in both languages)."""
    return format_inr(paise)


class Translations:
    """The application's translator: :meth:`switch` to a language code; English needs none."""

    def __init__(self, app: QCoreApplication | None = None, folder: Path = I18N_DIR) -> None:
        self.app = app or QCoreApplication.instance()
        self.folder = Path(folder)
        self.language = "en"
        self._translator: QTranslator | None = None

    def available(self) -> list[str]:
        return ["en", *sorted(p.stem.removeprefix("kiosk_") for p in self.folder.glob("kiosk_*.qm"))]

    def switch(self, code: str) -> bool:
        """Install ``code``'s catalogue (every widget gets a LanguageChange event); False when it is not shipped (the
        window stays in English)."""
        if code == self.language:
            return True
        translator = None
        if code != "en":
            translator = QTranslator(self.app)
            if not translator.load(str(self.folder / f"kiosk_{code}.qm")):
                log.warning("no translation for language %r in %s: showing English", code, self.folder)
                return False
        if self._translator is not None:
            self.app.removeTranslator(self._translator)
        self._translator = translator
        if translator is not None:
            self.app.installTranslator(translator)
        self.language = code
        QLocale.setDefault(QLocale(LOCALES.get(code, "en_IN")))
        # Qt posts the widgets' LanguageChange events: deliver them now, so the whole window is in the new language
        # when the switch returns (not half of it while a queued sale or notice is drawn in the old one)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LanguageChange)
        return True
