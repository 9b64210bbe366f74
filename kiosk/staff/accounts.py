"""Staff accounts as head of a store manages them: add a person with a role and a PIN, list, disable, enable (with a
new PIN: the one it had ended with the disable), reset a PIN. Over :class:`~kiosk.store.staff.StaffAccountsMixin`
(the kiosk's SQLite file); every change audited.

A PIN is 4–12 digits and not one anyone would guess first (all one digit, a straight run like 1234 or 9876); it is
stored only as a salted scrypt hash (:func:`kiosk.config.hash_pin`, a fresh salt per PIN) and never printed.
"""

from __future__ import annotations

import unicodedata

from kiosk.domain.staff_names import name_problem
from kiosk.errors import UserError
from kiosk.staff.rules import ROLES

__all__ = ["StaffAccountError", "add_account", "check_name", "pin_problem", "reset_pin", "set_active"]

MAX_NAME = 40


class StaffAccountError(UserError):
    """A staff account that cannot be made or changed as asked (names the account and the reason)."""


def pin_problem(pin: str) -> str | None:
    """Why ``pin`` will not do as a staff PIN (None: it will)."""
    if not isinstance(pin, str) or not pin.isascii() or not pin.isdigit() or not 4 <= len(pin) <= 12:
        return "a staff PIN must be 4-12 digits"
    if len(set(pin)) == 1:
        return "a staff PIN must not be one digit repeated"
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    if steps in ({1}, {9}):
        return "a staff PIN must not be a straight run of digits (each one up or down from the last)"
    return None


def check_name(name: str) -> str:
    """A person's name as stored: one printable line, NFC, at most 40 characters, nothing invisible, one script per
    word, a few combining marks per letter at most (:func:`kiosk.domain.staff_names.name_problem`); two names are the
    same when their :func:`~kiosk.domain.staff_names.name_key` is (the store refuses the second)."""
    cleaned = unicodedata.normalize("NFC", " ".join(str(name).split()))
    if not cleaned or len(cleaned) > MAX_NAME or not cleaned.isprintable() or cleaned.isdigit():
        raise StaffAccountError(f"staff name {str(name)[:60]!r}: 1-{MAX_NAME} printable characters, not only digits")
    problem = name_problem(cleaned)
    if problem:
        raise StaffAccountError(f"staff name {str(name)[:60]!r}: {problem} (a name must read as only itself)")
    return cleaned


def _hash(pin: str) -> str:
    from kiosk.config import hash_pin

    problem = pin_problem(pin)
    if problem:
        raise StaffAccountError(problem)
    return hash_pin(pin)


def add_account(store, name: str, role: str, pin: str, *, by: str):
    """A new account (the next staff number); returns it."""
    if role not in ROLES:
        raise StaffAccountError(f"role {role!r}: one of {', '.join(ROLES)}")
    name = check_name(name)
    try:
        return store.add_staff(name, role, _hash(pin), by=by)
    except ValueError as exc:
        raise StaffAccountError(f"{store.path}: {exc}") from None


def _find(store, who: str):
    account = store.find_staff(str(who).strip())
    if account is None:
        raise StaffAccountError(f"{store.path}: no staff account {who!r} (a staff number or a name)")
    return account


def set_active(store, who: str, active: bool, *, by: str, pin: str | None = None):
    """Disable an account, or enable it with a new ``pin`` (not the one it had: a PIN someone learnt before the
    disable must not come back with the account). One edited outside the kiosk is refused (``reset-pin`` puts it
    back)."""
    from kiosk.config import check_pin

    account = _find(store, who)
    pin_hash = None
    if active:
        if pin is None:
            raise StaffAccountError(f"{store.path}: enabling staff account {account.staff_no} takes a new PIN (the old "
                                    f"one ended with the disable)")
        pin_hash = _hash(pin)
        if check_pin(pin, account.pin_hash):
            raise StaffAccountError(f"{store.path}: staff account {account.staff_no}: the new PIN must not be the "
                                    f"one it had")
    try:
        return store.set_staff_active(account.staff_no, active, by=by, pin_hash=pin_hash)
    except ValueError as exc:
        raise StaffAccountError(f"{store.path}: {exc}") from None


def reset_pin(store, who: str, pin: str, *, by: str):
    """A new PIN; an account edited outside the kiosk is put back as its audit rows say, then sealed again."""
    try:
        return store.set_staff_pin(_find(store, who).staff_no, _hash(pin), by=by)
    except ValueError as exc:
        raise StaffAccountError(f"{store.path}: {exc}") from None
