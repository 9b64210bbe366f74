"""The staff call: the weight on the tray did not fit the item confirmed (a ticket switch?), so the item is held
until staff approves or refuses it. The shopper's step area says "Please wait: staff is on the way"; this panel, on
the staff page, has the two buttons."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout

from kiosk.ui.i18n import translate
from kiosk.ui.notices import notice_text
from kiosk.ui.widgets.common import Translatable, line, touch_button

__all__ = ["StaffCallPanel"]

_C = "Staff"


class StaffCallPanel(Translatable, QFrame):
    """Hidden until :meth:`set_call` gets a ``StaffCalled`` event; ``with_buttons`` for the staff page."""

    resolved = Signal(bool)  # approve?

    def __init__(self, with_buttons: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("staffCallPanel")
        self.call: Any = None
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 2, 10, 2)
        text = QVBoxLayout()
        text.setSpacing(0)
        self.title = line("", "staffCallTitle")  # one line each (elided, whole text as tooltip)
        self.reason = line("", "staffCallReason")
        for w in (self.title, self.reason):
            text.addWidget(w)
        row.addLayout(text, 1)
        self.approve_button = touch_button("", "staffCallApprove")
        self.refuse_button = touch_button("", "staffCallRefuse")
        for button, approve in ((self.approve_button, True), (self.refuse_button, False)):
            button.setVisible(with_buttons)
            button.clicked.connect(lambda _=False, a=approve: self.resolved.emit(a))
            if with_buttons:
                row.addWidget(button)
        self.with_buttons = with_buttons
        self.retranslate()
        self.set_call(None)

    def retranslate(self) -> None:
        self.approve_button.setText(translate("Staff", "Add it"))
        self.refuse_button.setText(translate("Staff", "Do not add"))
        if self.call is not None:
            who = translate("Staff", "Check the item on the tray") if self.with_buttons else \
                translate("Staff", "Please wait: staff is on the way")
            self.title.setText(f"{who} — {self.call.name}")
            self.reason.setText(notice_text(self.call.reason) or self.call.reason)

    def set_call(self, event: Any) -> None:
        self.call = event
        self.setVisible(event is not None)
        self.retranslate()
