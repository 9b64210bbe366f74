"""Touching the window like a person: tap buttons, table cells, list rows and keys."""

from PySide6.QtCore import QPoint, QRect, Qt


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
