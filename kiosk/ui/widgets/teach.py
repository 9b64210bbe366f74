"""Teaching a new product (staff) and the shopper's "Not recognised" view. Both only show what they are given and
emit what the person asked for; :mod:`kiosk.ui.teach` connects them to the service.

:class:`TeachPanel` — "Teach a new product": the SKU id (looked up in the catalog as it is typed), the catalog row
to create when there is none (name, price, sold by unit or weight, GST, HSN), photos from the live camera (one at a
time, or ten in a row while staff turns the item), how many are good and why the others were refused (blurred, the
empty tray), and Teach.

:class:`NotRecognisedPanel` — what the shopper sees instead of suggestion tiles when the model says the item is none
it knows: "Not recognised — search or call staff", with both buttons.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from kiosk.services.events import NOT_RECOGNISED
from kiosk.ui.widgets.common import TOUCH_MIN, label, touch_button

__all__ = ["NotRecognisedPanel", "TeachPanel"]

GST_CHOICES = ("0", "5", "12", "18", "28")


def _edit(name: str, placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    edit.setMinimumHeight(TOUCH_MIN)
    return edit


class TeachPanel(QWidget):
    """Emits ``lookup(sku)`` as the SKU is typed, ``create(fields)``, ``take(count)`` (photos from the camera),
    ``clear_photos()``, ``teach(sku)`` and ``done()``; shows what :meth:`show_lookup`, :meth:`show_photos` and
    :meth:`show_message` are given."""

    lookup = Signal(str)
    create = Signal(dict)
    take = Signal(int)
    clear_photos = Signal()
    teach = Signal(str)
    done = Signal()
    BURST = 10

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("teachPanel")
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(8)
        top = QHBoxLayout()
        top.addWidget(label("Teach a new product", "pageTitle"), 1)
        self.done_button = touch_button("Back", "teachDone")
        self.done_button.setMinimumWidth(150)
        top.addWidget(self.done_button)
        column.addLayout(top)
        self.sku_edit = _edit("teachSku", "SKU id, e.g. mango-alphonso")
        self.found = label("Type the product's SKU id", "teachFound", wrap=True)
        column.addWidget(self.sku_edit)
        column.addWidget(self.found)
        column.addWidget(self._catalog_form())
        column.addLayout(self._photo_row())
        self.count = label("No photos yet: put the item on the tray", "teachCount", wrap=True)
        self.message = label("", "teachMessage", wrap=True)
        column.addWidget(self.count)
        column.addWidget(self.message)
        self.teach_button = touch_button("Teach", "teachGo")
        column.addWidget(self.teach_button)
        column.addStretch(1)
        self.sku_edit.textChanged.connect(lambda text: self.lookup.emit(text.strip()))
        self.done_button.clicked.connect(self.done)
        self.teach_button.clicked.connect(lambda: self.teach.emit(self.sku_edit.text().strip()))
        self.show_lookup(None)
        self.show_photos(0, 0, {}, 5)

    def _catalog_form(self) -> QWidget:
        self.form = QWidget()
        self.form.setObjectName("teachCatalogForm")
        layout = QFormLayout(self.form)
        self.name_edit = _edit("teachName", "Name on the receipt")
        self.price_edit = _edit("teachPrice", "Price in rupees (per kg if sold by weight), e.g. 45.50")
        self.sold_by = QComboBox()
        self.sold_by.setObjectName("teachSoldBy")
        self.sold_by.addItems(["unit", "weight"])
        self.gst = QComboBox()
        self.gst.setObjectName("teachGst")
        self.gst.addItems(list(GST_CHOICES))
        self.hsn_edit = _edit("teachHsn", "HSN code (4, 6 or 8 digits)")
        for text, widget in (("Name", self.name_edit), ("Price ₹", self.price_edit), ("Sold by", self.sold_by),
                             ("GST %", self.gst), ("HSN", self.hsn_edit)):
            layout.addRow(text, widget)
        self.create_button = touch_button("Add to catalog", "teachCreate")
        layout.addRow(self.create_button)
        self.create_button.clicked.connect(self._create)
        return self.form

    def _photo_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.take_button = touch_button("Take photo", "teachTake")
        self.burst_button = touch_button(f"Take {self.BURST} photos", "teachBurst")
        self.clear_button = touch_button("Start again", "teachClear")
        for b in (self.take_button, self.burst_button, self.clear_button):
            row.addWidget(b)
        self.take_button.clicked.connect(lambda: self.take.emit(1))
        self.burst_button.clicked.connect(lambda: self.take.emit(self.BURST))
        self.clear_button.clicked.connect(self.clear_photos)
        return row

    def _create(self) -> None:
        self.create.emit({"sku": self.sku_edit.text().strip(), "name": self.name_edit.text().strip(),
                          "price": self.price_edit.text().strip(), "sold_by": self.sold_by.currentText(),
                          "gst_percent": self.gst.currentText(), "hsn": self.hsn_edit.text().strip()})

    # -- what the controller shows ---------------------------------------------------------------------------------
    def show_lookup(self, found: str | None, exists: bool = False) -> None:
        """``found``: one line about the SKU (``None``: nothing typed); ``exists``: the catalog has it (the
        catalog form is hidden then)."""
        self.found.setText(found or "Type the product's SKU id")
        self.form.setVisible(found is not None and not exists)
        self._exists = exists

    def show_photos(self, good: int, refused: int, reasons: dict[str, int], needed: int) -> None:
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        self.count.setText(f"{good} good photo(s) of the {needed} needed" + (f"; refused {refused}: {why}"
                                                                             if refused else ""))
        self.teach_button.setEnabled(good >= needed and getattr(self, "_exists", False))

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setProperty("error", error)

    def reset(self) -> None:
        for edit in (self.sku_edit, self.name_edit, self.price_edit, self.hsn_edit):
            edit.clear()
        self.show_message("")


class NotRecognisedPanel(QWidget):
    """Shown instead of the suggestion tiles; emits ``search()`` or ``call_staff()``."""

    search = Signal()
    call_staff = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("notRecognisedPanel")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.title = label(NOT_RECOGNISED, "notRecognisedTitle", wrap=True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        self.search_button = touch_button("Search", "notRecognisedSearch")
        self.staff_button = touch_button("Call staff", "notRecognisedStaff")
        row.addWidget(self.search_button)
        row.addWidget(self.staff_button)
        column.addStretch(1)
        column.addWidget(self.title)
        column.addLayout(row)
        column.addStretch(1)
        self.search_button.clicked.connect(self.search)
        self.staff_button.clicked.connect(self.call_staff)
