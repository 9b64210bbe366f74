"""Qt models built from the service's cart view; no widgets here, so they test without a window.

:class:`CartTableModel` shows the lines of the service's cart view (one row per cart line, in
the order added — a line staff corrected where the one it replaced was — and lines staff voided, struck out):
item, quantity or weight, unit price, line amount and a remove column; what staff changed is the row's mark
(``MARK_ROLE``). The texts come formatted from the service (money is never re-computed here); the model only
lays them out. :func:`totals_rows` turns the bill of a cart view into the rows the totals
panel prints (gross, GST per rate, round-off, total). Words are translated (:mod:`kiosk.ui.i18n`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from kiosk.ui.i18n import mark, translate

__all__ = ["CartTableModel", "TotalsRow", "TAX_COLUMNS", "totals_rows", "LINE_ID_ROLE", "SKU_ROLE", "DETAIL_ROLE",
           "MARK_ROLE", "mark_text"]

#: role holding the cart line id of a row (any column)
LINE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: role holding the SKU of a row
SKU_ROLE = Qt.ItemDataRole.UserRole + 2
#: role holding the second line of the item cell: "0.548 kg × ₹60.00/kg", "2 × ₹99.00"
DETAIL_ROLE = Qt.ItemDataRole.UserRole + 3
#: role holding what staff changed on the line, in words ("" when nothing): voided, corrected, re-priced
MARK_ROLE = Qt.ItemDataRole.UserRole + 4

_C = "Cart"
_MARKS = {"voided": mark("Cart", "Voided by staff: not charged"),
          "corrected": mark("Cart", "Corrected by staff (was {was})"),
          "price": mark("Cart", "Price changed by staff (was {was})")}


def mark_text(line: Any) -> str:
    """What staff changed on a cart line view, in the shopper's language ("" for an untouched line)."""
    kind = "voided" if getattr(line, "voided", False) else getattr(line, "mark", "")
    return translate(_C, _MARKS[kind]).format(was=getattr(line, "was_text", "")) if kind in _MARKS else ""

_Index = QModelIndex | QPersistentModelIndex


