"""A question over the whole window (removing a line, a removal that waits for staff): a dimmed backdrop and a card
with a title, a message and big buttons. Not a separate window: it is laid out, scaled and translated with the rest.

:meth:`ConfirmOverlay.ask` takes a ``render()`` callable giving ``(title, message, [(key, text, role), …])`` in the
current language; it is called again when the language changes. A tap emits ``chosen(kind, key)`` and closes it.

By keyboard the question takes the focus on its safe answer (the ``secondary`` button: "Keep it"), Tab and the
arrows stay on its buttons, :meth:`ConfirmOverlay.cancel` (Escape) gives the safe answer — never "Remove" — and the
focus goes back where it was."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.widgets.common import ClampedLabel, Translatable, keys_in_use, touch_button

__all__ = ["ConfirmOverlay"]

Render = Callable[[], tuple[str, str, list[tuple[str, str, str]]]]


class ConfirmOverlay(Translatable, QWidget):
    chosen = Signal(str, str)  # kind, key

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("confirmOverlay")
        self.kind = ""
        self._render: Render | None = None
        self._return_to: QWidget | None = None  # where the keyboard was when the question came
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
        focus = QApplication.focusWidget()
        if focus is not None and not self.isAncestorOf(focus):
            self._return_to = focus
        self.kind, self._render = kind, render
        self.retranslate()
        self.setGeometry(self.parentWidget().rect())
        self.show()
        self.raise_()
        if keys_in_use(self) and self.first_control() is not None:
            self.first_control().setFocus(Qt.FocusReason.OtherFocusReason)

    def close_question(self, kind: str | None = None) -> None:
        """Close it (only when it asks ``kind``, if given); the keyboard goes back where it was."""
        if kind is None or kind == self.kind:
            self.kind, self._render = "", None
            focus = QApplication.focusWidget()
            had_focus = focus is not None and self.isAncestorOf(focus)
            self.hide()
            back, self._return_to = self._return_to, None
            if had_focus and back is not None and back.isVisible() and back.isEnabled():
                back.setFocus(Qt.FocusReason.OtherFocusReason)

    def _safe_key(self) -> str | None:
        return next((key for key, b in self.buttons.items() if b.property("role") == "secondary"), None)

    def first_control(self) -> QWidget | None:
        """The safe answer ("Keep it"), where the keyboard starts."""
        key = self._safe_key()
        return self.buttons[key] if key is not None else next(iter(self.buttons.values()), None)

    def cancel(self) -> bool:
        """Escape: the safe answer (``secondary``: keep the item), never the other; False when there is none."""
        key = self._safe_key()
        if not self.isVisible() or key is None:
            return False
        self._choose(key)
        return True

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
        focused = next((k for k, b in self.buttons.items() if b.hasFocus()), None)
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
        if focused in self.buttons:  # the language changed under the keyboard: the same answer keeps the focus
            self.buttons[focused].show()
            self.buttons[focused].setFocus(Qt.FocusReason.OtherFocusReason)

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
