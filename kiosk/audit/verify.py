"""``checkout audit verify``: is a kiosk's audit log whole and unedited?

Reads the sales file read-only and the kiosk's key (never made here), then:

1. the chain and the MACs (:func:`kiosk.exchange.audit.verify_rows`): edited, deleted, inserted, reordered rows; and
   every row names who did it (its actor: an older kiosk took a row without one);
2. rows cut off at the end: the log's **witness** outside the file (:mod:`kiosk.store.audit_witness`, beside the key:
   the last row the kiosk committed, MACed) -- rows past the log's end, or another row at its place, are a log rolled
   back (a deleted ``-wal`` file, a restored copy), and a kiosk that started without it is named; SQLite's own counter
   of the table (``sqlite_sequence``; its row gone or set back is named too), a batch for head office made of rows
   past the end, and every other witness below;
3. what the file's other tables say happened, both ways (:mod:`kiosk.audit.check_sales`,
   :mod:`kiosk.audit.check_staff`): every sale has its ``sale.closed`` row and every such row its sale, with the
   same columns, receipt JSON, receipt text and lines; receipt numbers run to the counter without a gap; no cart is
   closed without a sale; payment intents, staff accounts and receipt prints are what their audit rows say; every
   line event has its ``line.*`` row, and every staff change to a line its action's row (who approved it); and the
   tables the program only appends to have no rows cut off their end; with the kiosk's model store and gallery, every
   staff model rollback and product taught the log records was made there (or called off), and every one made there
   has its row.
   A sale deleted or edited, a receipt rewritten, rows cut off the end with the counter set back, an account inserted
   or promoted by hand: each shows here.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.audit.check_models import gallery_findings, model_findings
from kiosk.audit.check_sales import payment_findings, sale_findings
from kiosk.audit.check_staff import change_findings, print_findings, staff_findings
from kiosk.audit.witness import Log, guarded
from kiosk.errors import DataError
from kiosk.exchange.audit import AuditReport, key_id, verify_rows, witness_against, witness_mac_ok
from kiosk.sqlite_readonly import damage
from kiosk.store.audit import default_key_path, load_key, row_dict
from kiosk.store.audit_witness import read_witness, witness_path

__all__ = ["StoreAudit", "verify_store"]


@dataclass
class StoreAudit:
    path: str
    key_path: str
    key_id: str | None
    chain: AuditReport
    findings: list[str] = field(default_factory=list)  # cross-checks against the other tables
    witness: str = ""  # what the witness outside the file says (one line)
    kiosk: str = ""  # the log's kiosk id against the settings' (one line; "" when no settings were given)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.findings and self.key_id is not None and not self.chain.unverified

    def lines(self) -> list[str]:
        head = (f"{self.path}: {self.chain.rows} audit rows, last {self.chain.last_seq}; key "
                f"{self.key_id or 'MISSING'} ({self.key_path})")
        out = [head] + [f"  {line}" for line in (self.kiosk, self.witness) if line]
        out += [f"  {p.what}: {p.message}" for p in self.chain.problems] + [f"  {f}" for f in self.findings]
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
                "findings": self.findings, "witness": self.witness, "kiosk": self.kiosk}


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _tail(conn: sqlite3.Connection, log: Log) -> list[str]:
    """Rows cut off the end: SQLite's counter of the table, and the batches already made for head office."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    top = conn.execute("SELECT COALESCE(max(id), 0) FROM audit_log").fetchone()[0]
    out = []
    if row is None and top:
        out.append("edited: sqlite_sequence has no row for audit_log (removed by hand: rows cut off the end are no "
                   "longer counted there)")
    elif row is not None and row["seq"] > top:
        out.append(f"deleted: {row['seq'] - top} row(s) after row {log.last_seq} (the table's counter is at "
                   f"{row['seq']})")
    elif row is not None and row["seq"] < top:
        out.append(f"edited: sqlite_sequence says audit_log ends at id {row['seq']}, its last row is id {top}")
    packed = conn.execute("SELECT max(last_seq) FROM audit_packs").fetchone()[0]
    if packed is not None and packed > log.last_seq:
        out.append(f"deleted: a batch for head office was made of rows up to {packed}, the log ends at row "
                   f"{log.last_seq}")
    return out


