"""Head office's side of the kiosks' audit logs: ``checkout audit collect SRC --keys DIR [--out DIR]``.

Every ``audit/<store>/<kiosk>/audit-<sha256>.tar`` at the head-office location is checked before it counts:

1. whole and well-formed (:func:`kiosk.exchange.audit.read_audit_batch`), naming the kiosk its path names;
2. its rows MACed with that kiosk's enrolled key (``DIR/<store>/<kiosk>.key``, from ``checkout audit key --export``
   on the kiosk, put there by ``checkout audit enroll``) and chained without a gap, edit or insertion.

A batch failing either is **refused whole** — a forged batch (rows made without the kiosk's key), one altered on the
way, one claiming another kiosk — and the refusal is written to head office's own append-only log
(``OUT/audit-refusals.jsonl``: when, which batch, why). The accepted batches of each kiosk are then joined in
sequence order: a gap (rows never received: a batch still in a kiosk's outbox, or rows deleted there), rows that
differ between two batches, and a log that **starts again at row 1** (a kiosk whose database was wiped or
replaced) are each named in the kiosk's status. A kiosk with no enrolled key is shown ``unverified``.

A kiosk cuts its log into batches by bytes as well as by rows (:mod:`kiosk.audit.packer`); the join makes one chain
of them, whatever the cut. A row too large for any batch comes **withheld** (without its detail, which stays at the
kiosk): its MAC and its place in the chain are checked as any row's, and it is named under ``withheld``.

Rows cut off the end of a kiosk's log before they were sent leave no gap here. The kiosk's heartbeat carries the
**witness** of its log's last row (:func:`kiosk.exchange.audit.seal_witness`, MACed with its key): a witnessed row
that differs from the one received, or rows received from before the heartbeat past the row it witnesses, are a log
rolled back at the kiosk; a forged witness, and a kiosk that started without its witness file (an
``audit.witness_started`` row that says ``lost``), are named too.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.errors import DataError, UserError
from kiosk.exchange import BatchError, safe_segment
from kiosk.exchange.audit import (
    GENESIS,
    KIND,
    key_id,
    parse_key,
    read_audit_batch,
    verify_rows,
    withheld,
    witness_against,
    witness_mac_ok,
)
from kiosk.exchange.heartbeat import heartbeat_time, read_heartbeat
from kiosk.exchange.layout import heartbeat_key
from kiosk.inputfiles import KB, read_bounded
from trainer.fleet.location import HeadOffice

__all__ = ["AuditCollection", "KioskAudit", "collect_audit", "enroll_key", "join_runs", "load_keys", "read_audit"]

log = logging.getLogger(__name__)

REFUSALS, STATUS = "audit-refusals.jsonl", "audit-status.json"
#: a row this much older than a heartbeat was committed before it was built (the kiosk's clock, both)
WITNESS_SLACK = timedelta(seconds=60)


@dataclass
class KioskAudit:
    store: str
    kiosk: str
    key_id: str | None = None  # the enrolled key's id (None: not enrolled)
    batches: int = 0
    refused: int = 0
    rows: int = 0
    last_seq: int | None = None
    last_at: str | None = None
    restarts: list[str] = field(default_factory=list)  # when the log began again at row 1
    problems: list[str] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # rows the kiosk sent without their detail (too large)
    witnessed: int | None = None  # the last row its latest heartbeat's witness names

    @property
    def status(self) -> str:
        if self.problems or self.restarts:
            return "broken"
        if self.refused:
            return "refused batches"
        return "ok" if self.key_id else "unverified"

    def to_dict(self) -> dict:
        return {**asdict(self), "status": self.status}


@dataclass
class AuditCollection:
    source: str
    kiosks: list[KioskAudit]
    refusals: list[dict]

    def to_dict(self) -> dict:
        return {"source": self.source, "kiosks": [k.to_dict() for k in self.kiosks], "refusals": self.refusals}

    def lines(self) -> list[str]:
        out = [f"{'store':<12}{'kiosk':<8}{'status':<17}{'rows':>7}{'last':>7}  last row at / problems"]
        for k in self.kiosks:
            out.append(f"{k.store[:11]:<12}{k.kiosk[:7]:<8}{k.status:<17}{k.rows:>7}{k.last_seq or 0:>7}  "
                       f"{k.last_at or '-'}")
            out += [f"    {p}" for p in k.restarts + k.problems + k.withheld]
        out += [f"refused {r['batch']}: {r['reason']}" for r in self.refusals]
        return out


def load_keys(keys_dir: str | os.PathLike | None) -> tuple[dict[tuple[str, str], bytes], dict[tuple[str, str], str]]:
    """Enrolled kiosk keys, ``DIR/<store>/<kiosk>.key``: ``({(store, kiosk): key}, {(store, kiosk): why a key file
    is unusable})`` — one bad key file is that kiosk's problem, not the whole fleet's."""
    found: dict[tuple[str, str], bytes] = {}
    bad: dict[tuple[str, str], str] = {}
    if not keys_dir:
        return found, bad
    root = Path(keys_dir)
    if not root.is_dir():
        raise UserError(f"--keys {root}: no such directory")
    for path in sorted(root.glob("*/*.key")):
        try:
            found[(path.parent.name, path.stem)] = parse_key(read_key_text(str(path)), str(path))
        except DataError as exc:
            bad[(path.parent.name, path.stem)] = str(exc)
    return found, bad


def enroll_key(keys_dir: str | os.PathLike, store: str, kiosk: str, key_text: str) -> Path:
    """Put a kiosk's key (hex, as ``checkout audit key --export`` prints it) in the registry, mode 0600."""
    key = parse_key(key_text, "the key given")
    path = Path(keys_dir) / safe_segment(store) / f"{safe_segment(kiosk)}.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    return path


