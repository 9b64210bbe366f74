"""The audit chain: what a kiosk's audit rows are, how each is bound to the one before it, and how a sequence of
rows is checked. Shared by the till (:mod:`kiosk.store.audit` writes rows, ``checkout audit verify`` checks the
file) and head office (``checkout audit collect`` checks the batches); standard library only.

A row::

    {"seq": 17, "at": "2026-12-01T10:15:02+05:30", "kind": "line.void", "actor": "101",
     "detail": {"line_id": "…", "total": 4500, …},
     "prev": "<hash of row 16>", "hash": "<sha256 of this row's content>", "mac": "<HMAC-SHA256(key, hash)>",
     "key_id": "<which kiosk key made the MAC>"}

``hash`` is the SHA-256 of the canonical JSON of ``seq, at, kind, actor, detail, prev``: change any of them and the
hash no longer fits; the next row's ``prev`` then points at a hash that is no longer there. ``mac`` is an HMAC of
that hash under the kiosk's own key, kept outside the database file (:mod:`kiosk.store.audit`): someone with the
file alone can recompute hashes but cannot make a MAC, so a row made up or re-hashed after an edit is caught too.

:func:`verify_rows` names each problem: an **edited** row (content ≠ hash, or re-hashed without the key), a
**deleted** row (a sequence number missing between two rows that are there), an **inserted** row (a row that is not
this kiosk's MAC, the chain running on without it), rows **out of order** (a swapped pair), and a chain that starts
where it should not (rows cut off at the start, or another kiosk's rows).

A row too large for any batch (:func:`kiosk.exchange.cut.budget`) travels **withheld** (:func:`withhold`): everything
but its ``detail``, which stays in the kiosk's own log, and ``"withheld": <its size in bytes>``. Its hash and MAC
still chain it to the rows around it, so head office (``allow_withheld``) checks the chain across it and the MAC of
its hash, and names it -- it is never a gap, nor a row that blocks the ones behind it.

Every check above lives in the rows themselves, so rows cut off the **end** leave no trace in them. The kiosk's
**witness** (:func:`seal_witness`) is a record of the log's last row -- its ``seq``, ``hash`` and time, with a MAC
under the same key (bound to its own purpose, so a row's MAC cannot stand in for it) -- kept outside the database and
sent in the heartbeat. :func:`witness_against` says whether a log fits it: a witness behind the log is fine (a crash
between the commit and the witness), one ahead of it, or naming another row at its ``seq``, is a log rolled back.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.errors import DataError
from kiosk.exchange.batch import Batch, BatchError, read_kiosk_batch

__all__ = ["GENESIS", "KIND", "WITNESS", "AuditProblem", "AuditReport", "canonical", "content_hash", "key_id", "mac_of",
           "parse_key", "read_audit_batch", "seal", "seal_witness", "verify_rows", "withheld", "withhold",
           "witness_against", "witness_mac_ok", "witness_problem"]

KIND = "audit"
#: the ``prev`` of a kiosk's first row
GENESIS = "0" * 64
HEX64 = re.compile(r"^[0-9a-f]{64}\Z")
KINDS_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\Z")
FIELDS = ("seq", "at", "kind", "actor", "detail", "prev")
#: the ``kind`` of a witness of a log's last row (:func:`seal_witness`)
WITNESS = "audit-witness"
HEX16 = re.compile(r"^[0-9a-f]{16}\Z")


def canonical(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def content_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the row's content: ``seq, at, kind, actor, detail, prev``."""
    return hashlib.sha256(canonical({k: row[k] for k in FIELDS})).hexdigest()


def withhold(row: Mapping[str, Any], size: int) -> dict:
    """``row`` as it travels when it is too large for a batch: its ``detail`` left out, its size (bytes) said."""
    return {**row, "detail": {}, "withheld": int(size)}


def withheld(row: Mapping[str, Any]) -> int | None:
    """The size of a withheld row's detail (None: the row is whole)."""
    size = row.get("withheld")
    return size if isinstance(size, int) and not isinstance(size, bool) and size > 0 else None


