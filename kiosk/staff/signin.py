"""Signing in at the till: a staff number and a personal PIN, with lockouts that grow and survive restarts.

**Who.** With staff accounts (``checkout staff add``) a person signs in with their staff number and PIN, checked
against their own salted scrypt hash (:func:`kiosk.config.check_pin`). Before the first account exists the kiosk's
shared ``staff_pin_hash`` still works (role ``[staff] legacy_pin_role``); once accounts exist it no longer does.

**Lockouts.** Wrong PINs are counted per staff number — :data:`MAX_PIN_FAILURES` in a row are free, then each
further one locks that number for twice as long as the one before (:data:`STAFF_LOCKOUT` … :data:`MAX_STAFF_LOCKOUT`)
— and for the whole kiosk (:data:`KIOSK_ID`): ``[staff] kiosk_free_failures`` wrong PINs in a row, whatever the
number, lock every sign-in the same growing way, so trying one PIN under many numbers gains nothing. A locked
sign-in is refused without checking the PIN. The counts live in the kiosk's SQLite file (``pin_lockout``), so a
restart clears nothing; a right PIN clears its number's count and the kiosk's. An unknown or disabled number costs
the same scrypt time as a real one, is refused with the same words and is counted and locked per typed number like a
real one (the same answer try for try, the lockout kept across restarts too): the pad does not tell which numbers
exist.
An account whose row fails its seal (edited in the file by hand: :mod:`kiosk.store.staff`) is refused too, whatever
the PIN, and told so: staff must know to fetch the manager.

**Clocks.** The stored ``locked_until`` is wall-clock time (it must survive a restart), and a till's wall clock
steps: NTP corrects an RTC that booted years off, someone sets it by hand. A lockout therefore never lasts longer
than its own length (a clock set back four years does not lock staff out for four years), and with a ``ticker``
(a steady clock such as :func:`time.monotonic`; the kiosk passes one) a lockout that began in this process runs
its full length on that ticker too, so setting the wall clock forward does not end it early.

**Afterwards.** A sign-in is not a licence for the rest of the session: :meth:`SignIn.changed` reads the account
again (the staff session asks on each action and before a supervisor's approval counts), so a person disabled, given
a new PIN or another role while signed in can do nothing more — nor can a session the shared PIN opened once the
first staff account exists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ["KIOSK_ID", "MAX_PIN_FAILURES", "MAX_STAFF_LOCKOUT", "STAFF_LOCKOUT", "MemoryLockout", "SignIn",
           "StaffMember", "UnlockResult", "account_stamp", "lockout_for"]

#: wrong PINs in a row (one staff number) before unlocking is refused for STAFF_LOCKOUT
MAX_PIN_FAILURES = 3
STAFF_LOCKOUT = timedelta(seconds=30)
#: the longest lockout (each wrong PIN past the free ones doubles it up to this)
MAX_STAFF_LOCKOUT = timedelta(hours=1)
#: the ``pin_lockout`` key of the kiosk-wide count (no staff number looks like it)
KIOSK_ID = "*kiosk*"
_DUMMY_HASH = "scrypt$16384$8$1$00000000000000000000000000000000$" + "00" * 32


def lockout_for(failures: int, free: int = MAX_PIN_FAILURES) -> timedelta | None:
    """How long unlocking is refused after ``failures`` wrong PINs in a row (None: not locked)."""
    if failures < free:
        return None
    return min(STAFF_LOCKOUT * 2 ** min(failures - free, 16), MAX_STAFF_LOCKOUT)


class MemoryLockout:
    """Where the wrong-PIN counts live when no store is given (tests, tools): in memory, lost on restart."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[int, datetime | None]] = {}

    def pin_lockout(self, staff_id: str) -> tuple[int, datetime | None]:
        return self._state.get(staff_id, (0, None))

    def record_pin_failure(self, staff_id: str, failures: int, locked_until: datetime | None) -> None:
        self._state[staff_id] = (failures, locked_until)

    def clear_pin_failures(self, staff_id: str) -> None:
        self._state.pop(staff_id, None)


@dataclass(frozen=True)
class StaffMember:
    """Who is signed in: staff number (or the id typed with the shared PIN), name and role. ``stamp``: what their
    account was at sign-in (role, active, PIN hash; "" for the shared PIN), to tell when it changed since."""

    staff_id: str
    name: str
    role: str
    stamp: str = field(default="", repr=False, compare=False)