def _check_batch(data: bytes, key: str, store: str, kiosk: str, secret: bytes | None) -> tuple[list[dict], str]:
    """The batch's rows, or ``([], why it is refused)``."""
    try:
        batch = read_audit_batch(data, key.rsplit("/", 1)[-1], where=key, filed_under=(store, kiosk))
    except BatchError as exc:
        return [], str(exc).removeprefix(f"{key}: ")
    enrolled = key_id(secret) if secret else None
    other = next((r.get("key_id") for r in batch.records if r.get("key_id") != enrolled), None) if secret else None
    if other is not None:  # before any work on the rows: a forged batch costs nothing
        return [], f"rows MACed with key {other}, not this kiosk's enrolled key {enrolled}"
    report = verify_rows(batch.records, {key_id(secret): secret} if secret else {}, expect_first=None,
                         allow_withheld=True)
    if report.problems:
        return [], f"forged or altered: {report.problems[0].message}"
    return batch.records, ""


def join_runs(chains: list[list[dict]], k: KioskAudit | None = None) -> list[dict[int, dict]]:
    """A kiosk's accepted batches put together: one ``{seq: row}`` run per start of its log (row 1 after GENESIS),
    the older first; restarts and rows that differ between two batches are named in ``k`` when given."""
    k = k or KioskAudit("", "")
    runs: list[dict[int, dict]] = []
    for rows in sorted(chains, key=lambda r: (r[0]["at"], r[0]["seq"])):
        starts_again = rows[0]["seq"] == 1 and rows[0]["prev"] == GENESIS
        if not runs or (starts_again and 1 in runs[-1] and runs[-1][1]["hash"] != rows[0]["hash"]):
            if runs:
                k.restarts.append(f"the log began again at row 1 on {rows[0]['at']} (database wiped or replaced; "
                                  f"{len(runs[-1])} rows of the earlier log received)")
            runs.append({})
        for r in rows:
            old = runs[-1].get(r["seq"])
            if old is not None and old["hash"] != r["hash"]:
                k.problems.append(f"row {r['seq']} differs between two batches (rewritten)")
            if old is None or "withheld" not in r or "withheld" in old:  # a row received whole stays whole
                runs[-1][r["seq"]] = r
    return runs


