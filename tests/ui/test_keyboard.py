"""Keyboard and accessible keypad only (QTest key clicks, no tap): every shopper flow — pick a suggestion, search
and add, remove a line, pay, call Help, switch the language — and staff's PIN and staff page; Tab goes round the
page shown and nowhere else, the arrows move in tile rows, keypads and the cart, Escape is Back but never during a
payment, never "Remove", never the cart; taps still leave the focus in the search field; the focus ring's style."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.ui.models import CartTableModel
from kiosk.ui.styles import load_stylesheet
from tests.ui.fakes import PIN
from tests.ui.helpers import tap

Key = Qt.Key


@pytest.fixture
def keys(qtbot, window):
    """Press keys where the focus is (the window when nothing has it), like a keyboard or an ADA keypad."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)

    def press(*pressed, times: int = 1, shift: bool = False):
        modifier = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
        for _ in range(times):
            for key in pressed:
                qtbot.keyClick(QApplication.focusWidget() or window, key, modifier)
    return press


def focus() -> QWidget | None:
    return QApplication.focusWidget()


def tab_to(keys, widget, limit: int = 40) -> None:
    for _ in range(limit):
        if focus() is widget:
            return
        keys(Key.Key_Tab)
    raise AssertionError(f"Tab never reached {widget.objectName()} (stuck on {focus().objectName()})")


def names(window):
    return [line.name for line in window.cart_model.cart_view.lines]


def test_pick_a_suggestion_with_the_arrows_and_enter(qtbot, window, service, keys):
    keys(Key.Key_Tab)  # the first key: someone uses the keypad
    pid = service.place("avocado", "mango", "yoghurt", scores=(0.5, 0.3, 0.1))
    s = window.suggestions
    qtbot.waitUntil(lambda: s.state == "choose")
    assert focus() is s.buttons[0]  # new suggestions take the keyboard
    keys(Key.Key_Right)
    assert focus() is s.buttons[1]
    keys(Key.Key_Return)
    assert ("choose", "mango", pid) in service.calls
    qtbot.waitUntil(lambda: names(window) == ["Mango"])
    assert focus() is s.buttons[1] and s.buttons[1].added  # the tile stays focused, marked added
    keys(Key.Key_Right, times=5)
    assert focus() is s.none_tile  # the end of the row: the focus stays in the row
    keys(Key.Key_Left, times=3)
    assert focus() is s.buttons[0]
    keys(Key.Key_Space)
    assert ("choose", "avocado", pid) in service.calls  # Space picks too (a correction)


def test_search_and_add_by_keyboard(qtbot, window, service, keys):
    tab_to(keys, window.search_button)
    keys(Key.Key_Return)
    assert window.page == "search" and focus() is window.search.edit
    qtbot.keyClicks(window.search.edit, "an")  # Banana, Mango, Granny Smith apple
    assert len(window.search.results) > 1
    keys(Key.Key_Return)  # several: Enter goes to the results
    assert focus() is window.search.list and window.search.list.currentRow() == 0
    keys(Key.Key_Up)
    assert focus() is window.search.edit  # Up on the first row: back to the field
    keys(Key.Key_Down, Key.Key_Down)
    sku = window.search.result_skus()[1]
    keys(Key.Key_Return)
    assert window.page == "checkout" and ("choose", sku, None) in service.calls
    tab_to(keys, window.search_button)
    keys(Key.Key_Return)
    qtbot.keyClicks(window.search.edit, "oatly")
    keys(Key.Key_Enter)  # the number pad's Enter, one result: it is picked
    qtbot.waitUntil(lambda: "Oatly Oat Drink 1L" in names(window))
    assert window.page == "checkout"