def mac_of(key: bytes, row_hash: str) -> str:
    return hmac.new(key, row_hash.encode("ascii"), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short public name of a key (which key made a MAC); says nothing about the key itself."""
    return hashlib.sha256(b"checkout audit key id\0" + key).hexdigest()[:16]


def seal(seq: int, at: str, kind: str, actor: str, detail: Mapping[str, Any], prev: str, key: bytes) -> dict:
    """A complete new row after ``prev``."""
    row = {"seq": int(seq), "at": at, "kind": kind, "actor": actor, "detail": dict(detail), "prev": prev}
    row["hash"] = content_hash(row)
    row["mac"] = mac_of(key, row["hash"])
    row["key_id"] = key_id(key)
    return row


@dataclass(frozen=True)
class AuditProblem:
    """One finding: ``what`` is ``edited`` | ``deleted`` | ``inserted`` | ``reordered`` | ``broken`` | ``unknown-key``;
    ``seq`` the row it concerns (as the row claims it), ``message`` one line naming it."""

    what: str
    seq: int | None
    message: str


@dataclass
class AuditReport:
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str = GENESIS
    problems: list[AuditProblem] = field(default_factory=list)
    unverified: int = 0  # rows whose key is not known here (chain checked, MAC not)
    withheld: list[int] = field(default_factory=list)  # seqs of rows sent without their detail (too large)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, what: str, seq: int | None, message: str) -> None:
        self.problems.append(AuditProblem(what, seq, message))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.what] = out.get(p.what, 0) + 1
        return out


def _label(row: Mapping[str, Any]) -> str:
    return f"row {row.get('seq')} ({row.get('kind')}, {row.get('at')}, by {row.get('actor') or '-'})"


def _hash_ok(row: Mapping[str, Any], allow_withheld: bool = False) -> bool:
    if allow_withheld and "withheld" in row:  # its content stayed at the kiosk: the hash stands for it (MAC-checked)
        return withheld(row) is not None and isinstance(row.get("hash"), str)
    try:
        return content_hash(row) == row.get("hash")
    except (KeyError, TypeError, ValueError):
        return False


def _classify(rows: list[dict], keys: Callable[[str], bytes | None], report: AuditReport,
              allow_withheld: bool = False) -> set[int]:
    """Indices of the authentic rows (hash and, where the key is known, MAC right); the others are reported."""
    good: set[int] = set()
    suspects = []
    for i, row in enumerate(rows):
        if not _hash_ok(row, allow_withheld):
            report.add("edited", row.get("seq"), f"{_label(row)}: edited — its content no longer matches its hash")
            continue
        key = keys(str(row.get("key_id", "")))
        if key is None:
            report.unverified += 1
            good.add(i)
        elif hmac.compare_digest(mac_of(key, row["hash"]), str(row.get("mac", ""))):
            good.add(i)
        else:
            suspects.append(i)
    by_seq = {rows[i]["seq"] for i in good}
    for i in suspects:  # a good hash with a wrong MAC: made without the kiosk's key
        row = rows[i]
        follower = next((rows[j] for j in range(i + 1, len(rows)) if j in good), None)
        before = next((rows[j] for j in range(i - 1, -1, -1) if j in good), None)
        chained_around = follower is not None and follower["prev"] == (before["hash"] if before else GENESIS)
        if row["seq"] in by_seq or chained_around or follower is None:
            report.add("inserted", row["seq"], f"a {_label(row)} was inserted: its MAC is not this kiosk's")
        else:
            report.add("edited", row["seq"], f"{_label(row)}: edited and re-hashed without the kiosk's key "
                                             "(its MAC does not match)")
    return good


def _order(good: list[dict], report: AuditReport) -> None:
    seqs = [r["seq"] for r in good]
    ordered = sorted(seqs)
    if seqs == ordered:
        return
    moved = [i for i, (a, b) in enumerate(zip(seqs, ordered)) if a != b]
    if len(moved) == 2:
        a, b = sorted((seqs[moved[0]], seqs[moved[1]]))
        report.add("reordered", a, f"rows {a} and {b} swapped: they stand in each other's place")
        return
    late = [s for i, s in enumerate(seqs) if i and s < max(seqs[:i])]
    report.add("reordered", late[0], f"rows out of order: {', '.join(map(str, late[:10]))} stand after later rows")


def _gaps(good: list[dict], report: AuditReport, expect_prev: str, expect_first: int | None,
          accounted: set[int]) -> None:
    rows = sorted(good, key=lambda r: r["seq"])
    prev_row: dict | None = None
    for row in rows:
        if prev_row is None:
            if expect_first is not None and row["seq"] > expect_first:
                _missing(range(expect_first, row["seq"]), accounted, report, "before it")
            elif expect_first is not None and row["seq"] == expect_first and row["prev"] != expect_prev:
                report.add("broken", row["seq"], f"{_label(row)} does not follow the rows before it (chain starts "
                                                 "elsewhere: earlier rows cut off or replaced)")
        elif row["seq"] == prev_row["seq"]:
            report.add("inserted", row["seq"], f"{_label(row)} appears twice (a copy was inserted)")
        elif row["seq"] > prev_row["seq"] + 1:
            _missing(range(prev_row["seq"] + 1, row["seq"]), accounted, report,
                     f"between rows {prev_row['seq']} and {row['seq']}")
        elif row["prev"] != prev_row["hash"]:
            report.add("broken", row["seq"], f"{_label(row)} does not point at row {prev_row['seq']}")
        prev_row = row


def _missing(seqs: range, accounted: set[int], report: AuditReport, where: str) -> None:
    """Report the rows of ``seqs`` not ``accounted`` for, without walking the range (a forged jump of 10**12 rows
    must cost what a jump of one does)."""
    if sum(1 for s in accounted if s in seqs) >= len(seqs):
        return
    first = next(s for s in itertools.count(seqs.start) if s not in accounted)
    last = next(s for s in itertools.count(seqs.stop - 1, -1) if s not in accounted)
    span = f"row {first}" if first == last else f"rows {first}–{last}"
    report.add("deleted", first, f"{span} deleted ({where})")


def verify_rows(rows: Iterable[Mapping[str, Any]], keys: Callable[[str], bytes | None] | Mapping[str, bytes], *,
                expect_prev: str = GENESIS, expect_first: int | None = 1, allow_withheld: bool = False) -> AuditReport:
    """Check ``rows`` in the order they are stored. ``keys``: key id → key (``None``/absent: MAC not checked, the
    row counted ``unverified``). The chain must start at ``expect_first`` after ``expect_prev`` (a batch that
    continues an earlier one passes the earlier one's last seq + 1 and hash; ``expect_first=None``: wherever).
    ``allow_withheld`` (head office): a :func:`withhold` row's hash is taken as it is, its MAC and chain checked."""
    lookup = keys.get if isinstance(keys, Mapping) else keys
    rows = [dict(r) for r in rows]
    report = AuditReport(rows=len(rows))
    good_at = _classify(rows, lookup, report, allow_withheld)
    good = [rows[i] for i in sorted(good_at)]
    accounted = {r.get("seq") for i, r in enumerate(rows) if i not in good_at}
    _order(good, report)
    _gaps(good, report, expect_prev, expect_first, accounted)
    if good:
        last = max(good, key=lambda r: r["seq"])
        report.first_seq, report.last_seq, report.last_hash = min(r["seq"] for r in good), last["seq"], last["hash"]
    report.withheld = [r["seq"] for r in good if "withheld" in r] if allow_withheld else []
    return report


# -- the batch head office receives ----------------------------------------------------------------------------------
def _iso_time(text: str) -> bool:
    """An ISO-8601 time with its offset, as a kiosk writes ``at`` (ASCII, at most 64 characters)."""
    if not (0 < len(text) <= 64 and text.isascii() and text.isprintable()):
        return False
    try:
        return datetime.fromisoformat(text).tzinfo is not None
    except ValueError:
        return False


def _record_problem(rec: Mapping[str, Any]) -> str | None:
    """What is wrong with a received row's shape: besides the types, the fields head office prints -- ``at`` an ISO
    time, ``actor`` printable text, ``key_id`` 16 hex digits -- hold nothing a terminal obeys."""
    checks = {
        "seq": isinstance(rec.get("seq"), int) and not isinstance(rec.get("seq"), bool) and rec["seq"] >= 1,
        "at": isinstance(rec.get("at"), str) and _iso_time(rec["at"]),
        "kind": isinstance(rec.get("kind"), str) and bool(KINDS_RE.match(rec["kind"])),
        "actor": isinstance(rec.get("actor"), str) and len(rec["actor"]) <= 128 and rec["actor"].isprintable(),
        "detail": isinstance(rec.get("detail"), dict),
        "prev": isinstance(rec.get("prev"), str) and bool(HEX64.match(rec["prev"])),
        "hash": isinstance(rec.get("hash"), str) and bool(HEX64.match(rec["hash"])),
        "mac": isinstance(rec.get("mac"), str) and bool(HEX64.match(rec["mac"])),
        "key_id": isinstance(rec.get("key_id"), str) and bool(HEX16.match(rec["key_id"])),
        "withheld": "withheld" not in rec or withheld(rec) is not None,
    }
    wrong = [k for k, ok in checks.items() if not ok]
    return f"field(s) {', '.join(wrong)} missing or of the wrong type" if wrong else None


def read_audit_batch(data: bytes, name: str | None = None, *, where: str | None = None,
                     filed_under: tuple[str, str] | None = None) -> Batch:
    """:func:`~kiosk.exchange.batch.read_kiosk_batch` for kind ``audit``, every record's shape checked (one bad record
    refuses the batch). The chain and the MACs are head office's to check (it holds the kiosks' keys)."""
    batch = read_kiosk_batch(data, name, KIND, where=where, filed_under=filed_under)
    where = where or name or "batch"
    if not batch.records:
        raise BatchError(f"{where}: no audit rows")
    for i, rec in enumerate(batch.records):
        problem = _record_problem(rec)
        if problem:
            raise BatchError(f"{where}: record {i + 1}: {problem}")
    return batch


# -- the witness of a log's last row ---------------------------------------------------------------------------------
def _witness_mac(key: bytes, seq: int, row_hash: str, at: str) -> str:
    """The witness's MAC: over its own purpose, the row's seq, hash and time (never equal to that row's MAC)."""
    body = b"checkout audit witness\0" + canonical({"seq": seq, "hash": row_hash, "at": at})
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def seal_witness(seq: int, row_hash: str, at: str, key: bytes) -> dict:
    """The witness of a log whose last row is ``seq`` (``0``, :data:`GENESIS`, ``""``: a log with no row yet)."""
    return {"kind": WITNESS, "seq": int(seq), "hash": row_hash, "at": at, "key_id": key_id(key),
            "mac": _witness_mac(key, int(seq), row_hash, at)}


def witness_problem(doc: Any) -> str | None:
    """What is wrong with the shape of a witness (None: it is one; its MAC is :func:`witness_mac_ok`'s)."""
    if not isinstance(doc, dict) or doc.get("kind") != WITNESS:
        return "not an audit witness"
    seq = doc.get("seq")
    checks = {
        "seq": isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 1 << 53,
        "hash": isinstance(doc.get("hash"), str) and bool(HEX64.match(doc["hash"])),
        "at": isinstance(doc.get("at"), str) and len(doc["at"]) <= 64 and doc["at"].isprintable(),
        "key_id": isinstance(doc.get("key_id"), str) and bool(HEX16.match(doc["key_id"])),
        "mac": isinstance(doc.get("mac"), str) and bool(HEX64.match(doc["mac"])),
    }
    wrong = [k for k, ok in checks.items() if not ok]
    return f"witness field(s) {', '.join(wrong)} missing or of the wrong type" if wrong else None


def witness_mac_ok(doc: Mapping[str, Any], key: bytes) -> bool:
    """Was the (well-formed) witness made with ``key``?"""
    return doc.get("key_id") == key_id(key) and hmac.compare_digest(
        _witness_mac(key, doc["seq"], doc["hash"], doc["at"]), str(doc.get("mac", "")))


def witness_against(doc: Mapping[str, Any], last_seq: int, hash_at: Callable[[int], str | None]) -> str | None:
    """``"ahead"`` when the witness names a row past the log's last one (``last_seq``), ``"differs"`` when the log's
    row at its ``seq`` is another row (``hash_at(seq)``: that row's hash, None when the log has no such row); None
    when the log fits it (a witness behind the log is fine: the commit came first, the witness after)."""
    seq = doc["seq"]
    if seq > last_seq:
        return "ahead"
    if seq == 0:
        return None
    have = hash_at(seq)
    return "differs" if have is not None and have != doc["hash"] else None


def parse_key(text: str, where: str) -> bytes:
    """A key file's text (64 hex digits) as bytes; :class:`~kiosk.errors.DataError` naming ``where`` otherwise."""
    cleaned = text.strip()
    if not HEX64.match(cleaned):
        raise DataError(f"{where}: not an audit key (64 hex digits)")
    return bytes.fromhex(cleaned)
