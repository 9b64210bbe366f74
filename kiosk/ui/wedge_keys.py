"""Key presses for a keyboard-wedge barcode scanner (``[barcodes] scanner = "wedge:"``).

An application-wide event filter hands every key press to the scanner driver
(:class:`kiosk.barcodes.wedge.KeyboardWedge`), which tells a scanner's burst from a person typing. Keys still
reach the focused widget, except the Enter that completes a scan (it must not press a focused button).
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt

__all__ = ["WedgeKeyFilter"]

_ENDS = {Qt.Key.Key_Return: "\r", Qt.Key.Key_Enter: "\r", Qt.Key.Key_Tab: "\t"}


class WedgeKeyFilter(QObject):
    def __init__(self, scanner: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scanner = scanner
        self.scans = 0
        self._seen: tuple = ()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        if event.type() != QEvent.Type.KeyPress or event.isAutoRepeat():
            return False
        # one key press reaches the filter once per object it is offered to (window, focus widget, parents)
        seen = (shiboken6.getCppPointer(event)[0], event.timestamp(), event.key())
        if seen == self._seen:
            return False
        self._seen = seen
        text = _ENDS.get(event.key(), event.text())
        if not text:
            return False
        if self.scanner.key(text):
            self.scans += 1
            return True  # the scan's Enter: swallowed
        return False
