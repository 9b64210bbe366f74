"""Staff accounts in the kiosk's own SQLite file: a staff number per person, name, role, PIN hash, active or not.

The PIN is stored only as a salted scrypt hash (``kiosk.config.hash_pin``: a fresh 16-byte salt per PIN). Every
change — an account added, disabled, enabled, its PIN reset — is audited in the same transaction
(:mod:`kiosk.store.audit`). Wrong PINs are counted per staff number in ``pin_lockout``
(:mod:`kiosk.store.pin_lockout`); resetting a PIN clears that count.

**Sealed.** Each row carries a MAC (``mac``) of its number, name, role, active flag and PIN hash under the kiosk's
audit key (:func:`account_mac`; the key lives outside the file), so a row edited by hand — an assistant made
supervisor, a disabled account enabled, another PIN hash — no longer matches: :attr:`StaffAccount.sealed` is False,
sign-in refuses it (:mod:`kiosk.staff.signin`), ``staff enable|disable`` refuse to touch it and ``checkout audit
verify`` names it. Rows made before seals existed are sealed at the first open with the key, and only when they are
what the account's own MAC-checked audit rows say (name, role, active, PIN hash where a row holds its SHA-256);
``staff reset-pin`` puts a row that fails its seal back to what those rows say, with the new PIN, and seals it.

**Names.** Two accounts may not have names that read the same: ``name_key``
(:func:`kiosk.domain.staff_names.name_key`: NFKC, case-folded, invisible characters dropped, Latin look-alikes read as
Latin) is unique, and a name is found by it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from dataclasses import dataclass, field, replace
from typing import Any

from kiosk.domain.staff_names import name_key
from kiosk.exchange.audit import content_hash, key_id, mac_of
from kiosk.store.audit import row_dict

__all__ = ["FIRST_STAFF_NO", "StaffAccount", "StaffAccountsMixin", "account_mac", "migrate_staff_accounts",
           "migrate_staff_name_key", "migrate_staff_seal"]

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


def migrate_staff_seal(c: sqlite3.Connection) -> None:
    """Sales schema 8: each account row's MAC under the audit key ('' until the first open with the key seals it)."""
    c.execute("ALTER TABLE staff_accounts ADD COLUMN mac TEXT NOT NULL DEFAULT ''")


def migrate_staff_name_key(c: sqlite3.Connection) -> None:
    """Sales schema 9: each account's :func:`~kiosk.domain.staff_names.name_key`, unique (look-alike names were two
    accounts). Look-alikes already there keep their accounts; each after the first gets a key of its own (its staff
    number added), so a third can no longer be made and the first is the one a name finds."""
    c.execute("ALTER TABLE staff_accounts ADD COLUMN name_key TEXT")
    seen: set[str] = set()
    for r in c.execute("SELECT staff_no, name FROM staff_accounts ORDER BY CAST(staff_no AS INTEGER)").fetchall():
        key = name_key(str(r[1]))
        if key in seen:
            key = f"{key}\x00{r[0]}"
        seen.add(key)
        c.execute("UPDATE staff_accounts SET name_key = ? WHERE staff_no = ?", (key, r[0]))
    c.execute("CREATE UNIQUE INDEX staff_accounts_name_key ON staff_accounts(name_key)")


def account_mac(key: bytes, staff_no: Any, name: Any, role: Any, active: Any, pin_hash: Any) -> str:
    """The MAC of an account row's number, name, role, active flag and PIN hash under the kiosk's audit ``key``."""
    doc = json.dumps(["kiosk staff account 1", str(staff_no), str(name), str(role), bool(active), str(pin_hash)],
                     ensure_ascii=True, separators=(",", ":"))
    return hmac.new(key, doc.encode("ascii"), hashlib.sha256).hexdigest()


#: the audit rows that make and change an account (``kiosk.audit.check_staff`` replays the same)
STAFF_KINDS = ("staff.account_added", "staff.account_enabled", "staff.account_disabled", "staff.pin_reset",
               "staff.role_changed")


@dataclass(frozen=True, slots=True)
class StaffAccount:
    staff_no: str
    name: str
    role: str
    pin_hash: str
    active: bool
    created_at: str
    updated_at: str
    #: the row matches its MAC under the kiosk's audit key (None: not checked here, a store opened without the key)
    sealed: bool | None = field(default=None, compare=False)

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


def _genuine(row: dict, key: bytes) -> bool:
    """An audit row MACed with ``key`` whose content is what it was sealed with (rows under another key, or forged
    into the file, are not)."""
    try:
        return (row["key_id"] == key_id(key) and content_hash(row) == row["hash"]
                and hmac.compare_digest(mac_of(key, row["hash"]), str(row["mac"])))
    except (KeyError, TypeError, ValueError):
        return False


