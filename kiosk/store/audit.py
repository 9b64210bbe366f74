"""The kiosk's audit log: append-only rows in its SQLite file, each chained to the one before and MACed with the
kiosk's own key (:mod:`kiosk.exchange.audit` says how), written **in the same transaction** as what it records.

Every sale event is recorded where it is committed — a line added, removed or voided, a payment started,
approved, declined or cancelled, a sale closed, a receipt shown or reprinted, a staff correction — and the staff
desk adds what staff did and were refused (sign-ins, overrides, approvals, model rollbacks), and the attendant's
help calls, removal approvals and printed receipts come through :func:`kiosk.services.audit.record`
(:meth:`AuditMixin.append_audit`). ``audit_log`` refuses
UPDATE and DELETE (triggers), so the program can only append; someone editing the file by hand is caught by
``checkout audit verify`` (:mod:`kiosk.audit.verify`).

The key is 32 random bytes, hex, in a file of its own (mode 0600) **outside the database file**: by default beside it
as ``<store>.audit-key`` (``audit_key`` in ``kiosk.toml`` puts it elsewhere, e.g. the kiosk's state directory).
It is made when the log is empty; a log whose key file has gone gets a new key and an ``audit.rekeyed`` row (the rows
before it can then no longer be checked here — which is what an auditor should see). Only the kiosk does that: the
till-side commands (``checkout receipt``, ``checkout staff``) open the store with the kiosk's settings and refuse to
make a key beside a log that has rows (``new_key``), and a command that only reads opens it read-only, with no key.
Head office holds a copy of each kiosk's key to check the batches it receives (``checkout audit key``).

Rows cut off the log's **end** leave no trace inside the file, so the log's last row is also kept outside it, beside
the key: the **witness** (:mod:`kiosk.store.audit_witness`), replaced after each commit that adds rows and checked
whenever the store is opened with its key (a log rolled back or replaced is refused, naming both files).

Batches for head office go in two steps like feedback (:mod:`kiosk.audit.packer`): ``begin_audit_pack`` records the
range, the batch made from that range goes to the outbox, ``finish_audit_pack`` marks it done; a range a crash left
open is packed again into the same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any, Literal

from kiosk.errors import DataError
from kiosk.exchange.audit import GENESIS, key_id, parse_key, seal, seal_witness
from kiosk.inputfiles import KB, read_bounded
from kiosk.store.audit_witness import read_witness, refusal, witness_path, write_witness

__all__ = ["AuditMixin", "NewKey", "create_key", "default_key_path", "load_key", "migrate_audit", "row_dict"]

log = logging.getLogger(__name__)

KEY_SUFFIX = ".audit-key"

#: what opening a store does when its audit key file is not there (:meth:`AuditMixin._init_audit`)
NewKey = Literal["rekey", "if-log-empty", "no", "none"]


def migrate_audit(c: sqlite3.Connection) -> None:
    """Sales schema 6 (with the staff accounts): the audit log, append-only, and its batches for head office."""
    c.execute("""
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            seq INTEGER NOT NULL,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL,
            prev TEXT NOT NULL,
            hash TEXT NOT NULL,
            mac TEXT NOT NULL,
            key_id TEXT NOT NULL
        )""")
    c.execute("CREATE INDEX audit_log_at ON audit_log(at)")
    c.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
              "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    c.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
              "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    c.execute("""
        CREATE TABLE audit_packs (
            pack INTEGER PRIMARY KEY AUTOINCREMENT,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL,
            done INTEGER NOT NULL DEFAULT 0
        )""")


def default_key_path(store_path: str | os.PathLike) -> Path:
    p = Path(store_path)
    return p.with_name(p.stem + KEY_SUFFIX)


def load_key(path: str | os.PathLike) -> bytes | None:
    """The key in ``path`` (None: no such file). A file that is not a key raises DataError naming it."""
    try:
        text = read_bounded(path, 64 * KB, "an audit key", text=True).decode("ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the audit key ({exc})") from None
    return parse_key(text, str(path))


def create_key(path: str | os.PathLike) -> bytes:
    """A new random key in ``path`` (0600), unless another process made one first: then that one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_hex(32) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # never replaces a key that is there
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    key = load_key(path)
    assert key is not None
    return key


