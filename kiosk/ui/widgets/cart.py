"""The cart table (with a remove column) and the totals panel (gross, GST per rate, round-off,
total). Both are fed from the service's cart view; neither computes money."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kiosk.ui.models import DETAIL_ROLE, LINE_ID_ROLE, TAX_COLUMNS, CartTableModel, TotalsRow, totals_rows
from kiosk.ui.widgets.common import label

__all__ = ["CartTable", "CartPanel", "TotalsPanel"]


class TwoLineItemDelegate(QStyledItemDelegate):
    """Paints the item cell as the name over a smaller grey detail line (quantity × unit price)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        name, detail = opt.text, index.data(DETAIL_ROLE) or ""
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        rect = opt.rect.adjusted(8, 3, -4, -3)
        half = rect.height() // 2
        painter.save()
        font = QFont(opt.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(opt.palette.text().color())
        top = QRect(rect.left(), rect.top(), rect.width(), half + 2)
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                         painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, rect.width()))
        small = QFont(opt.font)
        if small.pixelSize() > 0:
            small.setPixelSize(max(10, round(small.pixelSize() * 0.8)))
        else:
            small.setPointSizeF(max(7.0, small.pointSizeF() * 0.8))
        painter.setFont(small)
        painter.setPen(QColor("#5d6b7a"))
        bottom = QRect(rect.left(), rect.top() + half + 2, rect.width(), rect.height() - half - 2)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                         painter.fontMetrics().elidedText(detail, Qt.TextElideMode.ElideRight, rect.width()))
        painter.restore()


class CartTable(QTableView):
    """A touch table over a :class:`CartTableModel`: tall rows, no grid, tap ✕ to remove.

    ``compact``: the item cell shows name and "qty × price" on two lines and the separate
    quantity and price columns are hidden (the shopper's narrow cart column)."""

    remove_requested = Signal(str)

    def __init__(self, model: CartTableModel, parent=None, *, compact: bool = False) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.compact = compact
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
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if compact:
            self._delegate = TwoLineItemDelegate(self)
            self.setItemDelegateForColumn(CartTableModel.ITEM, self._delegate)
            self.setColumnHidden(CartTableModel.QTY, True)
            self.setColumnHidden(CartTableModel.PRICE, True)
        self.clicked.connect(self._clicked)
        # the newest line is the one the shopper is looking for: after a change, keep the view at the
        # bottom while the rows are laid out (the scroll range grows a moment after the reset)
        self._follow_bottom = False
        model.modelReset.connect(self._after_reset)
        self.verticalScrollBar().rangeChanged.connect(self._range_changed)
        self.verticalScrollBar().actionTriggered.connect(lambda _action: setattr(self, "_follow_bottom", False))

    def _after_reset(self) -> None:
        self._follow_bottom = True  # until the person scrolls by hand
        self.scrollToBottom()

    def _range_changed(self, _low: int, high: int) -> None:
        if self._follow_bottom:
            self.verticalScrollBar().setValue(high)

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
        self.table = CartTable(model, self, compact=True)
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
    """Rows from :func:`totals_rows`: gross, a small GST table (rate, taxable, CGST, SGST,
    amount), round-off, and the total in big type."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("totalsPanel")
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(12, 6, 12, 8)
        self._grid.setHorizontalSpacing(10)
        self._grid.setVerticalSpacing(1)
        self._grid.setColumnStretch(0, 1)
        self.rows: list[TotalsRow] = []
        self.labels: dict[str, list] = {}
        self.set_bill(None)

    def _cell(self, text: str, name: str, kind: str, row: int, col: int, span: int = 1, right: bool = True):
        cell = label(text, name)
        cell.setProperty("kind", kind)
        if right:
            cell.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._grid.addWidget(cell, row, col, 1, span)
        return cell

    def set_bill(self, bill: Any) -> None:
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.labels = {}
        self.rows = totals_rows(bill) if bill is not None else []
        if not self.rows:
            self.rows = [TotalsRow("total", "Total", "₹0.00")]
        r = 0
        header_done = False
        last = len(TAX_COLUMNS) - 1
        for row in self.rows:
            if row.kind == "tax":
                if not header_done:
                    for c, title in enumerate(TAX_COLUMNS):
                        self._cell(title, "totals_taxhead", "taxhead", r, c, right=c > 0)
                    r += 1
                    header_done = True
                left = self._cell(row.cells[0], "totals_tax_label", "tax", r, 0, right=False)
                for c, text in enumerate(row.cells[1:], 1):
                    self._cell(text, "totals_tax_cell", "tax", r, c)
                right = self._cell(row.value, "totals_tax_value", "tax", r, last)
            else:
                left = self._cell(row.label, f"totals_{row.kind}_label", row.kind, r, 0, span=last, right=False)
                right = self._cell(row.value, f"totals_{row.kind}_value", row.kind, r, last)
            self.labels.setdefault(row.kind, []).append((left, right))
            r += 1

    def total_text(self) -> str:
        return self.labels["total"][0][1].text()

    def texts(self) -> list[tuple[str, str]]:
        return [(row.label, row.value) for row in self.rows]
