"""Staff mode: a PIN pad in front, then the cart with correct / void / override-price actions, the placement photo
of the selected line beside it, and what waits for staff at the top (the item the scale disagreed with, a removal
to approve). The panels emit what staff asked for; the main window calls the service.

:class:`StaffPanel` is built to be extended (staff sign-in, roles, more actions): ``top`` (title row: add header
buttons with :meth:`StaffPanel.add_header_button`), ``alerts`` (panels that need staff, at the top), the line
table with its ``detail`` pane, and ``actions`` (:meth:`StaffPanel.add_action`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLineEdit, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from catalog.model import MAX_PRICE_PAISE
from kiosk.domain.money import format_inr, parse_inr
from kiosk.ui.i18n import translate
from kiosk.ui.models import CartTableModel, mark_text
from kiosk.ui.widgets.cart import CartTable
from kiosk.ui.widgets.common import TOUCH_MIN, Translatable, announce, label, line, touch_button
from kiosk.ui.widgets.keypad import NumericKeypad, apply_key
from kiosk.ui.widgets.search import PhotoPane

__all__ = ["StaffPinPanel", "StaffPanel", "PriceOverridePanel", "RemovalApprovalPanel"]

_C = "Staff"
#: a staff PIN is 4-12 digits (kiosk.config.hash_pin, kiosk.staff.accounts): the field takes no more, nothing else
PIN_MAX = 12


def _big_edit(name: str, *, password: bool = False, digits: int = 0) -> QLineEdit:
    """A big centred line edit; ``digits``: at most that many, digits only (typed, keyed or pasted)."""
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setMinimumHeight(TOUCH_MIN)
    edit.setAlignment(Qt.AlignmentFlag.AlignCenter)
    if password:
        edit.setEchoMode(QLineEdit.EchoMode.Password)
    if digits:
        edit.setMaxLength(digits)
        edit.setValidator(QRegularExpressionValidator(QRegularExpression(rf"[0-9]{{0,{digits}}}"), edit))
    return edit


def _price_edit() -> QLineEdit:
    """The price field: rupees with at most as many digits as the largest price has (₹1 crore: 8) and two decimals,
    typed, keyed or pasted."""
    edit = _big_edit("priceEdit")
    digits = len(str(MAX_PRICE_PAISE // 100))
    edit.setValidator(QRegularExpressionValidator(QRegularExpression(rf"[0-9]{{0,{digits}}}(\.[0-9]{{0,2}})?"), edit))
    return edit


class _KeypadPanel(Translatable, QWidget):
    """Title, big line edit, error line and Cancel / OK on the left, the on-screen keypad on the right (it fits a
    600 px high screen as well as a portrait one). Subclasses submit."""

    cancelled = Signal()

    def __init__(self, name: str, edit: QLineEdit, keypad: NumericKeypad, cancel: str, ok: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(16, 10, 16, 10)
        outer.setSpacing(20)
        outer.addStretch(1)
        column = QVBoxLayout()
        column.setSpacing(8)
        self.title = label("", "pageTitle", wrap=True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.edit = edit
        self.error = label("", "pinError", wrap=True)
        self.error.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.keypad = keypad
        buttons = QHBoxLayout()
        self.cancel_button = touch_button("", cancel)
        self.ok_button = touch_button("", ok)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.ok_button)
        column.addStretch(1)
        for w in (self.title, self.edit, self.error):
            column.addWidget(w)
        column.addLayout(buttons)
        column.addStretch(1)
        self.box = QWidget()
        self.box.setLayout(column)
        self.box.setMinimumWidth(260)
        self.box.setMaximumWidth(460)
        self.keypad.setMaximumWidth(420)
        self.keypad.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        outer.addWidget(self.box, 3)
        outer.addWidget(self.keypad, 3, Qt.AlignmentFlag.AlignVCenter)
        outer.addStretch(1)
        self.keypad.pressed.connect(self._key)
        self.ok_button.clicked.connect(self._submit)
        self.edit.returnPressed.connect(self._submit)
        self.cancel_button.clicked.connect(self.cancelled)

    def _key(self, key: str) -> None:
        self.error.setText("")
        apply_key(self.edit, key)

    def _submit(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        announce(self.error, message, assertive=True)


class StaffPinPanel(_KeypadPanel):
    """Masked PIN entry on a keypad. Emits ``submitted(pin)`` or ``cancelled``."""

    submitted = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__("staffPinPanel", _big_edit("pinEdit", password=True, digits=PIN_MAX),
                         NumericKeypad(name="pinKeypad"), "pinCancel", "pinOk", parent)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Staff", "Staff PIN"))
        self.edit.setPlaceholderText(translate("Staff", "Enter PIN"))
        self.edit.setAccessibleName(translate("Staff", "Staff PIN"))
        self.edit.setAccessibleDescription(self.edit.placeholderText())
        self.cancel_button.setText(translate("Staff", "Cancel"))
        self.ok_button.setText(translate("Staff", "Unlock"))

    def _submit(self) -> None:
        pin = self.edit.text()
        if not pin:  # OK or Enter with nothing typed: not a try (no wrong PIN counted, no lockout)
            self.error.setText(translate("Staff", "Type the PIN first"))
            self.edit.setFocus()
            return
        self.edit.clear()
        self.submitted.emit(pin)

    def reset(self) -> None:
        self.edit.clear()
        self.error.setText("")


class PriceOverridePanel(_KeypadPanel):
    """New price in rupees on a keypad (``12.50``), at most the catalog's :data:`~catalog.model.MAX_PRICE_PAISE` (the
    service refuses more too); emits ``submitted(paise)`` — a Python int (``Signal(object)``: a 32-bit ``int``
    signal overflowed past ₹2,14,74,836.47)."""

    submitted = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__("priceOverridePanel", _price_edit(), NumericKeypad(decimal=True, name="priceKeypad"),
                         "priceCancel", "priceOk", parent)
        self._line: tuple[str, str] | None = None
        self.retranslate()

    def retranslate(self) -> None:
        self.edit.setPlaceholderText(translate("Staff", "₹ e.g. 45.50"))
        self.cancel_button.setText(translate("Staff", "Cancel"))
        self.ok_button.setText(translate("Staff", "Set price"))
        self.title.setText(translate("Staff", "New price for {name} (now {price})").format(
            name=self._line[0], price=self._line[1]) if self._line else translate("Staff", "New price"))

    def prepare(self, line_name: str, current_text: str) -> None:
        self._line = (line_name, current_text)
        self.retranslate()
        self.edit.clear()
        self.error.setText("")

    def _submit(self) -> None:
        try:
            paise = parse_inr(self.edit.text().strip())
        except (ValueError, TypeError):
            self.error.setText(translate("Staff", "Not a price: type rupees, e.g. 45.50"))
            return
        if paise < 0:
            self.error.setText(translate("Staff", "A price cannot be negative"))
            return
        if paise > MAX_PRICE_PAISE:
            self.error.setText(translate("Staff", "A price is at most {most}").format(most=format_inr(MAX_PRICE_PAISE)))
            return
        self.submitted.emit(paise)


class RemovalApprovalPanel(Translatable, QFrame):
    """A removal waiting for staff: "Approve removal" / "Keep it on the bill"; hidden while none waits."""

    decided = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("removalApproval")
        self.pending: Any = None
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 2, 10, 2)
        self.text = line("", "removalText")  # one line (elided, whole text as tooltip): the panel never grows
        self.approve_button = touch_button("", "removalApprove")
        self.refuse_button = touch_button("", "removalRefuse")
        self.approve_button.clicked.connect(lambda: self.decided.emit(True))
        self.refuse_button.clicked.connect(lambda: self.decided.emit(False))
        row.addWidget(self.text, 1)
        row.addWidget(self.approve_button)
        row.addWidget(self.refuse_button)
        self.retranslate()
        self.set_pending(None)

    def retranslate(self) -> None:
        self.approve_button.setText(translate("Staff", "Approve removal"))
        self.refuse_button.setText(translate("Staff", "Keep on bill"))
        if self.pending is not None:
            self.text.setText(translate("Staff", "The shopper asks to remove {name} ({amount})").format(
                name=self.pending.name, amount=self.pending.total_text))

    def set_pending(self, event: Any) -> None:
        self.pending = event
        self.setVisible(event is not None)
        self.retranslate()


class StaffPanel(Translatable, QWidget):
    """The cart in staff hands: pick a line (its placement photo shows beside it), then correct / void / override
    its price; Reprint; End of day (today's takings); Done locks staff mode."""

    correct_requested = Signal(str)
    void_requested = Signal(str)
    override_requested = Signal(str)
    line_selected = Signal(str)  # the window answers with show_photo(path)
    reprint_requested = Signal()  # the last sale's receipt again (needs no line)
    day_report_requested = Signal()  # today's takings, the end-of-day report (a supervisor's)
    done = Signal()

    def __init__(self, model: CartTableModel, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("staffPanel")
        self.model = model
        column = QVBoxLayout(self)
        column.setContentsMargins(14, 6, 14, 6)
        column.setSpacing(6)
        self.alerts = QVBoxLayout()
        self.alerts.setSpacing(4)
        self.removal = RemovalApprovalPanel()
        self.alerts.addWidget(self.removal)
        self.top = QHBoxLayout()
        self.title = line("", "pageTitle")
        self.done_button = touch_button("", "staffDone")
        self.reprint_button = touch_button("", "staffReprint")
        self.day_button = touch_button("", "staffDayReport")
        self.top.addWidget(self.title, 1)
        self.add_header_button(self.reprint_button)
        self.add_header_button(self.day_button)
        self.add_header_button(self.done_button)
        body = QHBoxLayout()
        body.setSpacing(12)
        self.table = CartTable(model, self)
        self.detail = PhotoPane()
        self.detail.setObjectName("staffLinePhoto")
        body.addWidget(self.table, 3)
        body.addWidget(self.detail, 2)
        self.info = line("", "staffInfo")
        self.actions = QHBoxLayout()
        self.actions.setSpacing(10)
        self.correct_button = touch_button("", "staffCorrect")
        self.void_button = touch_button("", "staffVoid")
        self.override_button = touch_button("", "staffOverride")
        for b in (self.correct_button, self.void_button, self.override_button):
            self.add_action(b)
        column.addLayout(self.top)
        column.addLayout(self.alerts)
        column.addLayout(body, 1)
        column.addWidget(self.info)
        column.addLayout(self.actions)
        self.correct_button.clicked.connect(lambda: self._emit(self.correct_requested))
        self.void_button.clicked.connect(lambda: self._emit(self.void_requested))
        self.override_button.clicked.connect(lambda: self._emit(self.override_requested))
        self.done_button.clicked.connect(self.done)
        self.reprint_button.clicked.connect(self.reprint_requested)
        self.day_button.clicked.connect(self.day_report_requested)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        model.modelReset.connect(self._update_buttons)
        self.retranslate()

    def first_control(self) -> QWidget:
        """Where the keyboard starts: what waits for staff (Add it, Approve removal), else the lines, else Done."""
        for i in range(self.alerts.count()):
            panel = self.alerts.itemAt(i).widget()
            buttons = [b for b in panel.findChildren(QPushButton) if b.isVisibleTo(self) and b.isEnabled()] \
                if panel is not None and panel.isVisibleTo(self) else []
            if buttons:
                return buttons[0]
        return self.table if self.model.rowCount() else self.done_button

    def add_header_button(self, button: QPushButton) -> None:
        """A button in the title row (right of the title)."""
        button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.top.addWidget(button)

    def add_action(self, button: QPushButton, *, needs_line: bool = True) -> None:
        """A button in the action row; ``needs_line``: enabled only while a line is selected."""
        button.setProperty("role", "staffAction")
        button.setProperty("needs_line", needs_line)
        self.actions.addWidget(button)

    def retranslate(self) -> None:
        self.title.setText(translate("Staff", "Staff mode — select a line"))
        self.table.setAccessibleName(translate("Staff", "Lines on the bill"))
        self.done_button.setText(translate("Staff", "Done (lock)"))
        self.reprint_button.setText(translate("Staff", "Reprint"))
        self.reprint_button.setToolTip(translate("Staff", "Print the last receipt again, marked as a duplicate"))
        self.day_button.setText(translate("Staff", "End of day"))
        self.day_button.setToolTip(translate("Staff", "Supervisors: today's takings (sales, payments, GST)"))
        self.correct_button.setText(translate("Staff", "Correct item…"))
        self.void_button.setText(translate("Staff", "Void line"))
        self.override_button.setText(translate("Staff", "Override price…"))
        self._update_buttons()

    def _emit(self, signal) -> None:
        line_id = self.table.selected_line_id()
        if line_id is not None:
            signal.emit(line_id)

    def _selection_changed(self, *_) -> None:
        self._update_buttons()
        line_id = self.table.selected_line_id()
        if line_id is None:
            self.detail.set_photo("", selected=False)
        else:
            self.line_selected.emit(line_id)

    def show_photo(self, path: str) -> None:
        self.detail.set_photo(path)

    def _update_buttons(self, *_) -> None:
        line_id = self.table.selected_line_id()
        row = self.model.row_of(line_id) if line_id else -1
        line_view = self.model.line(row) if row >= 0 else None
        usable = line_view is not None and not getattr(line_view, "voided", False)
        if line_view is None:  # a new cart (a model reset drops the selection without a signal): no old photo
            self.detail.set_photo("", selected=False)
        for i in range(self.actions.count()):
            button = self.actions.itemAt(i).widget()
            if button is not None and button.property("needs_line"):
                button.setEnabled(usable)
        if not self.model.rowCount():
            self.info.setText(translate("Staff", "The cart is empty."))
        elif line_view is None:
            self.info.setText(translate("Staff", "Tap a line, then choose what to do."))
        else:
            extra = mark_text(line_view)
            self.info.setText(" — ".join(x for x in (translate("Staff", "Selected: {name}").format(name=line_view.name),
                                                     line_view.qty_text, line_view.total_text, extra) if x))
