"""Teaching a new product (staff) and the shopper's "Not recognised" view. Both only show what they are given and
emit what the person asked for; :mod:`kiosk.ui.teach` connects them to the service.

:class:`TeachPanel` — "Teach a new product": the SKU id (looked up in the catalog as it is typed), the catalog row
to create when there is none (name, price, sold by unit or weight, GST, HSN), photos from the live camera (one at a
time, or ten in a row while staff turns the item), how many are good and why the others were refused (blurred, the
empty tray), and Teach; refused because the till takes the photos for another product, "It is not …: teach it as a
different product" (a new pack of a trained product looks like it).

:class:`NotRecognisedPanel` — what the shopper sees instead of suggestion tiles when the model says the item is none
it knows: "Not recognised — search or call staff", with both buttons.

Every text is the staff member's language (:mod:`kiosk.ui.i18n`, context ``Teach``) and is written again on a
language change; what the service says about a SKU or a refusal is put into words by :func:`service_text`.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from kiosk.ui.i18n import mark, translate
from kiosk.ui.widgets.common import TOUCH_MIN, Translatable, label, touch_button

__all__ = ["NotRecognisedPanel", "TeachPanel", "REFUSALS", "SERVICE_TEXTS", "service_text"]

_C = "Teach"
GST_CHOICES = ("0", "5", "12", "18", "28")
#: how the catalog sells an item (the value the service takes) → its word on the screen
SOLD_BY = (("unit", mark("Teach", "by the piece")), ("weight", mark("Teach", "by weight")))
#: why a photo was refused (:class:`kiosk.gallery.PhotoVerdict.reason`) → its word on the screen
REFUSALS = {"blurred": mark("Teach", "blurred"), "empty tray": mark("Teach", "empty tray"),
            "unreadable": mark("Teach", "unreadable"), "too small": mark("Teach", "too small"),
            "duplicate": mark("Teach", "the same photo again"), "already taught": mark("Teach", "taught already"),
            "another product": mark("Teach", "another product")}
#: (pattern of the teaching desk's English, template for the screen): its SKU lines, why teaching is not possible,
#: its refusals (``tests/ui/test_i18n.py`` checks them against ``kiosk/services/teaching.py``)
SERVICE_TEXTS: tuple[tuple[str, str], ...] = (
    (r"(?P<sku>.+) is not in the catalog: add its row below first",
     mark("Teach", "{sku} is not in the catalog: add its row below first")),
    (r"(?P<item>.+) — not on sale \(inactive\): it cannot be taught",
     mark("Teach", "{item} — not on sale (inactive): it cannot be taught")),
    (r"(?P<item>.+) — taught here already \(more photos add to it\)",
     mark("Teach", "{item} — taught here already (more photos add to it)")),
    (r"no gallery is configured \(gallery in the kiosk settings\)",
     mark("Teach", "no gallery is configured (gallery in the kiosk settings)")),
    (r"no recognition model is loaded", mark("Teach", "no recognition model is loaded")),
    (r"model v(?P<version>\S+) exports no embeddings: .*",
     mark("Teach", "model v{version} cannot learn new products: it needs a newer model from head office")),
    (r"SKU '?(?P<sku>[^']+)'? is already in the catalog", mark("Teach", "{sku} is already in the catalog")),
    (r"cannot teach (?P<sku>\S+): (?P<why>.+)", mark("Teach", "{sku} cannot be taught: {why}")),
)
_COMPILED = tuple((re.compile(pattern + r"\Z", re.DOTALL), template) for pattern, template in SERVICE_TEXTS)


def service_text(text: str) -> str:
    """What the teaching desk said, in the current language (a text it has no template for is shown as it is: an
    error's own words, e.g. a catalog field's)."""
    text = str(text or "")
    for pattern, template in _COMPILED:
        match = pattern.match(text)
        if match:
            fields = {k: service_text(v) if k == "why" else v for k, v in match.groupdict().items()}
            return translate(_C, template).format(**fields)
    return text


def _edit(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setMinimumHeight(TOUCH_MIN)
    return edit


class TeachPanel(Translatable, QWidget):
    """Emits ``lookup(sku)`` as the SKU is typed, ``create(fields)``, ``take(count)`` (photos from the camera),
    ``clear_photos()``, ``teach(sku)`` and ``done()``; shows what :meth:`show_lookup`, :meth:`show_photos` and
    :meth:`show_message` are given."""

    lookup = Signal(str)
    create = Signal(dict)
    take = Signal(int)
    clear_photos = Signal()
    teach = Signal(str)
    teach_different = Signal(str)  # staff confirmed the item is not the product(s) the till took it for
    done = Signal()
    BURST = 10

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("teachPanel")
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(8)
        top = QHBoxLayout()
        self.title = label("", "pageTitle")
        top.addWidget(self.title, 1)
        self.done_button = touch_button("", "teachDone")
        self.done_button.setMinimumWidth(150)
        top.addWidget(self.done_button)
        column.addLayout(top)
        self.sku_edit = _edit("teachSku")
        self.found = label("", "teachFound", wrap=True)
        column.addWidget(self.sku_edit)
        column.addWidget(self.found)
        column.addWidget(self._catalog_form())
        column.addLayout(self._photo_row())
        self.count = label("", "teachCount", wrap=True)
        self.message = label("", "teachMessage", wrap=True)
        column.addWidget(self.count)
        column.addWidget(self.message)
        self.teach_button = touch_button("", "teachGo")
        column.addWidget(self.teach_button)
        self.different_button = touch_button("", "teachDifferent")  # shown when refused as a look-alike
        column.addWidget(self.different_button)
        self._look_alike: str | None = None
        column.addStretch(1)
        self.sku_edit.textChanged.connect(lambda text: self.lookup.emit(text.strip()))
        self.done_button.clicked.connect(self.done)
        self.teach_button.clicked.connect(lambda: self.teach.emit(self.sku_edit.text().strip()))
        self.different_button.clicked.connect(lambda: self.teach_different.emit(self.sku_edit.text().strip()))
        self._found: str | None = None
        self._photos: tuple = (0, 0, {}, 5)
        self._message: tuple[str, dict, bool] = ("", {}, False)
        self.retranslate()
        self.show_lookup(None)

    def retranslate(self) -> None:
        self.title.setText(translate("Teach", "Teach a new product"))
        self.different_button.setText(translate("Teach", "It is not {names}: teach it as a different product").format(
            names=self._look_alike or ""))
        self.different_button.setVisible(self._look_alike is not None)
        self.done_button.setText(translate("Teach", "Back"))
        self.sku_edit.setPlaceholderText(translate("Teach", "SKU id, e.g. mango-alphonso"))
        self.name_edit.setPlaceholderText(translate("Teach", "Name on the receipt"))
        self.price_edit.setPlaceholderText(translate("Teach", "Price in rupees (per kg if sold by weight), e.g. 45.50"))
        self.hsn_edit.setPlaceholderText(translate("Teach", "HSN code (4, 6 or 8 digits)"))
        for (_value, text), i in zip(SOLD_BY, range(self.sold_by.count()), strict=True):
            self.sold_by.setItemText(i, translate(_C, text))
        for row, text in zip(self.form_labels, (translate("Teach", "Name"), translate("Teach", "Price ₹"),
                                                translate("Teach", "Sold"), translate("Teach", "GST %"), "HSN"),
                             strict=True):
            row.setText(text)
        self.create_button.setText(translate("Teach", "Add to catalog"))
        self.take_button.setText(translate("Teach", "Take photo"))
        self.burst_button.setText(translate("Teach", "Take {n} photos").format(n=self.BURST))
        self.clear_button.setText(translate("Teach", "Start again"))
        self.teach_button.setText(translate("Teach", "Teach"))
        self.found.setText(service_text(self._found) if self._found else
                           translate("Teach", "Type the product's SKU id"))
        self._show_count()
        self._show_message()

    def _catalog_form(self) -> QWidget:
        self.form = QWidget()
        self.form.setObjectName("teachCatalogForm")
        layout = QFormLayout(self.form)
        self.name_edit = _edit("teachName")
        self.price_edit = _edit("teachPrice")
        self.sold_by = QComboBox()
        self.sold_by.setObjectName("teachSoldBy")
        for value, text in SOLD_BY:
            self.sold_by.addItem(text, value)
        self.gst = QComboBox()
        self.gst.setObjectName("teachGst")
        self.gst.addItems(list(GST_CHOICES))
        self.hsn_edit = _edit("teachHsn")
        self.form_labels = []
        for widget in (self.name_edit, self.price_edit, self.sold_by, self.gst, self.hsn_edit):
            self.form_labels.append(label("", "teachFieldLabel"))
            layout.addRow(self.form_labels[-1], widget)
        self.create_button = touch_button("", "teachCreate")
        layout.addRow(self.create_button)
        self.create_button.clicked.connect(self._create)
        return self.form

    def _photo_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.take_button = touch_button("", "teachTake")
        self.burst_button = touch_button("", "teachBurst")
        self.clear_button = touch_button("", "teachClear")
        for b in (self.take_button, self.burst_button, self.clear_button):
            row.addWidget(b)
        self.take_button.clicked.connect(lambda: self.take.emit(1))
        self.burst_button.clicked.connect(lambda: self.take.emit(self.BURST))
        self.clear_button.clicked.connect(self.clear_photos)
        return row

    def _create(self) -> None:
        self.create.emit({"sku": self.sku_edit.text().strip(), "name": self.name_edit.text().strip(),
                          "price": self.price_edit.text().strip(), "sold_by": self.sold_by.currentData(),
                          "gst_percent": self.gst.currentText(), "hsn": self.hsn_edit.text().strip()})

    # -- what the controller shows ---------------------------------------------------------------------------------
    def show_lookup(self, found: str | None, exists: bool = False) -> None:
        """``found``: the service's line about the SKU (``None``: nothing typed); ``exists``: the catalog has it (the
        catalog form is hidden then)."""
        self._found = found
        self.found.setText(service_text(found) if found else translate("Teach", "Type the product's SKU id"))
        self.form.setVisible(found is not None and not exists)
        self._exists = exists

    def show_photos(self, good: int, refused: int, reasons: dict[str, int], needed: int) -> None:
        self._photos = (good, refused, dict(reasons), needed)
        self._show_count()

    def _show_count(self) -> None:
        good, refused, reasons, needed = self._photos
        text = translate("Teach", "{good} good photo(s) of the {needed} needed").format(good=good, needed=needed)
        if refused:
            why = ", ".join(f"{n} {translate(_C, REFUSALS[r]) if r in REFUSALS else r}"
                            for r, n in sorted(reasons.items()))
            text += translate("Teach", "; refused {refused}: {why}").format(refused=refused, why=why)
        self.count.setText(text)
        self.teach_button.setEnabled(good >= needed and getattr(self, "_exists", False))

    def show_message(self, template: str, error: bool = False, **fields) -> None:
        """``template``: a text marked in context ``Teach``, its ``{fields}`` filled in after translation."""
        self._message = (template, fields, False)
        self.message.setProperty("error", error)
        self._show_message()

    def show_service_message(self, text: str, error: bool = False) -> None:
        """What the teaching desk said (put in words by :func:`service_text`)."""
        self._message = (text, {}, True)
        self.message.setProperty("error", error)
        self._show_message()

    def _show_message(self) -> None:
        text, fields, said = self._message
        self.message.setText(service_text(text) if said else translate(_C, text).format(**fields) if text else "")

    def show_look_alike(self, names: str | None) -> None:
        """Offer to teach the item as a different product from ``names`` (the products the till took its photos
        for; ``None``: no offer)."""
        self._look_alike = names
        self.retranslate()

    def reset(self) -> None:
        """Empty for the next person: the fields typed, the choices made, the last message."""
        self.show_look_alike(None)
        for edit in (self.sku_edit, self.name_edit, self.price_edit, self.hsn_edit):
            edit.clear()
        for choice in (self.sold_by, self.gst):
            choice.setCurrentIndex(0)
        self.show_message("")


class NotRecognisedPanel(Translatable, QWidget):
    """Shown instead of the suggestion tiles; emits ``search()`` or ``call_staff()``."""

    search = Signal()
    call_staff = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("notRecognisedPanel")
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        self.title = label("", "notRecognisedTitle", wrap=True)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        row = QHBoxLayout()
        self.search_button = touch_button("", "notRecognisedSearch")
        self.staff_button = touch_button("", "notRecognisedStaff")
        row.addWidget(self.search_button)
        row.addWidget(self.staff_button)
        column.addStretch(1)
        column.addWidget(self.title)
        column.addLayout(row)
        column.addStretch(1)
        self.search_button.clicked.connect(self.search)
        self.staff_button.clicked.connect(self.call_staff)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Suggestions", "Not recognised — search or call staff"))
        self.search_button.setText(translate("Teach", "Search"))
        self.staff_button.setText(translate("Teach", "Call staff"))
