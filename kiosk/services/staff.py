"""The staff session: PIN unlock, idle time-out, and a lock-out after wrong PINs.

Plain state with a clock; the service turns its answers into events. The PIN itself is checked by the
config's salted scrypt hash (``KioskConfig.check_pin``) and never stored or logged here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.services.errors import StaffLocked

__all__ = ["MAX_PIN_FAILURES", "STAFF_LOCKOUT", "StaffSession", "UnlockResult"]

#: wrong PINs in a row before staff unlock is refused for STAFF_LOCKOUT
MAX_PIN_FAILURES = 3
STAFF_LOCKOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class UnlockResult:
    ok: bool
    wait_s: int = 0  # > 0: refused without checking, locked out for this long


class StaffSession:
    """``unlock(pin)``, ``lock()``, ``is_open()``, ``touch()`` (an action: who, and the time-out restarts)."""

    def __init__(self, check_pin: Callable[[str], bool], timeout_s: float, clock: Callable[[], datetime]) -> None:
        self._check_pin = check_pin
        self.timeout = timedelta(seconds=timeout_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._until: datetime | None = None
        self.staff_id = ""
        self._failures = 0
        self._locked_until: datetime | None = None

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
        now = self._clock()
        with self._lock:
            if self._locked_until is not None and now < self._locked_until:
                return UnlockResult(False, int((self._locked_until - now).total_seconds()) + 1)
        ok = self._check_pin(pin)
        with self._lock:
            if ok:
                self._failures, self._locked_until = 0, None
                self._until = now + self.timeout
                self.staff_id = staff_id or "staff"
            else:
                self._failures += 1
                if self._failures >= MAX_PIN_FAILURES:
                    self._locked_until, self._failures = now + STAFF_LOCKOUT, 0
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
