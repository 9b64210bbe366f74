"""The cart table (with a remove column) and the totals panel (gross, the GST table, round-off, total). Both are
fed from the service's cart view; neither computes money.

The shopper's table is compact: each row is the item's name on the whole width, then "quantity × price" (and what
staff changed, in amber) with the amount on the right. Rows scroll a whole row at a time (no half-cut row) with a
finger-wide scroll bar; after a change the newest line is scrolled into view. Lines staff voided stay listed,
struck out and marked, so nothing vanishes without a word.

By keyboard the table is one Tab stop: Up/Down move between lines (Left/Right to the ✕ cell, which a screen reader
reads as "Remove <item>"), Delete — or Enter/Space on the ✕ — asks to remove the line, as a tap on ✕ does.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHeaderView,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kiosk.ui.i18n import translate
from kiosk.ui.models import DETAIL_ROLE, LINE_ID_ROLE, MARK_ROLE, TAX_COLUMNS, CartTableModel, TotalsRow, totals_rows
from kiosk.ui.widgets.common import ENTER_KEYS, KEY_FOCUS, Translatable, label, line, plain

__all__ = ["CartTable", "CartPanel", "TotalsPanel"]

_C = "Cart"


def _smaller(font: QFont, factor: float = 0.82) -> QFont:
    small = QFont(font)
    if small.pixelSize() > 0:
        small.setPixelSize(max(11, round(small.pixelSize() * factor)))
    else:
        small.setPointSizeF(max(8.0, small.pointSizeF() * factor))
    return small


class TwoLineItemDelegate(QStyledItemDelegate):
    """Paints a row's item cell: the name (bold) over "qty × price" and the staff mark; with ``amount`` the line's
    amount on the right of the second line (the shopper's compact table)."""

    def __init__(self, parent=None, *, amount: bool = True) -> None:
        super().__init__(parent)
        self.amount = amount

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        name, detail, mark = opt.text, index.data(DETAIL_ROLE) or "", index.data(MARK_ROLE) or ""
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        rect = opt.rect.adjusted(8, 3, -6, -3)
        half = rect.height() // 2
        voided = opt.font.strikeOut()
        painter.save()
        font = QFont(opt.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#8a96a3") if voided else opt.palette.text().color())
        top = QRect(rect.left(), rect.top(), rect.width(), half + 2)
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                         painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, rect.width()))
        small = _smaller(opt.font)
        small.setStrikeOut(False)
        bottom = QRect(rect.left(), rect.top() + half + 2, rect.width(), rect.height() - half - 2)
        if self.amount:
            amount = index.siblingAtColumn(CartTableModel.AMOUNT).data() or ""
            bold = QFont(opt.font)
            bold.setBold(True)
            bold.setStrikeOut(voided)
            painter.setFont(bold)
            painter.drawText(bottom, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop, amount)
            bottom.setRight(bottom.right() - painter.fontMetrics().horizontalAdvance(amount) - 10)
        painter.setFont(small)
        metrics = painter.fontMetrics()
        first = metrics.elidedText(detail, Qt.TextElideMode.ElideRight, bottom.width())
        painter.setPen(QColor("#5d6b7a"))
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, first)
        if mark:
            room = bottom.adjusted(metrics.horizontalAdvance(first + "  "), 0, 0, 0)
            painter.setPen(QColor("#8a5a00"))
            painter.drawText(room, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                             metrics.elidedText(mark, Qt.TextElideMode.ElideRight, max(room.width(), 0)))
        painter.restore()


