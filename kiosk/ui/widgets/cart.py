"""The cart table (with a remove column) and the totals panel (gross, GST per rate, round-off,
total). Both are fed from the service's cart view; neither computes money."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QGridLayout, QHeaderView, QTableView, QVBoxLayout,
                               QWidget)

from kiosk.ui.models import LINE_ID_ROLE, CartTableModel, TotalsRow, totals_rows
from kiosk.ui.widgets.common import label

__all__ = ["CartTable", "CartPanel", "TotalsPanel"]


class CartTable(QTableView):
    """A touch table over a :class:`CartTableModel`: tall rows, no grid, tap ✕ to remove."""

    remove_requested = Signal(str)

    def __init__(self, model: CartTableModel, parent=None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setObjectName("cartTable")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(52)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CartTableModel.ITEM, QHeaderView.ResizeMode.Stretch)
        if model.removable:
            header.setSectionResizeMode(CartTableModel.REMOVE, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(CartTableModel.REMOVE, 64)
        self.clicked.connect(self._clicked)
        model.modelReset.connect(self.scrollToBottom)

    def set_row_height(self, pixels: int) -> None:
        self.verticalHeader().setDefaultSectionSize(pixels)
        if self.model().removable:
            self.horizontalHeader().resizeSection(CartTableModel.REMOVE, max(64, pixels))

    def _clicked(self, index: QModelIndex) -> None:
        model: CartTableModel = self.model()
        if model.removable and index.column() == CartTableModel.REMOVE and index.data():
            self.remove_requested.emit(index.data(LINE_ID_ROLE))

    def selected_line_id(self) -> str | None:
        rows = self.selectionModel().selectedRows()
        return rows[0].data(LINE_ID_ROLE) if rows else None

    def select_line(self, line_id: str | None) -> None:
        row = self.model().row_of(line_id) if line_id else -1
        if row < 0:
            self.clearSelection()
        else:
            self.selectRow(row)


class CartPanel(QWidget):
    """The cart table with an empty-cart hint in its place while there are no lines."""

    def __init__(self, model: CartTableModel, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("cartPanel")
        self.model = model
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        self.title = label("Your items", "cartTitle")
        self.table = CartTable(model, self)
        self.empty_hint = label("Your cart is empty.\nPlace an item on the tray to start.", "cartEmpty", wrap=True)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.title)
        column.addWidget(self.table, 1)
        column.addWidget(self.empty_hint, 1)
        model.modelReset.connect(self._update_empty)
        self._update_empty()

    def _update_empty(self) -> None:
        empty = self.model.rowCount() == 0
        self.table.setVisible(not empty)
        self.empty_hint.setVisible(empty)
        n = self.model.rowCount()
        self.title.setText("Your items" if empty else f"Your items ({n} line{'s' if n != 1 else ''})")


class TotalsPanel(QFrame):
    """Rows from :func:`totals_rows`: gross, GST per rate (taxable, CGST, SGST), round-off, total."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("totalsPanel")
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(12, 8, 12, 8)
        self._grid.setHorizontalSpacing(12)
        self._grid.setVerticalSpacing(2)
        self._grid.setColumnStretch(0, 1)
        self.rows: list[TotalsRow] = []
        self.labels: dict[str, list] = {}
        self.set_bill(None)

    def set_bill(self, bill: Any) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.labels = {}
        self.rows = totals_rows(bill) if bill is not None else []
        if not self.rows:
            self.rows = [TotalsRow("total", "Total", "₹0.00")]
        for r, row in enumerate(self.rows):
            left = label(row.label, f"totals_{row.kind}_label", wrap=row.kind == "tax")
            right = label(row.value, f"totals_{row.kind}_value")
            right.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for w in (left, right):
                w.setProperty("kind", row.kind)
            self._grid.addWidget(left, r, 0)
            self._grid.addWidget(right, r, 1)
            self.labels.setdefault(row.kind, []).append((left, right))

    def total_text(self) -> str:
        return self.labels["total"][0][1].text()

    def texts(self) -> list[tuple[str, str]]:
        return [(row.label, row.value) for row in self.rows]