def _join(k: KioskAudit, chains: list[list[dict]], secret: bytes | None) -> list[dict]:
    """Put a kiosk's accepted batches together: restarts, rewritten rows, gaps; the current run's rows."""
    runs = join_runs(chains, k)
    if not runs:
        return []
    current = [runs[-1][s] for s in sorted(runs[-1])]
    report = verify_rows(current, {key_id(secret): secret} if secret else {}, expect_first=1, allow_withheld=True)
    k.problems += [p.message.replace("deleted", "not received (a batch still on its way, or deleted at the kiosk)")
                   if p.what == "deleted" else p.message for p in report.problems]
    k.withheld = [f"row {r['seq']} ({r['kind']}, {r['at']}): its detail ({withheld(r)} bytes) was too large for a "
                  "batch and stays in the kiosk's log (its hash, MAC and place in the chain checked)"
                  for r in (runs[-1][s] for s in report.withheld)]
    k.rows, k.last_seq, k.last_at = len(current), current[-1]["seq"], current[-1]["at"]
    k.problems += [f"row {r['seq']} ({r['at']}): the kiosk started without its audit witness file, which its log "
                   "had: rows cut off the end of its log before then cannot be ruled out" for r in current
                   if r["kind"] == "audit.witness_started" and (r["detail"] or {}).get("lost") is True]
    return current


def _heartbeat(ho: HeadOffice, store: str, kiosk: str) -> dict | None:
    """The kiosk's latest heartbeat, if there is one that can be read (``fleet status`` names one that cannot)."""
    from trainer.fleet.status import _read_local

    key = heartbeat_key(store, kiosk)
    try:
        data = _read_local(ho.local / key) if ho.local is not None else ho.read(key)
        doc = read_heartbeat(data, key)
    except (OSError, DataError):
        return None
    return doc if (doc["store_id"], doc["kiosk_id"]) == (store, kiosk) else None


def _witnessed(k: KioskAudit, beat: dict | None, current: list[dict], secret: bytes | None) -> None:
    """The heartbeat's witness of the kiosk's log against the rows received: a log rolled back at the kiosk."""
    w = (beat or {}).get("audit")
    if not w:
        return
    k.witnessed = w["seq"]
    if secret is not None and not witness_mac_ok(w, secret):
        k.problems.append(f"its heartbeat of {beat['at']} carries an audit witness (row {w['seq']}) not MACed with "
                          "its enrolled key: forged")
        return
    received = {r["seq"]: r["hash"] for r in current}
    if witness_against(w, max(received, default=0), received.get) == "differs":
        k.problems.append(f"rolled back: its heartbeat of {beat['at']} witnesses row {w['seq']} ({w['at']}), and the "
                          f"row {w['seq']} received is another (its database was rolled back or replaced)")
    sent = heartbeat_time(beat) - WITNESS_SLACK
    past = [r for r in current if r["seq"] > w["seq"] and _before(r["at"], sent)]
    if past:
        k.problems.append(f"rolled back: its heartbeat of {beat['at']} witnesses row {w['seq']} as its log's last, "
                          f"but row {past[-1]['seq']} ({past[-1]['at']}) was received from before it (its database "
                          "rolled back, or its witness not written)")


def _before(at: str, moment: datetime) -> bool:
    try:
        t = datetime.fromisoformat(at)
        return t.tzinfo is not None and t < moment
    except (TypeError, ValueError, OverflowError):
        return False


