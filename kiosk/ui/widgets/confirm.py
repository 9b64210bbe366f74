"""A question over the whole window (removing a line, a removal that waits for staff): a dimmed backdrop and a card
with a title, a message and big buttons. Not a separate window: it is laid out, scaled and translated with the rest.

:meth:`ConfirmOverlay.ask` takes a ``render()`` callable giving ``(title, message, [(key, text, role), …])`` in the
current language; it is called again when the language changes. A tap emits ``chosen(kind, key)`` and closes it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QFrame, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.widgets.common import ClampedLabel, Translatable, touch_button

__all__ = ["ConfirmOverlay"]

Render = Callable[[], tuple[str, str, list[tuple[str, str, str]]]]


class ConfirmOverlay(Translatable, QWidget):
    chosen = Signal(str, str)  # kind, key

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("confirmOverlay")
        self.kind = ""
        self._render: Render | None = None
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.card = QFrame()
        self.card.setObjectName("confirmCard")
        self.card.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.card.setMaximumWidth(640)
        column = QVBoxLayout(self.card)
        column.setContentsMargins(20, 16, 20, 16)
        column.setSpacing(10)
        # lines wrapped by hand (no height-for-width: the card's height never depends on a layout's second pass)
        self.title = ClampedLabel("", "confirmTitle", 2)
        self.message = ClampedLabel("", "confirmMessage", 3)
        for w in (self.title, self.message):
            w.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            column.addWidget(w)
        self.buttons_row = QHBoxLayout()
        self.buttons_row.setSpacing(12)
        column.addLayout(self.buttons_row)
        self.buttons: dict = {}
        row.addWidget(self.card, 8)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)
        parent.installEventFilter(self)
        self.hide()

    def ask(self, kind: str, render: Render) -> None:
        self.kind, self._render = kind, render
        self.retranslate()
        self.setGeometry(self.parentWidget().rect())
        self.show()
        self.raise_()

    def close_question(self, kind: str | None = None) -> None:
        """Close it (only when it asks ``kind``, if given)."""
        if kind is None or kind == self.kind:
            self.kind, self._render = "", None
            self.hide()

    @property
    def open(self) -> bool:
        """A question is asked (shown, or waiting for its page to come back)."""
        return bool(self.kind)

    def retranslate(self) -> None:
        if self._render is None:
            return
        title, message, buttons = self._render()
        self.title.setText(title)
        self.message.setText(message)
        self.message.setVisible(bool(message))
        for button in self.buttons.values():
            self.buttons_row.removeWidget(button)
            button.deleteLater()
        self.buttons = {}
        for key, text, role in buttons:
            button = touch_button(text, f"confirm_{key}")
            button.setProperty("role", role)
            button.clicked.connect(lambda _=False, k=key: self._choose(k))
            self.buttons_row.addWidget(button)
            self.buttons[key] = button

    def _choose(self, key: str) -> None:
        kind = self.kind
        self.close_question()
        self.chosen.emit(kind, key)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - follow the window's size
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.parentWidget().rect())
        return super().eventFilter(watched, event)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 30, 45, 150))
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802 - a tap beside the card does nothing (no accidental close)
        event.accept()
