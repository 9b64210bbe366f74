"""The outbox: batches waiting to leave the kiosk, sent oldest first when head office can take them.

Generic over batch kinds (feedback now, audit records later): anything that made a batch with
:func:`kiosk.exchange.write_batch` hands it to :meth:`Outbox.put`. On disk::

    <outbox>/pending/<kind>-<sha256>.tar    waiting (written atomically: whole or absent)
    <outbox>/bad/…                          set aside, with ``<name>.reason.txt``: a pending file whose bytes no
                                            longer match its name (disk damage), one head office refuses for good
                                            (:class:`~kiosk.feedback.transports.TransportRefused`), or an entry
                                            named like a batch that is not a regular file
    <outbox>/state.json                     counters, last success, last error (read by `checkout doctor`)

Exactly once, whole, through kills and restarts: a batch is uploaded under its content address
(``<kind>/<store>/<kiosk>/<kind>-<sha256>.tar``, :func:`kiosk.exchange.batch_key`) and deleted here only after head
office has it; a kill in between uploads it again under the same name, which head office already has (the
transport says so, nothing is stored twice). Bounded: beyond ``max_bytes`` the oldest batches are dropped, as are
batches older than the retention (a photo never outlives ``keep_days`` here); drops are counted by reason and shown.
A batch is written under a temporary name its writer holds an ``flock`` on; a temporary nobody holds (a writer
killed mid-way) is removed when the outbox opens and at each :meth:`Outbox.bound`.

One entry's problem (unreadable, gone because another process sent it, not a file) is that entry's: the others are
still sent, bounded and counted. A ``state.json`` that is not what this module writes is read field by field, each
wrong field as empty (with a warning), so the kiosk and ``checkout doctor`` always start.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write, fsync_dir
from kiosk.exchange import batch_key, parse_batch_name
from kiosk.feedback.transports import Transport, TransportError, TransportRefused
from kiosk.feedback.transports.base import printable

__all__ = ["Outbox", "OutboxStatus", "read_outbox_status"]

log = logging.getLogger(__name__)

PENDING, BAD, STATE = "pending", "bad", "state.json"
MAX_STATE_BYTES = 1 << 20
#: a temporary this young and still empty may be a writer between creating it and locking it
FRESH_TMP_S = 60.0


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime | float | None) -> str | None:
    """``t`` as ISO text in UTC; None for None and for a time no calendar holds (a file's absurd mtime)."""
    if t is None:
        return None
    try:
        if not isinstance(t, datetime):
            t = datetime.fromtimestamp(t, timezone.utc)
        return t.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    except (ValueError, OverflowError, OSError):
        return None


def _age_s(iso_time: str | None, now: datetime) -> float:
    if not iso_time:
        return 0.0
    try:
        return (now - datetime.fromisoformat(iso_time.replace("Z", "+00:00"))).total_seconds()
    except (ValueError, TypeError, OverflowError):
        return 0.0


@dataclass
class OutboxStatus:
    """What the status bar, the heartbeat and ``checkout doctor`` say about the outbox."""

    head_office: str = ""
    queued: int = 0
    bytes: int = 0
    oldest: str | None = None  # when the oldest waiting batch was made
    sent: int = 0
    already_there: int = 0  # uploads head office already had (a retry after a kill)
    dropped: int = 0  # batches dropped unsent, all reasons (dropped_full + dropped_old, and older counts)
    dropped_full: int = 0  # … because the queue was over its bound
    dropped_old: int = 0  # … because they were older than the retention
    set_aside: int = 0  # batches head office refused for good, moved to bad/
    last_success: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    #: what keeps feedback from leaving on the kiosk's own side in the last round (packing, the outbox's disk, a
    #: head office that cannot be opened); None when the round had no such problem
    problem: str | None = None
    updated_at: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def _drops(self) -> list[str]:
        drops = []
        if self.dropped_full:
            drops.append(f"{self.dropped_full} dropped unsent (queue full)")
        if self.dropped_old:
            drops.append(f"{self.dropped_old} dropped unsent (older than the retention)")
        other = self.dropped - self.dropped_full - self.dropped_old
        if other > 0:
            drops.append(f"{other} dropped unsent")
        if self.set_aside:
            drops.append(f"{self.set_aside} refused by head office (set aside)")
        return drops

    def line(self, *, stale_after_s: float = 86400.0, now: datetime | None = None) -> tuple[str, str]:
        """``(text, level)``: one short line, level ``ok`` | ``warn`` | ``error``."""
        now = now or _utc_now()
        if not self.head_office:
            return "Head office: not configured (feedback stays on this kiosk)", "ok"
        if self.problem:
            return f"Feedback not leaving: {printable(self.problem, 100)}", "error"
        waiting = f"{self.queued} batch{'es' if self.queued != 1 else ''} waiting"
        oldest_age = _age_s(self.oldest, now)
        drops = self._drops()
        if drops:
            return f"Head office: {waiting}, {', '.join(drops)}", "error"
        if self.last_error and self.queued:
            return f"Head office unreachable: {waiting}", "warn" if oldest_age < stale_after_s else "error"
        if self.queued and oldest_age >= stale_after_s:
            return f"Head office: {waiting} for {oldest_age / 3600:.0f} h", "warn"
        return f"Head office: up to date ({self.sent} sent)" if not self.queued else f"Head office: {waiting}", "ok"


_COUNTERS = ("sent", "already_there", "dropped", "dropped_full", "dropped_old", "set_aside")
_TEXTS = ("head_office", "last_success", "last_error", "last_error_at", "problem", "updated_at")


def _load_state(path: Path) -> dict:
    """The fields of ``state.json`` that have the right type; a wrong file or field counts as empty (warned)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_STATE_BYTES + 1)
    except OSError:
        return {}
    try:
        doc = json.loads(raw) if len(raw) <= MAX_STATE_BYTES else None
    except (ValueError, RecursionError):
        doc = None
    if not isinstance(doc, dict):
        log.warning("outbox: %s is not an outbox state (damaged?): counters start from zero", path)
        return {}
    saved, wrong = {}, []
    for name in _COUNTERS:
        value = doc.get(name, 0)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 62:
            saved[name] = value
        else:
            wrong.append(name)
    for name in _TEXTS:
        value = doc.get(name)
        if value is None or isinstance(value, str):
            saved[name] = printable(value, 300) if value is not None else None
        else:
            wrong.append(name)
    if wrong:
        log.warning("outbox: %s: %s of the wrong type, taken as empty", path, ", ".join(wrong))
    return saved


def read_outbox_status(root: str | os.PathLike) -> OutboxStatus:
    """The status a kiosk last saved in ``<root>/state.json``, with the queue as it is on disk now."""
    root = Path(root)
    status = OutboxStatus(**_load_state(root / STATE))
    entries = _entries(root / PENDING)
    status.queued, status.bytes = len(entries), sum(e.size for e in entries)
    status.oldest = _iso(entries[0].mtime) if entries else None
    return status


@dataclass
class _Entry:
    path: Path
    size: int
    mtime: float
    kind: str = field(default="")


def _scan(folder: Path) -> tuple[list[_Entry], list[Path]]:
    """Waiting batches oldest first, and entries named like a batch that are not regular files."""
    found, odd = [], []
    try:
        names = os.listdir(folder)
    except OSError:
        return [], []
    for name in names:
        parsed = parse_batch_name(name)
        if parsed is None:  # temporaries and other files are not batches
            continue
        try:
            st = os.lstat(folder / name)
        except OSError:  # gone (another process sent it) or unreadable: not a batch now
            continue
        if not stat.S_ISREG(st.st_mode):
            odd.append(folder / name)
            continue
        found.append(_Entry(folder / name, st.st_size, st.st_mtime, parsed[0]))
    return sorted(found, key=lambda e: (e.mtime, e.path.name)), odd


def _entries(folder: Path) -> list[_Entry]:
    return _scan(folder)[0]


def _write_held(target: Path, data: bytes, when: float) -> None:
    """``data`` to ``target`` atomically, through a temporary this process holds an ``flock`` on while writing;
    the file's time is ``when`` (the outbox's clock: a batch's age is measured on the clock that judges it)."""
    from kiosk.bundle_format.atomic import AtomicFile

    with AtomicFile(target, locked=True) as out:
        out.tmp.write_bytes(data)
        os.utime(out.tmp, (when, when))


def sweep_temporaries(folder: Path) -> int:
    """Remove temporaries in ``folder`` no live writer holds (a kill cut their write short); returns bytes freed."""
    freed = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(".tmp")]
    except OSError:
        return 0
    for name in names:
        try:
            fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or (st.st_size == 0 and time.time() - st.st_mtime < FRESH_TMP_S):
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError: a writer holds it
            os.unlink(folder / name)
            freed += st.st_size
        except OSError:
            continue
        finally:
            os.close(fd)
    if freed:
        log.warning("outbox: removed %d bytes of batches a kill left half-written in %s", freed, folder)
    return freed