def test_the_on_screen_keyboard_is_one_stop_worked_by_arrows_and_a_tap_keeps_the_field(qtbot, window, keys):
    window.open_search()
    board = window.search.keyboard
    tap(qtbot, board.keys["M"])
    assert focus() is window.search.edit and window.search.edit.text() == "M"  # a tap never takes the focus
    tab_to(keys, board.keys["1"])
    stops = []
    for _ in range(12):
        keys(Key.Key_Tab)
        stops.append(focus())
    assert sum(1 for w in stops if w.parentWidget() is board) == 1  # 40 keys, one Tab stop
    tab_to(keys, board.keys["1"])
    keys(Key.Key_Down, Key.Key_Right, Key.Key_Return)  # 1 → Q → W
    assert window.search.edit.text() == "MW" and focus() is board.keys["W"]
    tab_to(keys, board.keys["W"])  # the key used last is the group's stop now
    keys(Key.Key_Down, Key.Key_Right, Key.Key_Right, Key.Key_Right, Key.Key_Right, Key.Key_Right, Key.Key_Right,
         Key.Key_Right, Key.Key_Right, Key.Key_Right)  # along the row: S … L, then ⌫
    assert focus() is board.keys["⌫"]
    keys(Key.Key_Space)
    assert window.search.edit.text() == "M"


def test_remove_a_line_by_delete_and_escape_keeps_it(qtbot, window, service, keys):
    service.choose("mango")
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 2)
    table = window.cart.table
    tab_to(keys, table)
    keys(Key.Key_Up, times=3)
    assert table.currentIndex().row() == 0
    keys(Key.Key_Delete)
    assert window.confirm.isVisible() and focus() is window.confirm.buttons["keep"]  # the safe answer first
    keys(Key.Key_Escape)
    assert not window.confirm.open and names(window) == ["Mango", "Avocado"]
    assert not any(c[0] == "remove_line" for c in service.calls) and focus() is table
    keys(Key.Key_Right)  # to the ✕ cell: Enter there asks too
    assert table.currentIndex().column() == CartTableModel.REMOVE
    keys(Key.Key_Return)
    assert window.confirm.isVisible()
    stops = set()
    for _ in range(10):  # Tab stays on the question (and the header), never the page under it
        keys(Key.Key_Tab)
        stops.add(focus())
    assert window.confirm.buttons["remove"] in stops and not stops & {window.pay_button, table}
    tab_to(keys, window.confirm.buttons["remove"])
    keys(Key.Key_Return)
    qtbot.waitUntil(lambda: names(window) == ["Avocado"])
    assert focus() is table and table.currentIndex().row() == 0  # back where the keyboard was


def test_pay_by_keyboard_and_escape_never_leaves_a_payment(qtbot, window, service, keys):
    service.choose("mango")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tab_to(keys, window.pay_button)
    keys(Key.Key_Return)
    assert window.page == "payment" and focus() is window.payment.method_buttons["card"]
    keys(Key.Key_Escape)
    assert window.page == "checkout" and names(window) == ["Mango"]  # Back to cart: the cart as it was
    tab_to(keys, window.pay_button)
    keys(Key.Key_Return)
    window.payment.processing_ms = 60_000  # the terminal takes its time
    keys(Key.Key_Right, Key.Key_Return)  # UPI
    assert window.payment.busy
    keys(Key.Key_Escape)
    assert window.page == "payment" and window.payment.busy  # no Back while paying
    window.payment._timer.setInterval(0)
    window.payment._timer.start()
    qtbot.waitUntil(lambda: window.page == "receipt")
    assert ("pay", "upi") in service.calls
    assert focus() in (window.receipt.print_button, window.receipt.new_button)
    keys(Key.Key_Escape)
    assert window.page == "receipt"  # Escape does not take the receipt away (nor start the next order)


def test_help_and_language_by_keyboard(qtbot, window, service, keys):
    keys(Key.Key_F1)  # the keypad's Help key
    assert ("call_help", "help") in service.calls
    qtbot.waitUntil(lambda: window.header.help_active)
    keys(Key.Key_Tab, shift=True)  # backwards round the page reaches the header too
    tab_to(keys, window.help_button)
    keys(Key.Key_Return)
    assert ("cancel_help",) in service.calls
    tab_to(keys, window.language_button)
    keys(Key.Key_Return)
    qtbot.waitUntil(lambda: window.translations.language == "hi")
    assert focus() is window.language_button and window.language_button.text() == "English"


