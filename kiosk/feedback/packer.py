"""Feedback rows (``kiosk.store.feedback``) → batches in the outbox, exactly once through kills.

A round: finish any snapshot a crash left (:meth:`~kiosk.store.feedback.FeedbackMixin.open_packs`), then while rows
are ready, snapshot up to ``batch_records`` of them (marking them sent, one transaction), make the batches from the
snapshot and the crops on disk (:func:`kiosk.exchange.write_batch`: the same snapshot gives the same bytes and
names), put them in the outbox, and drop the snapshot. A crop deleted meanwhile (retention) leaves its record
without an image.

Batches are cut by bytes as well as by count (:func:`kiosk.exchange.cut.cut`, as the audit and enrollment packers
cut theirs): a snapshot whose photos come to more than ``max_bytes`` (:data:`BATCH_BYTES`, far under what head
office reads, :data:`kiosk.exchange.batch.MAX_BATCH_BYTES`) goes out as several batches (``meta.part`` 1, 2, … after
the first), each built in memory on its own. A photo is read only if it is a regular file (never through a symbolic
link) inside the captures folder and at most :data:`MAX_PHOTO_BYTES` (and what a batch holds); anything else leaves
its record without an image.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from kiosk.exchange import write_batch
from kiosk.exchange.cut import BATCH_BYTES, RECORD_OVERHEAD, budget, cut
from kiosk.exchange.feedback import KIND

__all__ = ["BATCH_BYTES", "FeedbackPacker", "MAX_PHOTO_BYTES"]

log = logging.getLogger(__name__)

#: a tray crop is far smaller: a larger "photo" is not sent (its record is, without an image)
MAX_PHOTO_BYTES = 16 << 20


class FeedbackPacker:
    def __init__(self, store, outbox, *, kiosk_id: str, store_id: str, settle_s: float, batch_records: int,
                 clock: Callable[[], datetime], captures: str | os.PathLike | None = None,
                 max_bytes: int = BATCH_BYTES) -> None:
        self.store, self.outbox = store, outbox
        self.kiosk_id, self.store_id = kiosk_id, store_id
        self.settle_s, self.batch_records, self._clock = settle_s, batch_records, clock
        self.captures = Path(captures) if captures is not None else None
        self.max_bytes = max_bytes

    def pack(self) -> int:
        """One round; returns how many batches went into the outbox."""
        made = 0
        for seq, records in self.store.open_packs():  # a crash came between snapshot and outbox
            made += self._put(seq, records)
        while True:
            ready = self.store.ready_feedback(int(self._clock().timestamp() - self.settle_s), self.batch_records)
            if not ready:
                break
            made += self._put(self.store.begin_pack(ready), ready)
            if len(ready) < self.batch_records:
                break
        return made

    def _put(self, seq: int, snapshot: list[dict]) -> int:
        """The batches of one snapshot into the outbox, then the snapshot dropped; returns how many."""
        made = 0
        for part, (records, files) in enumerate(self._parts(snapshot)):
            meta = {"kiosk_id": self.kiosk_id, "store_id": self.store_id, "pack": seq, "records": len(records),
                    "first_placed_at": records[0]["placed_at"],
                    "last_updated_at": max(r["updated_at"] for r in records)}
            if part:
                meta["part"] = part
            name, data = write_batch(KIND, meta, records, files)
            self.outbox.put(name, data)
            made += 1
            log.info("feedback: %s (%d records, %d photos) queued", name, len(records), len(files))
        self.store.finish_pack(seq)
        return made

    def _parts(self, snapshot: list[dict]) -> Iterator[tuple[list[dict], dict[str, bytes]]]:
        """``snapshot`` cut, in order, into (records, photos) of at most ``max_bytes`` (one record at least)."""
        for run in cut(self._costed(snapshot), budget(self.max_bytes)):
            yield [rec for rec, _ in run], {rec["image"]: data for rec, data in run if data is not None}

    def _costed(self, snapshot: list[dict]) -> Iterator[tuple[tuple[dict, bytes | None], int]]:
        """Each record (its photo read, or its ``image`` emptied) with what it costs in a batch."""
        for rec in snapshot:
            rec = dict(rec)
            path = rec.pop("_image_path", "")
            data = self._photo(path) if rec["image"] else None
            if data is None:
                rec["image"] = ""
            yield (rec, data), RECORD_OVERHEAD + (len(data) if data is not None else 0)

    def _photo(self, path: str) -> bytes | None:
        limit = min(MAX_PHOTO_BYTES, max(0, budget(self.max_bytes) - RECORD_OVERHEAD))
        if self.captures is not None and path and not _inside(path, self.captures):
            log.warning("feedback: photo %s is outside the captures folder %s: not sent", path, self.captures)
            return None
        return _read(path, limit)


def _inside(path: str, folder: Path) -> bool:
    """True when ``path``'s folder is ``folder`` or below it (links resolved)."""
    where = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    root = os.path.realpath(folder)
    return where == root or where.startswith(root.rstrip(os.sep) + os.sep)


def _read(path: str, limit: int = MAX_PHOTO_BYTES) -> bytes | None:
    """The bytes of regular file ``path`` (not a symbolic link, at most ``limit`` bytes), or None."""
    if not path:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            log.warning("feedback: photo %s is not a regular file of at most %d bytes: not sent", path, limit)
            return None
        chunks, got = [], 0
        while got <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks) if got <= limit else None
    except OSError:
        return None
    finally:
        os.close(fd)