def _log_refusals(out: Path, refusals: list[dict]) -> None:
    """Append the refusals not logged before (by batch) to head office's own log."""
    path = out / REFUSALS
    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    seen = set()
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            seen.add(json.loads(line)["batch"])
        except (ValueError, KeyError, TypeError, RecursionError):  # a line cut by a crash, or edited by hand: kept
            if line.strip():
                log.warning("%s line %d: not a refusal record, left as it is", path, number)
    new = [r for r in refusals if r["batch"] not in seen]
    if new:
        with open(path, "a", encoding="utf-8") as fh:
            if text and not text.endswith("\n"):
                fh.write("\n")  # a line a crash cut short stays apart from the new ones
            for r in new:
                fh.write(json.dumps(r, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def collect_audit(src: str, keys_dir: str | os.PathLike | None, out: str | os.PathLike | None = None,
                  now: datetime | None = None) -> AuditCollection:
    """Check every kiosk's audit batches at ``src`` (see the module docstring); with ``out``, log the refusals and
    write ``audit-status.json`` there."""
    now = now or datetime.now(timezone.utc)
    kiosks, _chains, refusals = read_audit(src, keys_dir, now)
    result = AuditCollection(str(src), [kiosks[k] for k in sorted(kiosks)], refusals)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        _log_refusals(out, refusals)
        from kiosk.bundle_format.atomic import atomic_write

        atomic_write(out / STATUS, json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n")
    return result


def read_audit(src: str, keys_dir: str | os.PathLike | None, now: datetime, *, need_folder: bool = False
               ) -> tuple[dict[tuple[str, str], KioskAudit], dict[tuple[str, str], list[list[dict]]], list[dict]]:
    """Every kiosk's audit batches at ``src`` checked with the enrolled keys (each batch read once): ``(kiosks'
    status, each kiosk's accepted batches' rows, refusals)``. ``need_folder``: no ``audit/`` folder at a local
    ``src`` is an error (a wrong location), not an empty fleet."""
    (keys, bad_keys), ho = load_keys(keys_dir), HeadOffice(src)
    kiosks: dict[tuple[str, str], KioskAudit] = {}
    chains: dict[tuple[str, str], list[list[dict]]] = {}
    found, misplaced = ho.batches(KIND)
    if need_folder and not found and (ho.local is None or not (ho.local / KIND).is_dir()):
        raise DataError(f"{src}: no {KIND}/ folder of kiosk audit batches: not the head-office location the kiosks "
                        "upload to, or no kiosk has sent its audit log yet")
    refusals = [{**m, "store": m["batch"].split("/")[1] if m["batch"].count("/") > 1 else "", "kiosk": "",
                 "seen_at": now.isoformat()} for m in misplaced]
    for key, store, kiosk in found:
        k = kiosks.setdefault((store, kiosk), KioskAudit(store, kiosk))
        secret = keys.get((store, kiosk))
        k.key_id, k.batches = key_id(secret) if secret else None, k.batches + 1
        try:
            rows, why = _check_batch(ho.read(key), key, store, kiosk, secret)
        except (OSError, MemoryError) as exc:
            rows, why = [], f"cannot be read ({str(exc).removeprefix(key + ': ') or type(exc).__name__})"
        if why:
            k.refused += 1
            refusals.append({"batch": key, "store": store, "kiosk": kiosk, "reason": why, "seen_at": now.isoformat()})
            continue
        chains.setdefault((store, kiosk), []).append(rows)
    for (store, kiosk), k in kiosks.items():
        current = _join(k, chains.get((store, kiosk), []), keys.get((store, kiosk)))
        _witnessed(k, _heartbeat(ho, store, kiosk), current, keys.get((store, kiosk)))
    for store, kiosk in keys:
        kiosks.setdefault((store, kiosk), KioskAudit(store, kiosk, key_id(keys[(store, kiosk)]),
                                                     problems=["no audit batch received yet"]))
    for (store, kiosk), why in bad_keys.items():
        kiosks.setdefault((store, kiosk), KioskAudit(store, kiosk)).problems.append(
            f"its enrolled key cannot be used ({why}): enrol it again")
    return kiosks, chains, refusals


def read_key_text(path: str) -> str:
    try:
        return read_bounded(path, 64 * KB, "a key", text=True, error=DataError).decode("ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the key ({exc})") from None
