"""Feedback in the running kiosk: the :class:`~kiosk.feedback.loop.FeedbackLoop` (retention, batches, uploads,
heartbeat) on its own thread and its own connection to the kiosk's SQLite file, the outbox's state as an
:class:`~kiosk.services.events.OutboxChanged` event for the status bar, and room for photos on a full disk."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kiosk.config import KioskConfig
from kiosk.services.events import OutboxChanged

__all__ = ["FeedbackRelay"]

log = logging.getLogger(__name__)
MIB = 1 << 20


class FeedbackRelay:
    def __init__(self, config: KioskConfig, store, *, clock: Callable[[], datetime], emit: Callable[..., None],
                 stats: Callable[[], dict[str, Any]], transport=None) -> None:
        from kiosk.audit.packer import AuditPacker
        from kiosk.feedback.loop import FeedbackLoop
        from kiosk.store import SalesStore

        self._emit, self._clock = emit, clock
        self._kiosk_id, self._store_id = config.kiosk_id, config.store_id
        self.event: OutboxChanged | None = None
        # its own connection: the loop's transactions never wait on the checkout's lock, nor it on theirs
        self._store = SalesStore.open(store.path, kiosk_id=config.kiosk_id, clock=getattr(store, "_clock", clock),
                                      audit_key=getattr(store, "audit_key_path", None))
        self.loop = FeedbackLoop(config.feedback, store=self._store, captures=config.captures,
                                 kiosk_id=config.kiosk_id, store_id=config.store_id, clock=clock,
                                 min_free_bytes=config.min_free_mb * MIB, stats=stats, on_status=self._on_status,
                                 transport=transport)
        # the audit log goes to head office through the same outbox (kiosk.audit.packer): a wiped kiosk is noticed
        self.loop.packers.append(AuditPacker(self._store, self.loop.outbox, kiosk_id=config.kiosk_id,
                                             store_id=config.store_id))

    def carry_enrollments(self, gallery, product=None) -> None:
        """Products taught at this kiosk go to head office through the same outbox (:mod:`kiosk.gallery.packer`);
        ``gallery`` is the kiosk's :class:`~kiosk.gallery.Gallery` (None: nothing is taught here); ``product(sku)``:
        the SKU's catalog row (CSV text) sent with it."""
        from kiosk.gallery.packer import EnrollmentPacker

        if gallery is not None:
            self.loop.packers.append(EnrollmentPacker(gallery, self.loop.outbox, kiosk_id=self._kiosk_id,
                                                      store_id=self._store_id, product=product))

    def _on_status(self, status) -> None:
        text, level = status.line(now=self._clock())
        event = OutboxChanged(status.queued, text, level, status.last_error, status.dropped)
        if event != self.event:
            self.event = event
            self._emit(event)

    def make_room(self, need: int) -> bool:
        return self.loop.retention.make_room(need)

    def run_once(self):
        """One round now, on this thread (tests, tools); returns the outbox's status."""
        return self.loop.run_once()

    def start(self) -> None:
        self.loop.start()

    def wake(self) -> None:
        self.loop.wake()

    def stop(self) -> None:
        self.loop.stop()

    def close(self) -> None:
        self.loop.stop()
        self._store.close()


def service_stats(service) -> dict[str, Any]:
    """What the heartbeat reports of the running service: model, update state, recognitions since start."""
    version, description = service.model_info()
    update = service.update_status
    return {"model_version": version, "model_description": description, "recognitions": service.recognitions,
            "update": {} if update is None else {"state": update.state, "active_version": update.version,
                                                 "available_version": update.available_version,
                                                 "last_check": update.last_check, "last_error": update.error}}
