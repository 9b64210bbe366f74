"""The staff session: who is signed in, the idle time-out, and a supervisor's one-off approval.

Plain state with a clock; the desk (:mod:`~kiosk.services.staff_desk`) turns its answers into events and audit rows.
Signing in — staff number and personal PIN, or the old shared PIN before any account exists — and the lockouts that
grow per person and for the whole kiosk and survive restarts are :mod:`kiosk.staff.signin`'s; the PIN itself is
never stored or logged here.

A session ends when staff lock it, after ``timeout_s`` without a staff action (idle logout), when the sale is
paid, or when the person's account changed since they signed in (read again on each action: disabled, a new PIN,
another role; for the shared PIN, the first staff account made). A supervisor's approval
(:meth:`StaffSession.approve`: their number and PIN on someone else's session) is good for one action within
``approval_s``, and for nothing once their own account changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from kiosk.services.errors import StaffAccountChanged, StaffLocked
from kiosk.staff.signin import (
    KIOSK_ID,
    MAX_PIN_FAILURES,
    MAX_STAFF_LOCKOUT,
    STAFF_LOCKOUT,
    MemoryLockout,
    SignIn,
    StaffMember,
    UnlockResult,
    lockout_for,
)

__all__ = ["KIOSK_ID", "MAX_PIN_FAILURES", "MAX_STAFF_LOCKOUT", "STAFF_LOCKOUT", "MemoryLockout", "StaffMember",
           "StaffSession", "UnlockResult", "ended_text", "lockout_for"]

#: why a session ended because its person's account changed since the sign-in (:meth:`SignIn.changed`'s reasons)
_REFUSALS = {"removed": "staff mode is locked: your staff account is gone: ask the store manager",
             "disabled": "staff mode is locked: your staff account was disabled: ask the store manager",
             "role_changed": "staff mode is locked: your staff account has another role now: sign in again",
             "pin_reset": "staff mode is locked: your staff PIN was changed: sign in with the new PIN",
             "tampered": "staff mode is locked: your staff account was changed outside the kiosk: ask the store "
                         "manager",
             "shared_pin_retired": "staff mode is locked: staff accounts are in use now: sign in with your staff "
                                   "number and PIN"}


def ended_text(why: str) -> str:
    """What staff are told when their session ended because their account changed (``why``: a reason of
    :meth:`SignIn.changed`)."""
    return _REFUSALS.get(why, "staff mode is locked: your staff account changed: sign in again")


class StaffSession:
    """``unlock(pin, staff_id)``, ``lock()``, ``is_open()``, ``touch()`` (an action: who, and the time-out restarts),
    ``approve(pin, staff_id)`` / ``take_approval()`` (a supervisor's one-off approval)."""

    def __init__(self, check_pin: Callable[[str], bool], timeout_s: float, clock: Callable[[], datetime],
                 lockout=None, *, accounts: Any = None, kiosk_free_failures: int = 10,
                 legacy_role: str = "supervisor", approval_s: float = 60.0,
                 ticker: Callable[[], float] | None = None) -> None:
        self.timeout = timedelta(seconds=timeout_s)
        self.approval_time = timedelta(seconds=approval_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._until: datetime | None = None
        self.member: StaffMember | None = None
        self._approval: tuple[StaffMember, datetime] | None = None
        self._seen: datetime | None = None  # the latest time read: a clock set back is noticed
        self._lockout = lockout if lockout is not None else MemoryLockout()  # SalesStore: survives restarts
        self.sign_in = SignIn(accounts=accounts, legacy_check=check_pin, lockout=self._lockout, clock=clock,
                              kiosk_free_failures=kiosk_free_failures, legacy_role=legacy_role, ticker=ticker)

    def _now(self) -> datetime:
        """The clock, with the session's deadlines moved back as far as the clock was set back (NTP, a hand-set
        clock): an idle session still ends ``timeout`` after its last action (give or take the time between two
        reads: the staff page reads it every second), never an hour later."""
        now = self._clock()
        if self._seen is not None and now < self._seen:
            back = self._seen - now
            self._until = self._until - back if self._until is not None else None
            self._approval = (self._approval[0], self._approval[1] - back) if self._approval is not None else None
        self._seen = now
        return now

    @property
    def staff_id(self) -> str:
        return self.member.staff_id if self.member else ""

    def is_open(self) -> tuple[bool, bool]:
        """``(open, just_timed_out)``: the second is true once, when an idle session is found expired."""
        with self._lock:
            if self._until is None:
                return False, False
            if self._now() < self._until:
                return True, False
            self._until = None
            self._approval = None
            return False, True

    def unlock(self, pin: str, staff_id: str = "staff") -> UnlockResult:
        with self._lock:  # one PIN at a time: two taps cannot both slip past the count
            result = self.sign_in.check(pin, staff_id)
            if result.ok:
                self._until = self._now() + self.timeout
                self.member = result.member
                self._approval = None
        return result

    def approve(self, pin: str, staff_id: str) -> UnlockResult:
        """A supervisor's number and PIN on this session: good for one action within ``approval_s``. Someone who is
        not a supervisor is refused (reason ``not_supervisor``) after the same checks."""
        with self._lock:
            if self._until is None or self._now() >= self._until:
                raise StaffLocked("staff mode is locked: sign in first")
            result = self.sign_in.check(pin, staff_id)
            if result.ok and result.member.role != "supervisor":
                return UnlockResult(False, 0, "not_supervisor", result.member)
            if result.ok:
                self._approval = (result.member, self._now() + self.approval_time)
        return result

    def take_approval(self) -> tuple[StaffMember | None, str]:
        """``(the supervisor whose approval is waiting, "")`` (used up by this call), ``(None, "")`` when none is, or
        ``(that supervisor, why)`` when their account, read again, changed since (disabled, a new PIN, another role):
        then the approval counts for nothing."""
        with self._lock:
            now = self._now()
            approval, self._approval = self._approval, None
        if approval is None or now >= approval[1]:
            return None, ""
        return approval[0], self.sign_in.changed(approval[0]) or ""

    def account_changed(self) -> tuple[StaffMember, str] | None:
        """``(who, why)`` when the open session's person may not go on (their account read again: disabled, a new
        PIN, another role, gone); the session has then ended. None: it goes on, or none is open."""
        with self._lock:
            member = self.member
            if self._until is None or member is None:
                return None
            why = self.sign_in.changed(member)
            if why:
                self._until, self._approval = None, None
        return (member, why) if why else None

    def lock(self) -> bool:
        """End the session; returns whether it was open."""
        with self._lock:
            was, self._until = self._until is not None, None
            self._approval = None
        return was

    def touch(self) -> str:
        """For a staff action: the staff id, and the idle time-out starts again. Raises StaffLocked."""
        return self.touch_member().staff_id

    def touch_member(self) -> StaffMember:
        """For a staff action: who, their account read again (changed since the sign-in: the session ends,
        StaffAccountChanged), and the idle time-out starts again. Raises StaffLocked."""
        with self._lock:
            if self._until is None or self._now() >= self._until or self.member is None:
                raise StaffLocked("staff mode is locked: unlock it with the staff PIN first")
            why = self.sign_in.changed(self.member)
            if why:
                self._until, self._approval = None, None
                raise StaffAccountChanged(ended_text(why), self.member.staff_id, why)
            self._until = self._now() + self.timeout
            return self.member
