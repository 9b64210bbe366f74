"""The top-3 suggestions as big buttons: product photo, name and price. Tapping one emits
:attr:`SuggestionPanel.chosen` with the SKU; the panel itself decides nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.widgets.common import TOUCH_MIN, label, product_pixmap

__all__ = ["SuggestionButton", "SuggestionPanel"]


class SuggestionButton(QPushButton):
    """A tall button: product photo on top, then the name (up to two lines) and the price; a
    "✓ Added" badge in the corner when the service already put it in the cart."""

    PHOTO = 72

    def __init__(self, index: int, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(f"suggestion{index}")
        self.setProperty("role", "suggestion")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.suggestion: Any = None
        self.has_photo = False
        self._side = 0
        self._base = self.PHOTO
        column = QVBoxLayout(self)
        column.setContentsMargins(8, 8, 8, 8)
        column.setSpacing(2)
        self.photo = label("", "suggestionPhoto")
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name_label = label("", "suggestionName", wrap=True)
        self.name_label.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.price_label = label("", "suggestionPrice")
        self.price_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(self.name_label, 1)
        column.addWidget(self.price_label)
        self.badge = label("✓ Added", "suggestionBadge", self)
        self.badge.move(6, 6)
        for child in (self.photo, self.name_label, self.price_label, self.badge):
            child.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.badge.hide()
        self.set_photo_size(self.PHOTO)
        self.set_suggestion(None)

    def set_photo_size(self, side: int) -> None:
        """Smallest photo edge in px (the window scales it with the screen); a taller button
        shows a bigger photo (see :meth:`resizeEvent`)."""
        self._base = side
        self.setMinimumHeight(max(TOUCH_MIN, side + self._text_height()))
        self._fit_photo()

    def _text_height(self) -> int:
        name = self.name_label.fontMetrics().lineSpacing() * 2
        return name + self.price_label.fontMetrics().lineSpacing() + 24

    def _fit_photo(self) -> None:
        room = min(self.height() - self._text_height(), self.width() - 24, 4 * self._base)
        side = max(self._base, room)
        if side != self._side or self.photo.width() != side:
            self._side = side
            self.photo.setFixedSize(side, side)
            if self.suggestion is not None:
                self.set_suggestion(self.suggestion, added=self.added)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._fit_photo()

    def set_suggestion(self, suggestion: Any, *, added: bool = False) -> None:
        """Show a ``SuggestionView`` (``None`` empties the button). ``added``: the service put it
        in the cart already (auto-add above the bundle's threshold)."""
        self.suggestion = suggestion
        if suggestion is None:
            self.photo.clear()
            self.name_label.setText("")
            self.price_label.setText("")
            self.has_photo = False
            self.setEnabled(False)
            self.setVisible(False)
            added = False
        else:
            pixmap, self.has_photo = product_pixmap(suggestion.image_path, suggestion.name, self._side)
            self.photo.setPixmap(pixmap)
            self.name_label.setText(suggestion.name)
            per_kg = str(getattr(suggestion, "sold_by", "")).endswith("weight")
            price = suggestion.price_text
            self.price_label.setText(price if not per_kg or "kg" in price else f"{price}/kg")
            self.setEnabled(True)
            self.setVisible(True)
            self.setAccessibleName(f"{suggestion.name}, {self.price_label.text()}")
        self.badge.adjustSize()
        self.badge.setVisible(added)
        self.badge.raise_()
        self.setProperty("added", added)
        self.style().unpolish(self)
        self.style().polish(self)

    @property
    def added(self) -> bool:
        return bool(self.property("added"))


class SuggestionPanel(QWidget):
    """Title + three :class:`SuggestionButton`; emits ``chosen(sku)``."""

    chosen = Signal(str)
    COUNT = 3

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("suggestionPanel")
        self.placement_id: Any = None
        self.auto_added_line_id: str | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        self.title = label("Place an item on the tray", "suggestionTitle", wrap=True)
        column.addWidget(self.title)
        row = QHBoxLayout()
        row.setSpacing(10)
        self.buttons: list[SuggestionButton] = []
        for i in range(self.COUNT):
            button = SuggestionButton(i, self)
            policy = button.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            button.setSizePolicy(policy)
            button.clicked.connect(lambda _=False, b=button: self._tapped(b))
            self.buttons.append(button)
            row.addWidget(button, 1)
        column.addLayout(row, 1)

    def _tapped(self, button: SuggestionButton) -> None:
        if button.suggestion is not None:
            self.chosen.emit(button.suggestion.sku)

    def show_suggestions(self, placement_id: Any, suggestions: Sequence[Any], auto_added_line_id: str | None,
                         added_sku: str | None = None) -> None:
        """Show up to three suggestions of one placement. When the service auto-added the first
        one, it is marked and the title invites a correction."""
        self.placement_id = placement_id
        self.auto_added_line_id = auto_added_line_id
        shown = list(suggestions)[: self.COUNT]
        for i, button in enumerate(self.buttons):
            s = shown[i] if i < len(shown) else None
            is_added = auto_added_line_id is not None and s is not None and (
                s.sku == added_sku if added_sku is not None else i == 0)
            button.set_suggestion(s, added=is_added)
        if not shown:
            self.title.setText("Not recognised — tap Search to find it")
        elif auto_added_line_id is not None:
            self.title.setText(f"Added {shown[0].name}. Not right? Tap the correct item")
        else:
            self.title.setText("Which item is it? Tap to add")

    def set_photo_size(self, side: int) -> None:
        for button in self.buttons:
            button.set_photo_size(side)

    def clear(self, title: str = "Place an item on the tray") -> None:
        self.placement_id = None
        self.auto_added_line_id = None
        for button in self.buttons:
            button.set_suggestion(None)
        self.title.setText(title)

    def visible_skus(self) -> list[str]:
        return [b.suggestion.sku for b in self.buttons if b.suggestion is not None]