class CartTableModel(QAbstractTableModel):
    """Rows = cart lines of the latest cart view. ``removable=False`` drops the remove column."""

    ITEM, QTY, PRICE, AMOUNT, REMOVE = range(5)
    HEADERS = (mark("Cart", "Item"), mark("Cart", "Qty / weight"), mark("Cart", "Price"), mark("Cart", "Amount"), "")
    REMOVE_MARK = "✕"

    def __init__(self, cart_view: Any = None, *, removable: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.removable = removable
        self._lines: list[Any] = []
        self._cart_view: Any = None
        if cart_view is not None:
            self.set_cart(cart_view)

    # -- feeding ------------------------------------------------------------------------
    def set_cart(self, cart_view: Any) -> None:
        """Show ``cart_view`` (the service's ``cart_view()`` / ``CartChanged.cart_view``)."""
        self.beginResetModel()
        self._cart_view = cart_view
        shown = getattr(cart_view, "shown_lines", ()) if cart_view is not None else ()
        self._lines = list(shown or cart_view.lines) if cart_view is not None else []
        self.endResetModel()

    def retranslate(self) -> None:
        """The language changed: headers and marks are read again."""
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.columnCount() - 1)
        if self._lines:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._lines) - 1, self.columnCount() - 1))

    @property
    def cart_view(self) -> Any:
        return self._cart_view

    def line(self, row: int) -> Any:
        return self._lines[row]

    def row_of(self, line_id: str) -> int:
        """Row of the line with ``line_id``, -1 when it is not shown."""
        for row, line in enumerate(self._lines):
            if line.line_id == line_id:
                return row
        return -1

    def line_ids(self) -> list[str]:
        return [line.line_id for line in self._lines]

    # -- Qt model API -------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else (5 if self.removable else 4)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return translate(_C, self.HEADERS[section]) if 0 <= section < self.columnCount() else None
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return int(self._alignment(section))
        return None

    def _alignment(self, column: int) -> Qt.AlignmentFlag:
        if column in (self.QTY, self.PRICE, self.AMOUNT):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if column == self.REMOVE:
            return Qt.AlignmentFlag.AlignCenter
        return Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._lines):
            return None
        line = self._lines[index.row()]
        column = index.column()
        voided = bool(getattr(line, "voided", False))
        if role == Qt.ItemDataRole.DisplayRole:
            return line.name if column == self.ITEM else self._cell(line, column, voided, self.REMOVE_MARK)
        elif role == Qt.ItemDataRole.TextAlignmentRole:
            return int(self._alignment(column))
        elif role == Qt.ItemDataRole.ToolTipRole:
            if column == self.REMOVE:
                return "" if voided else translate("Cart", "Remove {name}").format(name=line.name)
            return "\n".join(x for x in (line.name, f"{line.qty_text} × {line.unit_price_text}", mark_text(line)) if x)
        elif role == Qt.ItemDataRole.AccessibleTextRole:
            return self._spoken(line, column, voided)
        elif role == Qt.ItemDataRole.FontRole and voided:
            font = QFont()
            font.setStrikeOut(True)
            return font
        elif role == Qt.ItemDataRole.ForegroundRole and voided:
            return QColor("#8a96a3")
        elif role == MARK_ROLE:
            return mark_text(line)
        elif role == LINE_ID_ROLE:
            return line.line_id
        elif role == SKU_ROLE:
            return line.sku
        elif role == DETAIL_ROLE:
            return f"{line.qty_text} × {line.unit_price_text}"
        return None

    def _cell(self, line: Any, column: int, voided: bool, remove: str) -> str | None:
        """A number column's text, or ``remove`` on ✕ (nothing on a voided line); None for the item column."""
        if column == self.REMOVE:
            return "" if voided else remove
        return {self.QTY: line.qty_text, self.PRICE: line.unit_price_text, self.AMOUNT: line.total_text}.get(column)

    def _spoken(self, line: Any, column: int, voided: bool) -> str:
        """What a screen reader says for a cell: the whole line on the item, "Remove <item>" on ✕, else the cell."""
        if column == self.ITEM:
            return ", ".join(x for x in (line.name, line.qty_text, line.total_text, mark_text(line)) if x)
        return self._cell(line, column, voided, translate("Cart", "Remove {name}").format(name=line.name)) or ""

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


@dataclass(frozen=True, slots=True)
class TotalsRow:
    """One row of the totals panel. ``kind``: ``gross``, ``tax``, ``round_off`` or ``total``.

    Tax rows also carry ``cells``: (rate, taxable, CGST, SGST) texts for the GST table; their
    ``value`` is the rate's tax-inclusive gross, so the tax rows add up to the gross.
    """

    kind: str
    label: str
    value: str
    cells: tuple[str, ...] = ()


#: column titles of the GST table (the rate's gross is the row's value); translate them where shown
TAX_COLUMNS = (mark("Cart", "GST"), mark("Cart", "Taxable"), mark("Cart", "CGST"), mark("Cart", "SGST"),
               mark("Cart", "Amount"))


def totals_rows(bill: Any) -> list[TotalsRow]:
    """The totals panel's rows for a bill view: gross, one GST row per rate, round-off, total (words translated)."""
    n = bill.item_count
    gross = translate("Cart", "Subtotal, 1 item (GST incl.)") if n == 1 else \
        translate("Cart", "Subtotal, {n} items (GST incl.)").format(n=n)
    rows = [TotalsRow("gross", gross, bill.gross_text)]
    for tax in bill.tax_rows:
        rows.append(TotalsRow("tax", translate("Cart", "GST {rate}").format(rate=tax.rate_text), tax.gross_text,
                              (tax.rate_text, tax.taxable_text, tax.cgst_text, tax.sgst_text)))
    rows.append(TotalsRow("round_off", translate("Cart", "Round off"), bill.round_off_text))
    rows.append(TotalsRow("total", translate("Cart", "Total"), bill.total_text))
    return rows
