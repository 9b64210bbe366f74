"""Staff: today's items nobody labelled (not recognised, or taken away before anything was chosen), newest first, each
with its tray photo, time and what the model guessed. Staff pick a row, then "Pick the product…" (the catalog
search) or "Not a product"; Back returns to the staff page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QListWidgetItem, QVBoxLayout, QWidget

from kiosk.ui.i18n import translate
from kiosk.ui.widgets.common import TOUCH_MIN, KeyList, Translatable, line, product_pixmap, touch_button

__all__ = ["UnlabelledListPanel"]

ID_ROLE = Qt.ItemDataRole.UserRole + 1
THUMB = 96


def guess_text(view: Any) -> str:
    """What the model guessed for the row, in the staff member's language."""
    if not view.guess:
        return translate("Unlabelled", "No guess")
    if view.score is None:
        return translate("Unlabelled", "Model guessed: {name}").format(name=view.guess)
    return translate("Unlabelled", "Model guessed: {name} ({percent} %)").format(name=view.guess,
                                                                      percent=round(100 * view.score))


class UnlabelledListPanel(Translatable, QWidget):
    """``show_items(views)`` (:class:`kiosk.services.not_recognised.UnlabelledView`, newest first). Emits
    ``pick(placement_id)`` (staff will search for the product), ``not_a_product(placement_id)`` and ``back``."""

    pick = Signal(str)
    not_a_product = Signal(str)
    back = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("unlabelledPanel")
        self.views: list[Any] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 6, 14, 6)
        column.setSpacing(8)
        top = QHBoxLayout()
        self.title = line("", "pageTitle")
        self.back_button = touch_button("", "unlabelledBack")
        top.addWidget(self.title, 1)
        top.addWidget(self.back_button)
        self.list = KeyList()
        self.list.setObjectName("unlabelledList")
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setUniformItemSizes(True)
        self.empty = line("", "unlabelledEmpty")
        actions = QHBoxLayout()
        actions.setSpacing(10)
        self.pick_button = touch_button("", "unlabelledPick")
        self.not_product_button = touch_button("", "unlabelledNotProduct")
        for b in (self.pick_button, self.not_product_button):
            b.setProperty("role", "staffAction")
            actions.addWidget(b)
        column.addLayout(top)
        column.addWidget(self.list, 1)
        column.addWidget(self.empty)
        column.addLayout(actions)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.entered.connect(lambda item: self.pick.emit(item.data(ID_ROLE)))
        self.pick_button.clicked.connect(lambda: self._emit(self.pick))
        self.not_product_button.clicked.connect(lambda: self._emit(self.not_a_product))
        self.back_button.clicked.connect(self.back)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Unlabelled", "Not recognised today — tap one, then say what it was"))
        self.back_button.setText(translate("Unlabelled", "Back"))
        self.pick_button.setText(translate("Unlabelled", "Pick the product…"))
        self.not_product_button.setText(translate("Unlabelled", "Not a product"))
        self.not_product_button.setToolTip(translate("Unlabelled",
                                                     "A hand, a bag, an empty tray: kept out of training"))
        self.empty.setText(translate("Unlabelled", "Nothing left to label today.") if not self.views else "")
        for i, view in enumerate(self.views):
            self.list.item(i).setText(self._text(view))
        self._update_buttons()

    def first_control(self) -> QWidget:
        return self.list if self.list.count() else self.back_button

    @staticmethod
    def _text(view: Any) -> str:
        return f"{view.time}    {guess_text(view)}"

    def show_items(self, views: Sequence[Any]) -> None:
        self.views = list(views)
        self.list.clear()
        for view in self.views:
            pixmap, _photo = product_pixmap(view.image_path, view.guess or "?", THUMB)
            item = QListWidgetItem(QIcon(pixmap), self._text(view))
            item.setData(ID_ROLE, view.placement_id)
            item.setSizeHint(QSize(0, max(TOUCH_MIN, THUMB + 8)))
            self.list.addItem(item)
        self.retranslate()

    def selected(self) -> Any:
        row = self.list.currentRow()
        items = self.list.selectedItems()
        return self.views[row] if items and 0 <= row < len(self.views) else None

    def placement_ids(self) -> list[str]:
        return [v.placement_id for v in self.views]

    def _emit(self, signal) -> None:
        view = self.selected()
        if view is not None:
            signal.emit(view.placement_id)

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        self.pick_button.setEnabled(chosen)
        self.not_product_button.setEnabled(chosen)