class Outbox:
    """``put`` batches in, ``drain`` them to ``transport`` (None: nothing is sent, batches wait).

    ``head_office``: what to call head office when ``transport`` is None although one is configured (it could not be
    opened): the status then says so instead of "not configured"."""

    def __init__(self, root: str | os.PathLike, transport: Transport | None, *, store_id: str, kiosk_id: str,
                 max_bytes: int, max_age_s: float, clock: Callable[[], datetime] = _utc_now,
                 head_office: str = "") -> None:
        self.root = Path(root)
        self.pending = self.root / PENDING
        self.pending.mkdir(parents=True, exist_ok=True)
        self.transport, self.store_id, self.kiosk_id = transport, store_id, kiosk_id
        self.max_bytes, self.max_age_s, self._clock = max_bytes, max_age_s, clock
        self._lock = threading.Lock()
        self._status = read_outbox_status(self.root)
        self._status.head_office = transport.url if transport is not None else head_office
        sweep_temporaries(self.pending)

    def set_transport(self, transport: Transport | None, head_office: str = "") -> None:
        self.transport = transport
        with self._lock:
            self._status.head_office = transport.url if transport is not None else head_office

    def set_problem(self, problem: str | None) -> None:
        """What keeps feedback from leaving on the kiosk's side this round (None: nothing); shown as an error."""
        with self._lock:
            self._status.problem = printable(problem, 300) if problem else None

    # -- in -------------------------------------------------------------------------------------------------------
    def put(self, name: str, data: bytes) -> bool:
        """Queue batch ``name`` (its content address); False when it is queued already (same bytes)."""
        if parse_batch_name(name) is None:
            raise ValueError(f"{name!r} is not a batch name")
        target = self.pending / name
        if target.is_file():
            return False
        _write_held(target, data, self._clock().timestamp())
        return True

    # -- bound ------------------------------------------------------------------------------------------------------
    def bound(self, *, by_age: bool = True) -> list[str]:
        """Drop batches older than the retention (unless not ``by_age``: the wall clock just moved), then the oldest
        while the queue is over ``max_bytes``; set aside entries that are not batch files; remove temporaries a
        kill left."""
        sweep_temporaries(self.pending)
        entries, odd = _scan(self.pending)
        for path in odd:
            self._quarantine(path, "not a regular file")
        cutoff = self._clock().timestamp() - self.max_age_s if by_age else float("-inf")
        old = [e for e in entries if e.mtime < cutoff]
        keep = [e for e in entries if e.mtime >= cutoff]
        total, full = sum(e.size for e in keep), []
        while keep and total > self.max_bytes:
            total -= keep[0].size
            full.append(keep.pop(0))
        gone = {"old": self._drop(old, "older than the retention"), "full": self._drop(full, "the queue is full")}
        if gone["old"] or gone["full"]:
            with self._lock:
                self._status.dropped += len(gone["old"]) + len(gone["full"])
                self._status.dropped_old += len(gone["old"])
                self._status.dropped_full += len(gone["full"])
            self.save()
        return gone["old"] + gone["full"]

    def _drop(self, entries: list[_Entry], why: str) -> list[str]:
        dropped = []
        for e in entries:
            try:
                e.path.unlink()
            except FileNotFoundError:  # another process sent or dropped it meanwhile
                continue
            except OSError as exc:
                log.error("outbox: cannot drop %s: %s", e.path.name, exc.strerror or exc)
                continue
            log.warning("outbox: dropped %s unsent (%d bytes): %s", e.path.name, e.size, why)
            dropped.append(e.path.name)
        if dropped:
            _fsync_dir(self.pending)
        return dropped

    def restamp(self, step: float) -> None:
        """Move every waiting batch's time by ``step`` seconds: the wall clock was set by that much, and a batch's
        age is what the kiosk saw, not what the clock jumped over."""
        for entry in _entries(self.pending):
            try:
                os.utime(entry.path, (entry.mtime + step, entry.mtime + step))
            except (OSError, OverflowError, ValueError):
                continue

    # -- out --------------------------------------------------------------------------------------------------------
    def drain(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Upload waiting batches oldest first until the queue is empty, head office fails (the error is kept,
        the rest wait for the next round) or ``should_stop()``. A batch head office refuses for good is set aside
        and the rest still go. Returns how many left the queue."""
        if self.transport is None:
            return 0
        done = 0
        for entry in _entries(self.pending):
            if should_stop():
                break
            try:
                if not self._send(entry):
                    continue
            except TransportRefused as exc:
                self._failed(str(exc), retry=False)
                self._quarantine(entry.path, str(exc))
                with self._lock:
                    self._status.set_aside += 1
                continue
            except TransportError as exc:
                self._failed(str(exc))
                break
            done += 1
        self.save()
        return done

    def _put(self, key: str, data: bytes, overwrite: bool = False) -> bool:
        """The transport's put; whatever else it raises is a :class:`TransportError` (one line, retried)."""
        try:
            return self.transport.put(key, data, overwrite=overwrite)
        except TransportError:
            raise
        except Exception as exc:  # noqa: BLE001 - a transport's bug or a bad setting must not stop the outbox
            log.exception("outbox: the transport failed on %s", key)
            raise TransportError(f"{key}: {type(exc).__name__}: {exc}") from None

    def _send(self, entry: _Entry) -> bool:
        try:
            data = entry.path.read_bytes()
        except FileNotFoundError:  # another process sent it meanwhile
            return False
        except OSError as exc:
            self._quarantine(entry.path, f"unreadable: {exc.strerror or exc}")
            return False
        parsed = parse_batch_name(entry.path.name)
        if parsed is None or hashlib.sha256(data).hexdigest() != parsed[1]:
            self._quarantine(entry.path, "its bytes do not match its name (damaged on disk)")
            return False
        key = batch_key(entry.kind, self.store_id, self.kiosk_id, entry.path.name)
        stored = self._put(key, data)
        entry.path.unlink(missing_ok=True)  # only now: head office has it (stored now, or before a kill)
        _fsync_dir(self.pending)
        with self._lock:
            self._status.sent += 1
            self._status.already_there += 0 if stored else 1
            self._status.last_success = _iso(self._clock())
            self._status.last_error = self._status.last_error_at = None
        return True

    def _failed(self, message: str, *, retry: bool = True) -> None:
        message = printable(message, 300)
        log.warning("outbox: %s%s", message, " (will retry)" if retry else "")
        with self._lock:
            self._status.last_error, self._status.last_error_at = message, _iso(self._clock())

    def _quarantine(self, path: Path, reason: str) -> None:
        """Move ``path`` out of the queue into bad/, with ``<name>.reason.txt`` saying why (kept for a look)."""
        bad = self.root / BAD
        log.error("outbox: %s set aside in %s: %s", path.name, bad, printable(reason, 300))
        try:
            bad.mkdir(exist_ok=True)
            (bad / f"{path.name}.reason.txt").write_text(printable(reason, 300) + "\n")
            path.rename(bad / path.name)
        except OSError as exc:  # gone meanwhile, or bad/ cannot be written: it stays out of the counts anyway
            log.error("outbox: cannot move %s to %s: %s", path.name, bad, exc.strerror or exc)

    def send_document(self, key: str, data: bytes) -> bool:
        """Overwrite ``key`` at head office now (the heartbeat); False when head office cannot take it now."""
        if self.transport is None:
            return False
        try:
            self._put(key, data, overwrite=True)
        except TransportError as exc:
            self._failed(str(exc))
            return False
        return True

    # -- status -------------------------------------------------------------------------------------------------------
    def status(self) -> OutboxStatus:
        entries = _entries(self.pending)
        with self._lock:
            s = OutboxStatus(**asdict(self._status))
        s.queued, s.bytes = len(entries), sum(e.size for e in entries)
        s.oldest = _iso(entries[0].mtime) if entries else None
        return s

    def save(self) -> None:
        status = self.status()
        status.updated_at = _iso(self._clock())
        try:
            atomic_write(self.root / STATE, json.dumps(status.to_dict(), indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            log.warning("outbox: cannot write %s: %s", self.root / STATE, exc)


def _fsync_dir(path: Path) -> None:
    try:
        fsync_dir(path)
    except OSError as exc:
        log.warning("outbox: cannot sync %s: %s", path, exc.strerror or exc)