class CartTable(QTableView):
    """A touch table over a :class:`CartTableModel`: tall rows, no grid, tap ✕ to ask to remove a line.

    ``compact``: one cell per line (name; quantity × price, the mark and the amount beneath) and the ✕; the
    separate columns are hidden (the shopper's narrow cart column)."""

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
        self.setFocusPolicy(KEY_FOCUS)
        self.setTabKeyNavigation(False)  # Tab leaves the table (the arrows move in it)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)  # never a half-cut row at the top
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(56)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CartTableModel.ITEM, QHeaderView.ResizeMode.Stretch)
        if model.removable:
            header.setSectionResizeMode(CartTableModel.REMOVE, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(CartTableModel.REMOVE, 64)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._delegate = TwoLineItemDelegate(self, amount=compact)
        self.setItemDelegateForColumn(CartTableModel.ITEM, self._delegate)
        if compact:
            header.hide()
            for column in (CartTableModel.QTY, CartTableModel.PRICE, CartTableModel.AMOUNT):
                self.setColumnHidden(column, True)
        self.clicked.connect(self._clicked)
        # the newest line is the one the shopper is looking for: after a change, keep the view at the
        # bottom while the rows are laid out (the scroll range grows a moment after the reset)
        self._follow_bottom = False
        self._current: tuple[str | None, int, int] = (None, -1, 0)  # the keyboard's line, row, column across a reset
        model.modelAboutToBeReset.connect(self._before_reset)
        model.modelReset.connect(self._after_reset)
        self.verticalScrollBar().rangeChanged.connect(self._range_changed)
        self.verticalScrollBar().actionTriggered.connect(lambda _action: setattr(self, "_follow_bottom", False))

    def updateGeometries(self) -> None:  # noqa: N802 - Qt name
        """Only whole rows show: the space under the last whole row is left empty (a margin), so scrolled to the
        newest line no row is cut in half at the top."""
        super().updateGeometries()
        if getattr(self, "_aligning", False):
            return
        self._aligning = True
        try:
            header = self.horizontalHeader()
            top = 0 if header.isHidden() else header.height()
            row = max(1, self.verticalHeader().defaultSectionSize())
            space = self.height() - 2 * self.frameWidth() - top
            extra = space % row if space > row else 0
            margins = self.viewportMargins()
            if (margins.top(), margins.bottom()) != (top, extra):
                self.setViewportMargins(margins.left(), top, 0, extra)
        finally:
            self._aligning = False

    def _before_reset(self) -> None:
        index = self.currentIndex()
        self._current = (index.data(LINE_ID_ROLE) if index.isValid() else None, index.row(), max(index.column(), 0))

    def _after_reset(self) -> None:
        self._follow_bottom = True  # until the person scrolls by hand
        self.scrollToBottom()
        line_id, row, column = self._current
        model: CartTableModel = self.model()
        if line_id is not None and self.hasFocus() and model.rowCount():
            found = model.row_of(line_id)  # the line the keyboard was on, else the one in its place (removed)
            self.setCurrentIndex(model.index(found if found >= 0 else min(row, model.rowCount() - 1), column))

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Delete (or Enter/Space on ✕) asks to remove the line
        model: CartTableModel = self.model()
        index = self.currentIndex()
        on_remove = index.isValid() and index.column() == CartTableModel.REMOVE
        asks = event.key() == Qt.Key.Key_Delete or (  # not Backspace: a keypad's Back may send it
            on_remove and (event.key() in ENTER_KEYS or event.key() == Qt.Key.Key_Space))
        if model.removable and asks and plain(event) and index.isValid():
            if not event.isAutoRepeat() and index.siblingAtColumn(CartTableModel.REMOVE).data():
                self.remove_requested.emit(index.data(LINE_ID_ROLE))
            event.accept()
            return
        super().keyPressEvent(event)

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
            self.scrollTo(self.model().index(row, CartTableModel.ITEM))  # also when the row was current already


class CartPanel(Translatable, QWidget):
    """The cart table with an empty-cart hint in its place while there are no lines."""

    def __init__(self, model: CartTableModel, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("cartPanel")
        self.model = model
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        self.title = line("", "cartTitle")
        self.table = CartTable(model, self, compact=True)
        self.empty_hint = label("", "cartEmpty", wrap=True)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.title)
        column.addWidget(self.table, 1)
        column.addWidget(self.empty_hint, 1)
        model.modelReset.connect(self._update_empty)
        self.retranslate()

    def retranslate(self) -> None:
        self.empty_hint.setText(translate("Cart", "Your cart is empty.\nPlace an item on the tray to start."))
        self.model.retranslate()
        self._update_empty()

    def _update_empty(self) -> None:
        view = self.model.cart_view
        n = len(view.lines) if view is not None else 0
        empty = self.model.rowCount() == 0
        self.table.setVisible(not empty)
        self.empty_hint.setVisible(empty)
        self.title.setText(translate("Cart", "Your items") if not n else
                           translate("Cart", "Your items ({n})").format(n=n))
        self.table.setAccessibleName(self.title.text())


class TotalsPanel(Translatable, QFrame):
    """Rows from :func:`totals_rows`: gross, the GST table (rate, taxable, CGST, SGST, amount), round-off, and the
    total in big type."""

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
        self._bill: Any = None
        self.set_bill(None)

    def retranslate(self) -> None:
        self.set_bill(self._bill)

    def _cell(self, text: str, name: str, kind: str, row: int, col: int, span: int = 1, right: bool = True):
        cell = line(text, name)
        cell.setProperty("kind", kind)
        if right:  # an amount keeps its width; only a label gives way (elided, whole text as tooltip)
            cell.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            cell.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._grid.addWidget(cell, row, col, 1, span)
        return cell

    def set_bill(self, bill: Any) -> None:
        self._bill = bill
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.labels = {}
        self.rows = totals_rows(bill) if bill is not None else []
        if not self.rows:
            self.rows = [TotalsRow("total", translate("Cart", "Total"), "₹0.00")]
        r = 0
        header_done = False
        last = len(TAX_COLUMNS) - 1
        for row in self.rows:
            if row.kind == "tax":
                if not header_done:
                    for c, title in enumerate(TAX_COLUMNS):
                        self._cell(translate(_C, title), "totals_taxhead", "taxhead", r, c, right=c > 0)
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
