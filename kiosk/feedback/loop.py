"""The running kiosk's side of feedback: a daemon thread that, every ``upload_interval_s``, purges (retention),
packs ready feedback into batches, bounds and drains the outbox, and sends the heartbeat.

It has its own connection to the kiosk's SQLite file and only ever waits on the network itself: the checkout never
waits for it. Each step is isolated (one failing step is logged and kept as ``last_error``; the others still run),
and every round ends by handing the outbox's status to ``on_status`` (the status bar) and writing a local copy of
the heartbeat beside the outbox for ``checkout doctor``.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.bundle_format.atomic import atomic_write
from kiosk.errors import UserError
from kiosk.exchange import heartbeat_key
from kiosk.feedback.heartbeat import build_heartbeat
from kiosk.feedback.outbox import Outbox, OutboxStatus
from kiosk.feedback.packer import FeedbackPacker
from kiosk.feedback.retention import Retention
from kiosk.feedback.settings import FeedbackSettings
from kiosk.feedback.transports import Transport, TransportError, open_transport
from kiosk.inputfiles import KB, read_bounded

__all__ = ["FeedbackLoop", "HEARTBEAT_COPY", "read_token"]

log = logging.getLogger(__name__)
HEARTBEAT_COPY = "heartbeat.json"
MIB = 1 << 20


def read_token(path: str) -> str:
    if not path.strip():
        return ""
    try:
        return read_bounded(path, 64 * KB, "a token file", text=True).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError, UserError) as exc:
        log.warning("feedback: cannot read token_file %s: %s", path, getattr(exc, "strerror", None) or exc)
        return ""


class FeedbackLoop:
    def __init__(self, settings: FeedbackSettings, *, store, captures: str | Path, kiosk_id: str, store_id: str,
                 clock: Callable[[], datetime], min_free_bytes: int, stats: Callable[[], dict[str, Any]] = dict,
                 on_status: Callable[[OutboxStatus], None] = lambda s: None, transport: Transport | None = None,
                 disk_usage: Callable[[str], Any] = shutil.disk_usage) -> None:
        self.settings, self.store, self.captures = settings, store, Path(captures)
        self.kiosk_id, self.store_id, self._clock = kiosk_id, store_id, clock
        self._stats, self._on_status, self._disk_usage = stats, on_status, disk_usage
        self.last_error: str | None = None
        if transport is None and settings.sends:
            try:
                transport = open_transport(settings.head_office, timeout_s=settings.timeout_s,
                                           token=read_token(settings.token_file))
            except TransportError as exc:  # e.g. s3:// without s3fs: nothing is sent, the doctor says why
                self.last_error = str(exc)
                log.error("feedback: %s", exc)
        self.retention = Retention(store, self.captures, keep_days=settings.keep_days,
                                   keep_bytes=settings.keep_mb * MIB, min_free=min_free_bytes, clock=clock,
                                   disk_usage=disk_usage)
        self.outbox = Outbox(settings.outbox, transport, store_id=store_id, kiosk_id=kiosk_id,
                             max_bytes=settings.outbox_mb * MIB, max_age_s=settings.keep_days * 86400, clock=clock)
        self.packer = FeedbackPacker(store, self.outbox, kiosk_id=kiosk_id, store_id=store_id,
                                     settle_s=settings.settle_s, batch_records=settings.batch_records, clock=clock)
        #: what makes batches for this outbox each round: feedback, and whatever else is added (audit batches)
        self.packers: list[Any] = [self.packer]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._round = threading.Lock()

    @property
    def sends(self) -> bool:
        return self.outbox.transport is not None

    def _step(self, name: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one failing step must not stop the others or the thread
            log.exception("feedback: %s failed", name)
            self.last_error = f"{name}: {type(exc).__name__}: {exc}"
            return None

    def run_once(self) -> OutboxStatus:
        """One round (the thread's, or a test's or a tool's): retention, pack, bound, drain, heartbeat."""
        with self._round:
            self._step("retention", self.retention.purge)
            if self.sends:
                for packer in self.packers:
                    self._step(f"packing ({type(packer).__name__})", packer.pack)
                self._step("outbox bound", self.outbox.bound)
                self._step("upload", lambda: self.outbox.drain(self._stop.is_set))
            self._step("heartbeat", self._heartbeat)
            self.outbox.save()
            status = self.outbox.status()
        self._on_status(status)
        return status

    def _heartbeat(self) -> None:
        status = self.outbox.status()
        data = build_heartbeat(kiosk_id=self.kiosk_id, store_id=self.store_id, now=self._clock(), store=self.store,
                               stats=self._stats(), outbox=status.to_dict(), captures=self.captures,
                               last_error=self.last_error or status.last_error, disk_usage=self._disk_usage)
        atomic_write(Path(self.settings.outbox) / HEARTBEAT_COPY, data)
        if self.sends:
            self.outbox.send_document(heartbeat_key(self.store_id, self.kiosk_id), data)

    # -- the thread ---------------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="feedback", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self.settings.upload_interval_s)
            self._wake.clear()

    def wake(self) -> None:
        """Run a round now (a sale just closed, say) instead of at the next interval."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None