def row_dict(r: sqlite3.Row | dict) -> dict[str, Any]:
    """An ``audit_log`` row as the exchange row (``detail`` parsed; text that is not JSON stays text)."""
    try:
        detail = json.loads(r["detail"])
    except (TypeError, ValueError):
        detail = r["detail"]
    return {"seq": r["seq"], "at": r["at"], "kind": r["kind"], "actor": r["actor"], "detail": detail,
            "prev": r["prev"], "hash": r["hash"], "mac": r["mac"], "key_id": r["key_id"]}


class AuditMixin:
    """The audit log of :class:`~kiosk.store.sales.SalesStore` (uses its ``_tx``, ``_lock``, ``_conn``, ``_time``)."""

    _audit_key: bytes = b""
    audit_key_path: Path
    _audit_rekeyed: int = 0  # rows already there when the key file was found missing (a row says so, first)
    witness_path: Path
    _witness_due: tuple[int, str, str] | None = None  # (seq, hash, at) of the last row the open transaction added
    _witness_failing: bool = False

    def _init_audit(self, key_path: str | os.PathLike | None, new_key: NewKey = "rekey") -> None:
        """Read the key; when its file is not there, ``new_key`` decides: ``"rekey"`` (the kiosk) makes one, and a
        log that has rows gets an ``audit.rekeyed`` row first; ``"if-log-empty"`` makes one only for an empty log;
        ``"no"`` never makes one; ``"none"`` (opened read-only) reads no key at all. A refusal names the key file
        looked for and the key the log's rows were MACed with."""
        self.audit_key_path = Path(key_path) if key_path else default_key_path(self.path)
        self.witness_path = witness_path(self.audit_key_path)
        if new_key == "none":
            return
        key = load_key(self.audit_key_path)
        if key is None:
            with self._lock:
                rows, kid = self._conn.execute("SELECT count(*), (SELECT key_id FROM audit_log ORDER BY id DESC "
                                               "LIMIT 1) FROM audit_log").fetchone()
            if new_key != "rekey" and (rows or new_key == "no"):
                raise self._missing_key(rows, kid)
            self._audit_rekeyed = rows
            key = create_key(self.audit_key_path)
        self._audit_key = key
        self._open_witness()

    def _missing_key(self, rows: int, kid: str | None) -> Exception:
        from kiosk.store.sales import StoreError

        if rows:
            return StoreError(f"{self.path}: no audit key at {self.audit_key_path}, and its audit log has {rows} "
                              f"row(s) MACed with key {kid}: a new key there would re-key the kiosk's log; name the "
                              f"kiosk's settings (--config kiosk.toml), whose audit_key holds key {kid}")
        return StoreError(f"{self.path}: no audit key at {self.audit_key_path}: name the kiosk's settings "
                          f"(--config kiosk.toml), whose audit_key says where the kiosk keeps it")

    def _audit_preamble(self, c: sqlite3.Connection, last: sqlite3.Row | None) -> None:
        """Before the first row of a log, ``audit.started`` (what the file held already); before the first row under
        a key made because the old one was missing, ``audit.rekeyed``."""
        if last is None:
            sales, receipt = c.execute("SELECT count(*), max(receipt_no) FROM sales").fetchone()
            self._append(c, "audit.started", "kiosk", {"kiosk_id": self.kiosk_id, "sales_before": sales,
                                                       "last_receipt_before": receipt,
                                                       "witness": self.witness_path.name})
        elif self._audit_rekeyed:
            self._append(c, "audit.rekeyed", "kiosk", {"reason": f"key file {self.audit_key_path.name} was missing",
                                                       "rows_before": self._audit_rekeyed})
        self._audit_rekeyed = 0

    # -- the witness outside the file (kiosk.store.audit_witness) ------------------------------------------------------
    def _open_witness(self) -> None:
        """The log against its witness: refused (one line naming both files) when rolled back or replaced; brought
        up to the log's last row when behind; made, after an ``audit.witness_started`` row, when there is none."""
        from kiosk.store.sales import StoreError

        try:  # the witness first, then the log: a writer (the running kiosk) commits first and then replaces the
            doc = read_witness(self.witness_path)  # witness, so read the other way round it looks one row ahead
        except DataError as exc:
            raise StoreError(f"{exc}: it witnesses the audit log of {self.path}; move it aside to open the database "
                             "(the kiosk records that in its audit log)") from None
        with self._lock:
            last = self._conn.execute("SELECT seq, hash, at FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        head = (last["seq"], last["hash"], last["at"]) if last else (0, GENESIS, "")
        if doc is None:
            if last is None or self._audit_rekeyed:  # a new log; a lost key (its ``audit.rekeyed`` row says so)
                self._put_witness(*head)
            else:
                self._witness_started(head[0])
            return
        why = refusal(self.path, self.witness_path, doc, self._audit_key, bool(self._audit_rekeyed), head[0],
                      self._row_hash)
        if why:
            raise StoreError(why)
        if (doc["seq"], doc["key_id"]) != (head[0], self.audit_key_id):
            self._put_witness(*head)

    def _row_hash(self, seq: int) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT hash FROM audit_log WHERE seq = ? ORDER BY id LIMIT 1", (seq,)).fetchone()
        return row["hash"] if row else None

    def _witness_started(self, last_seq: int) -> None:
        """A log with rows and no witness file: ``lost`` when it had one (begun with a witness, or witnessed since)."""
        with self._lock:
            first = self._conn.execute("SELECT * FROM audit_log WHERE kind = 'audit.started' ORDER BY id "
                                       "LIMIT 1").fetchone()
            since = self._conn.execute("SELECT 1 FROM audit_log WHERE kind = 'audit.witness_started' LIMIT 1"
                                       ).fetchone()
        began = row_dict(first)["detail"] if first is not None else None
        lost = since is not None or (isinstance(began, dict) and "witness" in began)
        if lost:
            log.warning("audit: %s: no witness at %s, though its log had one: rows cut off the log's end before row "
                        "%d cannot be ruled out (recorded in the audit log; `checkout audit verify` names it)",
                        self.path, self.witness_path, last_seq)
        self.audit("audit.witness_started", "kiosk", lost=lost, last_seq=last_seq, witness=self.witness_path.name)

    def _put_witness(self, seq: int, row_hash: str, at: str) -> None:
        try:
            write_witness(self.witness_path, seal_witness(seq, row_hash, at, self._audit_key))
        except OSError as exc:
            if not self._witness_failing:
                log.warning("audit: the witness %s cannot be written (%s): rows cut off the log's end after row %d "
                            "would not be seen", self.witness_path, exc.strerror or exc, seq)
            self._witness_failing = True
            return
        if self._witness_failing:
            log.info("audit: the witness %s is written again (row %d)", self.witness_path, seq)
        self._witness_failing = False

    def _audit_committed(self) -> None:
        """After a commit (:meth:`SalesStore._tx`): the witness of the last row it added, if it added any."""
        due, self._witness_due = self._witness_due, None
        if due is not None:
            self._put_witness(*due)

    def audit_witness(self) -> dict | None:
        """The witness as it is on disk (None: no file, or not a witness), for the heartbeat."""
        try:
            return read_witness(self.witness_path)
        except DataError:
            return None

    @property
    def audit_key_id(self) -> str:
        return key_id(self._audit_key)

    def _audit(self, c: sqlite3.Connection, kind: str, actor: str, detail: dict[str, Any]) -> dict:
        """Append one row inside the caller's transaction (so it commits, or not, with what it records)."""
        if self._audit_rekeyed or c.execute("SELECT 1 FROM audit_log LIMIT 1").fetchone() is None:
            self._audit_preamble(c, c.execute("SELECT seq FROM audit_log LIMIT 1").fetchone())
        return self._append(c, kind, actor, detail)

    def _append(self, c: sqlite3.Connection, kind: str, actor: str, detail: dict[str, Any]) -> dict:
        if not isinstance(actor, str) or not actor.strip():  # a staff number, the shopper, the kiosk: never nobody
            raise ValueError(f"audit row {kind}: it needs who did it (actor), got {actor!r}")
        last = c.execute("SELECT seq, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
        row = seal(seq, self._time(), kind, actor, detail, prev, self._audit_key)
        c.execute("INSERT INTO audit_log (seq, at, kind, actor, detail, prev, hash, mac, key_id)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (row["seq"], row["at"], kind, row["actor"], json.dumps(row["detail"], sort_keys=True),
                   prev, row["hash"], row["mac"], row["key_id"]))
        self._witness_due = (row["seq"], row["hash"], row["at"])
        return row

    def audit(self, kind: str, actor: str, **detail: Any) -> dict:
        """Append one row in a transaction of its own (staff actions, refusals); returns it. ``actor``: who did it
        (a row without one is refused with ValueError, as in every transaction)."""
        with self._tx() as c:
            return self._audit(c, kind, actor, detail)

    def append_audit(self, action: str, who: str, *, details: dict[str, Any] | None = None) -> int:
        """:func:`kiosk.services.audit.record`'s way in (help calls, removal approvals, printed receipts): one row of
        kind ``action`` by ``who``; returns its sequence number."""
        return self.audit(action, who, **(details or {}))["seq"]

    def audit_events(self, *, since_seq: int = 0) -> list[dict[str, Any]]:
        """The rows as plain events: ``{"id", "at", "action", "who", "details"}`` (``id`` is the row's seq)."""
        return [{"id": r["seq"], "at": r["at"], "action": r["kind"], "who": r["actor"], "details": r["detail"]}
                for r in self.audit_rows(since_seq=since_seq)]

    def audit_rows(self, *, since_seq: int = 0, since: str | None = None, limit: int | None = None) -> list[dict]:
        """Rows in the order stored, from ``since_seq`` (exclusive) or the ISO time ``since`` on."""
        sql, params = "SELECT * FROM audit_log WHERE seq > ?", [since_seq]
        if since:
            sql += " AND at >= ?"
            params.append(since)
        sql += " ORDER BY id" + (" LIMIT ?" if limit else "")
        params += [limit] if limit else []
        with self._lock:
            return [row_dict(r) for r in self._conn.execute(sql, params)]

    def last_audit_row(self, *kinds: str) -> dict | None:
        """The latest row of any of ``kinds`` (None: none)."""
        marks = ", ".join("?" * len(kinds))
        with self._lock:
            row = self._conn.execute(f"SELECT * FROM audit_log WHERE kind IN ({marks}) ORDER BY id DESC LIMIT 1",
                                     kinds).fetchone()
        return row_dict(row) if row is not None else None

    def audit_head(self) -> tuple[int, str]:
        """``(last seq, its hash)``; ``(0, GENESIS)`` for an empty log."""
        with self._lock:
            last = self._conn.execute("SELECT seq, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        return (last["seq"], last["hash"]) if last else (0, GENESIS)

    # -- batches for head office ---------------------------------------------------------------------------------
    def next_audit_range(self, limit: int) -> tuple[int, int] | None:
        """The rows not packed yet, at most ``limit``: ``(first_seq, last_seq)``, or None."""
        with self._lock:
            packed = self._conn.execute("SELECT COALESCE(max(last_seq), 0) FROM audit_packs").fetchone()[0]
            last = self._conn.execute("SELECT COALESCE(max(seq), 0) FROM audit_log").fetchone()[0]
        if last <= packed:
            return None
        return packed + 1, min(last, packed + limit)

    def begin_audit_pack(self, first_seq: int, last_seq: int) -> int:
        with self._tx() as c:
            return int(c.execute("INSERT INTO audit_packs (first_seq, last_seq) VALUES (?, ?)",
                                 (first_seq, last_seq)).lastrowid)

    def open_audit_packs(self) -> list[tuple[int, int, int]]:
        """``(pack, first_seq, last_seq)`` of ranges whose batch may not be in the outbox yet (a crash between)."""
        with self._lock:
            return [(r[0], r[1], r[2]) for r in self._conn.execute(
                "SELECT pack, first_seq, last_seq FROM audit_packs WHERE done = 0 ORDER BY pack")]

    def finish_audit_pack(self, pack: int) -> None:
        with self._tx() as c:
            c.execute("UPDATE audit_packs SET done = 1 WHERE pack = ?", (pack,))

    def audit_range(self, first_seq: int, last_seq: int) -> list[dict]:
        with self._lock:
            return [row_dict(r) for r in self._conn.execute(
                "SELECT * FROM audit_log WHERE seq BETWEEN ? AND ? ORDER BY id", (first_seq, last_seq))]