def account_stamp(account: Any) -> str:
    """A digest of what lets an account act (role, active, PIN hash): a session compares it on each action."""
    text = "\0".join((str(account.role), "1" if account.active else "0", str(account.pin_hash)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class UnlockResult:
    ok: bool
    wait_s: int = 0  # > 0: refused without checking, locked out for this long
    reason: str = ""  # refused: wrong_pin | unknown_staff | disabled | tampered | locked | kiosk_locked | no_pin
    member: StaffMember | None = None


class SignIn:
    """``check(pin, staff_id) -> UnlockResult``. ``accounts``: the store's staff accounts (``has_staff_accounts``,
    ``staff_account``) or None; ``legacy_check``: the shared PIN's check; ``lockout``: where counts are kept."""

    def __init__(self, *, accounts: Any, legacy_check: Callable[[str], bool], lockout: Any,
                 clock: Callable[[], datetime], kiosk_free_failures: int = 10, legacy_role: str = "supervisor",
                 check_hash: Callable[[str, str], bool] | None = None,
                 ticker: Callable[[], float] | None = None) -> None:
        if check_hash is None:
            from kiosk.config import check_pin as check_hash
        self._accounts, self._legacy_check, self._lockout = accounts, legacy_check, lockout
        self._clock, self._kiosk_free, self._legacy_role = clock, kiosk_free_failures, legacy_role
        self._check_hash = check_hash
        self._ticker = ticker
        self._steady: dict[str, float] = {}  # key -> the ticker's reading when its lockout (begun here) ends

    @property
    def personal(self) -> bool:
        """True once staff accounts exist (a staff number is needed; the shared PIN no longer works)."""
        return self._accounts is not None and self._accounts.has_staff_accounts()

    def _free(self, key: str) -> int:
        return self._kiosk_free if key == KIOSK_ID else MAX_PIN_FAILURES

    def _locked(self, key: str, now: datetime) -> int:
        """Seconds ``key`` stays locked: the stored deadline, moved to now + the lockout's own length when it lies
        further off (a clock set back), and never less than what is left of a lockout begun in this process on the
        steady ticker."""
        failures, until = self._lockout.pin_lockout(key)
        length = lockout_for(failures, self._free(key)) or MAX_STAFF_LOCKOUT
        if until is not None and until - now > length:  # the clock was set back: the lockout starts again from now
            until = now + length
            self._lockout.record_pin_failure(key, failures, until)
        left = (until - now).total_seconds() if until is not None and now < until else 0.0
        steady = self._steady.get(key)
        if steady is not None and self._ticker is not None:
            left = max(left, steady - self._ticker())
        return int(left) + 1 if left > 0 else 0

    def _fail(self, key: str, now: datetime) -> None:
        failures = self._lockout.pin_lockout(key)[0] + 1
        wait = lockout_for(failures, self._free(key))
        self._lockout.record_pin_failure(key, failures, now + wait if wait else None)
        if wait and self._ticker is not None:
            tick = self._ticker()
            self._steady = {k: end for k, end in self._steady.items() if end > tick}  # bounded: live ones only
            self._steady[key] = tick + wait.total_seconds()

    def _who(self, pin: str, staff_id: str) -> tuple[StaffMember | None, str]:
        """The member these credentials name, or ``(None, why not)``; always costs one scrypt check."""
        if not self.personal:
            ok = isinstance(pin, str) and self._legacy_check(pin)
            return (StaffMember(staff_id, staff_id, self._legacy_role), "") if ok else (None, "wrong_pin")
        account = self._accounts.staff_account(staff_id) if staff_id else None
        if account is None or not account.active or getattr(account, "sealed", None) is False:
            self._check_hash(pin if isinstance(pin, str) else "", _DUMMY_HASH)  # same time as a real check
            return None, ("unknown_staff" if account is None else "disabled" if not account.active else "tampered")
        if not (isinstance(pin, str) and self._check_hash(pin, account.pin_hash)):
            return None, "wrong_pin"
        return StaffMember(account.staff_no, account.name, account.role, account_stamp(account)), ""

    def changed(self, member: StaffMember) -> str | None:
        """Why ``member`` may not go on acting, their account read again: ``removed``, ``tampered`` (the row fails its
        seal), ``disabled``, ``role_changed`` or ``pin_reset`` (a new PIN, or disabled and enabled again), and for the
        shared PIN's (no account behind it) ``shared_pin_retired`` once staff accounts exist (it signs in no more, so
        what it opened goes no further); None: as when they signed in."""
        if not member.stamp:
            return "shared_pin_retired" if self.personal else None
        if self._accounts is None:
            return None
        account = self._accounts.staff_account(member.staff_id)
        if account is None:
            return "removed"
        if getattr(account, "sealed", None) is False:
            return "tampered"
        if not account.active:
            return "disabled"
        if account.role != member.role:
            return "role_changed"
        return "pin_reset" if account_stamp(account) != member.stamp else None

    def check(self, pin: str, staff_id: str) -> UnlockResult:
        """Are these the credentials of someone who may sign in? Counts failures; refuses while locked."""
        staff_id = str(staff_id or "").strip()[:32] or "staff"
        now = self._clock()
        wait = self._locked(KIOSK_ID, now)
        if wait:
            return UnlockResult(False, wait, "kiosk_locked")
        wait = self._locked(staff_id, now)
        if wait:
            return UnlockResult(False, wait, "locked")
        member, why = self._who(pin, staff_id)
        if member is None:
            self._fail(KIOSK_ID, now)
            if why != "tampered":  # counted per typed number, known or not: a lockout tells no number exists
                self._fail(staff_id, now)
            return UnlockResult(False, 0, why)
        for key in (staff_id, KIOSK_ID):
            self._steady.pop(key, None)
            if self._lockout.pin_lockout(key)[0]:
                self._lockout.clear_pin_failures(key)
        return UnlockResult(True, 0, "", member)