def _read_witness(path: Path) -> dict | DataError | None:
    """The witness at ``path`` (None: no file; the DataError when it is not one). Read **before** the log: a running
    kiosk commits first and replaces the witness after, so a witness read after the log could be a row ahead."""
    try:
        return read_witness(path)
    except DataError as exc:
        return exc


def _witness(log: Log, key: bytes | None, path: Path, doc: dict | DataError | None) -> tuple[str, list[str]]:
    """The log against its witness ``doc`` (:func:`_read_witness`) at ``path``: ``(one line on it, findings)``."""
    out = [f"deleted?: row {r['seq']} ({r['at']}): the kiosk started without its witness file, which the log had: "
           f"rows cut off the end before it cannot be ruled out" for r in log.of("audit.witness_started")
           if r["detail"].get("lost")]
    if isinstance(doc, DataError):
        return f"witness: UNREADABLE ({path})", out + [f"edited: {doc}"]
    if doc is None:
        began = log.started["detail"] if log.started else {}
        if not log.rows:
            return f"witness: none ({path}; an empty log)", out
        if "witness" in began or log.of("audit.witness_started"):
            return f"witness: MISSING ({path})", out + [f"deleted: no witness at {path}, which this log had: rows cut "
                                                        "off the end of the log cannot be ruled out"]
        return (f"witness: none at {path} (the log began before witnesses; the kiosk makes one when it next opens "
                "it)"), out
    if key is not None and doc["key_id"] == key_id(key) and not witness_mac_ok(doc, key):
        out.append(f"edited: the witness {path} was edited by hand (its MAC is not the key's)")
    elif key is not None and doc["key_id"] != key_id(key):
        out.append(f"unverified: the witness {path} was made with key {doc['key_id']}, not key {key_id(key)}")
    hashes: dict[int, str] = {}
    for r in log.rows:
        hashes.setdefault(r["seq"], r["hash"])
    verdict = witness_against(doc, log.last_seq, hashes.get)
    if verdict == "ahead":
        out.append(f"deleted: {doc['seq'] - log.last_seq} row(s) after row {log.last_seq}: the witness {path} says "
                   f"row {doc['seq']} ({doc['at']}) was committed (rows cut off the end: a deleted -wal file, a "
                   "restored older copy)")
    elif verdict == "differs":
        out.append(f"replaced: row {doc['seq']} is not the row the witness {path} holds ({doc['at']}): the log was "
                   "replaced or rewritten")
    behind = log.last_seq - doc["seq"]
    return f"witness: row {doc['seq']} ({path})" + (f", {behind} row(s) behind the log" if behind > 0 else ""), out


def _kiosk(log: Log, kiosk_id: str) -> tuple[str, list[str]]:
    """The kiosk id the log began with (its ``audit.started`` row, MACed) against the settings' ``kiosk_id``."""
    began = log.started["detail"].get("kiosk_id") if log.started else None
    if began is None:
        return (f"kiosk: the settings say {kiosk_id}; the log has no audit.started row naming its own",
                [f"kiosk: the log's first row (audit.started) is not there to say whose log it is (the settings say "
                 f"{kiosk_id})"] if log.rows else [])
    if began != kiosk_id:
        return (f"kiosk: the log is kiosk {began}'s, the settings say {kiosk_id}",
                [f"another kiosk's log: its audit.started row (row {log.started['seq']}) names kiosk {began}, the "
                 f"settings name kiosk {kiosk_id} (another kiosk's database and key)"])
    return f"kiosk: {kiosk_id}, as the settings say (its audit.started row {log.started['seq']})", []


# tables whose rows the program never deletes, each written with its audit row: rows cut off their end show here
_APPEND_ONLY = ("line_events", "receipt_prints", "payment_intents", "corrections")


