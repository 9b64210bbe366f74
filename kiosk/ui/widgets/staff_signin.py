"""Signing in at the kiosk: the staff number, then the personal PIN, on the same keypad; the same page asks a
supervisor for an approval (their number and PIN for one action on someone else's session). Before any staff
account exists it is the plain PIN page (the old shared PIN)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSizePolicy

from kiosk.ui.i18n import translate
from kiosk.ui.notices import notice_text
from kiosk.ui.widgets.common import TOUCH_MIN, Translatable, plain_tip
from kiosk.ui.widgets.keypad import apply_key
from kiosk.ui.widgets.staff import StaffPinPanel

__all__ = ["StaffSignInPanel", "StaffBadge"]


class StaffSignInPanel(StaffPinPanel):
    """``submitted(pin)`` as the PIN page, with :meth:`staff_number` beside it. ``personal`` shows the number field;
    ``approving`` asks a supervisor instead of whoever signs in."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("staffPinPanel")
        self.number = QLineEdit()
        self.number.setObjectName("staffNumberEdit")
        self.number.setMinimumHeight(TOUCH_MIN)
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.number.setMaxLength(8)
        column = self.edit.parentWidget().layout()  # number and PIN side by side: the page gets no taller
        index = column.indexOf(self.edit)
        column.removeWidget(self.edit)
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(self.number, 2)
        row.addWidget(self.edit, 3)
        column.insertLayout(index, row)
        self.number.returnPressed.connect(self._next_field)
        self.personal = False
        self.approving = False
        self._reason = ""  # why a supervisor is asked (the service's words, shown in the staff member's language)
        self._labels()

    def _labels(self) -> None:
        self.number.setPlaceholderText(translate("Staff", "Staff number"))
        self.number.setAccessibleName(translate("Staff", "Staff number"))
        if self.approving:
            self.title.setText(translate("Staff", "Supervisor approval: your staff number and PIN"))
            self.ok_button.setText(translate("Staff", "Approve"))
        elif self.personal:
            self.title.setText(translate("Staff", "Staff sign-in"))
            self.ok_button.setText(translate("Staff", "Sign in"))

    def retranslate(self) -> None:
        super().retranslate()
        if hasattr(self, "number"):  # StaffPinPanel's own __init__ runs this before the number field exists
            self._labels()
            if self._reason:
                self.error.setText(notice_text(self._reason) or "")

    def prepare(self, *, personal: bool, approving: bool = False, reason: str = "") -> None:
        """Empty fields for the next person; the number field only with staff accounts."""
        self.personal, self.approving = personal or approving, approving
        self.number.setVisible(self.personal)
        self.number.clear()
        self.reset()
        self._reason = reason
        self.retranslate()
        (self.number if self.personal else self.edit).setFocus()

    def staff_number(self) -> str:
        return self.number.text().strip() if self.personal else "staff"

    def _field(self) -> QLineEdit:
        return self.number if self.personal and (self.number.hasFocus() or not self.number.text()) else self.edit

    def _key(self, key: str) -> None:
        self._reason = ""
        self.error.setText("")
        apply_key(self._field(), key)

    def show_error(self, message: str) -> None:
        self._reason = ""
        super().show_error(message)

    def _next_field(self) -> None:
        self.edit.setFocus()

    def _submit(self) -> None:
        if self.personal and not self.number.text().strip():
            self.error.setText(translate("Staff", "Type your staff number first"))
            self.number.setFocus()
            return
        if self.personal and self.number.hasFocus() and not self.edit.text():
            self.edit.setFocus()  # OK after the number: on to the PIN
            return
        super()._submit()


class StaffBadge(Translatable, QLabel):
    """Who is signed in and their role, on one line that never widens the page: text that does not fit ends in "…"
    and the whole text is the tooltip. Plain text: a name is shown as typed, never as Qt's rich text (``<s>Asha</s>``
    read as a struck-out "Asha")."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setObjectName("staffBadge")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._full = ""

    def text(self) -> str:  # the whole text, elided or not
        return self._full

    def show_member(self, name: str, role: str, idle_s: float) -> None:
        self._member = (name, role, idle_s)
        self.retranslate()

    def retranslate(self) -> None:
        name, role, idle_s = getattr(self, "_member", ("", "", 0.0))
        role_text = {"supervisor": translate("Staff", "supervisor"),
                     "assistant": translate("Staff", "assistant")}.get(role, role)
        self._full = translate("Staff", "{name} ({role}) · signs out after {minutes} min idle").format(
            name=name, role=role_text, minutes=max(1, round(idle_s / 60))) if name else ""
        self.setToolTip(plain_tip(self._full))
        self._elide()

    def _elide(self) -> None:
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(self.width(), 1)))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._elide()
