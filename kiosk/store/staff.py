"""Staff accounts in the kiosk's own SQLite file: a staff number per person, name, role, PIN hash, active or not.

The PIN is stored only as a salted scrypt hash (``kiosk.config.hash_pin``: a fresh 16-byte salt per PIN). Every
change — an account added, disabled, enabled, its PIN reset — is audited in the same transaction
(:mod:`kiosk.store.audit`). Wrong PINs are counted per staff number in ``pin_lockout``
(:mod:`kiosk.store.pin_lockout`); resetting a PIN clears that count.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

__all__ = ["FIRST_STAFF_NO", "StaffAccount", "StaffAccountsMixin", "migrate_staff_accounts"]

#: the first staff number handed out (three digits: quick to type on the pad)
FIRST_STAFF_NO = 101


def migrate_staff_accounts(c: sqlite3.Connection) -> None:
    """Sales schema 6 (with the audit log): one row per person."""
    c.execute("""
        CREATE TABLE staff_accounts (
            staff_no TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            pin_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""")
    c.execute("CREATE UNIQUE INDEX staff_accounts_name ON staff_accounts(lower(name))")


@dataclass(frozen=True, slots=True)
class StaffAccount:
    staff_no: str
    name: str
    role: str
    pin_hash: str
    active: bool
    created_at: str
    updated_at: str

    @classmethod
    def _from_row(cls, r: sqlite3.Row) -> StaffAccount:
        return cls(r["staff_no"], r["name"], r["role"], r["pin_hash"], bool(r["active"]), r["created_at"],
                   r["updated_at"])

    def public(self) -> dict:
        """What may be shown or printed (no PIN hash)."""
        return {"staff_no": self.staff_no, "name": self.name, "role": self.role, "active": self.active,
                "created_at": self.created_at, "updated_at": self.updated_at}



def _pin_sha256(pin_hash: str) -> str:
    """What the audit log keeps of a PIN: the SHA-256 of its salted scrypt hash (``checkout audit verify`` holds the
    stored hash to it; neither the PIN nor its hash is in the log)."""
    return hashlib.sha256(pin_hash.encode("utf-8")).hexdigest()

class StaffAccountsMixin:
    """Staff accounts of :class:`~kiosk.store.sales.SalesStore` (its ``_tx``, ``_lock``, ``_conn``, ``_audit``)."""

    def add_staff(self, name: str, role: str, pin_hash: str, *, by: str) -> StaffAccount:
        """A new account with the next free staff number; a name already used (any case) raises ValueError."""
        with self._tx() as c:
            if c.execute("SELECT 1 FROM staff_accounts WHERE lower(name) = lower(?)", (name,)).fetchone():
                raise ValueError(f"a staff account named {name!r} exists already")
            last = c.execute("SELECT max(CAST(staff_no AS INTEGER)) FROM staff_accounts").fetchone()[0]
            staff_no = str(max(FIRST_STAFF_NO, (last or 0) + 1))
            now = self._time()
            c.execute("INSERT INTO staff_accounts (staff_no, name, role, pin_hash, active, created_at, updated_at)"
                      " VALUES (?, ?, ?, ?, 1, ?, ?)", (staff_no, name, role, pin_hash, now, now))
            self._audit(c, "staff.account_added", by, {"staff_no": staff_no, "name": name, "role": role,
                                                       "pin_sha256": _pin_sha256(pin_hash)})
            return self._account(c, staff_no)

    @staticmethod
    def _account(c: sqlite3.Connection, staff_no: str) -> StaffAccount:
        row = c.execute("SELECT * FROM staff_accounts WHERE staff_no = ?", (staff_no,)).fetchone()
        if row is None:
            raise KeyError(staff_no)
        return StaffAccount._from_row(row)

    def staff_account(self, staff_no: str) -> StaffAccount | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM staff_accounts WHERE staff_no = ?", (str(staff_no),)).fetchone()
        return StaffAccount._from_row(row) if row else None

    def find_staff(self, number_or_name: str) -> StaffAccount | None:
        """An account by staff number, or by name (any case)."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM staff_accounts WHERE staff_no = ? OR lower(name) = lower(?)",
                                     (number_or_name, number_or_name)).fetchone()
        return StaffAccount._from_row(row) if row else None

    def staff_accounts(self) -> list[StaffAccount]:
        with self._lock:
            return [StaffAccount._from_row(r) for r in self._conn.execute(
                "SELECT * FROM staff_accounts ORDER BY CAST(staff_no AS INTEGER)")]

    def has_staff_accounts(self) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM staff_accounts LIMIT 1").fetchone() is not None

    def set_staff_active(self, staff_no: str, active: bool, *, by: str) -> StaffAccount:
        with self._tx() as c:
            account = self._account(c, staff_no)
            c.execute("UPDATE staff_accounts SET active = ?, updated_at = ? WHERE staff_no = ?",
                      (int(active), self._time(), staff_no))
            self._audit(c, "staff.account_enabled" if active else "staff.account_disabled", by,
                        {"staff_no": staff_no, "name": account.name, "role": account.role})
            return self._account(c, staff_no)

    def set_staff_pin(self, staff_no: str, pin_hash: str, *, by: str) -> StaffAccount:
        """A new PIN hash; the wrong-PIN count of that number is cleared with it."""
        with self._tx() as c:
            account = self._account(c, staff_no)
            c.execute("UPDATE staff_accounts SET pin_hash = ?, updated_at = ? WHERE staff_no = ?",
                      (pin_hash, self._time(), staff_no))
            c.execute("DELETE FROM pin_lockout WHERE staff_id = ?", (staff_no,))
            self._audit(c, "staff.pin_reset", by, {"staff_no": staff_no, "name": account.name,
                                                   "pin_sha256": _pin_sha256(pin_hash)})
            return self._account(c, staff_no)
