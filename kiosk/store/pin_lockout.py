"""Wrong staff PINs, kept in the kiosk's own SQLite file so a restart (or a pulled plug) does not clear a lockout.

Keyed by staff id (``"staff"`` while the kiosk has one shared PIN; per person once staff have their own accounts).
The policy (how long to wait after how many failures) is :class:`kiosk.services.staff.StaffSession`'s; this only
stores ``(failures, locked_until)``.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from kiosk.domain.store_time import in_zone

__all__ = ["PinLockoutMixin", "migrate_pin_lockout"]


def migrate_pin_lockout(c: sqlite3.Connection) -> None:
    """Sales schema 4: wrong-PIN counts and lockouts per staff id."""
    c.execute("""
        CREATE TABLE pin_lockout (
            staff_id TEXT PRIMARY KEY NOT NULL,
            failures INTEGER NOT NULL CHECK (failures >= 0),
            locked_until TEXT,
            last_failure_at TEXT NOT NULL
        )""")


class PinLockoutMixin:
    def pin_lockout(self, staff_id: str) -> tuple[int, datetime | None]:
        """``(wrong PINs in a row, locked until)`` for ``staff_id`` (``(0, None)``: none)."""
        with self._lock:
            row = self._conn.execute("SELECT failures, locked_until FROM pin_lockout WHERE staff_id = ?",
                                     (staff_id,)).fetchone()
        if row is None:
            return 0, None
        return row["failures"], datetime.fromisoformat(row["locked_until"]) if row["locked_until"] else None

    def record_pin_failure(self, staff_id: str, failures: int, locked_until: datetime | None) -> None:
        with self._tx() as c:
            c.execute("INSERT INTO pin_lockout (staff_id, failures, locked_until, last_failure_at) VALUES (?, ?, ?, ?)"
                      " ON CONFLICT(staff_id) DO UPDATE SET failures = excluded.failures,"
                      " locked_until = excluded.locked_until, last_failure_at = excluded.last_failure_at",
                      (staff_id, failures, in_zone(locked_until, self.tz).isoformat() if locked_until else None,
                       self._time()))

    def clear_pin_failures(self, staff_id: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM pin_lockout WHERE staff_id = ?", (staff_id,))
