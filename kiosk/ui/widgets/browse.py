"""Browse by picture: departments (fruit, vegetables, dairy, drinks, other) and their products as photo tiles, a
page at a time (as many tiles as the screen holds, big "Previous" / "Next" buttons — no small scroll bars).

The panel shows what its callables give (the service's ``browse_groups`` and ``browse``) and emits ``chosen(sku)``,
``search_requested`` and ``cancelled``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QGridLayout, QHBoxLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.ui.i18n import mark, translate
from kiosk.ui.widgets.common import (
    KEY_FOCUS,
    ClampedLabel,
    KeyButton,
    Translatable,
    label,
    line,
    product_pixmap,
    repolish,
    touch_button,
)

__all__ = ["BrowsePanel", "ItemTile", "DEPARTMENT_NAMES"]

_C = "Browse"
#: the service's department keys, as the shopper reads them
DEPARTMENT_NAMES = {"fruit": mark("Browse", "Fruit"), "vegetables": mark("Browse", "Vegetables"),
                    "dairy": mark("Browse", "Dairy"),
                    "drinks": mark("Browse", "Drinks"), "other": mark("Browse", "Other")}


class ItemTile(KeyButton, QPushButton):
    """A product to tap: photo, name (two lines at most), price; the arrow keys move across the grid."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setProperty("role", "browseTile")
        self.setFocusPolicy(KEY_FOCUS)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        column = QVBoxLayout(self)
        column.setContentsMargins(6, 6, 6, 6)
        column.setSpacing(2)
        self.photo = label("", "browsePhoto")
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name_label = ClampedLabel("", "browseName", 2)
        self.price_label = line("", "browsePrice")
        self.price_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for w in (self.photo, self.name_label, self.price_label):
            w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        column.addWidget(self.photo, 1)
        column.addWidget(self.name_label)
        column.addWidget(self.price_label)
        self.view: Any = None

    def set_view(self, view: Any) -> None:
        self.view = view
        self.setVisible(view is not None)
        if view is None:
            return
        self.name_label.setText(view.name)
        price = view.price_text
        if str(getattr(view, "sold_by", "")).endswith("weight") and "kg" not in price:
            price += "/kg"
        self.price_label.setText(price)
        self.setAccessibleName(f"{view.name}, {price}")
        self._photo()

    def _photo(self) -> None:
        if self.view is None:
            return
        text = self.name_label.fontMetrics().lineSpacing() * 3 + 20
        side = max(32, min(self.width() - 16, self.height() - text))
        self.photo.setPixmap(product_pixmap(self.view.image_path, self.view.name, side)[0])

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._photo()


