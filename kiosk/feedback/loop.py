"""The running kiosk's side of feedback: a daemon thread that, every ``upload_interval_s``, packs ready feedback
into batches, purges (retention), bounds and drains the outbox, and sends the heartbeat.

It has its own connection to the kiosk's SQLite file and only ever waits on the network itself: the checkout never
waits for it. Each step is isolated (one failing step is logged and kept as ``last_error``; the others still run),
and every round ends by handing the outbox's status to ``on_status`` (the status bar) and writing a local copy of
the heartbeat beside the outbox for ``checkout doctor``. A step that keeps feedback from leaving on the kiosk's own
side (packing, bounding the outbox, a head office that cannot be opened) is the outbox's ``problem``: the status
line and the doctor show it as an error until a round goes through without it. Nothing a round raises ends the
thread.

Nothing recorded is deleted before head office could be given it, whatever the wall clock says:

* each round packs *before* retention runs, so rows ready to go are in a batch before their age is looked at;
* age never deletes a row not packed yet (nor any placed after it) while head office is configured -- unless that
  row has been waiting for longer than ``keep_days`` by the kiosk's own monotonic clock in this run (a photo's
  privacy limit then wins over delivery, and the error has been on the status line all along);
* a round in which the wall clock moved more than :data:`CLOCK_STEP_S` away from the monotonic clock since the
  last round (an RTC reset corrected by NTP, a mistyped date) deletes nothing by age; the waiting batches are
  re-stamped by the step, so their age in the outbox stays what the kiosk saw. It is logged.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
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
from kiosk.feedback.settings import FeedbackSettings, display_url
from kiosk.feedback.transports import Transport, TransportError, open_transport
from kiosk.feedback.transports.http import token_problem
from kiosk.inputfiles import KB, read_bounded

__all__ = ["CLOCK_STEP_S", "FeedbackLoop", "HEARTBEAT_COPY", "read_token"]

log = logging.getLogger(__name__)
HEARTBEAT_COPY = "heartbeat.json"
MIB = 1 << 20
#: a wall clock that moved this much further than the monotonic clock between two rounds was set, not ticking
CLOCK_STEP_S = 3600.0
#: steps whose failure keeps feedback on the kiosk (the status line says so)
BLOCKING = ("head office", "packing", "outbox bound")


def read_token(path: str) -> str:
    """The bearer token in ``path`` ("" when none, unreadable, or not something a header can carry: warned)."""
    if not path.strip():
        return ""
    try:
        token = read_bounded(path, 64 * KB, "a token file", text=True).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError, UserError) as exc:
        log.warning("feedback: cannot read token_file %s: %s", path, getattr(exc, "strerror", None) or exc)
        return ""
    problem = token_problem(token)
    if problem:
        log.warning("feedback: %s (%s): sent without a token", problem, path)
        return ""
    return token


class FeedbackLoop:
    def __init__(self, settings: FeedbackSettings, *, store, captures: str | Path, kiosk_id: str, store_id: str,
                 clock: Callable[[], datetime], min_free_bytes: int, stats: Callable[[], dict[str, Any]] = dict,
                 on_status: Callable[[OutboxStatus], None] = lambda s: None, transport: Transport | None = None,
                 disk_usage: Callable[[str], Any] = shutil.disk_usage,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings, self.store, self.captures = settings, store, Path(captures)
        self.kiosk_id, self.store_id, self._clock = kiosk_id, store_id, clock
        self._stats, self._on_status, self._disk_usage = stats, on_status, disk_usage
        self._monotonic = monotonic
        self.last_error: str | None = None
        self._open_problem: str | None = None
        if transport is None and settings.sends:
            transport = self._open_transport()
        self.retention = Retention(store, self.captures, keep_days=settings.keep_days,
                                   keep_bytes=settings.keep_mb * MIB, min_free=min_free_bytes, clock=clock,
                                   disk_usage=disk_usage)
        self.outbox = Outbox(settings.outbox, transport, store_id=store_id, kiosk_id=kiosk_id,
                             max_bytes=settings.outbox_mb * MIB, max_age_s=settings.keep_days * 86400, clock=clock,
                             head_office=display_url(settings.head_office))
        self.packer = FeedbackPacker(store, self.outbox, kiosk_id=kiosk_id, store_id=store_id,
                                     settle_s=settings.settle_s, batch_records=settings.batch_records, clock=clock,
                                     captures=self.captures)
        #: what makes batches for this outbox each round: feedback, and whatever else is added (audit batches)
        self.packers: list[Any] = [self.packer]
        self._anchor = (clock().timestamp(), monotonic())
        self._unsent: tuple[str, float] | None = None  # the oldest row not packed, and since when (monotonic)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._round = threading.Lock()

    @property
    def sends(self) -> bool:
        return self.outbox.transport is not None

    def _open_transport(self) -> Transport | None:
        """The head office's transport; None (and ``_open_problem`` says why) when it cannot be opened now."""
        s = self.settings
        token = read_token(s.token_file)
        try:
            if s.token_file.strip() and not token:
                raise TransportError(f"token_file {s.token_file}: no usable token (see the log)")
            transport = open_transport(s.head_office, timeout_s=s.timeout_s, token=token)
        except Exception as exc:  # noqa: BLE001 - e.g. s3:// without s3fs: nothing is sent, the status says why
            self._open_problem = f"head office {display_url(s.head_office)} cannot be opened: {exc}"
            log.error("feedback: %s", self._open_problem)
            return None
        self._open_problem = None
        return transport

    def _step(self, name: str, fn: Callable[[], Any], errors: dict[str, str] | None = None) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one failing step must not stop the others or the thread
            log.exception("feedback: %s failed", name)
            self.last_error = f"{name}: {type(exc).__name__}: {exc}"
            if errors is not None:
                errors[name] = self.last_error
            return None

    @property
    def _sending(self) -> bool:
        return self.settings.sends or self.outbox.transport is not None

    def run_once(self) -> OutboxStatus:
        """One round (the thread's, or a test's or a tool's): pack, retention, bound, drain, heartbeat. Never
        raises: what goes wrong is logged, kept as ``last_error`` and, when it keeps feedback here, on the status."""
        try:
            with self._round:
                status = self._round_steps()
        except Exception as exc:  # noqa: BLE001 - the thread must outlive any round
            log.exception("feedback: the round failed")
            self.last_error = f"round: {type(exc).__name__}: {exc}"
            status = OutboxStatus(head_office=display_url(self.settings.head_office), problem=self.last_error)
        try:
            self._on_status(status)
        except Exception:  # noqa: BLE001 - the status bar's own problem
            log.exception("feedback: showing the status failed")
        return status

    def _round_steps(self) -> OutboxStatus:
        errors: dict[str, str] = {}
        steady = self._clock_steady()
        if self.settings.sends and self.outbox.transport is None:  # could not be opened: try again each round
            self.outbox.set_transport(self._open_transport(), display_url(self.settings.head_office))
        if self._open_problem and self.outbox.transport is None:
            errors["head office"] = self._open_problem
        if self._sending:
            for packer in self.packers:
                self._step(f"packing ({type(packer).__name__})", packer.pack, errors)
        spare = self._step("retention", self._spare_from)
        self._step("retention", lambda: self.retention.purge(by_age=steady, spare_from_ts=spare))
        if self._sending:
            self._step("outbox bound", lambda: self.outbox.bound(by_age=steady), errors)
            self._step("upload", lambda: self.outbox.drain(self._stop.is_set))
        self.outbox.set_problem("; ".join(v for k, v in errors.items() if k.startswith(BLOCKING)) or None)
        self._step("heartbeat", self._heartbeat)
        self.outbox.save()
        return self.outbox.status()

    def _clock_steady(self) -> bool:
        """False when the wall clock moved more than :data:`CLOCK_STEP_S` away from the monotonic clock since the
        last round: ages are not known this round, and the waiting batches are re-stamped by the step."""
        wall, mono = self._clock().timestamp(), self._monotonic()
        (wall0, mono0), self._anchor = self._anchor, (wall, mono)
        step = (wall - wall0) - (mono - mono0)
        if abs(step) <= CLOCK_STEP_S:
            return True
        log.warning("feedback: the wall clock moved %+.0f s beside the kiosk's own clock since the last round (set, "
                    "not ticking): nothing is deleted by age this round; waiting batches re-stamped", step)
        self.outbox.restamp(step)
        return False

    def _spare_from(self) -> float | None:
        """When the oldest row not packed yet was placed: age deletes nothing from there on (None: no such row, no
        head office, or it has waited longer than ``keep_days`` by this kiosk's own monotonic clock)."""
        if not self._sending:
            return None
        oldest = self.store.ready_feedback(1 << 62, 1)  # every row not packed counts, ready or not
        if not oldest:
            self._unsent = None
            return None
        pid, now = oldest[0]["placement_id"], self._monotonic()
        if self._unsent is None or self._unsent[0] != pid:
            self._unsent = (pid, now)
        if now - self._unsent[1] > self.retention.keep_s:
            log.warning("feedback: %s has not been packed for %g days of this kiosk's own time: retention deletes "
                        "it by age", pid, self.settings.keep_days)
            return None
        return datetime.fromisoformat(oldest[0]["placed_at"]).timestamp()

    def _heartbeat(self) -> None:
        status = self.outbox.status()
        data = build_heartbeat(kiosk_id=self.kiosk_id, store_id=self.store_id, now=self._clock(), store=self.store,
                               stats=self._stats(), outbox=status.to_dict(), captures=self.captures,
                               last_error=status.problem or self.last_error or status.last_error,
                               disk_usage=self._disk_usage)
        if self.sends:  # first: a full disk here must not keep the heartbeat from leaving
            self.outbox.send_document(heartbeat_key(self.store_id, self.kiosk_id), data)
        atomic_write(Path(self.settings.outbox) / HEARTBEAT_COPY, data)

    # -- the thread ---------------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="feedback", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - run_once never raises; if it ever does, the next round still comes
                log.exception("feedback: the round failed")
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
