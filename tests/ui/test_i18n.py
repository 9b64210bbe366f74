"""The window's languages: every text of the code is in the Hindi catalogue, translated, compiled into the .qm the
kiosk loads, with the same {fields}, in Devanagari; switching works at run time; the service's notices that shoppers
meet are translated (or not shown twice); amounts are grouped the Indian way in both languages; a font draws Hindi."""

import ast
import re
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QFontDatabase

from kiosk.ui.i18n import I18N_DIR, Translations, money, translate
from kiosk.ui.notices import notice_text

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tools.translations import messages, problems  # noqa: E402

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
#: sources that stay as they are in Hindi (tax names, a payment network, units)
KEPT = {"GST", "CGST", "SGST", "UPI", "GST {rate}", "{price}/kg", "Tare: {grams} g"}


def test_the_catalogue_has_every_text_of_the_code_translated_and_compiled():
    assert problems("hi") == []


def test_translations_keep_the_fields_and_are_in_devanagari():
    found = messages(I18N_DIR / "kiosk_hi.ts")
    assert len(found) > 200
    for (context, source), text in found.items():
        assert text, (context, source)
        assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", source)), (context, source, text)
        if source not in KEPT and re.search(r"[A-Za-z]{3}", re.sub(r"{\w+}|GST|PIN|PLU|UPI|Aa", "", source)):
            assert DEVANAGARI.search(text), (context, source, text)


def test_switching_the_language_at_run_time(qapp):
    translations = Translations(qapp)
    assert translate("Header", "Help") == "Help"
    assert translations.switch("hi") and translations.language == "hi"
    assert translate("Header", "Help") == "मदद"
    assert translate("Suggestions", "Put {name} on the scale").format(name="Banana") == "Banana तराज़ू पर रखें"
    assert not translations.switch("xx") and translations.language == "hi"  # not shipped: stays as it was
    assert translations.switch("en") and translate("Header", "Help") == "Help"
    assert translations.available() == ["en", "hi"]


def test_amounts_are_grouped_the_indian_way_in_both_languages(qapp):
    translations = Translations(qapp)
    for code in ("en", "hi"):
        translations.switch(code)
        assert money(10000000) == "₹1,00,000.00" and money(12345678) == "₹1,23,456.78"
    translations.switch("en")


def _readings(part) -> list[str]:
    """What one part of an f-string can read: its text, "12" for a value, both texts of a ``a if c else b``."""
    if isinstance(part, ast.Constant):
        return [str(part.value)]
    value = part.value
    if isinstance(value, ast.IfExp) and all(isinstance(x, ast.Constant) for x in (value.body, value.orelse)):
        return [value.body.value, value.orelse.value]
    return ["12"]


def _service_messages() -> list[str]:
    """The notices of the shopper's side of the service as they read, each variable part filled with "12" (messages
    that are only variable parts — an error's own text — are left out: there is nothing to translate)."""
    samples = []
    for name in ("counter.py", "attendant.py", "printing.py", "scale_desk.py"):
        tree = ast.parse((REPO / "kiosk" / "services" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Notice" and len(node.args) == 2:
                text = node.args[1]
                if isinstance(text, ast.Constant) and isinstance(text.value, str):
                    samples.append(text.value)
                elif isinstance(text, ast.JoinedStr):
                    readings = [""]
                    for part in text.values:
                        readings = [r + x for r in readings for x in _readings(part)]
                    samples += [r for r in readings if re.search(r"[a-z]{3,}", r)]
    return samples


def test_the_shoppers_notices_are_translated_or_shown_elsewhere(qapp):
    samples = _service_messages()
    assert len(samples) >= 10
    translations = Translations(qapp)
    translations.switch("hi")
    try:
        untranslated = [m for m in samples if notice_text(m) is not None and not DEVANAGARI.search(notice_text(m))]
        assert untranslated == []
        assert notice_text("place Banana on the scale and hold still") is None  # the step area says it
        assert notice_text("barcode not read: scan it again") == "बारकोड नहीं पढ़ा गया: फिर से स्कैन करें"
    finally:
        translations.switch("en")
    assert notice_text("something new: from a part of the service") == "Something new: from a part of the service"


@pytest.mark.parametrize("code", ["hi"])
def test_a_font_on_this_machine_draws_the_language(code):
    families = QFontDatabase.families(QFontDatabase.WritingSystem.Devanagari)
    assert families, "no Devanagari font: apt-get install fonts-noto-core (README, Install a till)"
