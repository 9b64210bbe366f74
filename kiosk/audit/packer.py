"""The audit log to head office: ``audit`` batches (:mod:`kiosk.exchange.audit`) through the feedback outbox.

A round packs the rows not sent yet in ranges of at most ``batch_rows``: the range is recorded first
(``begin_audit_pack``), the batch made from exactly those rows goes to the outbox, then the range is marked done. A
kill in between packs the same range again into the same bytes — the same name, so head office stores it once.
The rows go as they are stored (hash, MAC, key id): head office checks the chain across a kiosk's batches, so a
kiosk whose log was wiped or rewritten is noticed there.
"""

from __future__ import annotations

import logging

from kiosk.exchange import write_batch
from kiosk.exchange.audit import KIND

__all__ = ["AuditPacker"]

log = logging.getLogger(__name__)


class AuditPacker:
    def __init__(self, store, outbox, *, kiosk_id: str, store_id: str, batch_rows: int = 1000) -> None:
        self.store, self.outbox = store, outbox
        self.kiosk_id, self.store_id, self.batch_rows = kiosk_id, store_id, batch_rows

    def pack(self) -> int:
        """One round; returns how many batches went into the outbox."""
        made = 0
        for pack, first, last in self.store.open_audit_packs():
            self._put(pack, first, last)
            made += 1
        while (todo := self.store.next_audit_range(self.batch_rows)) is not None:
            self._put(self.store.begin_audit_pack(*todo), *todo)
            made += 1
        return made

    def _put(self, pack: int, first: int, last: int) -> str:
        rows = self.store.audit_range(first, last)
        if not rows:  # nothing there to send (cannot happen with an append-only log)
            self.store.finish_audit_pack(pack)
            return ""
        meta = {"kiosk_id": self.kiosk_id, "store_id": self.store_id, "first_seq": first, "last_seq": last,
                "rows": len(rows), "key_id": rows[-1]["key_id"],
                "first_at": rows[0]["at"], "last_at": rows[-1]["at"]}
        name, data = write_batch(KIND, meta, rows)
        self.outbox.put(name, data)
        self.store.finish_audit_pack(pack)
        log.info("audit: %s (rows %d-%d) queued", name, first, last)
        return name
