"""``checkout audit verify``: is a kiosk's audit log whole and unedited?

Reads the sales file read-only and the kiosk's key (never made here), then:

1. the chain and the MACs (:func:`kiosk.exchange.audit.verify_rows`): edited, deleted, inserted, reordered rows;
2. rows cut off at the end: SQLite's own counter of the table (``sqlite_sequence``) is past the last row;
3. what the file's other tables say happened: every sale has its ``sale.closed`` row with the same total, and every
   line event its ``line.*`` row (a sale edited in ``sales``, or an audit row deleted together with its event,
   shows here).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.exchange.audit import AuditReport, key_id, verify_rows
from kiosk.store.audit import default_key_path, load_key, row_dict

__all__ = ["StoreAudit", "verify_store"]


@dataclass
class StoreAudit:
    path: str
    key_path: str
    key_id: str | None
    chain: AuditReport
    findings: list[str] = field(default_factory=list)  # cross-checks against the other tables

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.findings and self.key_id is not None and not self.chain.unverified

    def lines(self) -> list[str]:
        head = (f"{self.path}: {self.chain.rows} audit rows, last {self.chain.last_seq}; key "
                f"{self.key_id or 'MISSING'} ({self.key_path})")
        out = [head] + [f"  {p.what}: {p.message}" for p in self.chain.problems] + [f"  {f}" for f in self.findings]
        if self.key_id is None:
            out.append(f"  no key at {self.key_path}: the MACs cannot be checked")
        elif self.chain.unverified:
            out.append(f"  {self.chain.unverified} row(s) were MACed with a key that is not in {self.key_path}")
        out.append("OK: the audit log is whole and unedited" if self.ok else
                   f"FAILED: {len(self.chain.problems) + len(self.findings) + bool(self.chain.unverified)} problem(s)")
        return out

    def to_dict(self) -> dict:
        return {"path": self.path, "key_path": self.key_path, "key_id": self.key_id, "ok": self.ok,
                "rows": self.chain.rows, "last_seq": self.chain.last_seq, "unverified": self.chain.unverified,
                "problems": [{"what": p.what, "seq": p.seq, "message": p.message} for p in self.chain.problems],
                "findings": self.findings}


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _tail(conn: sqlite3.Connection, rows: list[dict]) -> list[str]:
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    top = conn.execute("SELECT COALESCE(max(id), 0) FROM audit_log").fetchone()[0]
    if row is not None and row["seq"] > top:
        last = rows[-1]["seq"] if rows else 0
        return [f"deleted: {row['seq'] - top} row(s) after row {last} (the table's counter is at {row['seq']})"]
    return []


def _sales(conn: sqlite3.Connection, rows: list[dict]) -> list[str]:
    closed = {r["detail"].get("receipt_no"): r for r in rows
              if r["kind"] == "sale.closed" and isinstance(r["detail"], dict)}
    started = next((r for r in rows if r["kind"] == "audit.started"), None)
    before = (started or {}).get("detail", {}).get("last_receipt_before") if started else None
    out = []
    for sale in conn.execute("SELECT receipt_no, total FROM sales ORDER BY receipt_seq"):
        row = closed.get(sale["receipt_no"])
        if row is None:
            if before is None or sale["receipt_no"] > before:
                out.append(f"missing: sale {sale['receipt_no']} has no sale.closed audit row")
        elif row["detail"].get("total") != sale["total"]:
            out.append(f"edited: sale {sale['receipt_no']} totals {sale['total']} paise in the sales table, "
                       f"{row['detail'].get('total')} in audit row {row['seq']}")
    return out


def _line_events(conn: sqlite3.Connection, rows: list[dict]) -> list[str]:
    started_at = next((r["at"] for r in rows if r["kind"] == "audit.started"), None)
    audited = {(r["kind"][5:], r["detail"].get("line_id")) for r in rows
               if r["kind"].startswith("line.") and isinstance(r["detail"], dict)}
    sql = "SELECT event, line_id, at FROM line_events" + (" WHERE at >= ?" if started_at else "")
    missing = [f"{e['event']} of line {e['line_id'][:12]} at {e['at']}"
               for e in conn.execute(sql, (started_at,) if started_at else ())
               if (e["event"], e["line_id"]) not in audited]
    if not missing:
        return []
    return [f"missing: {len(missing)} line event(s) without their audit row, first: {missing[0]}"]


def verify_store(path: str | Path, key_path: str | Path | None = None) -> StoreAudit:
    """Check the audit log of the sales file ``path`` with the key in ``key_path`` (default: beside it)."""
    path = Path(path)
    key_path = Path(key_path) if key_path else default_key_path(path)
    key = load_key(key_path)
    conn = _connect(path)
    try:
        stored = [row_dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY id")]
        chain = verify_rows(stored, {key_id(key): key} if key else {})
        findings = _tail(conn, stored) + _sales(conn, stored) + _line_events(conn, stored)
    finally:
        conn.close()
    return StoreAudit(str(path), str(key_path), key_id(key) if key else None, chain, findings)
