"""The staff call: the weight on the tray did not fit the item confirmed (a ticket switch?), so the item is held
until staff approves or refuses it. On the checkout page it tells the shopper to wait; on the staff page it has
the two buttons."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout

from kiosk.ui.widgets.common import label, touch_button

__all__ = ["StaffCallPanel"]


class StaffCallPanel(QFrame):
    """Hidden until :meth:`set_call` gets a ``StaffCalled`` event; ``with_buttons`` for the staff page."""

    resolved = Signal(bool)  # approve?

    def __init__(self, with_buttons: bool = False, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("staffCallPanel")
        self.call: Any = None
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 6, 12, 6)
        text = QVBoxLayout()
        self.title = label("", "staffCallTitle", wrap=True)
        self.reason = label("", "staffCallReason", wrap=True)
        text.addWidget(self.title)
        text.addWidget(self.reason)
        row.addLayout(text, 1)
        self.approve_button = touch_button("Add it", "staffCallApprove")
        self.refuse_button = touch_button("Do not add", "staffCallRefuse")
        for button, approve in ((self.approve_button, True), (self.refuse_button, False)):
            button.setMinimumWidth(150)
            button.setVisible(with_buttons)
            button.clicked.connect(lambda _=False, a=approve: self.resolved.emit(a))
            if with_buttons:
                row.addWidget(button)
        self.with_buttons = with_buttons
        self.set_call(None)

    def set_call(self, event: Any) -> None:
        self.call = event
        if event is None:
            self.hide()
            return
        who = "Check the item on the tray" if self.with_buttons else "Please wait: staff is on the way"
        self.title.setText(f"{who} — {event.name}")
        self.reason.setText(event.reason)
        self.show()
