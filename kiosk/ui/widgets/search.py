"""Manual search by name or PLU, the fallback when the camera does not know the item: a line edit typed on an
on-screen keyboard, and the results as big rows with photo, name and price. "Browse by picture" is one tap away.

For staff correcting a line, the placement photo the line came from is shown beside the results
(:meth:`SearchPanel.set_photo`), so staff correct what they see, not blind.

By keyboard: type in the field; Down (or Enter with several results) goes to the results, Enter picks the one
result or the row chosen with the arrows, Up on the first row comes back to the field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.i18n import translate
from kiosk.ui.widgets.common import (
    ENTER_KEYS,
    TOUCH_MIN,
    KeyList,
    Translatable,
    label,
    line,
    plain,
    product_pixmap,
    resolve_image,
    touch_button,
)
from kiosk.ui.widgets.keypad import OnScreenKeyboard, apply_key

__all__ = ["SearchPanel", "PhotoPane"]

SKU_ROLE = Qt.ItemDataRole.UserRole + 1
_C = "Search"


class PhotoPane(Translatable, QWidget):
    """The placement photo a line came from (staff), with a caption; "No photo" when there is none."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("photoPane")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        self.caption = line("", "photoCaption")
        self.photo = label("", "placementPhoto")
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.photo.setMinimumSize(120, 56)
        column.addWidget(self.caption)
        column.addWidget(self.photo, 1)
        self.path, self.selected = "", True
        self.retranslate()

    def retranslate(self) -> None:
        self.caption.setText(translate("Search", "What the camera saw"))
        self._render()

    def set_photo(self, path: str, *, selected: bool = True) -> None:
        """``path``: the placement photo ("" for none); ``selected``: False when no line is picked (nothing to show
        yet, as opposed to a line added without a photo)."""
        self.path, self.selected = path or "", selected
        self._render()

    @property
    def has_photo(self) -> bool:
        return self.photo.pixmap() is not None and not self.photo.pixmap().isNull()

    def _render(self) -> None:
        from PySide6.QtGui import QPixmap

        found = resolve_image(self.path)
        pixmap = QPixmap(str(found)) if found is not None else QPixmap()
        if pixmap.isNull():
            self.photo.clear()  # two short lines, no word wrap: a wrapping label would make the page's layout
            self.photo.setText(translate("Search", "No photo:\nadded by search or scan") if self.selected else
                               translate("Search", "Tap a line to see\nwhat the camera saw"))  # height-for-width
            return
        side = self.photo.size() if self.photo.width() > 10 else QSize(320, 240)
        self.photo.setPixmap(pixmap.scaled(side, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.path:
            self._render()


class SearchPanel(Translatable, QWidget):
    """``search`` is a callable text → list of suggestion views (the service's ``search``).
    Emits ``chosen(sku)`` when a result is tapped, ``browse_requested`` and ``cancelled`` on Back."""

    chosen = Signal(str)
    cancelled = Signal()
    browse_requested = Signal()
    ICON = 56

    def __init__(self, search: Callable[[str], Sequence[Any]], parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("searchPanel")
        self._search = search
        self.results: list[Any] = []
        self._hint_state: tuple[str, Any] = ("empty", None)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 6, 14, 6)
        outer.setSpacing(4)  # the four key rows fit 800×600 in Hindi too (its status bar is taller)
        top = QHBoxLayout()
        self.title = label("", "pageTitle", wrap=True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.browse_button = touch_button("", "searchBrowse")
        self.back_button = touch_button("", "searchBack")
        for button in (self.browse_button, self.back_button):
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        top.addWidget(self.title, 1)
        top.addWidget(self.browse_button)
        top.addWidget(self.back_button)
        outer.addLayout(top)
        body = QHBoxLayout()
        body.setSpacing(14)
        left = QVBoxLayout()
        left.setSpacing(4)
        self.edit = QLineEdit()
        self.edit.setObjectName("searchEdit")
        self.edit.setMinimumHeight(TOUCH_MIN)
        self.edit.setClearButtonEnabled(False)
        self.keyboard = OnScreenKeyboard(self)
        left.addWidget(self.edit)
        left.addWidget(self.keyboard)
        left.addStretch(1)
        right = QVBoxLayout()
        self.hint = line("", "searchHint")
        self.list = KeyList()
        self.list.setObjectName("searchResults")
        self.list.above = self.edit
        self.list.setIconSize(QSize(self.ICON, self.ICON))
        self.list.setUniformItemSizes(True)
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerItem)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        right.addWidget(self.hint)
        right.addWidget(self.list, 1)
        self.photo = PhotoPane()
        self.photo.hide()
        body.addLayout(left, 3)
        body.addLayout(right, 2)
        body.addWidget(self.photo, 2)
        outer.addLayout(body, 1)
        self.keyboard.pressed.connect(lambda key: apply_key(self.edit, key))
        self.edit.textChanged.connect(self.run_search)
        self.list.itemClicked.connect(self._item_clicked)
        self.list.entered.connect(self._item_clicked)
        self.edit.installEventFilter(self)
        self.back_button.clicked.connect(self.cancelled)
        self.browse_button.clicked.connect(self.browse_requested)
        self.retranslate()
        self.reset()

    def retranslate(self) -> None:
        self.back_button.setText(translate("Search", "Back"))
        self.browse_button.setText(translate("Search", "Browse by picture"))
        self.edit.setPlaceholderText(translate("Search", "Name or PLU, e.g. banana or 101"))
        self.edit.setAccessibleName(translate("Search", "Search by name or PLU"))
        self.edit.setAccessibleDescription(self.edit.placeholderText())
        self.list.setAccessibleName(translate("Search", "Results"))
        self._show_hint()

    def first_control(self) -> QWidget:
        return self.edit

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - the field's Down and Enter lead to the results
        if watched is self.edit and event.type() == QEvent.Type.KeyPress and plain(event) and self.list.count():
            if event.key() in ENTER_KEYS and self.list.count() == 1:
                self._item_clicked(self.list.item(0))
                return True
            if event.key() == Qt.Key.Key_Down or event.key() in ENTER_KEYS:
                self.list.setCurrentRow(0)
                self.list.setFocus(Qt.FocusReason.TabFocusReason)
                return True
        return super().eventFilter(watched, event)

    def reset(self, title: str | None = None, *, photo: str | None = None) -> None:
        """Empty the query and results; ``title`` (e.g. for staff); ``photo``: the placement photo to show beside
        the results (staff correcting a line), ``None`` for none (and Browse by picture for the shopper)."""
        if title is not None:
            self.title.setText(title)
        self.photo.setVisible(photo is not None)
        self.browse_button.setVisible(photo is None)
        if photo is not None:
            self.photo.set_photo(photo)
        self.edit.blockSignals(True)
        self.edit.clear()
        self.edit.blockSignals(False)
        self._show([])
        self._hint_state = ("empty", None)
        self._show_hint()

    def set_photo(self, path: str) -> None:
        self.photo.set_photo(path)

    def run_search(self, text: str | None = None) -> None:
        text = self.edit.text() if text is None else text
        if not text.strip():
            self._show([])
            self._hint_state = ("empty", None)
        else:
            results = list(self._search(text.strip()))
            self._show(results)
            self._hint_state = ("found", len(results)) if results else ("none", text.strip())
        self._show_hint()

    def _show_hint(self) -> None:
        kind, value = self._hint_state
        if kind == "found":
            self.hint.setText(translate("Search", "{n} found — tap yours").format(n=value))
        elif kind == "none":
            self.hint.setText(translate("Search", "Nothing found for “{text}”").format(text=value))
        else:
            self.hint.setText(translate("Search", "Results appear here as you type."))

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
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{view.name}, {price}")
            item.setToolTip(f"{view.name} — {price}")
            item.setSizeHint(QSize(0, max(TOUCH_MIN, self.ICON + 16)))
            self.list.addItem(item)

    def _item_clicked(self, item: QListWidgetItem) -> None:
        self.chosen.emit(item.data(SKU_ROLE))

    def result_skus(self) -> list[str]:
        return [self.list.item(i).data(SKU_ROLE) for i in range(self.list.count())]
