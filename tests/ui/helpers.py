"""Touching the window like a person: tap buttons, table cells, list rows and keys; and looking at it like one: is
every widget on screen, is any text cut without its whole text as a tooltip."""

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractScrollArea, QLabel, QLineEdit, QPushButton, QStyle, QStyleOptionButton, QWidget


def tap(qtbot, widget):
    assert widget.isVisible() and widget.isEnabled(), f"{widget.objectName()} cannot be tapped"
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def tap_cell(qtbot, table, row, column):
    index = table.model().index(row, column)
    rect = table.visualRect(index)
    assert rect.isValid() and table.viewport().rect().contains(rect.center()), "cell not on screen"
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def tap_list_row(qtbot, list_widget, row):
    rect = list_widget.visualItemRect(list_widget.item(row))
    qtbot.mouseClick(list_widget.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def type_keys(qtbot, keys_widget, text):
    """Press on-screen keys one by one (``keys_widget.keys`` maps key text → button)."""
    for ch in text:
        tap(qtbot, keys_widget.keys[ch.upper() if ch.isalpha() else ch])


def open_price_page(qtbot, window, service) -> str:
    """A mango in the cart, staff signed in, its price override page open (the fake service); its line id."""
    service.choose("mango")
    qtbot.waitUntil(lambda: bool(window.staff_model.cart_view.lines))
    service.unlocked = True
    window.show_page("staff")
    line_id = window.staff_model.cart_view.lines[0].line_id
    window._staff_override(line_id)
    assert window.page == "price"
    return line_id


def geometry_in(widget, window) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def fully_inside(widget, window) -> bool:
    """Visible and its whole rectangle inside the window and inside every ancestor's rectangle."""
    if not widget.isVisible() or widget.width() <= 0 or widget.height() <= 0:
        return False
    rect = geometry_in(widget, window)
    if not window.rect().contains(rect):
        return False
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if not geometry_in(parent, window).contains(rect):
            return False
        parent = parent.parentWidget()
    return True


def _scrolls(widget, window) -> bool:
    """Inside a scroll area's viewport (content meant to scroll, e.g. a long receipt's items)."""
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        area = parent.parentWidget()
        if isinstance(area, QAbstractScrollArea) and parent is area.viewport():
            return True
        parent = area
    return False


def _button_room(button: QPushButton) -> int:
    option = QStyleOptionButton()
    button.initStyleOption(option)
    option.text = ""
    empty = button.style().sizeFromContents(QStyle.ContentsType.CT_PushButton, option, button.size(), button)
    return button.width() - (empty.width() - button.width())


def text_problem(widget) -> str | None:
    """Why a widget's text does not show in full (``None``: it does, or it is elided with the whole text as its
    tooltip)."""
    short = _too_short(widget)
    if short:
        return short
    elided = getattr(widget, "elided", None)
    if elided is not None:
        if elided and widget.toolTip() != widget.text():
            return "elided without the whole text as tooltip"
        if elided or not isinstance(widget, QPushButton):
            return None
    if isinstance(widget, QPushButton):
        text = widget.text()
        if text and widget.fontMetrics().horizontalAdvance(text) > _button_room(widget) + 1:
            return f"button text cut ({text!r})"
        return None
    if isinstance(widget, QLabel) and widget.text() and widget.pixmap().isNull():
        room = widget.contentsRect()
        if widget.wordWrap():
            if widget.heightForWidth(widget.width()) > widget.height() + 1:
                return f"wrapped text needs {widget.heightForWidth(widget.width())} px, has {widget.height()}"
        elif widget.sizeHint().width() > widget.width() + 1 and widget.fontMetrics().horizontalAdvance(
                widget.text().split("\n")[0]) > room.width() + 1:
            return f"text cut ({widget.text()!r})"
    return None


def _too_short(widget) -> str | None:
    """A label whose lines (as shown: wrapped by hand or elided) are taller than the room it has: text cut at the
    bottom, which no elision shows."""
    if not isinstance(widget, QLabel) or widget.wordWrap() or not widget.pixmap().isNull():
        return None
    shown = QLabel.text(widget)
    if not shown:
        return None
    lines = shown.count("\n") + 1
    needs = widget.fontMetrics().boundingRect(QRect(0, 0, 1 << 20, 1 << 20), 0, shown).height()  # as QLabel measures
    if needs > widget.height() + 2:
        return f"{lines} line(s) need {needs} px, have {widget.height()} ({shown!r})"
    return None


def layout_problems(window, *, min_touch: int = 64) -> list[str]:
    """Every visible widget of the window: on screen, inside its parents, text not cut, buttons finger-sized."""
    found = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.width() <= 0 or widget.height() <= 0 or _scrolls(widget, window):
            continue
        name = widget.objectName() or type(widget).__name__
        if not fully_inside(widget, window):
            found.append(f"{name}: outside the window or its parent ({geometry_in(widget, window)})")
        problem = None if isinstance(widget, QLineEdit) else text_problem(widget)
        if problem:
            found.append(f"{name}: {problem}")
        if isinstance(widget, QPushButton) and widget.height() < min_touch:
            found.append(f"{name}: button {widget.height()} px high (< {min_touch})")
    return found
