"""The window's languages: every text of the code is in the Hindi catalogue, translated, compiled into the .qm the
kiosk loads, with the same {fields}, in Devanagari; switching works at run time; the service's notices that shoppers
meet are translated (or not shown twice); amounts are grouped the Indian way in both languages; a font draws Hindi."""

import ast
import re
import sys
from pathlib import Path

import numpy as np
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


# -- nothing on any page stays in English on the Hindi screen --------------------------------------------------------

#: words a Hindi page shows as they are: the shop's data (product names, the store's — the config's default too —
#: and staff names, SKU ids typed, the model's name in staff mode), tax and code names, units, the English button
DATA_WORDS = ("Self-checkout", "Fake Mart", "Asha Rao", "mango-alphonso", "fake-net", "English", "GSTIN", "CGST",
              "SGST", "GST", "UPI", "PIN", "PLU", "HSN", "SKU", "kg")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


class FakeTeachDesk:
    """The teaching desk's side of the Teach page (:class:`kiosk.services.teaching.TeachDesk`), speaking its English."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        self.available: str | None = None
        self.policy = SimpleNamespace(min_photos=5)
        self.verdicts = iter(())

    def lookup(self, sku):
        if sku == "mango":
            return "Mango, ₹80.00 — taught here already (more photos add to it)", True
        return f"{sku} is not in the catalog: add its row below first", False

    def check_frame(self, image):
        from kiosk.gallery import PhotoVerdict

        return next(self.verdicts, PhotoVerdict(0, True))

    def fingerprint(self, image):  # every frame another photo (the real desk's test: tests/ui/test_teach.py)
        self.frames = getattr(self, "frames", 0) + 1
        return self.frames

    def same_photo(self, a, b):
        return a == b

    def create_sku(self, fields):
        if fields["sku"] == "mango":
            from kiosk.services.errors import CheckoutError

            raise CheckoutError("SKU 'mango' is already in the catalog")
        return fields["sku"]

    def teach(self, sku, photos, different_from=()):
        from kiosk.gallery import EnrollResult, PhotoVerdict

        return EnrollResult(sku, None, [PhotoVerdict(i, True) for i in range(len(photos))]
                            + [PhotoVerdict(9, False, "blurred")])


@pytest.fixture
def staff_window(qtbot):
    """The window on the fake service with staff accounts (number + PIN) and a teaching desk (the Teach page)."""
    from kiosk.ui.app import build_window
    from tests.ui.fakes import FakeCheckoutService

    service = FakeCheckoutService()
    service.teaching = FakeTeachDesk()
    service.staff_accounts_in_use = True
    service.frame = np.zeros((48, 64, 3), np.uint8)  # what the Teach page takes photos of
    win, _bridge = build_window(service, None, payment_ms=0, receipt_return_s=0, camera_fps=50)
    qtbot.addWidget(win)
    win.resize(1024, 768)
    win.show()
    qtbot.waitExposed(win)
    service.announce()
    yield win, service
    win.close()


def _shown_texts(window) -> list[tuple[str, str]]:
    """``(widget, text)`` for every text a person can read on the window now: visible labels and buttons (their whole
    text when elided, and tooltips), line edits' placeholders and combo boxes' items."""
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLabel, QLineEdit, QWidget

    out = []
    for w in window.findChildren(QWidget):
        if not w.isVisibleTo(window):
            continue
        name = w.objectName() or type(w).__name__
        if isinstance(w, (QLabel, QAbstractButton)):
            out.append((name, w.text()))
        if isinstance(w, QLineEdit) and not w.text():
            out.append((name, w.placeholderText()))
        if isinstance(w, QComboBox):
            out += [(name, w.itemText(i)) for i in range(w.count())]
        out.append((name, w.toolTip()))
    return [(n, t) for n, t in out if t]


def _english(window, data: set[str]) -> list[tuple[str, str]]:
    """The texts shown that still hold an English word once the shop's data and the kept names are taken out."""
    found = []
    for name, text in _shown_texts(window):
        rest = text
        for word in sorted(data | set(DATA_WORDS), key=len, reverse=True):
            rest = rest.replace(word, " ")
        if LATIN_WORD.search(rest):
            found.append((name, text))
    return found


def _staff_states(window, service):
    """(name, what to do) for the staff pages the shopper's walk (tests/ui/test_layout.py) does not reach: the
    sign-in with a staff number, a supervisor's approval, the staff page with who is signed in, the Teach page in
    each of its states."""
    from kiosk.gallery import PhotoVerdict
    from kiosk.services.events import StaffModeChanged

    teach = window.teach
    panel = teach.panel
    desk = service.teaching

    def signed_in():
        service.unlocked = True
        service.emit(StaffModeChanged(True, "101", "Asha Rao", "supervisor"))
        window.show_page("staff")

    def photos():
        desk.verdicts = iter([PhotoVerdict(0, False, "blurred"), PhotoVerdict(1, False, "empty tray")])
        teach.take(3)

    def not_recognised_today():
        from kiosk.services.not_recognised import UnlabelledView

        service.unlabelled = [UnlabelledView("p1", "11:51", "", "Mango", "mango", 0.31),
                              UnlabelledView("p2", "11:40", "", "", "", None)]
        window.unlabelled.open()

    def unavailable():
        desk.available = ("model v7 exports no embeddings: a bundle exported by this version of the trainer is needed "
                          "to teach products")
        teach.open()

    return [
        ("sign-in", lambda: (service.staff_lock(), window.open_staff())),
        ("approval", lambda: (window.staff_access.needs_supervisor(
            __import__("kiosk.services.errors", fromlist=["x"]).SupervisorNeeded(
                "a price override changing the bill by more than ₹50.00 needs a supervisor: ask a supervisor to "
                "approve", "override"), lambda: None))),
        ("staff signed in", signed_in),
        ("teach", teach.open),
        ("teach: new SKU", lambda: panel.sku_edit.setText("mango-alphonso")),
        ("teach: photos refused", photos),
        ("teach: SKU exists", lambda: (panel.sku_edit.setText("mango"), panel.create_button.click())),
        ("teach: taught", lambda: teach._teach("mango")),
        ("teach: a look-alike", lambda: (panel.show_message(  # the refusal and the offer, as the controller shows
            "{sku}: the till takes these photos for {names}, so they were not taught. If it is a different product, "
            "say so below.", error=True, sku="mango", names="Mango"), panel.show_look_alike("Mango"))),
        ("teach: too few photos", lambda: teach._photos_refused("mango", {
            "usable": 3, "total": 10, "needed": 5, "refused": {"duplicate": 4, "another product": 3}})),
        ("teach: no camera frame", lambda: (setattr(teach, "_frames", lambda: None), teach.take(1))),
        ("teach: cannot teach", unavailable),
        ("not recognised today", not_recognised_today),
        ("not recognised today: pick", lambda: window.unlabelled._pick("p1")),
    ]


