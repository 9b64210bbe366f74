"""``checkout audit verify``'s staff and receipt-print cross-checks: each row of ``staff_accounts`` and
``receipt_prints`` is what the audit rows that made and changed it say, and each staff change to a line has the row
of the action that made it (:func:`change_findings`).

A staff account is replayed from ``staff.account_added`` / ``staff.account_enabled`` / ``staff.account_disabled`` /
``staff.pin_reset`` (and a ``role`` in any later staff row of it): number, name, role, active, when it was made and
last changed. The PIN hash itself is not in those rows; a row that holds its SHA-256 (``pin_sha256``) vouches for it,
and a row without one vouches only for *when* it changed (``updated_at``): a hash swapped by hand with its time left
alone is caught only under rows that hold ``pin_sha256``.

With the kiosk's key, each row must also match its seal (:func:`kiosk.store.staff.account_mac`): an edit made and
put back leaves the seal alone, but one still there — a name, role, active flag or PIN hash written by hand — does
not. And since an edit can be made, used and put back between two looks, every sign-in and approval is held to the
account as its rows stood at that moment (:func:`act_findings`): a ``staff.signin`` whose role is not the account's,
or by an account disabled then, or an approval by someone who was not an active supervisor, is named.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import defaultdict

from kiosk.audit.witness import Log, apart, guarded
from kiosk.store.staff import account_mac

__all__ = ["act_findings", "change_findings", "print_findings", "staff_findings"]

_STAFF = ("staff.account_added", "staff.account_enabled", "staff.account_disabled", "staff.pin_reset",
          "staff.role_changed")
_PRINTS = {"shown": "receipt.shown", "reprint": "receipt.reprinted"}


def _replay(log: Log) -> dict[str, dict]:
    """Per staff number: the rows that made it, changed it last, set its role, its active flag and its PIN."""
    accounts: dict[str, dict] = {}
    for r in log.of(*_STAFF):
        no = str(r["detail"].get("staff_no"))
        a = accounts.setdefault(no, {"added": None, "last": r, "role": None, "active": None, "pin": None})
        a["last"] = r
        if r["kind"] == "staff.account_added":
            a.update(added=r, role=r, active=r, pin=r)
        elif r["kind"] in ("staff.account_enabled", "staff.account_disabled"):
            a["active"] = r
        elif r["kind"] == "staff.pin_reset":
            a["pin"] = r
        if "role" in r["detail"] and r["kind"] != "staff.account_added":
            a["role"] = r
    return accounts


def _seal(s: sqlite3.Row, key: bytes | None) -> list[str]:
    """The row against its seal under ``key`` (no key, or a file from before seals: nothing to say)."""
    if not key or "mac" not in s.keys():
        return []
    no = s["staff_no"]
    if not s["mac"]:
        return [f"unsealed: staff account {no} has no seal (the kiosk seals a row only when it is what its audit rows "
                f"say; `checkout staff reset-pin {no}` puts it back)"]
    if s["mac"] != account_mac(key, no, s["name"], s["role"], s["active"], s["pin_hash"]):
        return [f"edited: staff account {no} does not match its seal (its name, role, active flag or PIN hash was "
                f"changed outside the kiosk)"]
    return []


def staff_findings(conn: sqlite3.Connection, log: Log, key: bytes | None = None) -> list[str]:
    """Each account row against its audit rows and (with the kiosk's ``key``) its seal; and every sign-in and approval
    against the accounts as they stood (:func:`act_findings`)."""
    accounts, out, seen = _replay(log), act_findings(log), set()
    for s in conn.execute("SELECT * FROM staff_accounts ORDER BY CAST(staff_no AS INTEGER)"):
        no = str(s["staff_no"])
        seen.add(no)
        out += guarded(f"staff account {no!r}", _seal, s, key)
        a = accounts.get(no)
        if a is None or a["added"] is None:
            out.append(f"inserted: staff account {no} ({s['name']}, {s['role']}) has no staff.account_added audit row")
            continue
        out += guarded(f"staff account {no!r}", _account, s, a)
    out += [f"deleted: staff account {no} ({a['added']['detail'].get('name')}) added in audit row "
            f"{a['added']['seq']} is not in staff_accounts" for no, a in accounts.items()
            if a["added"] is not None and no not in seen]
    return out


def act_findings(log: Log) -> list[str]:
    """Sign-ins and approvals against the accounts as their audit rows had them at that moment: a ``staff.signin``
    with another role than the account's, or by a disabled account; a ``staff.approval`` by someone who was not an
    active supervisor (the shared PIN's sign-ins, with no account behind them, are not held to one)."""
    state: dict[str, dict] = {}
    out = []
    for r in log.of(*_STAFF, "staff.signin", "staff.approval"):
        d, kind = r["detail"], r["kind"]
        if kind in _STAFF:
            a = state.setdefault(str(d.get("staff_no")), {"role": None, "active": True})
            if kind in ("staff.account_enabled", "staff.account_disabled"):
                a["active"] = kind == "staff.account_enabled"
            if "role" in d:
                a["role"] = d["role"]
            continue
        a = state.get(str(r["actor"]))
        if a is None:
            continue
        what = f"audit row {r['seq']} ({kind} by {r['actor']} at {r['at']})"
        if not a["active"]:
            out.append(f"edited: {what}: the account was disabled then")
        elif kind == "staff.signin" and d.get("role") != a["role"]:
            out.append(f"edited: {what} as {d.get('role')!r}: the account was {a['role']!r} then (its row was "
                       f"changed by hand for it)")
        elif kind == "staff.approval" and a["role"] != "supervisor":
            out.append(f"edited: {what}: the account was {a['role']!r} then, not a supervisor (its row was changed "
                       f"by hand for it)")
    return out


def _account(s: sqlite3.Row, a: dict) -> list[str]:
    no, out = s["staff_no"], []
    added, role_row = a["added"], a["role"]
    if added["detail"].get("name") != s["name"]:
        out.append(f"edited: staff account {no} name {s['name']!r} in staff_accounts, "
                   f"{added['detail'].get('name')!r} in audit row {added['seq']}")
    if role_row["detail"].get("role") != s["role"]:
        out.append(f"edited: staff account {no} role is {s['role']!r} in staff_accounts, "
                   f"{role_row['detail'].get('role')!r} in audit row {role_row['seq']}")
    act = a["active"]
    active = act["kind"] != "staff.account_disabled"
    if bool(s["active"]) != active:
        said = ("active", "disabled") if s["active"] else ("disabled", "active")
        out.append(f"edited: staff account {no} is {said[0]} in staff_accounts, {said[1]} in audit row {act['seq']}")
    if apart(s["created_at"], added["at"]):
        out.append(f"edited: staff account {no} created at {s['created_at']}, audit row {added['seq']} at "
                   f"{added['at']}")
    if apart(s["updated_at"], a["last"]["at"]):
        out.append(f"edited: staff account {no} changed at {s['updated_at']} in staff_accounts, its last audit row "
                   f"{a['last']['seq']} at {a['last']['at']}")
    pin = a["pin"]["detail"].get("pin_sha256")
    if pin is not None and hashlib.sha256(str(s["pin_hash"]).encode()).hexdigest() != pin:
        out.append(f"edited: staff account {no} PIN hash is not the one in audit row {a['pin']['seq']}")
    return out


def _print(p: sqlite3.Row, rows: dict[tuple, list[dict]], log: Log) -> list[str]:
    what = f"{p['kind']} of {p['receipt_no']} by {p['by']} at {p['at']}"
    todo = rows.get((p["kind"], p["receipt_no"], p["by"]))
    if not todo:
        if p["by"] == "before-upgrade" or log.before_log(p["at"]):
            return []
        return [f"missing: receipt print {p['id']} ({what}) has no {_PRINTS.get(p['kind'], 'receipt.*')} audit row"]
    r = todo.pop(0)
    if apart(p["at"], r["at"]):
        return [f"edited: receipt print {p['id']} ({what}): audit row {r['seq']} is at {r['at']}"]
    return []


def print_findings(conn: sqlite3.Connection, log: Log) -> list[str]:
    """Each shown/reprinted receipt in ``receipt_prints`` has its ``receipt.shown``/``receipt.reprinted`` row (same
    receipt, who, time), and each such row its print."""
    rows: dict[tuple, list[dict]] = defaultdict(list)
    for kind, audit_kind in _PRINTS.items():
        for r in log.of(audit_kind):
            rows[(kind, r["detail"].get("receipt_no"), r["actor"])].append(r)
    out = []
    for p in conn.execute("SELECT * FROM receipt_prints ORDER BY id"):
        out += guarded(f"receipt print {p['id']}", _print, p, rows, log)
    out += [f"deleted: receipt print ({kind} of {no} by {who}) of audit row {r['seq']} is not in receipt_prints"
            for (kind, no, who), left in rows.items() for r in left]
    return out


def change_findings(log: Log) -> list[str]:
    """Each staff change to a line has its action's row, which says who approved it (``approved_by``): a line put in
    another's place (``line.add`` with ``replaces``) its ``staff.override`` or ``staff.correction``, a line staff took
    off its ``staff.remove``, one a shopper's removal took off with staff's approval its ``removal_approved``, a line
    staff let on the bill (a ``line.add`` by them) its ``staff.resolve``, a line staff voided its ``staff.void``
    (:func:`_void_findings`). The kiosk writes both in one transaction; a file from before that, cut between the two
    by a crash, is named here."""
    overrides = {r["detail"].get("new_line_id") for r in log.of("staff.override")}
    corrected = {r["detail"].get("line_id") for r in log.of("staff.correction")}
    removed = {r["detail"].get("line_id") for r in log.of("staff.remove")}
    approved = {r["detail"].get("removed", r["detail"].get("line_id")) for r in log.of("removal_approved")}
    resolved = {r["detail"].get("line_id") for r in log.of("staff.resolve")}
    out = _void_findings(log)
    for r in log.of("line.add", "line.remove"):
        d, actor = r["detail"], str(r["actor"])
        line, what = d.get("line_id"), f"audit row {r['seq']} ({r['kind']} by {actor} at {r['at']})"
        if r["kind"] == "line.add":
            if d.get("replaces") and line not in overrides and d.get("replaces") not in corrected:
                out.append(f"missing: {what} puts line {str(line)[:12]} in the place of line "
                           f"{str(d.get('replaces'))[:12]}, with no staff.override or staff.correction row saying who "
                           f"approved it")
            elif not d.get("replaces") and actor != "shopper" and line not in resolved:
                out.append(f"missing: {what} adds line {str(line)[:12]} with no staff.resolve row saying which staff "
                           f"member let it on the bill")
        elif actor.startswith("shopper, approved by"):
            if line not in approved:
                out.append(f"missing: {what} takes line {str(line)[:12]} off with no removal_approved row saying who "
                           f"approved it")
        elif actor != "shopper" and line not in removed:
            out.append(f"missing: {what} takes line {str(line)[:12]} off with no staff.remove row saying who approved "
                       f"it")
    return out


def _void_findings(log: Log) -> list[str]:
    """Each line staff voided (a ``line.void`` whose line no other took the place of) has its ``staff.void`` row --
    from the first void the log shows audited without an approval (``approved_by`` empty) on: a kiosk from before
    then wrote one only for a void a supervisor approved, so until that row a void without one is what it did."""
    rows = log.of("staff.void")
    since = next((r["seq"] for r in rows if not r["detail"].get("approved_by")), None)
    if since is None:
        return []
    explained = ({r["detail"].get("line_id") for r in rows}  # its own row, or a line put in its place
                 | {r["detail"].get("replaces") for r in log.of("line.add") if r["detail"].get("replaces")})
    return [f"missing: audit row {r['seq']} (line.void by {r['actor']} at {r['at']}) voids line "
            f"{str(r['detail'].get('line_id'))[:12]} with no staff.void row saying who approved it"
            for r in log.of("line.void") if r["seq"] > since and r["detail"].get("line_id") not in explained]