def _history(c: sqlite3.Connection, key: bytes) -> dict[str, dict]:
    """Per staff number, what its genuine audit rows (:func:`_genuine`) say it is: name, role, active, and the SHA-256
    of its PIN hash (None where no row holds it)."""
    marks = ", ".join("?" * len(STAFF_KINDS))
    out: dict[str, dict] = {}
    for r in c.execute(f"SELECT * FROM audit_log WHERE kind IN ({marks}) ORDER BY id", STAFF_KINDS):
        row = row_dict(r)
        d = row["detail"]
        if not isinstance(d, dict) or not _genuine(row, key):
            continue
        no, kind = str(d.get("staff_no")), row["kind"]
        if kind == "staff.account_added":
            out[no] = {"name": d.get("name"), "role": d.get("role"), "active": True, "pin": d.get("pin_sha256")}
            continue
        if no not in out:
            continue
        if kind in ("staff.account_enabled", "staff.account_disabled"):
            out[no]["active"] = kind == "staff.account_enabled"
        if kind == "staff.pin_reset":
            out[no]["pin"] = d.get("pin_sha256")
        if "role" in d:
            out[no]["role"] = d["role"]
    return out


def _as_history_says(r: sqlite3.Row, said: dict | None) -> bool:
    """Is the account row what its audit rows say (the PIN hash too, where they hold its SHA-256)?"""
    return said is not None and (said["name"], said["role"], said["active"]) == (r["name"], r["role"], bool(
        r["active"])) and (said["pin"] is None or said["pin"] == _pin_sha256(str(r["pin_hash"])))


