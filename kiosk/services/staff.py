"""The staff session: PIN unlock, idle time-out, and a lock-out after wrong PINs that grows and survives restarts.

Plain state with a clock; the service turns its answers into events. The PIN itself is checked by the
config's salted scrypt hash (``KioskConfig.check_pin``) and never stored or logged here.

Wrong PINs: :data:`MAX_PIN_FAILURES` in a row are free; then each further wrong PIN locks unlocking for twice as long
as the one before (:data:`STAFF_LOCKOUT`, 60 s, 2 min … up to :data:`MAX_STAFF_LOCKOUT`), and while locked a PIN is
not even checked. The count and the lock are kept per staff id in ``lockout`` — the kiosk's SQLite store
(``SalesStore.pin_lockout``), so pulling the plug does not clear them — and reset by a right PIN. A 4-digit PIN then
takes months to guess at the pad, not a day.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.services.errors import StaffLocked

__all__ = ["MAX_PIN_FAILURES", "MAX_STAFF_LOCKOUT", "STAFF_LOCKOUT", "MemoryLockout", "StaffSession", "UnlockResult",
           "lockout_for"]

#: wrong PINs in a row before staff unlock is refused for STAFF_LOCKOUT
MAX_PIN_FAILURES = 3
STAFF_LOCKOUT = timedelta(seconds=30)
#: the longest lockout (each wrong PIN past MAX_PIN_FAILURES doubles it up to this)
MAX_STAFF_LOCKOUT = timedelta(hours=1)


def lockout_for(failures: int) -> timedelta | None:
    """How long unlocking is refused after ``failures`` wrong PINs in a row (None: not locked)."""
    if failures < MAX_PIN_FAILURES:
        return None
    return min(STAFF_LOCKOUT * 2 ** min(failures - MAX_PIN_FAILURES, 16), MAX_STAFF_LOCKOUT)


class MemoryLockout:
    """Where the wrong-PIN count lives when no store is given (tests, tools): in memory, lost on restart."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[int, datetime | None]] = {}

    def pin_lockout(self, staff_id: str) -> tuple[int, datetime | None]:
        return self._state.get(staff_id, (0, None))

    def record_pin_failure(self, staff_id: str, failures: int, locked_until: datetime | None) -> None:
        self._state[staff_id] = (failures, locked_until)

    def clear_pin_failures(self, staff_id: str) -> None:
        self._state.pop(staff_id, None)


@dataclass(frozen=True)
class UnlockResult:
    ok: bool
    wait_s: int = 0  # > 0: refused without checking, locked out for this long


class StaffSession:
    """``unlock(pin)``, ``lock()``, ``is_open()``, ``touch()`` (an action: who, and the time-out restarts)."""

    def __init__(self, check_pin: Callable[[str], bool], timeout_s: float, clock: Callable[[], datetime],
                 lockout=None) -> None:
        self._check_pin = check_pin
        self.timeout = timedelta(seconds=timeout_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._until: datetime | None = None
        self.staff_id = ""
        self._lockout = lockout if lockout is not None else MemoryLockout()  # SalesStore: survives restarts

    def is_open(self) -> tuple[bool, bool]:
        """``(open, just_timed_out)``: the second is true once, when an idle session is found expired."""
        with self._lock:
            if self._until is None:
                return False, False
            if self._clock() < self._until:
                return True, False
            self._until = None
            return False, True

    def unlock(self, pin: str, staff_id: str = "staff") -> UnlockResult:
        staff_id = staff_id or "staff"
        now = self._clock()
        with self._lock:  # one PIN at a time: two taps cannot both slip past the count
            failures, locked_until = self._lockout.pin_lockout(staff_id)
            if locked_until is not None and now < locked_until:
                return UnlockResult(False, int((locked_until - now).total_seconds()) + 1)
            ok = self._check_pin(pin) if isinstance(pin, str) else False
            if ok:
                if failures:
                    self._lockout.clear_pin_failures(staff_id)
                self._until = now + self.timeout
                self.staff_id = staff_id
            else:
                wait = lockout_for(failures + 1)
                self._lockout.record_pin_failure(staff_id, failures + 1, now + wait if wait else None)
        return UnlockResult(ok)

    def lock(self) -> bool:
        """End the session; returns whether it was open."""
        with self._lock:
            was, self._until = self._until is not None, None
        return was

    def touch(self) -> str:
        """For a staff action: the staff id, and the idle time-out starts again. Raises StaffLocked."""
        with self._lock:
            if self._until is None or self._clock() >= self._until:
                raise StaffLocked("staff mode is locked: unlock it with the staff PIN first")
            self._until = self._clock() + self.timeout
            return self.staff_id
