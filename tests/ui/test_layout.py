"""At 1024×768 and 1920×1080 every key widget is on screen, inside the window, finger-sized."""

import pytest
from PySide6.QtWidgets import QLabel, QPushButton

from tests.ui.helpers import fully_inside

SIZES = [(1024, 768), (1920, 1080)]


def _fill(qtbot, window, service):
    service.set_weight(548)
    for sku in ("banana", "oatly-oat-milk", "yoghurt", "avocado", "arla-standard-milk", "granny-smith"):
        service.choose(sku)
    service.place("granny-smith", "oatly-oat-milk", "avocado", auto=True)
    qtbot.waitUntil(lambda: window.suggestions.buttons[2].isVisible())


def _settle(qtbot, window, size):
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    qtbot.wait(30)


def _check(window, widgets):
    bad = [w.objectName() or type(w).__name__ for w in widgets if not fully_inside(w, window)]
    assert bad == [], f"cut off or hidden: {bad}"
    small = [w.objectName() for w in widgets if isinstance(w, QPushButton) and w.height() < 64]
    assert small == [], f"buttons under 64 px: {small}"
    # word-wrapped labels get the height their text needs; single-line ones are not elided
    squeezed = [w.objectName() for w in widgets if isinstance(w, QLabel) and w.text() and (
        w.heightForWidth(w.width()) > w.height() if w.wordWrap() else w.sizeHint().width() > w.width() + 1)]
    assert squeezed == [], f"labels cut: {squeezed}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_checkout_page_fits(qtbot, window, service, size):
    _fill(qtbot, window, service)
    _settle(qtbot, window, size)
    w = window
    s = w.suggestions
    widgets = [w.camera, w.staff_button, w.cart.table, w.totals, w.search_button, w.pay_button, w.weight,
               w.weight.weight_label, w.weight.state_label, s.title, w.title,
               w.status.model_label, w.status.camera_label, w.status.scale_label, w.totals.labels["total"][0][1]]
    for b in s.buttons:
        widgets += [b, b.photo, b.name_label, b.price_label]
    _check(w, widgets)
    assert w.camera.height() >= 200 and s.buttons[0].photo.width() >= 64
    # the newest cart line is scrolled into view
    table = w.cart.table
    last = table.visualRect(table.model().index(table.model().rowCount() - 1, 0))
    assert table.viewport().rect().contains(last)
    if size == (1920, 1080):
        assert w.style_scale > 1  # bigger screen, bigger type
        assert s.buttons[0].photo.width() > 100


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_other_pages_fit(qtbot, window, service, size):
    _fill(qtbot, window, service)
    _settle(qtbot, window, size)
    w = window
    w.open_search()
    w.search.edit.setText("a")
    keys = list(w.search.keyboard.keys.values())
    _check(w, [w.search.edit, w.search.list, w.search.back_button, w.search.title, *keys])
    assert w.search.list.count() >= 3

    w.show_page("pin")
    _check(w, [w.pin.edit, w.pin.ok_button, w.pin.cancel_button, *w.pin.keypad.keys.values()])

    service.unlocked = True
    w.show_page("staff")
    st = w.staff
    _check(w, [st.table, st.correct_button, st.void_button, st.override_button, st.done_button, st.title])

    w.price.prepare("Avocado", "₹99.00")
    w.show_page("price")
    _check(w, [w.price.edit, w.price.ok_button, w.price.cancel_button, *w.price.keypad.keys.values()])

    w.open_payment()
    _check(w, [w.payment.amount, w.payment.cancel_button, *w.payment.method_buttons.values()])

    w.receipt.show_receipt(service.pay("card"))
    w.show_page("receipt")
    _check(w, [w.receipt.text, w.receipt.new_button, w.receipt.title, w.receipt.summary])