class StaffAccountsMixin:
    """Staff accounts of :class:`~kiosk.store.sales.SalesStore` (its ``_tx``, ``_lock``, ``_conn``, ``_audit``,
    ``_audit_key``)."""

    def _seal(self, staff_no: Any, name: Any, role: Any, active: Any, pin_hash: Any) -> str:
        return account_mac(self._audit_key, staff_no, name, role, active, pin_hash)

    def _staff_row(self, r: sqlite3.Row) -> StaffAccount:
        """The account of a row, with whether it matches its seal (None: opened without the key)."""
        account = StaffAccount._from_row(r)
        if not self._audit_key:
            return account
        want = self._seal(r["staff_no"], r["name"], r["role"], r["active"], r["pin_hash"])
        return replace(account, sealed=hmac.compare_digest(str(r["mac"]), want))

    def _seal_staff_accounts(self) -> list[str]:
        """Seal the rows made before seals existed (``mac`` empty) that are what their genuine audit rows say; one
        ``staff.accounts_sealed`` row names them and those left unsealed (refused until ``staff reset-pin``)."""
        with self._lock:
            if self._conn.execute("SELECT 1 FROM staff_accounts WHERE mac = '' LIMIT 1").fetchone() is None:
                return []
        with self._tx() as c:
            history = _history(c, self._audit_key)
            sealed, left = [], []
            for r in c.execute("SELECT * FROM staff_accounts WHERE mac = '' ORDER BY CAST(staff_no AS INTEGER)"):
                if not _as_history_says(r, history.get(str(r["staff_no"]))):
                    left.append(str(r["staff_no"]))
                    continue
                c.execute("UPDATE staff_accounts SET mac = ? WHERE staff_no = ?",
                          (self._seal(r["staff_no"], r["name"], r["role"], r["active"], r["pin_hash"]), r["staff_no"]))
                sealed.append(str(r["staff_no"]))
            if sealed:  # (rows left unsealed are named each time verify runs, not at each open)
                self._audit(c, "staff.accounts_sealed", "kiosk", {"sealed": sealed, "not_as_audited": left})
        return sealed

    def _reseal(self, c: sqlite3.Connection, staff_no: str) -> StaffAccount:
        r = c.execute("SELECT * FROM staff_accounts WHERE staff_no = ?", (staff_no,)).fetchone()
        c.execute("UPDATE staff_accounts SET mac = ? WHERE staff_no = ?",
                  (self._seal(r["staff_no"], r["name"], r["role"], r["active"], r["pin_hash"]), staff_no))
        return self._account(c, staff_no)

    def add_staff(self, name: str, role: str, pin_hash: str, *, by: str) -> StaffAccount:
        """A new account with the next free staff number; a name already used (any case) raises ValueError."""
        with self._tx() as c:
            same = c.execute("SELECT staff_no, name FROM staff_accounts WHERE name_key = ? OR lower(name) = lower(?)",
                             (name_key(name), name)).fetchone()
            if same:
                raise ValueError(f"a staff account named {name!r} exists already"
                                 + ("" if same["name"] == name else f" (staff number {same['staff_no']}, "
                                                                    f"{same['name']!r}: the same name to a reader)"))
            last = c.execute("SELECT max(CAST(staff_no AS INTEGER)) FROM staff_accounts").fetchone()[0]
            staff_no = str(max(FIRST_STAFF_NO, (last or 0) + 1))
            now = self._time()
            c.execute("INSERT INTO staff_accounts (staff_no, name, role, pin_hash, active, created_at, updated_at,"
                      " mac, name_key) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?)",
                      (staff_no, name, role, pin_hash, now, now, self._seal(staff_no, name, role, True, pin_hash),
                       name_key(name)))
            self._audit(c, "staff.account_added", by, {"staff_no": staff_no, "name": name, "role": role,
                                                       "pin_sha256": _pin_sha256(pin_hash)})
            return self._account(c, staff_no)

    def _account(self, c: sqlite3.Connection, staff_no: str) -> StaffAccount:
        row = c.execute("SELECT * FROM staff_accounts WHERE staff_no = ?", (staff_no,)).fetchone()
        if row is None:
            raise KeyError(staff_no)
        return self._staff_row(row)

    def _unsealed(self, account: StaffAccount) -> ValueError:
        return ValueError(f"staff account {account.staff_no} was changed outside the kiosk (it does not match its "
                          f"seal under the audit key): nothing changed; `checkout audit verify` names what differs, "
                          f"`checkout staff reset-pin {account.staff_no}` puts it back as the audit log has it, with a "
                          f"new PIN")

    def staff_account(self, staff_no: str) -> StaffAccount | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM staff_accounts WHERE staff_no = ?", (str(staff_no),)).fetchone()
        return self._staff_row(row) if row else None

    def find_staff(self, number_or_name: str) -> StaffAccount | None:
        """An account by staff number, or by name (as :func:`~kiosk.domain.staff_names.name_key` compares names: any
        case)."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM staff_accounts WHERE staff_no = ? OR name_key = ? ORDER BY "
                                     "staff_no <> ?, CAST(staff_no AS INTEGER) LIMIT 1",
                                     (number_or_name, name_key(number_or_name), number_or_name)).fetchone()
        return self._staff_row(row) if row else None

    def staff_accounts(self) -> list[StaffAccount]:
        with self._lock:
            return [self._staff_row(r) for r in self._conn.execute(
                "SELECT * FROM staff_accounts ORDER BY CAST(staff_no AS INTEGER)")]

    def has_staff_accounts(self) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM staff_accounts LIMIT 1").fetchone() is not None

    def set_staff_active(self, staff_no: str, active: bool, *, by: str, pin_hash: str | None = None) -> StaffAccount:
        """Disable an account, or enable it with a new PIN hash (``pin_hash``: the PIN it had ends with the disable,
        audited as a ``staff.pin_reset`` too, its wrong-PIN count cleared); one that fails its seal, or enabling
        without a new PIN, raises ValueError (nothing changed)."""
        if active and not pin_hash:
            raise ValueError(f"staff account {staff_no}: enabling it takes a new PIN (the old one ended with the "
                             f"disable)")
        with self._tx() as c:
            account = self._account(c, staff_no)
            if account.sealed is False:
                raise self._unsealed(account)
            c.execute("UPDATE staff_accounts SET active = ?, updated_at = ? WHERE staff_no = ?",
                      (int(active), self._time(), staff_no))
            self._audit(c, "staff.account_enabled" if active else "staff.account_disabled", by,
                        {"staff_no": staff_no, "name": account.name, "role": account.role})
            if active:
                c.execute("UPDATE staff_accounts SET pin_hash = ? WHERE staff_no = ?", (pin_hash, staff_no))
                c.execute("DELETE FROM pin_lockout WHERE staff_id = ?", (staff_no,))
                self._audit(c, "staff.pin_reset", by, {"staff_no": staff_no, "name": account.name, "reason": "enabled",
                                                       "pin_sha256": _pin_sha256(pin_hash)})
            return self._reseal(c, staff_no)

    def _put_back(self, c: sqlite3.Connection, account: StaffAccount) -> dict[str, Any]:
        """An account that fails its seal, as its genuine audit rows say it is (name, role, active); what the PIN
        reset's audit row says of it. With no such rows (made before the log was re-keyed) it stays as found: the
        manager resetting its PIN vouches for it, and the row says so with its role."""
        said = _history(c, self._audit_key).get(str(account.staff_no))
        if said is None:
            return {"role": account.role, "resealed_as_found": True}
        now = {"name": account.name, "role": account.role, "active": account.active}
        c.execute("UPDATE staff_accounts SET name = ?, role = ?, active = ? WHERE staff_no = ?",
                  (said["name"], said["role"], int(said["active"]), account.staff_no))
        return {"role": said["role"], "put_back": {k: said[k] for k, v in now.items() if said[k] != v}}

    def set_staff_pin(self, staff_no: str, pin_hash: str, *, by: str) -> StaffAccount:
        """A new PIN hash; the wrong-PIN count of that number is cleared with it. An account that fails its seal is
        put back as its audit rows say first (:meth:`_put_back`), then sealed again."""
        with self._tx() as c:
            account = self._account(c, staff_no)
            extra = self._put_back(c, account) if account.sealed is False else {}
            name = c.execute("SELECT name FROM staff_accounts WHERE staff_no = ?", (staff_no,)).fetchone()[0]
            c.execute("UPDATE staff_accounts SET pin_hash = ?, updated_at = ? WHERE staff_no = ?",
                      (pin_hash, self._time(), staff_no))
            c.execute("DELETE FROM pin_lockout WHERE staff_id = ?", (staff_no,))
            self._audit(c, "staff.pin_reset", by, {"staff_no": staff_no, "name": name,
                                                   "pin_sha256": _pin_sha256(pin_hash), **extra})
            return self._reseal(c, staff_no)
