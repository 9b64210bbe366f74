"""Staff mode: a PIN pad in front, then the cart with correct / void / override-price actions.
The panels emit what staff asked for; the main window calls the service."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QSizePolicy, QVBoxLayout, QWidget

from kiosk.domain.money import parse_inr
from kiosk.ui.models import CartTableModel
from kiosk.ui.widgets.cart import CartTable
from kiosk.ui.widgets.common import TOUCH_MIN, label, touch_button
from kiosk.ui.widgets.keypad import NumericKeypad, apply_key

__all__ = ["StaffPinPanel", "StaffPanel", "PriceOverridePanel"]


def _big_edit(name: str, placeholder: str, *, password: bool = False) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setPlaceholderText(placeholder)
    edit.setMinimumHeight(TOUCH_MIN)
    edit.setAlignment(Qt.AlignmentFlag.AlignCenter)
    if password:
        edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


class _KeypadPanel(QWidget):
    """A centred column: title, big line edit, error line, on-screen keypad, Cancel / OK. Subclasses submit."""

    cancelled = Signal()

    def __init__(self, name: str, title: str, edit: QLineEdit, keypad: NumericKeypad, cancel: str, ok: str,
                 ok_text: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        outer = QHBoxLayout(self)
        outer.addStretch(1)
        column = QVBoxLayout()
        column.setSpacing(10)
        self.title = label(title, "pageTitle", wrap=True)
        self.edit = edit
        self.error = label("", "pinError", wrap=True)
        self.keypad = keypad
        buttons = QHBoxLayout()
        self.cancel_button = touch_button("Cancel", cancel)
        self.ok_button = touch_button(ok_text, ok)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.ok_button)
        for w in (self.title, self.edit, self.error, self.keypad):
            column.addWidget(w)
        column.addLayout(buttons)
        column.addStretch(1)
        box = QWidget()
        box.setLayout(column)
        box.setMinimumWidth(360)
        box.setMaximumWidth(520)
        box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        outer.addWidget(box, 2)
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


class StaffPinPanel(_KeypadPanel):
    """Masked PIN entry on a keypad. Emits ``submitted(pin)`` or ``cancelled``."""

    submitted = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__("staffPinPanel", "Staff PIN", _big_edit("pinEdit", "Enter PIN", password=True),
                         NumericKeypad(name="pinKeypad"), "pinCancel", "pinOk", "Unlock", parent)
        self.title.setWordWrap(False)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def _submit(self) -> None:
        pin = self.edit.text()
        self.edit.clear()
        self.submitted.emit(pin)

    def reset(self) -> None:
        self.edit.clear()
        self.error.setText("")


class PriceOverridePanel(_KeypadPanel):
    """New price in rupees on a keypad (``12.50``); emits ``submitted(paise)`` — an int."""

    submitted = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__("priceOverridePanel", "New price", _big_edit("priceEdit", "₹ e.g. 45.50"),
                         NumericKeypad(decimal=True, name="priceKeypad"), "priceCancel", "priceOk", "Set price",
                         parent)

    def prepare(self, line_name: str, current_text: str) -> None:
        self.title.setText(f"New price for {line_name} (now {current_text})")
        self.edit.clear()
        self.error.setText("")

    def _submit(self) -> None:
        try:
            paise = parse_inr(self.edit.text().strip())
        except (ValueError, TypeError) as exc:
            self.error.setText(str(exc))
            return
        if paise < 0:
            self.error.setText("a price cannot be negative")
            return
        self.submitted.emit(paise)


class StaffPanel(QWidget):
    """The cart in staff hands: pick a line, then correct / void / override its price."""

    correct_requested = Signal(str)
    void_requested = Signal(str)
    override_requested = Signal(str)
    reprint_requested = Signal()  # the last sale's receipt again (needs no line)
    done = Signal()

    def __init__(self, model: CartTableModel, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("staffPanel")
        self.model = model
        column = QVBoxLayout(self)
        column.setContentsMargins(16, 12, 16, 12)
        column.setSpacing(10)
        top = QHBoxLayout()
        self.title = label("Staff mode — select a line", "pageTitle")
        self.done_button = touch_button("Done (lock)", "staffDone")
        self.done_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.done_button.setMinimumWidth(180)
        self.reprint_button = touch_button("Reprint", "staffReprint")
        self.reprint_button.setToolTip("Print the last receipt again, marked as a duplicate")
        self.reprint_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.reprint_button.setMinimumWidth(150)
        top.addWidget(self.title, 1)
        top.addWidget(self.reprint_button)
        top.addWidget(self.done_button)
        self.table = CartTable(model, self)
        self.info = label("", "staffInfo", wrap=True)
        actions = QHBoxLayout()
        actions.setSpacing(12)
        self.correct_button = touch_button("Correct item…", "staffCorrect")
        self.void_button = touch_button("Void line", "staffVoid")
        self.override_button = touch_button("Override price…", "staffOverride")
        for b in (self.correct_button, self.void_button, self.override_button):
            b.setProperty("role", "staffAction")
            actions.addWidget(b)
        column.addLayout(top)
        column.addWidget(self.table, 1)
        column.addWidget(self.info)
        column.addLayout(actions)
        self.correct_button.clicked.connect(lambda: self._emit(self.correct_requested))
        self.void_button.clicked.connect(lambda: self._emit(self.void_requested))
        self.override_button.clicked.connect(lambda: self._emit(self.override_requested))
        self.done_button.clicked.connect(self.done)
        self.reprint_button.clicked.connect(self.reprint_requested)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        model.modelReset.connect(self._update_buttons)
        self._update_buttons()

    def _emit(self, signal) -> None:
        line_id = self.table.selected_line_id()
        if line_id is not None:
            signal.emit(line_id)

    def _update_buttons(self, *_) -> None:
        selected = self.table.selected_line_id() is not None
        for b in (self.correct_button, self.void_button, self.override_button):
            b.setEnabled(selected)
        if not self.model.rowCount():
            self.info.setText("The cart is empty.")
        elif not selected:
            self.info.setText("Tap a line, then choose what to do.")
        else:
            line = self.model.line(self.model.row_of(self.table.selected_line_id()))
            self.info.setText(f"Selected: {line.name} — {line.qty_text} — {line.total_text}")
