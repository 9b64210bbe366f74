"""A keyboard-wedge scanner's keys never land in the focused field (probe: "ban" + a scan read "ban4006381333931" in
search, a scan filled the PIN field, a short code's Enter submitted it -- 4 scans locked staff out -- and the price
field kept the digits). The window's key filter holds each key back for the scanner's gap: a completed scan drops
them (and its Enter); anything else is typed into the focused widget in order. On the PIN and price pages a scan --
any fast burst ended by Enter -- is neither sold nor typed: the page's error line says so."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QPushButton, QVBoxLayout, QWidget

from kiosk.barcodes.wedge import KeyboardWedge
from kiosk.ui.wedge_keys import WedgeKeyFilter
from tests.ui.helpers import open_price_page, tap, type_keys
from tests.ui.real import PIN, make_real

CODE = "4006381333931"  # a valid EAN-13
GAP_MS = 200  # generous, as tests/ui/test_wedge.py: the offscreen event loop is not a USB scanner
IGNORED = "Barcode ignored: scan items on the checkout page"


@pytest.fixture
def wedged(qtbot, service):
    from kiosk.ui.app import build_window

    service.scanner = KeyboardWedge(gap_ms=GAP_MS)
    win, _ = build_window(service, None, payment_ms=0, receipt_return_s=0, camera_fps=50)
    qtbot.addWidget(win)
    win.resize(1024, 768)
    win.show()
    qtbot.waitExposed(win)
    service.announce()
    win.activateWindow()
    qtbot.waitActive(win)
    return win


def scan(qtbot, win, code=CODE):
    """A scanner: the code's keys and Enter back to back, to whatever has the focus."""
    target = QApplication.focusWidget() or win
    qtbot.keyClicks(target, code)
    qtbot.keyClick(QApplication.focusWidget() or win, Qt.Key.Key_Return)


def typed(qtbot, widget, text, per_key_ms):
    for ch in text:
        qtbot.keyClick(widget, ch)
        qtbot.wait(per_key_ms)


def test_a_scan_in_the_search_field_is_sold_and_leaves_what_was_typed(qtbot, wedged, service):
    wedged.search_button.click()
    edit = wedged.search.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "ban")
    qtbot.waitUntil(lambda: edit.text() == "ban")  # typed: shown once the scanner's gap has passed
    qtbot.wait(GAP_MS + 50)
    scan(qtbot, wedged)
    assert service.scanner.read(1.0) == CODE and wedged.wedge_filter.scans == 1
    qtbot.wait(GAP_MS + 50)
    assert edit.text() == "ban"
    assert not any(CODE[:4] in c[1] for c in service.calls if c[0] == "search")


@pytest.mark.parametrize("per_key_ms", [GAP_MS + 40, GAP_MS + 120])
def test_typing_slower_than_the_gap_is_typing_enter_and_all(qtbot, wedged, service, per_key_ms):
    wedged.search_button.click()
    edit = wedged.search.edit
    edit.setFocus()
    typed(qtbot, edit, CODE[:5], per_key_ms)
    assert edit.text() == CODE[:5]
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert service.scanner.read(0.05) is None and wedged.wedge_filter.scans == 0


def test_held_keys_are_typed_before_a_key_that_types_nothing(qtbot, wedged):
    wedged.search_button.click()
    edit = wedged.search.edit
    edit.setFocus()
    qtbot.keyClicks(edit, "mango")
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)  # within the gap: the held "mango" goes first
    assert edit.text() == "mang"


def test_what_was_typed_lands_before_a_tap(qtbot, wedged, service):
    line_id = open_price_page(qtbot, wedged, service)
    wedged.price.edit.setFocus()
    qtbot.keyClicks(wedged.price.edit, "45")  # typed, and Set price tapped at once
    tap(qtbot, wedged.price.ok_button)
    assert ("staff_override_price", line_id, 4500) in service.calls


def test_auto_repeat_is_typed_at_once_and_not_held(qtbot, wedged, service):
    wedged.search_button.click()
    edit = wedged.search.edit
    edit.setFocus()
    QApplication.sendEvent(edit, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier, "a",
                                           True))
    assert edit.text() == "a"


def test_a_held_space_still_presses_a_focused_button(qtbot):
    """Held keys are replayed with their releases: a key released before its press is replayed never sticks."""
    box = QWidget()
    qtbot.addWidget(box)
    button = QPushButton("OK", box)
    QVBoxLayout(box).addWidget(button)
    box.show()
    qtbot.waitExposed(box)
    wedge = WedgeKeyFilter(KeyboardWedge(gap_ms=GAP_MS), box)
    QApplication.instance().installEventFilter(wedge)
    try:
        box.activateWindow()
        button.setFocus()
        with qtbot.waitSignal(button.clicked, timeout=2000):
            qtbot.keyClick(button, Qt.Key.Key_Space)
    finally:
        QApplication.instance().removeEventFilter(wedge)


