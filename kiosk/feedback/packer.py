"""Feedback rows → batches in the outbox, exactly once through kills (see :mod:`kiosk.store.feedback`).

A round: finish any snapshot a crash left (:meth:`~kiosk.store.feedback.FeedbackMixin.open_packs`), then while rows
are ready, snapshot up to ``batch_records`` of them (marking them sent, one transaction), make the batch from the
snapshot and the crops on disk (:func:`kiosk.exchange.write_batch`: the same snapshot gives the same bytes and name),
put it in the outbox, and drop the snapshot. A crop deleted meanwhile (retention) leaves its record without an image.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from kiosk.exchange import write_batch
from kiosk.exchange.feedback import KIND

__all__ = ["FeedbackPacker"]

log = logging.getLogger(__name__)


class FeedbackPacker:
    def __init__(self, store, outbox, *, kiosk_id: str, store_id: str, settle_s: float, batch_records: int,
                 clock: Callable[[], datetime]) -> None:
        self.store, self.outbox = store, outbox
        self.kiosk_id, self.store_id = kiosk_id, store_id
        self.settle_s, self.batch_records, self._clock = settle_s, batch_records, clock

    def pack(self) -> int:
        """One round; returns how many batches went into the outbox."""
        made = 0
        for seq, records in self.store.open_packs():  # a crash came between snapshot and outbox
            self._put(seq, records)
            made += 1
        while True:
            ready = self.store.ready_feedback(int(self._clock().timestamp() - self.settle_s), self.batch_records)
            if not ready:
                break
            self._put(self.store.begin_pack(ready), ready)
            made += 1
            if len(ready) < self.batch_records:
                break
        return made

    def _put(self, seq: int, snapshot: list[dict]) -> str:
        records, files = [], {}
        for rec in snapshot:
            rec = dict(rec)
            path = rec.pop("_image_path", "")
            if rec["image"]:
                data = _read(path)
                if data is None:
                    rec["image"] = ""
                else:
                    files[rec["image"]] = data
            records.append(rec)
        meta = {"kiosk_id": self.kiosk_id, "store_id": self.store_id, "pack": seq, "records": len(records),
                "first_placed_at": records[0]["placed_at"], "last_updated_at": max(r["updated_at"] for r in records)}
        name, data = write_batch(KIND, meta, records, files)
        self.outbox.put(name, data)
        self.store.finish_pack(seq)
        log.info("feedback: %s (%d records, %d photos) queued", name, len(records), len(files))
        return name


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
