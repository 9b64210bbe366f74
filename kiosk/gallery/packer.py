"""Enrollments → batches in the feedback outbox (:mod:`kiosk.exchange.enrollment`), so head office trains the next
model on what staff taught here. Run by the feedback loop each round, like the audit packer.

Exactly once through kills: an enrollment's batch is made from what the gallery holds (the same bytes, so the same
name, every time), queued, and only then marked sent; a kill in between queues the same batch again, which the outbox
and head office store once. A photo whose file is gone or no longer matches its hash is left out of the batch (and
counted in the log); an enrollment with no photo left is marked sent without a batch.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.exchange import write_batch
from kiosk.exchange.enrollment import KIND, MAX_PHOTOS, photo_member

__all__ = ["EnrollmentPacker"]

log = logging.getLogger(__name__)


class EnrollmentPacker:
    """``gallery``: the kiosk's :class:`~kiosk.gallery.Gallery`; ``outbox``: what takes ``put(name, bytes)``."""

    def __init__(self, gallery: Any, outbox: Any, *, kiosk_id: str, store_id: str, per_round: int = 20,
                 product: Callable[[str], dict[str, str] | None] | None = None) -> None:
        self.gallery, self.outbox = gallery, outbox
        self.kiosk_id, self.store_id, self.per_round = kiosk_id, store_id, per_round
        self.product = product  # the SKU's catalog row (CSV text), sent with the enrollment when known

    def pack(self) -> int:
        """One round; returns how many batches went into the outbox."""
        made = 0
        for enrollment in self.gallery.unsent(self.per_round):
            made += bool(self._put(enrollment.enrollment_id))
            self.gallery.mark_sent([enrollment.enrollment_id])
        return made

    def _put(self, enrollment_id: int) -> str:
        row, photos = self.gallery.for_head_office(enrollment_id)
        records, files, missing = [], {}, 0
        for path, sha, sharpness in photos[:MAX_PHOTOS]:
            data = _read(path)
            if data is None or hashlib.sha256(data).hexdigest() != sha:
                missing += 1
                continue
            member = photo_member(enrollment_id, sha)
            files[member] = data
            records.append({"image": member, "sha256": sha, "sharpness": sharpness})
        if missing:
            log.warning("enrollment %d (%s): %d photo(s) gone or changed, left out", enrollment_id, row["sku"], missing)
        if not records:
            return ""
        meta = {"kiosk_id": self.kiosk_id, "store_id": self.store_id, "enrollment_id": enrollment_id,
                "sku": row["sku"], "created_at": row["created_at"], "staff": row["staff"] or "",
                "source": row["source"] or "", "refused": int(row["refused"] or 0), "withdrawn_at": row["withdrawn_at"]}
        product = self._product(row["sku"])
        if product is not None:
            meta["product"] = product
        name, data = write_batch(KIND, meta, records, files)
        self.outbox.put(name, data)
        log.info("enrollment: %s (%s, %d photos) queued", name, row["sku"], len(records))
        return name


    def _product(self, sku: str) -> dict[str, str] | None:
        if self.product is None:
            return None
        try:
            return self.product(sku)
        except Exception:  # noqa: BLE001 - the catalog row is a courtesy: the photos go without it
            log.exception("enrollment: the catalog row of %s could not be read; sent without it", sku)
            return None


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
