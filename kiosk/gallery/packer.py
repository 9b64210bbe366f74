"""Enrollments → batches in the feedback outbox (:mod:`kiosk.exchange.enrollment`), so head office trains the next
model on what staff taught here. Run by the feedback loop each round, like the audit packer.

Exactly once through kills: an enrollment's batch is made from what the gallery holds (the same bytes, so the same
name, every time), queued, and only then marked sent; a kill in between queues the same batch again, which the outbox
and head office store once. An enrollment goes whole or not at all: before each round the gallery puts in place the
pending photos committed rows want (:meth:`~kiosk.gallery.Gallery.settle_pending`: an enrollment killed between its
commit and its renames), and an enrollment with a photo still gone, pending or not matching its hash is neither
packed nor marked sent (one line naming it): it is tried again next round, never sent short.

Batches are cut by bytes as the feedback packer cuts its own (:func:`kiosk.exchange.cut.cut`, at most ``max_bytes``,
never more than head office reads): an enrollment whose photos come to more goes as several batches, its parts
(``meta.parts``, ``meta.part``: :mod:`kiosk.exchange.enrollment`), all queued before it is marked sent, each built
in memory on its own; head office joins them into the one enrollment. The photos are read twice (checked, then
packed): one that changes in between fails the round, and the next packs the enrollment again from what is there. A
photo larger than a batch may hold on its own is left out, with a warning naming it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from kiosk.errors import DataError
from kiosk.exchange import write_batch
from kiosk.exchange.cut import BATCH_BYTES, RECORD_OVERHEAD, budget, cut
from kiosk.exchange.enrollment import KIND, MAX_PHOTOS, photo_member

__all__ = ["EnrollmentPacker"]

log = logging.getLogger(__name__)


class _Photo(NamedTuple):
    path: Path
    sha256: str
    sharpness: float | None
    size: int


class EnrollmentPacker:
    """``gallery``: the kiosk's :class:`~kiosk.gallery.Gallery`; ``outbox``: what takes ``put(name, bytes)``."""

    def __init__(self, gallery: Any, outbox: Any, *, kiosk_id: str, store_id: str, per_round: int = 20,
                 product: Callable[[str], dict[str, str] | None] | None = None, max_bytes: int = BATCH_BYTES) -> None:
        self.gallery, self.outbox = gallery, outbox
        self.kiosk_id, self.store_id, self.per_round = kiosk_id, store_id, per_round
        self.product = product  # the SKU's catalog row (CSV text), sent with the enrollment when known
        self.max_bytes = max_bytes

    def pack(self) -> int:
        """One round; returns how many batches went into the outbox. Enrollments held back (a photo not whole yet)
        do not take the round's places: up to ``per_round`` others are packed."""
        made, done, held, settled = 0, 0, set(), False
        while done < self.per_round:
            unsent = self.gallery.unsent(self.per_round - done, skip=held)
            if not unsent:
                break
            if not settled:  # pending photos committed rows want, put in place first (a kill after the commit)
                self.gallery.settle_pending()
                settled = True
            for enrollment in unsent:
                n = self._put(enrollment.enrollment_id)
                if n is None:
                    held.add(enrollment.enrollment_id)
                    continue
                self.gallery.mark_sent([enrollment.enrollment_id])
                made, done = made + n, done + 1
        return made

    def _put(self, enrollment_id: int) -> int | None:
        """The enrollment's batches (one, or its parts) into the outbox; returns how many (None: held back, a photo
        is not whole)."""
        row, photos = self.gallery.for_head_office(enrollment_id)
        limit = budget(self.max_bytes)
        kept = self._checked(enrollment_id, row["sku"], photos[:MAX_PHOTOS], limit - RECORD_OVERHEAD)
        if kept is None:
            return None
        parts = list(cut(((p, RECORD_OVERHEAD + p.size) for p in kept), limit))
        if not parts:
            return 0
        meta = {"kiosk_id": self.kiosk_id, "store_id": self.store_id, "enrollment_id": enrollment_id,
                "sku": row["sku"], "created_at": row["created_at"], "staff": row["staff"] or "",
                "source": row["source"] or "", "refused": int(row["refused"] or 0), "withdrawn_at": row["withdrawn_at"]}
        gallery_id = getattr(self.gallery, "gallery_id", None)
        if gallery_id is not None:  # head office joins on it: a gallery made anew restarts its enrollment ids
            meta["gallery_id"] = gallery_id
        product = self._product(row["sku"])
        if product is not None:
            meta["product"] = product
        for n, part in enumerate(parts):
            cut_meta = {} if len(parts) == 1 else {"parts": len(parts), "part": n} if n else {"parts": len(parts)}
            records, files = self._part(enrollment_id, part)
            name, data = write_batch(KIND, meta | cut_meta, records, files)
            self.outbox.put(name, data)
            log.info("enrollment: %s (%s, %d photos%s) queued", name, row["sku"], len(records),
                     f", part {n + 1} of {len(parts)}" if len(parts) > 1 else "")
        return len(parts)

    def _checked(self, enrollment_id: int, sku: str, photos: list, limit: int) -> list[_Photo] | None:
        """The photos that can go (one over ``limit`` bytes is left out, logged), or None when one is gone, pending
        or not matching its hash: the enrollment is not sent short."""
        kept, missing = [], 0
        for path, sha, sharpness in photos:
            size = _size(path)
            if size is not None and size > limit:
                log.warning("enrollment %d (%s): photo %s is %d bytes, more than a batch holds (%d): left out",
                            enrollment_id, sku, path, size, limit)
                continue
            data = _read(path)
            if data is None or len(data) > limit or hashlib.sha256(data).hexdigest() != sha:
                missing += 1
                continue
            kept.append(_Photo(path, sha, sharpness, len(data)))
        if missing:
            log.warning("enrollment %d (%s): %d of %d photo(s) not in place or not matching their hash (pending after "
                        "a kill?): not sent this round, tried again next round; never sent short", enrollment_id, sku,
                        missing, len(photos))
            return None
        return kept

    def _part(self, enrollment_id: int, part: list[_Photo]) -> tuple[list[dict], dict[str, bytes]]:
        records, files = [], {}
        for photo in part:
            data = _read(photo.path)
            if data is None or hashlib.sha256(data).hexdigest() != photo.sha256:
                raise DataError(f"enrollment {enrollment_id}: photo {photo.path} changed while it was packed; "
                                "packed again next round")
            member = photo_member(enrollment_id, photo.sha256)
            files[member] = data
            records.append({"image": member, "sha256": photo.sha256, "sharpness": photo.sharpness})
        return records, files

    def _product(self, sku: str) -> dict[str, str] | None:
        if self.product is None:
            return None
        try:
            return self.product(sku)
        except Exception:  # noqa: BLE001 - the catalog row is a courtesy: the photos go without it
            log.exception("enrollment: the catalog row of %s could not be read; sent without it", sku)
            return None


def _size(path: Path | None) -> int | None:
    try:
        return os.stat(path).st_size if path is not None else None
    except OSError:
        return None


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None
