"""The audit log to head office: ``audit`` batches (:mod:`kiosk.exchange.audit`) through the feedback outbox.

A round packs the rows not sent yet in ranges of at most ``batch_rows``, cut by bytes as well
(:func:`kiosk.exchange.cut.cut`, as the feedback packer cuts its batches: at most ``max_bytes``, never more than
head office reads). Each batch's range is recorded first (``begin_audit_pack``), the batch made from exactly those
rows goes to the outbox, then the range is marked done: a batch marks as packed only the rows it carries, the rest
go in the next ones. A kill in between packs the same range again into the same bytes — the same name, so head
office stores it once (a range recorded before it was cut, by an older kiosk, is cut now into as many batches as it
needs). The rows go as they are stored (hash, MAC, key id): head office checks the chain across a kiosk's batches,
so a kiosk whose log was wiped or rewritten is noticed there.

A row larger than a batch may be on its own goes **withheld** (:func:`kiosk.exchange.audit.withhold`: without its
``detail``, which stays here; its hash and MAC still chain it), with a warning in the log, so it never holds back
the rows behind it and head office sees which row it is and why.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from kiosk.exchange import write_batch
from kiosk.exchange.audit import KIND, withhold
from kiosk.exchange.cut import BATCH_BYTES, budget, cut, record_bytes

__all__ = ["AuditPacker"]

log = logging.getLogger(__name__)


class AuditPacker:
    def __init__(self, store, outbox, *, kiosk_id: str, store_id: str, batch_rows: int = 1000,
                 max_bytes: int = BATCH_BYTES) -> None:
        self.store, self.outbox = store, outbox
        self.kiosk_id, self.store_id, self.batch_rows = kiosk_id, store_id, batch_rows
        self.max_bytes = max_bytes

    def pack(self) -> int:
        """One round; returns how many batches went into the outbox."""
        made = 0
        for pack, first, last in self.store.open_audit_packs():  # a crash came between range and outbox
            for rows in self._parts(self.store.audit_range(first, last)):
                self._put(rows)
                made += 1
            self.store.finish_audit_pack(pack)
        while (todo := self.store.next_audit_range(self.batch_rows)) is not None:
            rows = self.store.audit_range(*todo)
            if not rows:  # nothing there to send (cannot happen with an append-only log)
                self.store.finish_audit_pack(self.store.begin_audit_pack(*todo))
                continue
            for part in self._parts(rows):
                pack = self.store.begin_audit_pack(part[0]["seq"], part[-1]["seq"])
                self._put(part)
                self.store.finish_audit_pack(pack)
                made += 1
        return made

    def _parts(self, rows: list[dict]) -> Iterator[list[dict]]:
        """``rows`` in order, cut into batches of at most ``max_bytes``; a row too large for any goes withheld."""
        limit = budget(self.max_bytes)

        def costed():
            for row in rows:
                size = record_bytes(row)
                if size > limit:
                    log.warning("audit: row %d (%s, %s) is %d bytes, more than a batch holds (%d): sent without its "
                                "detail (its hash and MAC are; the row stays in this kiosk's log)",
                                row["seq"], row["kind"], row["at"], size, limit)
                    row = withhold(row, size)
                    size = record_bytes(row)
                yield row, size

        return cut(costed(), limit)

    def _put(self, rows: list[dict]) -> str:
        meta = {"kiosk_id": self.kiosk_id, "store_id": self.store_id, "first_seq": rows[0]["seq"],
                "last_seq": rows[-1]["seq"], "rows": len(rows), "key_id": rows[-1]["key_id"],
                "first_at": rows[0]["at"], "last_at": rows[-1]["at"]}
        name, data = write_batch(KIND, meta, rows)
        self.outbox.put(name, data)
        log.info("audit: %s (rows %d-%d) queued", name, rows[0]["seq"], rows[-1]["seq"])
        return name
