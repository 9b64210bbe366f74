"""Key presses for a keyboard-wedge barcode scanner (``[barcodes] scanner = "wedge:"``).

An application-wide event filter hands every key press to the scanner driver
(:class:`kiosk.barcodes.wedge.KeyboardWedge`), which tells a scanner's burst from a person typing. Keys still
reach the focused widget, except the Enter that completes a scan (it must not press a focused button).

GS (FNC1, between a DataBar label's variable-length fields) comes from the scanner as Ctrl+]. X11 turns it into the
character ``\x1d``; other platforms (offscreen, eglfs, some Wayland compositors) give the key with no text or a
plain "]": the filter hands the driver GS for Ctrl+] whatever the text.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication

__all__ = ["WedgeKeyFilter"]

_ENDS = {Qt.Key.Key_Return: "\r", Qt.Key.Key_Enter: "\r", Qt.Key.Key_Tab: "\t"}
GS = "\x1d"


def _text(event: QEvent) -> str:
    """What the key press types, for the driver: Enter/Tab as the line end, Ctrl+] as GS."""
    if event.key() == Qt.Key.Key_BracketRight and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
        return GS
    return _ENDS.get(event.key(), event.text())


class WedgeKeyFilter(QObject):
    """``window``: the kiosk window, which gets the key presses when no widget has the focus (touch buttons never
    take it)."""

    def __init__(self, scanner: Any, window: QObject) -> None:
        super().__init__(window)
        self.scanner, self.window = scanner, window
        self.scans = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() != QEvent.Type.KeyPress or event.isAutoRepeat():
            return False
        # a key press is offered to the platform window, the focus widget and its parents: take it once, at the
        # focus widget (or the kiosk window when nothing has the focus)
        if watched is not (QApplication.focusWidget() or self.window):
            return False
        text = _text(event)
        if not text:
            return False
        if self.scanner.key(text):
            self.scans += 1
            return True  # the scan's Enter: swallowed
        return False
