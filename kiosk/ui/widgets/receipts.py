"""Staff: today's receipts, newest first, to print one again (the shopper who comes back for theirs after two others
have paid). A tap on a row asks for that receipt's duplicate; Back returns to the staff page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidgetItem, QVBoxLayout, QWidget

from kiosk.domain.money import format_inr
from kiosk.ui.i18n import translate
from kiosk.ui.widgets.common import TOUCH_MIN, KeyList, Translatable, line, touch_button
from kiosk.ui.widgets.payment import method_text

__all__ = ["ReceiptListPanel"]

NUMBER_ROLE = Qt.ItemDataRole.UserRole + 1


class ReceiptListPanel(Translatable, QWidget):
    """``show_receipts(rows)``: ``rows`` of ``receipt_no``, ``time`` (HH:MM), ``items``, ``total`` (paise),
    ``payment_method``, newest first. Emits ``chosen(receipt_no)`` and ``back``."""

    chosen = Signal(str)
    back = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("receiptListPanel")
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 6, 14, 6)
        column.setSpacing(8)
        top = QHBoxLayout()
        self.title = line("", "pageTitle")
        self.back_button = touch_button("", "receiptsBack")
        top.addWidget(self.title, 1)
        top.addWidget(self.back_button)
        self.list = KeyList()
        self.list.setObjectName("receiptList")
        self.list.setUniformItemSizes(True)
        self.empty = line("", "receiptsEmpty")
        column.addLayout(top)
        column.addWidget(self.list, 1)
        column.addWidget(self.empty)
        self.list.itemClicked.connect(lambda item: self.chosen.emit(item.data(NUMBER_ROLE)))
        self.list.entered.connect(lambda item: self.chosen.emit(item.data(NUMBER_ROLE)))
        self.back_button.clicked.connect(self.back)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Receipts", "Today's receipts — tap one to print it again"))
        self.back_button.setText(translate("Receipts", "Back"))
        self.empty.setText(translate("Receipts", "No sale yet today.") if self.list.count() == 0 else "")

    def first_control(self) -> QWidget:
        """Where the keyboard starts: the newest receipt, else Back."""
        return self.list if self.list.count() else self.back_button

    def show_receipts(self, rows: Sequence[Any]) -> None:
        self.list.clear()
        for r in rows:
            text = "   ".join((r.receipt_no, r.time, translate("Receipts", "{n} item(s)").format(n=r.items),
                               format_inr(r.total), method_text(r.payment_method)))
            item = QListWidgetItem(text)
            item.setData(NUMBER_ROLE, r.receipt_no)
            item.setSizeHint(QSize(0, TOUCH_MIN))
            self.list.addItem(item)
        self.retranslate()

    def receipt_numbers(self) -> list[str]:
        return [self.list.item(i).data(NUMBER_ROLE) for i in range(self.list.count())]