def _walk(qtbot, window, service, data) -> tuple[dict[str, list], set[str]]:
    from tests.ui.test_layout import _fill, _states

    _fill(qtbot, window, service)
    found, pages = {}, set()
    for name, action in _states(window, service) + _staff_states(window, service):
        action()
        qtbot.wait(20)
        pages.add(window.page)
        found[name] = _english(window, data)
    return {k: v for k, v in found.items() if v}, pages


@pytest.mark.parametrize("language", ["hi", "en"])
def test_no_page_shows_english_on_the_hindi_screen(qtbot, staff_window, language):
    """Every page and state, the shopper's and staff's (sign-in, approval, Teach): in Hindi, no text a person can
    read holds an English word that is not the shop's data; in English the same walk finds plenty (the check sees)."""
    from tests.ui.fakes import CATALOG

    window, service = staff_window
    service.set_language(language)
    qtbot.waitUntil(lambda: window.help_button.text() == ("मदद" if language == "hi" else "Help"))
    data = {item.name for item in CATALOG.values()} | {item.sku for item in CATALOG.values()}
    found, pages = _walk(qtbot, window, service, data)
    assert {"checkout", "pin", "staff", "teach", "receipt", "search", "browse", "price", "unlabelled",
            "unlabelled_search"} <= pages
    if language == "hi":
        assert found == {}
    else:
        assert {"sign-in", "staff signed in", "teach", "teach: photos refused", "receipt"} <= set(found)


def _teaching_texts() -> list[str]:
    """What the teaching desk (kiosk/services/teaching.py) says on the Teach page, as it reads (variable parts "12")."""
    tree = ast.parse((REPO / "kiosk" / "services" / "teaching.py").read_text(encoding="utf-8"))
    samples = []
    for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in ("lookup", "available",
                                                                                           "create_sku", "teach")):
        for node in ast.walk(fn):
            said = node.exc.args[0] if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) else \
                node.value.elts[0] if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) else \
                node.value if isinstance(node, ast.Return) else None
            if isinstance(said, ast.JoinedStr) or (isinstance(said, ast.Constant) and isinstance(said.value, str)):
                readings = [""]
                for part in (said.values if isinstance(said, ast.JoinedStr) else [said]):
                    readings = [r + x for r in readings for x in _readings(part)]
                samples += [r for r in readings if re.search(r"[a-z]{3,}", r)]  # "12, 12": data only
    return samples


def test_what_the_teaching_desk_and_the_weight_check_say_is_translated(qapp):
    """The service's own words on the Teach page and in a staff call, each put into Hindi (an error's variable
    part — a catalog field's complaint — aside)."""
    from types import SimpleNamespace

    from kiosk.services.second_opinion import check_label_weight, check_unit_weight
    from kiosk.ui.widgets.teach import service_text

    teaching = [t for t in _teaching_texts() if not t.startswith("new product ")]  # its field errors: their own words
    assert len(teaching) >= 7
    # the line about a SKU taught before adds this (a variable of lookup's, which the reading above fills with "12")
    taught = " — taught here already (more photos add to it)"
    assert taught in (REPO / "kiosk" / "services" / "teaching.py").read_text(encoding="utf-8")
    teaching.append("Mango, ₹80.00" + taught)
    egg = SimpleNamespace(name="Egg", unit_weight_min_g=50, unit_weight_max_g=60)
    fits = [check_unit_weight(egg, 110, 1, 0.1).reason, check_unit_weight(egg, 75, 1, 0.1).reason,
            check_label_weight(500, 900, 0.05, 10).reason]
    assert all(fits)
    translations = Translations(qapp)
    translations.switch("hi")
    try:
        assert [t for t in teaching if not DEVANAGARI.search(service_text(t))] == []
        assert [t for t in fits if not DEVANAGARI.search(notice_text(t) or "")] == []
    finally:
        translations.switch("en")
    assert service_text(teaching[0]) == teaching[0]  # English: as the service said it


def test_a_language_switch_redraws_the_whole_window_before_it_returns(qtbot, staff_window):
    """Qt posts the widgets' LanguageChange events: the switch delivers them itself, so no queued event (a sale
    closing, a notice) is drawn between an English half and a Hindi half of the window (a receipt summary stayed
    English after the switch in 1 of 5 runs)."""
    window, _service = staff_window
    assert window.help_button.text() == "Help"
    assert window.translations.switch("hi")
    assert window.help_button.text() == "मदद"  # no event processed in between
    assert window.translations.switch("en") and window.help_button.text() == "Help"
