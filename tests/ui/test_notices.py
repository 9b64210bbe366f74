"""Every refusal and notice the service can send the window is said in the shopper's language: the test reads them
all out of ``kiosk/services`` (what an intent raises, every ``Notice``, the staff sign-in's refusals), so a new one
without a template in :data:`kiosk.ui.notices.NOTICES` fails here; and on screen, like a person on a Hindi screen:
the Zero key refused, the PIN pad locked after wrong PINs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kiosk.ui.i18n import Translations
from kiosk.ui.notices import notice_text
from tests.ui.helpers import tap, type_keys
from tests.ui.real import make_real

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "kiosk" / "services"
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
#: what an intent raises that reaches the window (kiosk.services.errors); anything else is the service's own bug
REFUSALS = {"CheckoutError", "StaffLocked", "SupervisorNeeded"}


def _part(part: ast.expr) -> list[str]:
    """What one part of an f-string can read: its text, both texts of ``a if c else b``, an amount for
    ``format_inr(…)``, ``'12'`` for a ``!r`` value, else "12"."""
    if isinstance(part, ast.Constant):
        return [str(part.value)]
    value = part.value
    if isinstance(value, ast.IfExp) and all(isinstance(x, ast.Constant) for x in (value.body, value.orelse)):
        return [str(value.body.value), str(value.orelse.value)]
    if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "format_inr":
        return ["₹12.00"]
    return ["'12'" if part.conversion == ord("r") else "12"]


def _readings(node: ast.expr | None) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        readings = [""]
        for part in node.values:
            readings = [r + x for r in readings for x in _part(part)]
        return readings
    return []


def _said(node: ast.AST, in_teaching: bool) -> ast.expr | None:
    """The message ``node`` sends the window, if it sends one."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Notice" and len(node.args) == 2:
        return node.args[1]
    if (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args and not in_teaching
            and getattr(node.exc.func, "id", "") in REFUSALS):  # the Teach page says the teaching desk's refusals
        return node.exc.args[0]
    return None


def service_messages() -> dict[str, str]:
    """message (variable parts filled in) → where the service says it."""
    found: dict[str, str] = {}
    for path in sorted(SERVICES.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        texts = [(n.lineno, said) for n in ast.walk(tree) if (said := _said(n, path.name == "teaching.py"))]
        for node in ast.walk(tree):  # the staff sign-in's refusals: a table and the function that picks one
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_REFUSALS" for t in node.targets):
                texts += [(node.lineno, v) for v in node.value.values]
            if isinstance(node, ast.FunctionDef) and "refusal" in node.name:
                texts += [(r.lineno, r.value) for r in ast.walk(node) if isinstance(r, ast.Return)]
        for line, text in texts:
            for reading in _readings(text):
                reading = re.sub(r"{\w+}", "12", reading)  # a table's str.format fields
                if re.search(r"[a-z]{3,}", reading):  # not a bare variable ("12: 12")
                    found.setdefault(reading, f"{path.name}:{line}")
    return found


def test_every_message_of_the_service_is_said_in_hindi(qapp):
    found = service_messages()
    assert len(found) >= 50
    assert {"zero: take everything off the tray first", "too many wrong PINs at this kiosk: try again in 12 s",
            "payment declined: 12"} <= set(found)
    translations = Translations(qapp)
    translations.switch("hi")
    try:
        english = {m: where for m, where in found.items()
                   if notice_text(m) is not None and not DEVANAGARI.search(notice_text(m))}
        assert english == {}, "add them to kiosk.ui.notices.NOTICES"
        assert notice_text("zero: the scale must be still and within 600 g of zero") == \
            "शून्य: तराज़ू स्थिर हो और शून्य से 600 g के भीतर हो"
    finally:
        translations.switch("en")
    assert notice_text("zero: take everything off the tray first") == "Zero: take everything off the tray first"


@pytest.fixture
def hindi(tmp_path, qtbot):
    service, window, _recognizer, scale = make_real(tmp_path, qtbot)
    qtbot.waitUntil(window.language_button.isVisible)
    tap(qtbot, window.language_button)
    qtbot.waitUntil(lambda: window.translations.language == "hi")
    yield service, window, scale
    window.close()
    service.close()


def test_the_zero_key_refused_in_hindi(qtbot, hindi):
    """Something heavy on the tray, the shopper taps Zero: told why not, in Hindi."""
    service, window, scale = hindi
    scale.set_weight(900)
    service.poll_scale()
    tap(qtbot, window.weight.zero_button)
    qtbot.waitUntil(window.banner.isVisible)
    text = window.banner.text()
    assert DEVANAGARI.search(text) and not LATIN_WORD.search(text), text


def test_wrong_pins_lock_the_pad_in_hindi(qtbot, hindi):
    service, window, _scale = hindi
    tap(qtbot, window.staff_button)
    for _ in range(4):
        type_keys(qtbot, window.pin.keypad, "1111")
        tap(qtbot, window.pin.ok_button)
    qtbot.waitUntil(lambda: "सेकंड" in window.pin.error.text())  # the service's refusal follows the tap
    text = window.pin.error.text()
    assert "सेकंड" in text and not LATIN_WORD.search(text.replace("PIN", "")), text
