"""The staff PIN field, like a person at the till: OK or Enter on an empty field is not a wrong PIN (three would lock
staff out), and the field takes what a PIN is — digits, at most 12 — whether keyed, typed or pasted."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from kiosk.ui.widgets.staff import PIN_MAX
from tests.ui.helpers import tap, type_keys
from tests.ui.real import PIN, make_real


@pytest.fixture
def real(tmp_path, qtbot):
    service, window, _recognizer, _scale = make_real(tmp_path, qtbot)
    yield service, window
    window.close()
    service.close()


def test_empty_ok_and_enter_are_not_wrong_pins(qtbot, real):
    """Three empty OKs and three empty Enters, then the right PIN: staff are in (the service saw no wrong PIN)."""
    service, window = real
    tap(qtbot, window.staff_button)
    assert window.page == "pin"
    for _ in range(3):
        tap(qtbot, window.pin.ok_button)
    assert window.page == "pin" and window.pin.error.text() == "Type the PIN first"
    for _ in range(3):
        qtbot.keyClick(window.pin.edit, Qt.Key.Key_Return)
    assert window.pin.error.text() == "Type the PIN first"
    kinds = [r["kind"] for r in service.store.audit_rows()]
    assert not any("refused" in k or "lock" in k for k in kinds), kinds
    type_keys(qtbot, window.pin.keypad, PIN)
    assert window.pin.error.text() == ""  # a key clears the hint
    tap(qtbot, window.pin.ok_button)
    assert window.page == "staff" and service.staff_unlocked


def test_empty_ok_does_not_reach_the_service(qtbot, window, service):
    tap(qtbot, window.staff_button)
    tap(qtbot, window.pin.ok_button)
    qtbot.keyClick(window.pin.edit, Qt.Key.Key_Enter)
    assert not [c for c in service.calls if c[0] == "staff_unlock"]
    service.set_language("hi")
    qtbot.waitUntil(lambda: window.translations.language == "hi")
    tap(qtbot, window.pin.ok_button)
    assert window.pin.error.text() == "पहले PIN लिखें"


def test_the_pin_field_takes_digits_only_and_at_most_twelve(qtbot, window, service):
    tap(qtbot, window.staff_button)
    edit = window.pin.edit
    type_keys(qtbot, window.pin.keypad, "1234567890" * 10)
    assert edit.text() == ("1234567890" * 2)[:PIN_MAX] and PIN_MAX == 12
    tap(qtbot, window.pin.keypad.keys["Clear"])
    edit.setFocus()
    qtbot.keyClicks(edit, "ab 24x68")  # a keyboard on the till: letters and spaces do not go in
    assert edit.text() == "2468"
    edit.clear()
    QGuiApplication.clipboard().setText("hello 2468\n")
    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert edit.text() == ""  # a paste that is not a PIN is refused whole
    QGuiApplication.clipboard().setText("2468")
    qtbot.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert edit.text() == "2468"
    tap(qtbot, window.pin.ok_button)
    assert window.page == "staff" and [c for c in service.calls if c[0] == "staff_unlock"] == [("staff_unlock", PIN)]


def test_staff_signed_in_before_the_start_up_events_arrive_stay_in(qtbot, tmp_path):
    """The service announces "staff locked" at start; a sign-in before the window has handled that event is not
    undone by it (the stale event sent the staff page back to checkout)."""
    service, window, _recognizer, _scale = make_real(tmp_path, qtbot)  # its start-up events not yet delivered
    try:
        tap(qtbot, window.staff_button)
        type_keys(qtbot, window.pin.keypad, PIN)
        tap(qtbot, window.pin.ok_button)
        qtbot.wait(100)  # now they are
        assert window.page == "staff" and service.staff_unlocked
    finally:
        window.close()
        service.close()
