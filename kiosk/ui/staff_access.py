"""The window's side of staff accounts and roles (:mod:`kiosk.ui.widgets.staff_signin`).

:func:`install` is the main window's one hook. It keeps the staff page honest about who is signed in (a badge with the
name and role), adds **Roll back model** (supervisors; the service refuses anyone else), logs staff out on screen when
the idle time-out ends the session (a timer asks the service while a staff page shows), and handles a refusal for
lack of rights: the sign-in page asks a supervisor for their number and PIN, and the action is tried again once they
approved — the assistant stays signed in, and the audit log says who approved what.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QSizePolicy

from kiosk.ui.i18n import translate
from kiosk.ui.widgets.common import touch_button
from kiosk.ui.widgets.staff_signin import StaffBadge

__all__ = ["StaffAccess", "install"]

log = logging.getLogger(__name__)


class StaffAccess(QObject):
    def __init__(self, window, idle_poll_ms: int = 1000) -> None:
        super().__init__(window)
        self.window, self.service = window, window.service
        self._retry: Callable[[], None] | None = None
        self.badge = StaffBadge()
        self.rollback_button = touch_button("", "staffRollback")
        self.retranslate()
        self.rollback_button.clicked.connect(self.rollback)
        policy = self.rollback_button.sizePolicy()
        self.rollback_button.setSizePolicy(QSizePolicy.Policy.Ignored, policy.verticalPolicy())
        self.rollback_button.setMinimumWidth(0)  # never widens the staff page
        staff = window.staff  # the badge beside the page's title, Roll back beside the line actions
        title_row = _row_of(staff.done_button, staff.layout())
        title_row.insertWidget(1, self.badge, 1)
        _row_of(staff.correct_button, staff.layout()).addWidget(self.rollback_button)
        self.rollback_button.setEnabled(False)
        window.bridge.staff_mode_changed.connect(self._on_mode)
        self._timer = QTimer(self)
        self._timer.setInterval(idle_poll_ms)
        self._timer.timeout.connect(self._check_idle)
        self._timer.start()

    def retranslate(self) -> None:
        self.rollback_button.setText(translate("Staff", "Roll back model"))
        self.rollback_button.setToolTip(translate("Staff", "Supervisors: run the previous signed model again"))

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LanguageChange:  # the window passes it on to its children, this one too
            self.retranslate()
        return super().event(event)

    @property
    def personal(self) -> bool:
        return bool(getattr(self.service, "staff_accounts_in_use", False))

    @property
    def approving(self) -> bool:
        return self._retry is not None

    # -- signing in ------------------------------------------------------------------------------------------------
    def open_sign_in(self) -> None:
        self._retry = None
        self.window.pin.prepare(personal=self.personal)
        self.window.show_page("pin")

    def staff_number(self) -> str:
        return self.window.pin.staff_number()

    def handle_pin(self, pin: str) -> bool:
        """The PIN page's OK while a supervisor's approval is asked for: True when handled here."""
        if self._retry is None:
            return False
        ok, approved = self.window._intent("staff_approve", pin, self.staff_number())
        if not (ok and approved is True):
            self.window.pin.show_error(translate("Staff", "Not approved: a supervisor's staff number and PIN, please"))
            return True
        retry, self._retry = self._retry, None
        retry()
        return True

    def cancel_approval(self) -> bool:
        """Cancel on the PIN page during an approval: back to the staff page (True), else False."""
        if self._retry is None:
            return False
        self._retry = None
        self.window.back_to_staff()
        return True

    def needs_supervisor(self, refusal: Any, retry: Callable[[], None]) -> bool:
        """A refusal for lack of rights: ask a supervisor, then ``retry``. True when that is what ``refusal`` was."""
        from kiosk.services.errors import SupervisorNeeded

        if not isinstance(refusal, SupervisorNeeded):
            return False
        self._retry = retry
        self.window.pin.prepare(personal=True, approving=True, reason=str(refusal))
        self.window.show_page("pin")
        return True

    # -- the staff page ------------------------------------------------------------------------------------------
    def rollback(self) -> None:
        ok, result = self.window._intent("staff_rollback_model", "rolled back from staff mode")
        if not ok:
            self.needs_supervisor(result, self.rollback)

    def _on_mode(self, event: Any) -> None:
        unlocked = getattr(event, "unlocked", False)
        name, role = getattr(event, "name", ""), getattr(event, "role", "")
        timeout = float(getattr(getattr(self.service, "config", None), "staff_timeout_s", 120.0))
        self.badge.show_member(name if unlocked else "", role, timeout)
        self.rollback_button.setEnabled(bool(unlocked))
        if not unlocked:
            self._retry = None

    def _check_idle(self) -> None:
        """While a staff page shows, ask the service: an idle session it ends sends StaffModeChanged(False), and a
        staff page still on screen with staff mode locked (no event will come again) gives way all the same."""
        if self.window.on_staff_page:  # the receipts list, a duplicate and the day's report too
            self.window.leave_staff_pages()  # asks staff_unlocked: announces an idle logout


def _row_of(widget, layout):
    """The box layout (``layout`` or one nested in it) that holds ``widget``."""
    if layout.indexOf(widget) >= 0:
        return layout
    for i in range(layout.count()):
        inner = layout.itemAt(i).layout()
        found = _row_of(widget, inner) if inner is not None else None
        if found is not None:
            return found
    return None


def install(window) -> StaffAccess:
    return StaffAccess(window)
