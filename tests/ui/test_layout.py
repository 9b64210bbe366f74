"""Nothing cut off, at any screen a till has: 800×600, 1024×768, 1280×800, 1920×1080 and portrait 1080×1920, in
English and Hindi, with the camera found and lost. On every page and state, every visible widget lies inside the
window and its parents, every text shows in full or is elided with the whole text as its tooltip, and every
button is finger-sized."""

import pytest

from kiosk.services.events import CameraStatusChanged, RemovalPending, StaffCalled
from tests.ui.fakes import PIN
from tests.ui.helpers import layout_problems
from tests.ui.test_i18n import staff_window  # noqa: F401 (the window with a teaching desk)

SIZES = [(800, 600), (1024, 768), (1280, 800), (1920, 1080), (1080, 1920)]
LANGUAGES = ["en", "hi"]
LONG_NAME = "cheese"  # "Aged Cheddar Wheel", ₹2,750.00: a removal that needs staff


def _fill(qtbot, window, service):
    service.set_weight(548)
    for sku in ("banana", "oatly-oat-milk", "yoghurt", "avocado", "arla-standard-milk", "granny-smith", LONG_NAME):
        service.choose(sku)
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 7)


def _settle(qtbot, window, size):
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    qtbot.wait(40)


def _quiet(qtbot, read, ms: int = 3000):
    """``read()`` once the layout stops moving: two reads 40 ms apart that agree (a loaded machine lays out late)."""
    last = read()
    for _ in range(ms // 40):
        qtbot.wait(40)
        now = read()
        if now == last:
            return now
        last = now
    return last


def _states(window, service):
    """(name, what to do) for every page and state a shopper or staff can reach."""
    def place():
        service.place("granny-smith", "oatly-oat-milk", "avocado", "mango", scores=(0.82, 0.4, 0.1, 0.05))

    def weigh():
        service.set_weight(0)
        service.place("banana", "granny-smith")
        window.suggestions.buttons[0].click()
        service.set_weight(410, stable=False)

    def staff():
        service.emit(StaffCalled("p9", "avocado", "Avocado", 1200,
                                 "1200 g on the tray does not fit Avocado (150-300 g each)"))  # the service's words
        service.emit(RemovalPending("x", "Aged Cheddar Wheel", "₹2,750.00", 275000))
        service.staff_unlock(PIN)
        window.show_page("staff")
        window.staff.table.selectRow(0)

    return [
        ("idle", lambda: None),
        ("camera lost", lambda: service.emit(CameraStatusChanged("reconnecting", "USB camera unplugged", 12.0))),
        ("suggestions", place),
        ("unknown item", lambda: service.emit(type("SuggestionsReady", (), {
            "placement_id": "p8", "suggestions": [], "auto_added_line_id": None, "auto_added_sku": None,
            "not_recognised": True})())),
        ("weighing", weigh),
        ("remove?", lambda: window._ask_remove(window.cart_model.line(0).line_id)),
        ("approval", lambda: service.remove_line(window.cart_model.line(6).line_id)),
        ("help", lambda: (window.confirm.close_question(), service.call_help())),
        ("search", lambda: (window.open_search(), window.search.edit.setText("a"))),
        ("browse", lambda: window.open_browse(for_placement=False)),
        ("payment", window.open_payment),
        ("pin", window.open_staff),
        ("staff", staff),
        ("staff correct", lambda: window._staff_correct(window.staff_model.line(0).line_id)),
        ("price", lambda: window._staff_override(window.staff_model.line(0).line_id)),
        ("receipt", lambda: (service.staff_lock(), window.show_page("checkout"), service.keep_line(),
                             service.pay("upi"))),
    ]


@pytest.mark.parametrize("camera", ["found", "lost"])
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_page_fits_the_screen_in_both_languages(qtbot, window, service, size, language, camera):
    """Every state after the first with the camera lost (its longest status texts), or all of them with it found."""
    service.set_language(language)
    qtbot.waitUntil(lambda: window.help_button.text() == ("मदद" if language == "hi" else "Help"))
    _fill(qtbot, window, service)
    _settle(qtbot, window, size)
    problems = []
    for name, action in _states(window, service):
        if camera == "found" and name == "camera lost":
            continue
        action()
        problems += [f"{name}: {p}" for p in _settled_problems(qtbot, window)]
    assert problems == []


def _settled_problems(qtbot, window) -> list[str]:
    """The problems left once the layout has settled (a busy machine may take a few event loops to lay it out)."""
    from pytestqt.exceptions import TimeoutError as WaitTimeout

    qtbot.wait(40)
    try:
        qtbot.waitUntil(lambda: not layout_problems(window), timeout=1500)
    except WaitTimeout:
        return layout_problems(window)
    return []


def test_bigger_screens_get_bigger_type_and_photos_and_the_newest_line_shows(qtbot, window, service):
    _fill(qtbot, window, service)
    service.place("granny-smith", "oatly-oat-milk", "avocado", "mango")
    for size in ((1024, 768), (1920, 1080)):
        _settle(qtbot, window, size)
        table = window.cart.table
        last = table.visualRect(table.model().index(table.model().rowCount() - 1, 0))
        assert table.viewport().rect().contains(last)  # the newest line is scrolled into view, whole
        assert window.camera.height() >= 150 and window.suggestions.buttons[0].photo.width() >= 48
        assert window.suggestions.visible_skus() == ["granny-smith", "oatly-oat-milk", "avocado", "mango"]
    assert window.style_scale > 1.2 and window.suggestions.buttons[0].photo.width() > 80


def test_portrait_puts_the_cart_under_the_camera(qtbot, window, service):
    _settle(qtbot, window, (1080, 1920))
    camera, cart = window.camera.mapTo(window, window.camera.rect().topLeft()), window.cart.mapTo(
        window, window.cart.rect().topLeft())
    assert cart.y() > camera.y() + window.camera.height()
    _settle(qtbot, window, (1024, 768))
    cart = window.cart.mapTo(window, window.cart.rect().topLeft())
    assert cart.x() > window.camera.width()


def test_a_notice_does_not_move_anything(qtbot, window, service):
    service.place("granny-smith", "oatly-oat-milk")
    qtbot.waitUntil(lambda: window.suggestions.buttons[1].isVisible())
    before = [w.mapTo(window, w.rect().topLeft()) for w in (window.camera, window.suggestions, window.cart)]
    window.banner.show_notice("warning", "Barcode not read: scan it again")
    qtbot.wait(50)
    assert window.banner.isVisible()
    assert [w.mapTo(window, w.rect().topLeft()) for w in (window.camera, window.suggestions, window.cart)] == before


def test_camera_lost_text_never_widens_the_window(qtbot, window, service):
    _settle(qtbot, window, (1024, 768))
    service.emit(CameraStatusChanged("reconnecting", "x" * 300, 12.0))
    qtbot.wait(50)
    assert window.minimumSizeHint().width() <= 800 and window.width() == 1024
    assert window.status.camera_label.text() == "Camera lost — reconnecting in 12 s"


def test_the_checker_sees_cut_text_a_widget_off_screen_and_a_small_button(qtbot):
    from PySide6.QtWidgets import QLabel, QPushButton, QWidget

    from kiosk.ui.widgets.common import ElidedLabel

    top = QWidget()
    qtbot.addWidget(top)
    top.resize(300, 200)
    cut = QLabel("a text far too long for the forty pixels it is given", top)
    cut.setObjectName("cut")
    cut.setGeometry(0, 0, 40, 20)
    elided = ElidedLabel("elided, and so it says all of it in its tooltip", top)
    elided.setObjectName("elided")
    elided.setGeometry(0, 30, 60, 20)
    off = QPushButton("Pay", top)
    off.setObjectName("off")
    off.setGeometry(250, 150, 120, 30)
    top.show()
    qtbot.waitExposed(top)
    found = layout_problems(top)
    assert any(p.startswith("cut: text cut") for p in found)
    assert any(p.startswith("off: outside") for p in found) and any("off: button 30 px high" in p for p in found)
    assert not any(p.startswith("elided") for p in found) and elided.toolTip() == elided.text()
    elided.setToolTip("something else")
    assert any(p.startswith("elided: elided without") for p in layout_problems(top))


SHOPPER_STATES = ("idle", "camera lost", "suggestions", "unknown item", "weighing", "remove?", "approval", "help",
                  "search", "browse", "payment", "receipt")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", [(1024, 768), (1920, 1080), (1080, 1920)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_larger_text_fits_every_shopper_page(qtbot, window, service, size, language):
    """The shopper's larger text (where the screen offers it) cuts nothing either: the same check on every page a
    shopper reaches, and on a tile marked "✓ Added"."""
    service.set_language(language)
    _fill(qtbot, window, service)
    _settle(qtbot, window, size)
    service.set_large_text(True)
    qtbot.waitUntil(lambda: window.large_text)
    qtbot.wait(40)
    pay = window.pay_button
    assert pay.shown_text() in (pay.text(), "Pay" if language == "en" else "भुगतान करें")  # no cut amount
    problems = []
    for name, action in _states(window, service):
        if name in SHOPPER_STATES:
            action()
            problems += [f"{name}: {p}" for p in _settled_problems(qtbot, window)]
        if name == "suggestions":
            window.suggestions.buttons[0].click()  # a unit item: added, its tile marked
            qtbot.waitUntil(lambda: window.suggestions.state == "added")
            problems += [f"added: {p}" for p in _settled_problems(qtbot, window)]
    assert problems == []


def test_larger_text_and_back_puts_everything_where_it_was(qtbot, window, service):
    """The next shopper after one with larger text sees the same screen as the first (the notice strip included:
    it is sized for its own font, hidden or not)."""
    def places():
        return [(w.mapTo(window, w.rect().topLeft()), w.size()) for w in (window.banner, window.camera,
                                                                             window.suggestions, window.cart)]

    _settle(qtbot, window, (1024, 768))
    before = _quiet(qtbot, places)
    service.set_large_text(True)
    qtbot.waitUntil(lambda: window.large_text)
    service.set_large_text(False)
    qtbot.waitUntil(lambda: not window.large_text)
    assert _quiet(qtbot, places) == before
    window.banner.show_notice("info", "Removed from your bill")
    assert _quiet(qtbot, places) == before and _settled_problems(qtbot, window) == []


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", [(800, 600), (1080, 1920)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_staff_page_with_teach_and_todays_unknowns_fits(qtbot, staff_window, size, language):  # noqa: F811
    """A till with a teaching desk has "Teach a new product" and "Not recognised today" on its staff page: with a
    staff call and a removal waiting too, everything still fits the smallest screens (a row of their own pushed the
    alerts' buttons off 800×600)."""
    window, service = staff_window
    service.set_language(language)
    _fill(qtbot, window, service)
    _settle(qtbot, window, size)
    staff = dict(_states(window, service))["staff"]
    staff()
    assert window.page == "staff" and window.unlabelled is not None and window.teach is not None
    assert _settled_problems(qtbot, window) == []