def test_staff_pin_and_staff_page_by_keyboard(qtbot, window, service, keys):
    service.choose("mango")
    service.choose("avocado")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 2)
    tab_to(keys, window.staff_button)
    keys(Key.Key_Return)
    assert window.page == "pin" and focus() is window.pin.edit
    keys(Key.Key_Escape)
    assert window.page == "checkout"  # Cancel
    tab_to(keys, window.staff_button)
    keys(Key.Key_Return)
    tab_to(keys, window.pin.keypad.keys["1"])  # the PIN pad by arrows: 2 is right of 1
    keys(Key.Key_Right, Key.Key_Return)
    assert window.pin.edit.text() == "2"
    tab_to(keys, window.pin.edit)  # Tab selects what the field holds: End, then type the rest
    keys(Key.Key_End)
    qtbot.keyClicks(window.pin.edit, PIN[1:])
    keys(Key.Key_Return)
    qtbot.waitUntil(lambda: window.page == "staff")
    table = window.staff.table
    assert focus() is table
    keys(Key.Key_Down)
    assert table.selected_line_id() is not None
    line_id = table.selected_line_id()
    tab_to(keys, window.staff.void_button)
    keys(Key.Key_Return)
    assert ("staff_void", line_id) in service.calls
    tab_to(keys, window.staff.done_button)
    keys(Key.Key_Return)
    assert window.page == "checkout" and ("staff_lock",) in service.calls


@pytest.mark.parametrize("page", ["checkout", "search", "browse", "payment", "pin"])
def test_tab_goes_round_the_page_shown_and_nowhere_else(qtbot, window, service, keys, page):
    service.choose("mango")
    service.place("avocado", "yoghurt", scores=(0.5, 0.2))
    qtbot.waitUntil(lambda: window.suggestions.state == "choose" and window.cart_model.rowCount() == 1)
    opener = {"checkout": lambda: None, "search": window.open_search, "browse": window.open_browse,
              "payment": window.open_payment, "pin": window.open_staff}[page]
    opener()
    keys(Key.Key_Tab)
    start, forward = focus(), []
    for _ in range(60):
        forward.append(focus())
        keys(Key.Key_Tab)
        if focus() is start:
            break
    else:
        raise AssertionError("Tab never came back round")
    here = window.stack.currentWidget()
    for w in forward:
        assert w.isVisible() and w.isEnabled(), w.objectName()
        assert here.isAncestorOf(w) or window.header.isAncestorOf(w), w.objectName()
    assert len(set(forward)) == len(forward) >= 4
    backward = []
    for _ in range(len(forward)):
        keys(Key.Key_Tab, shift=True)
        backward.append(focus())
    assert backward == [forward[-i] for i in range(1, len(forward) + 1)]


def test_each_page_starts_at_its_first_control_with_keys_and_shows_no_ring_to_touch(qtbot, window, service, keys):
    service.choose("mango")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    tap(qtbot, window.search_button)  # touch: the field has the focus, nothing else
    assert focus() is window.search.edit
    tap(qtbot, window.search.back_button)
    assert window.page == "checkout" and focus() not in window.keyboard.stops()
    keys(Key.Key_Down)  # the first key with nothing focused starts at the page's first control
    assert focus() is window.suggestions.find_button
    window.open_browse()
    assert focus() is window.browse.tiles[0]
    keys(Key.Key_Right, Key.Key_Right, Key.Key_Down, Key.Key_Left)  # no product under the third: it stays
    assert focus() is window.browse.tiles[1]
    keys(Key.Key_Escape)
    window.open_staff()
    assert focus() is window.pin.edit
    tap(qtbot, window.pin.cancel_button)  # a tap: touch again
    window.open_payment()
    assert window.page == "payment" and focus() not in window.keyboard.stops()