@pytest.mark.parametrize("code", [CODE, "123456"])  # a product's EAN-13; a 6-digit shelf label the driver does not take
def test_a_scan_on_the_pin_page_is_not_sold_not_typed_not_submitted(qtbot, wedged, service, code):
    wedged.staff_button.click()
    assert wedged.page == "pin"
    wedged.pin.edit.setFocus()
    scan(qtbot, wedged, code)
    qtbot.wait(GAP_MS + 50)
    assert wedged.pin.edit.text() == "" and service.scanner.read(0.05) is None
    assert [c for c in service.calls if c[0] == "staff_unlock"] == []
    assert wedged.pin.error.text() == IGNORED and wedged.page == "pin"
    typed(qtbot, wedged.pin.edit, "2468", GAP_MS + 40)  # staff types the PIN, slowly
    qtbot.keyClick(wedged.pin.edit, Qt.Key.Key_Return)
    assert [c for c in service.calls if c[0] == "staff_unlock"] == [("staff_unlock", "2468")]


def test_a_scan_on_the_price_page_is_not_sold_nor_kept_in_the_field(qtbot, wedged, service):
    line_id = open_price_page(qtbot, wedged, service)
    wedged.price.edit.setFocus()
    scan(qtbot, wedged)
    qtbot.wait(GAP_MS + 50)
    assert wedged.price.edit.text() == "" and service.scanner.read(0.05) is None
    assert wedged.price.error.text() == IGNORED
    type_keys(qtbot, wedged.price.keypad, "45")
    tap(qtbot, wedged.price.ok_button)
    assert ("staff_override_price", line_id, 4500) in service.calls


def test_short_scans_on_the_pin_page_lock_no_one_out(tmp_path, qtbot):
    """The probe's: four scans of a 6-digit label on the real service's PIN page, then the right PIN."""
    service, win, _rec, _scale = make_real(tmp_path, qtbot)
    wedge = WedgeKeyFilter(KeyboardWedge(gap_ms=GAP_MS), win)  # what MainWindow._install_wedge does for "wedge:"
    QApplication.instance().installEventFilter(wedge)
    tried = []
    real_unlock = service.staff_unlock
    service.staff_unlock = lambda pin, staff_id="staff": (tried.append(pin), real_unlock(pin, staff_id))[1]
    try:
        win.activateWindow()
        qtbot.waitActive(win)
        tap(qtbot, win.staff_button)
        started = time.monotonic()
        for _ in range(4):
            scan(qtbot, win, "123456")
            qtbot.wait(GAP_MS + 20)
        assert time.monotonic() - started < 2
        assert tried == [] and win.pin.edit.text() == "" and win.pin.error.text() == IGNORED
        type_keys(qtbot, win.pin.keypad, PIN)
        tap(qtbot, win.pin.ok_button)
        qtbot.waitUntil(lambda: win.page == "staff")
        assert tried == [PIN]
    finally:
        QApplication.instance().removeEventFilter(wedge)
        win.close()
        service.stop()


def test_the_driver_can_recognise_a_scan_without_selling_it():
    wedge, at = KeyboardWedge(), 100.0
    for ch in CODE:
        at += 0.01
        assert wedge.key(ch, when=at) is False
    assert wedge.key("\r", when=at + 0.01, keep=False) is True  # a scan, dropped
    assert wedge.read(0.01) is None


def test_a_scan_on_the_checkout_page_leaves_touch_mode_alone(qtbot, wedged, service):
    """A scan ends in Enter, one of the keyboard user's keys: the scanner's keys never switch the window to keyboard
    use (a focus ring on the first button after every scan) -- the wedge's filter sees keys first."""
    assert wedged.property("keysInUse") is False
    scan(qtbot, wedged)
    assert service.scanner.read(1.0) == CODE and wedged.wedge_filter.scans == 1
    qtbot.wait(GAP_MS + 100)
    assert wedged.property("keysInUse") is False


def stamped_keys(text: str, first_ms: int, step_ms: int) -> list[QKeyEvent]:
    """Press and release of each key of ``text`` (``\\r``: Enter), stamped as the window system stamps them."""
    events = []
    for i, ch in enumerate(text):
        key = Qt.Key.Key_Return if ch == "\r" else Qt.Key(ord(ch))
        for kind, late in ((QEvent.Type.KeyPress, 0), (QEvent.Type.KeyRelease, 2)):
            event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, ch)
            event.setTimestamp(first_ms + i * step_ms + late)
            events.append(event)
    return events


def test_keys_are_timed_when_typed_not_when_the_busy_window_handles_them(qtbot, wedged, service):
    """Before: keys were timed when the Qt thread handled them. A scan cut short ('2400') and the next scan 300 ms
    later (the EAN-8 96300008), queued while the window was busy, were handled back to back and read as 240096300008,
    another valid code; the real scan was lost (probe: finding 2, the keyboard wedge's twin). Now each key's own
    timestamp times it: the 300 ms pause ends the fragment."""
    target = QApplication.focusWidget() or wedged
    start = 7_000_000  # the window system's clock, ms
    for event in stamped_keys("2400", start, 10) + stamped_keys("96300008\r", start + 300, 10):
        QApplication.sendEvent(target, event)  # back to back: the Qt thread was busy while they were typed
    assert service.scanner.read(0.5) == "96300008" and service.scanner.read(0.05) is None
