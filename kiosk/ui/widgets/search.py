"""Manual search by name or PLU, the fallback when the camera does not know the item: a line
edit typed on an on-screen keyboard, and the results as big rows with photo, name and price."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.widgets.common import TOUCH_MIN, label, product_pixmap, touch_button
from kiosk.ui.widgets.keypad import OnScreenKeyboard, apply_key

__all__ = ["SearchPanel"]

SKU_ROLE = Qt.ItemDataRole.UserRole + 1


class SearchPanel(QWidget):
    """``search`` is a callable text → list of suggestion views (the service's ``search``).
    Emits ``chosen(sku)`` when a result is tapped and ``cancelled`` on Back."""

    chosen = Signal(str)
    cancelled = Signal()
    ICON = 56

    def __init__(self, search: Callable[[str], Sequence[Any]], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("searchPanel")
        self._search = search
        self.results: list[Any] = []
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(10)
        top = QHBoxLayout()
        self.title = label("Find your item: type its name or the PLU on its sticker", "pageTitle", wrap=True)
        self.back_button = touch_button("Back", "searchBack")
        self.back_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.back_button.setMinimumWidth(140)
        top.addWidget(self.title, 1)
        top.addWidget(self.back_button)
        outer.addLayout(top)
        body = QHBoxLayout()
        body.setSpacing(16)
        left = QVBoxLayout()
        left.setSpacing(10)
        self.edit = QLineEdit()
        self.edit.setObjectName("searchEdit")
        self.edit.setPlaceholderText("Name or PLU, e.g. banana or 101")
        self.edit.setMinimumHeight(TOUCH_MIN)
        self.edit.setClearButtonEnabled(False)
        self.keyboard = OnScreenKeyboard(self)
        left.addWidget(self.edit)
        left.addWidget(self.keyboard)
        left.addStretch(1)
        right = QVBoxLayout()
        self.hint = label("", "searchHint", wrap=True)
        self.list = QListWidget()
        self.list.setObjectName("searchResults")
        self.list.setIconSize(QSize(self.ICON, self.ICON))
        self.list.setUniformItemSizes(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        right.addWidget(self.hint)
        right.addWidget(self.list, 1)
        body.addLayout(left, 3)
        body.addLayout(right, 2)
        outer.addLayout(body, 1)
        self.keyboard.pressed.connect(lambda key: apply_key(self.edit, key))
        self.edit.textChanged.connect(self.run_search)
        self.list.itemClicked.connect(self._item_clicked)
        self.back_button.clicked.connect(self.cancelled)
        self.reset()

    def reset(self, title: str | None = None) -> None:
        """Empty the query and results (and optionally change the title, e.g. for staff)."""
        if title is not None:
            self.title.setText(title)
        self.edit.blockSignals(True)
        self.edit.clear()
        self.edit.blockSignals(False)
        self._show([])
        self.hint.setText("Results appear here as you type.")

    def run_search(self, text: str | None = None) -> None:
        text = self.edit.text() if text is None else text
        if not text.strip():
            self._show([])
            self.hint.setText("Results appear here as you type.")
            return
        results = list(self._search(text.strip()))
        self._show(results)
        self.hint.setText(f"{len(results)} found — tap yours" if results else f"Nothing found for “{text.strip()}”")

    def _show(self, results: list[Any]) -> None:
        self.results = results
        self.list.clear()
        for view in results:
            pixmap, _ = product_pixmap(view.image_path, view.name, self.ICON)
            price = view.price_text
            if str(getattr(view, "sold_by", "")).endswith("weight") and "kg" not in price:
                price += "/kg"
            item = QListWidgetItem(QIcon(pixmap), f"{view.name}\n{price}")
            item.setData(SKU_ROLE, view.sku)
            item.setSizeHint(QSize(0, max(TOUCH_MIN, self.ICON + 16)))
            self.list.addItem(item)

    def _item_clicked(self, item: QListWidgetItem) -> None:
        self.chosen.emit(item.data(SKU_ROLE))

    def result_skus(self) -> list[str]:
        return [self.list.item(i).data(SKU_ROLE) for i in range(self.list.count())]