def test_accessible_names_in_english_and_hindi(qtbot, window, service):
    service.choose("mango")
    service.set_weight(0)
    service.place("banana", "avocado", "yoghurt", scores=(0.8, 0.4, 0.1))
    s = window.suggestions
    qtbot.waitUntil(lambda: s.state == "choose" and window.cart_model.rowCount() == 1)
    model = window.cart_model
    remove = model.index(0, CartTableModel.REMOVE)
    item = model.index(0, CartTableModel.ITEM)
    spoken = Qt.ItemDataRole.AccessibleTextRole
    assert remove.data(spoken) == "Remove Mango" and item.data(spoken).startswith("Mango, 1")
    assert [b.accessibleName() for b in s.buttons[:3]] == [
        "Banana, ₹60.00/kg, Likely", "Avocado, ₹99.00, Maybe", "Arla Natural Yoghurt 1kg, ₹125.50, Unlikely"]
    tap(qtbot, s.buttons[0])
    qtbot.waitUntil(lambda: s.state == "weigh")
    assert s.buttons[0].accessibleName() == "Banana, ₹60.00/kg, Likely, being weighed"
    service.set_weight(500)
    qtbot.waitUntil(lambda: s.state == "added")
    assert s.buttons[0].accessibleName() == "Banana, ₹60.00/kg, added to your bill"
    keypad = window.pin.keypad
    window.open_search()
    window.search.edit.setText("ma")
    assert window.search.edit.accessibleName() == "Search by name or PLU"
    assert window.search.list.item(0).data(spoken) == "Mango, ₹80.00"
    assert window.pin.edit.accessibleName() == "Staff PIN"
    assert window.search.keyboard.keys["⌫"].accessibleName() == "Delete last character"
    assert keypad.keys["⌫"].accessibleName() == "Delete last character"
    assert window.large_text_button.accessibleName() == "Larger text"
    service.set_language("hi")
    devanagari = re.compile(r"[\u0900-\u097F]")
    qtbot.waitUntil(lambda: bool(devanagari.search(window.search_button.text())))  # every widget has its new texts
    remove = model.index(0, CartTableModel.REMOVE)  # the cart was drawn again with the banana: Mango is still first
    hindi = [remove.data(spoken), s.buttons[0].accessibleName(), window.search.edit.accessibleName(),
             window.pin.edit.accessibleName(), keypad.keys["⌫"].accessibleName(),
             window.language_button.accessibleDescription(), window.large_text_button.accessibleName()]
    assert all(devanagari.search(text) for text in hindi), hindi
    assert "Mango" in remove.data(spoken) and s.buttons[0].accessibleName().startswith("Banana, ₹60.00/kg, ")


def test_notices_are_announced_to_a_screen_reader(qtbot, window, service, monkeypatch):
    from kiosk.ui.widgets import common

    said = []
    monkeypatch.setattr(common, "_notify", lambda event: said.append((event.message(), event.politeness().name)))
    window.banner.show_notice("error", "The scale is not working")
    assert ("The scale is not working", "Assertive") in said
    service.place("avocado", "mango", scores=(0.5, 0.3))
    qtbot.waitUntil(lambda: window.suggestions.state == "choose")
    assert ("Not sure what this is — tap your item", "Polite") in said
    service.call_help()
    qtbot.waitUntil(lambda: window.header.help_active)
    assert sum(1 for text, _ in said if text.startswith("Staff has been called")) == 1  # said once, not per page
    window.open_search()
    window.show_page("checkout")
    assert sum(1 for text, _ in said if text.startswith("Staff has been called")) == 1


def test_the_focus_ring_is_in_the_style_sheet():
    sheet = load_stylesheet()
    rules = re.findall(r"([^{}]*:focus[^{}]*)\{([^}]*)\}", sheet)
    assert rules, "no :focus rule"
    selectors = " ".join(s for s, _ in rules)
    for kind in ("QPushButton:focus", "QLineEdit:focus", "QListWidget::item:focus", "QTableView::item:focus"):
        assert kind in selectors
    widths = [int(w) for _, body in rules for w in re.findall(r"border:\s*(\d+)px\s+double", body)]
    assert widths and min(widths) >= 4  # thicker than any border (2 px) and a double line: not colour alone