class BrowsePanel(Translatable, QWidget):
    chosen = Signal(str)
    search_requested = Signal()
    cancelled = Signal()
    TILE = 150  # smallest tile edge (px, before the screen's scale)

    def __init__(self, groups: Callable[[], Sequence[Any]], items: Callable[[str], Sequence[Any]],
                 parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("browsePanel")
        self._groups, self._items = groups, items
        self.group: str | None = None
        self.views: list[Any] = []
        self.page = 0
        self.per_page = 8
        self.tile_size = self.TILE
        outer = QVBoxLayout(self)
        outer.setContentsMargins(16, 10, 16, 10)
        outer.setSpacing(8)
        top = QHBoxLayout()
        self.title = line("", "pageTitle")
        self.search_button = touch_button("", "browseSearch")
        self.back_button = touch_button("", "browseBack")
        for button in (self.search_button, self.back_button):
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        top.addWidget(self.title, 1)
        top.addWidget(self.search_button)
        top.addWidget(self.back_button)
        outer.addLayout(top)
        self.departments = QHBoxLayout()
        self.departments.setSpacing(8)
        self.department_buttons: dict[str, QPushButton] = {}
        self._exclusive = QButtonGroup(self)
        outer.addLayout(self.departments)
        self.area = QWidget()
        self.area.setObjectName("browseArea")
        self.grid = QGridLayout(self.area)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(8)
        self.tiles: list[ItemTile] = []
        self.area.installEventFilter(self)
        outer.addWidget(self.area, 1)
        pager = QHBoxLayout()
        self.prev_button = touch_button("", "browsePrev")
        self.page_label = line("", "browsePage")
        self.page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.next_button = touch_button("", "browseNext")
        pager.addWidget(self.prev_button, 1)
        pager.addWidget(self.page_label, 1)
        pager.addWidget(self.next_button, 1)
        outer.addLayout(pager)
        self.prev_button.clicked.connect(lambda: self._turn(-1))
        self.next_button.clicked.connect(lambda: self._turn(1))
        self.search_button.clicked.connect(self.search_requested)
        self.back_button.clicked.connect(self.cancelled)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Browse", "Browse by picture"))
        self.search_button.setText(translate("Browse", "Search by name"))
        self.back_button.setText(translate("Browse", "Back"))
        self.prev_button.setText(translate("Browse", "◀ Previous"))
        self.next_button.setText(translate("Browse", "Next ▶"))
        for key, button in self.department_buttons.items():
            button.setText(translate(_C, DEPARTMENT_NAMES.get(key, key)))
        self._render()

    def first_control(self) -> QWidget | None:
        """Where the keyboard starts: the first product, else the department shown."""
        shown = [t for t in self.tiles if t.view is not None and t.isVisibleTo(self)]
        return shown[0] if shown else self.department_buttons.get(self.group)

    def open(self, group: str | None = None) -> None:
        """Load the departments again (the catalog may have changed) and show ``group`` (default: the first)."""
        for button in self.department_buttons.values():
            self._exclusive.removeButton(button)
            button.deleteLater()
        self.department_buttons = {}
        groups = list(self._groups())
        for g in groups:
            button = touch_button(translate(_C, DEPARTMENT_NAMES.get(g.key, g.title)), f"department_{g.key}")
            button.setProperty("role", "department")
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, k=g.key: self.show_group(k))
            self._exclusive.addButton(button)
            self.departments.addWidget(button)
            self.department_buttons[g.key] = button
        keys = [g.key for g in groups]
        self.show_group(group if group in keys else (keys[0] if keys else None))

    def show_group(self, key: str | None) -> None:
        self.group = key
        self.views = list(self._items(key)) if key is not None else []
        self.page = 0
        for k, button in self.department_buttons.items():
            button.setChecked(k == key)
            repolish(button)
        self._render()

    def _turn(self, step: int) -> None:
        self.page = max(0, min(self.pages - 1, self.page + step))
        self._render()

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.views) // self.per_page))

    def shown_skus(self) -> list[str]:
        return [t.view.sku for t in self.tiles if t.view is not None and t.isVisible()]

    def _layout_grid(self) -> None:
        width, height = max(self.area.width(), 1), max(self.area.height(), 1)
        cols = max(2, (width + 8) // (self.tile_size + 8))
        rows = max(1, (height + 8) // (self.tile_size + 8))
        if cols * rows == self.per_page and len(self.tiles) == cols * rows and self.grid.columnCount() == cols:
            return
        for tile in self.tiles:
            self.grid.removeWidget(tile)
            tile.hide()  # gone now, not at the next event loop (the arrow keys look for the tiles shown)
            tile.deleteLater()
        self.tiles = []
        for i in range(cols * rows):
            tile = ItemTile(self.area)
            tile.setObjectName(f"browseTile{i}")
            tile.clicked.connect(lambda _=False, t=tile: t.view is not None and self.chosen.emit(t.view.sku))
            self.grid.addWidget(tile, i // cols, i % cols)
            self.tiles.append(tile)
        for c in range(max(cols, self.grid.columnCount())):  # rows and columns of an earlier grid get no share
            self.grid.setColumnStretch(c, 1 if c < cols else 0)
        for r in range(max(rows, self.grid.rowCount())):
            self.grid.setRowStretch(r, 1 if r < rows else 0)
        self.per_page = cols * rows
        self.page = min(self.page, self.pages - 1)

    def _render(self) -> None:
        focused = next((i for i, t in enumerate(self.tiles) if t.hasFocus()), None)  # the keyboard's tile
        self._layout_grid()
        first = self.page * self.per_page
        for i, tile in enumerate(self.tiles):
            j = first + i
            tile.set_view(self.views[j] if j < len(self.views) else None)
            policy = tile.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            tile.setSizePolicy(policy)
        shown = [t for t in self.tiles if t.view is not None]
        if focused is not None and shown and not any(t.hasFocus() for t in shown):  # a new grid or page
            shown[min(focused, len(shown) - 1)].setFocus(Qt.FocusReason.OtherFocusReason)
        self.page_label.setText(translate("Browse", "Page {page} of {pages}").format(page=self.page + 1,
                                                                                     pages=self.pages))
        self.prev_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < self.pages - 1)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - the tile area got its new size: refill it
        if watched is self.area and event.type() == QEvent.Type.Resize:
            self._render()
        return super().eventFilter(watched, event)
