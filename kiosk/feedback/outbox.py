"""The outbox: batches waiting to leave the kiosk, sent oldest first when head office can take them.

Generic over batch kinds (feedback now, audit records later): anything that made a batch with
:func:`kiosk.exchange.write_batch` hands it to :meth:`Outbox.put`. On disk::

    <outbox>/pending/<kind>-<sha256>.tar    waiting (written atomically: whole or absent)
    <outbox>/bad/…                          a pending file whose bytes no longer match its name (disk damage)
    <outbox>/state.json                     counters, last success, last error (read by `checkout doctor`)

Exactly once, whole, through kills and restarts: a batch is uploaded under its content address
(``<kind>/<store>/<kiosk>/<kind>-<sha256>.tar``, :func:`kiosk.exchange.batch_key`) and deleted here only after head
office has it; a kill in between uploads it again under the same name, which head office already has (the
transport says so, nothing is stored twice). Bounded: beyond ``max_bytes`` the oldest batches are dropped, as are
batches older than the retention (a photo never outlives ``keep_days`` here); drops are counted and shown.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write, fsync_dir
from kiosk.exchange import batch_key, parse_batch_name
from kiosk.feedback.transports import Transport, TransportError

__all__ = ["Outbox", "OutboxStatus", "read_outbox_status"]

log = logging.getLogger(__name__)

PENDING, BAD, STATE = "pending", "bad", "state.json"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(t: datetime | float | None) -> str | None:
    if t is None:
        return None
    if not isinstance(t, datetime):
        t = datetime.fromtimestamp(t, timezone.utc)
    return t.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class OutboxStatus:
    """What the status bar, the heartbeat and ``checkout doctor`` say about the outbox."""

    head_office: str = ""
    queued: int = 0
    bytes: int = 0
    oldest: str | None = None  # when the oldest waiting batch was made
    sent: int = 0
    already_there: int = 0  # uploads head office already had (a retry after a kill)
    dropped: int = 0  # batches dropped unsent (over the bound, or older than the retention)
    last_success: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    updated_at: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self, *, stale_after_s: float = 86400.0, now: datetime | None = None) -> tuple[str, str]:
        """``(text, level)``: one short line, level ``ok`` | ``warn`` | ``error``."""
        now = now or _utc_now()
        if not self.head_office:
            return "Head office: not configured (feedback stays on this kiosk)", "ok"
        waiting = f"{self.queued} batch{'es' if self.queued != 1 else ''} waiting"
        oldest_age = (now - datetime.fromisoformat(self.oldest.replace("Z", "+00:00"))).total_seconds() \
            if self.oldest else 0.0
        if self.dropped:
            return f"Head office: {waiting}, {self.dropped} dropped unsent (queue full)", "error"
        if self.last_error and self.queued:
            return f"Head office unreachable: {waiting}", "warn" if oldest_age < stale_after_s else "error"
        if self.queued and oldest_age >= stale_after_s:
            return f"Head office: {waiting} for {oldest_age / 3600:.0f} h", "warn"
        return f"Head office: up to date ({self.sent} sent)" if not self.queued else f"Head office: {waiting}", "ok"


@dataclass
class _Entry:
    path: Path
    size: int
    mtime: float
    kind: str = field(default="")


def read_outbox_status(root: str | os.PathLike) -> OutboxStatus:
    """The status a kiosk last saved in ``<root>/state.json``, with the queue as it is on disk now."""
    root = Path(root)
    try:
        saved = json.loads((root / STATE).read_text())
    except (OSError, ValueError):
        saved = {}
    known = set(OutboxStatus.__dataclass_fields__)
    status = OutboxStatus(**{k: v for k, v in saved.items() if k in known})
    entries = _entries(root / PENDING)
    status.queued, status.bytes = len(entries), sum(e.size for e in entries)
    status.oldest = _iso(entries[0].mtime) if entries else None
    return status


def _entries(folder: Path) -> list[_Entry]:
    """Waiting batches, oldest first (temporaries and other files are not batches)."""
    found = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    for name in names:
        parsed = parse_batch_name(name)
        if parsed is None:
            continue
        try:
            st = os.stat(folder / name)
        except FileNotFoundError:
            continue
        found.append(_Entry(folder / name, st.st_size, st.st_mtime, parsed[0]))
    return sorted(found, key=lambda e: (e.mtime, e.path.name))


class Outbox:
    """``put`` batches in, ``drain`` them to ``transport`` (None: nothing is sent, batches wait)."""

    def __init__(self, root: str | os.PathLike, transport: Transport | None, *, store_id: str, kiosk_id: str,
                 max_bytes: int, max_age_s: float, clock: Callable[[], datetime] = _utc_now) -> None:
        self.root = Path(root)
        self.pending = self.root / PENDING
        self.pending.mkdir(parents=True, exist_ok=True)
        self.transport, self.store_id, self.kiosk_id = transport, store_id, kiosk_id
        self.max_bytes, self.max_age_s, self._clock = max_bytes, max_age_s, clock
        self._lock = threading.Lock()
        self._status = read_outbox_status(self.root)
        self._status.head_office = transport.url if transport is not None else ""

    # -- in -------------------------------------------------------------------------------------------------------
    def put(self, name: str, data: bytes) -> bool:
        """Queue batch ``name`` (its content address); False when it is queued already (same bytes)."""
        if parse_batch_name(name) is None:
            raise ValueError(f"{name!r} is not a batch name")
        target = self.pending / name
        if target.is_file():
            return False
        atomic_write(target, data)
        return True

    # -- bound ------------------------------------------------------------------------------------------------------
    def bound(self) -> list[str]:
        """Drop batches older than the retention, then the oldest while the queue is over ``max_bytes``."""
        entries = _entries(self.pending)
        cutoff = self._clock().timestamp() - self.max_age_s
        dropped = [e for e in entries if e.mtime < cutoff]
        keep = [e for e in entries if e.mtime >= cutoff]
        total = sum(e.size for e in keep)
        while keep and total > self.max_bytes:
            total -= keep[0].size
            dropped.append(keep.pop(0))
        for e in dropped:
            e.path.unlink(missing_ok=True)
            log.warning("outbox: dropped %s unsent (%d bytes): head office has not taken it in time",
                        e.path.name, e.size)
        if dropped:
            fsync_dir(self.pending)
            with self._lock:
                self._status.dropped += len(dropped)
            self.save()
        return [e.path.name for e in dropped]

    # -- out --------------------------------------------------------------------------------------------------------
    def drain(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Upload waiting batches oldest first until the queue is empty, head office fails (the error is kept,
        the rest wait for the next round) or ``should_stop()``. Returns how many left the queue."""
        if self.transport is None:
            return 0
        done = 0
        for entry in _entries(self.pending):
            if should_stop():
                break
            try:
                if not self._send(entry):
                    continue
            except TransportError as exc:
                self._failed(str(exc))
                break
            done += 1
        self.save()
        return done

    def _send(self, entry: _Entry) -> bool:
        data = entry.path.read_bytes()
        parsed = parse_batch_name(entry.path.name)
        if parsed is None or hashlib.sha256(data).hexdigest() != parsed[1]:
            self._quarantine(entry.path)
            return False
        key = batch_key(entry.kind, self.store_id, self.kiosk_id, entry.path.name)
        stored = self.transport.put(key, data)
        entry.path.unlink(missing_ok=True)  # only now: head office has it (stored now, or before a kill)
        fsync_dir(self.pending)
        with self._lock:
            self._status.sent += 1
            self._status.already_there += 0 if stored else 1
            self._status.last_success = _iso(self._clock())
            self._status.last_error = self._status.last_error_at = None
        return True

    def _failed(self, message: str) -> None:
        log.warning("outbox: %s (will retry)", message)
        with self._lock:
            self._status.last_error, self._status.last_error_at = message, _iso(self._clock())

    def _quarantine(self, path: Path) -> None:
        bad = self.root / BAD
        bad.mkdir(exist_ok=True)
        log.error("outbox: %s does not match its name (damaged on disk): moved to %s", path.name, bad)
        path.rename(bad / path.name)  # kept for a look, out of the queue

    def send_document(self, key: str, data: bytes) -> bool:
        """Overwrite ``key`` at head office now (the heartbeat); False when head office cannot take it now."""
        if self.transport is None:
            return False
        try:
            self.transport.put(key, data, overwrite=True)
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