def _witness_tails(conn: sqlite3.Connection) -> list[str]:
    out = []
    for table in _APPEND_ONLY:
        key = "intent_id" if table == "payment_intents" else "id"
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        top = conn.execute(f"SELECT COALESCE(max({key}), 0) FROM {table}").fetchone()[0]
        if row is not None and row["seq"] > top:
            out.append(f"deleted: {row['seq'] - top} row(s) at the end of {table} (SQLite's counter of it is at "
                       f"{row['seq']}, its last row is {top})")
        elif top and (row is None or row["seq"] < top):
            out.append(f"edited: sqlite_sequence's row for {table} is {row['seq'] if row else 'gone'}, its last row "
                       f"is {top}")
    return out


def _line_events(conn: sqlite3.Connection, log: Log) -> list[str]:
    """Each line event has its ``line.*`` row, and each ``line.*`` row its line event (both in one transaction)."""
    started_at = log.started["at"] if log.started else None
    audited = {(r["kind"][5:], r["detail"].get("line_id")): r for r in log.of("line.add", "line.remove", "line.void")}
    events = conn.execute("SELECT event, line_id, at FROM line_events").fetchall()
    missing = [f"{e['event']} of line {str(e['line_id'])[:12]} at {e['at']}" for e in events
               if (e["event"], e["line_id"]) not in audited and not (started_at and str(e["at"]) < started_at)]
    have = {(e["event"], e["line_id"]) for e in events}
    gone = [f"audit row {r['seq']} ({r['kind']} of line {str(k[1])[:12]})" for k, r in audited.items() if k not in have]
    out = []
    if missing:
        out.append(f"missing: {len(missing)} line event(s) without their audit row, first: {missing[0]}")
    if gone:
        out.append(f"deleted: {len(gone)} line event(s) of the audit log not in line_events, first: {gone[0]}")
    return out


def _nobody(log: Log) -> list[str]:
    """Every row names who did it (the kiosk refuses one that does not; an older kiosk took it)."""
    rows = [r for r in log.rows if not str(r.get("actor") or "").strip()]
    return [f"no actor: {len(rows)} audit row(s) name nobody as who did it, first: row {rows[0]['seq']} "
            f"({rows[0]['kind']} at {rows[0]['at']})"] if rows else []


def verify_store(path: str | Path, key_path: str | Path | None = None, *, kiosk_id: str | None = None,
                 model_state: str | Path | None = None, gallery: str | Path | None = None) -> StoreAudit:
    """Check the audit log of the sales file ``path`` with the key in ``key_path`` (default: beside it); with
    ``kiosk_id`` (the kiosk's settings), the log must be that kiosk's; with ``model_state`` (the kiosk's model store)
    and ``gallery`` (its taught products), staff's rollbacks and teaching are held against them
    (:mod:`kiosk.audit.check_models`)."""
    path = Path(path)
    key_path = Path(key_path) if key_path else default_key_path(path)
    key = load_key(key_path)
    doc = _read_witness(witness_path(key_path))  # first: it trails the log's commits
    conn = _connect(path)
    try:
        conn.execute("BEGIN")  # one snapshot for every table, though the kiosk sells on beside this
        broken = damage(conn, path)  # zeroed pages no query below reads passed as "whole and unedited"
        stored = [row_dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY id")]
        chain = verify_rows(stored, {key_id(key): key} if key else {})
        log = Log(stored)
        kiosk, findings = _kiosk(log, kiosk_id) if kiosk_id is not None else ("", [])
        witness, found = _witness(log, key, witness_path(key_path), doc)
        findings += ([broken] if broken else []) + found
        findings += (_tail(conn, log) + _nobody(log) + _witness_tails(conn) + sale_findings(conn, log)
                     + payment_findings(conn, log) + _line_events(conn, log) + staff_findings(conn, log, key)
                     + print_findings(conn, log) + guarded("the staff changes to lines", change_findings, log))
        if model_state is not None:
            findings += guarded(f"the model store {model_state}", model_findings, log, model_state)
        if gallery is not None:
            findings += guarded(f"the gallery {gallery}", gallery_findings, log, gallery)
    finally:
        conn.close()
    return StoreAudit(str(path), str(key_path), key_id(key) if key else None, chain, findings, witness, kiosk)
