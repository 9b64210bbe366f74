"""Running a frame source on its own thread without ever blocking the consumer.

:class:`CaptureWorker` keeps only the newest frame: a consumer that is busy (recognition
running) simply gets the latest frame next time, and every frame it never saw is counted in
:attr:`CaptureWorker.dropped`. The worker reports its state through observers and the
:attr:`CaptureWorker.state` property::

    connecting → live → (lost → reconnecting → live)* → ended | failed

A live source (camera) that cannot be opened or stops delivering is reopened with capped
exponential backoff; a replay that reaches its end is ``ended``; a replay that cannot be
opened is ``failed`` (retrying would not help). No Qt here: a UI bridges the observer to a
signal.

For headless runs that must see every frame in order, use :func:`iter_frames` (synchronous,
deterministic, no drops).
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kiosk.camera.base import Frame, FrameSource, SourceLost, create_source

log = logging.getLogger(__name__)


class CaptureState(str, enum.Enum):
    CONNECTING = "connecting"
    LIVE = "live"
    LOST = "lost"
    RECONNECTING = "reconnecting"
    ENDED = "ended"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (CaptureState.ENDED, CaptureState.FAILED)


@dataclass(frozen=True)
class CaptureStatus:
    """What observers receive: the state, the last error text, the reconnect attempt and the
    delay before the next attempt (``retry_in`` seconds, only while reconnecting)."""

    state: CaptureState
    error: str | None = None
    attempt: int = 0
    retry_in: float | None = None


@dataclass(frozen=True)
class Backoff:
    """Delay before reconnect attempt ``n`` (1-based): ``initial * factor**(n-1)``, at most ``maximum``."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 10.0

    def delay(self, attempt: int) -> float:
        return min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))


StateObserver = Callable[[CaptureStatus], None]


class CaptureWorker:
    """Reads ``source`` (a :class:`FrameSource` or a URI) on a daemon thread.

    ``pace``: deliver replays at their ``pacing_fps`` (real time); devices pace themselves.
    ``observers`` are called on the capture thread with a :class:`CaptureStatus` at every
    state change; keep them quick (emit a queued Qt signal, set a flag).
    """

    def __init__(
        self,
        source: FrameSource | str,
        *,
        backoff: Backoff = Backoff(),
        pace: bool = True,
        observers: tuple[StateObserver, ...] | list[StateObserver] = (),
        name: str | None = None,
    ):
        self.source = create_source(source) if isinstance(source, str) else source
        self.backoff = backoff
        self.pace = pace
        self._observers: list[StateObserver] = list(observers)
        self._lock = threading.Lock()
        self._new_frame = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._slot: Frame | None = None
        self._status = CaptureStatus(CaptureState.CONNECTING)
        self._thread = threading.Thread(target=self._run, name=name or f"capture {self.source.name}", daemon=True)
        self.captured = 0
        self.delivered = 0
        self.dropped = 0
        self.reconnects = 0

    # -- observers & state ------------------------------------------------------------------
    def add_observer(self, observer: StateObserver) -> None:
        self._observers.append(observer)

    def remove_observer(self, observer: StateObserver) -> None:
        self._observers.remove(observer)

    @property
    def status(self) -> CaptureStatus:
        return self._status

    @property
    def state(self) -> CaptureState:
        return self._status.state

    def _set_status(
        self, state: CaptureState, error: str | None = None, attempt: int = 0, retry_in: float | None = None
    ) -> None:
        status = CaptureStatus(state, error, attempt, retry_in)
        with self._lock:
            self._status = status
            self._new_frame.notify_all()  # wake consumers waiting in get() (e.g. on ended)
        log.info("%s: %s%s", self.source.name, state.value, f" ({error})" if error else "")
        for observer in list(self._observers):
            try:
                observer(status)
            except Exception:  # an observer bug must not kill capture
                log.exception("%s: capture state observer failed", self.source.name)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> CaptureWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to finish, wait for it, close the source."""
        self._stop.set()
        with self._lock:
            self._new_frame.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> CaptureWorker:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- consumer side ------------------------------------------------------------------------
    def latest(self) -> Frame | None:
        """Take the newest frame if there is one the consumer has not taken yet (never blocks)."""
        with self._lock:
            return self._take()

    def get(self, timeout: float | None = None) -> Frame | None:
        """Wait up to ``timeout`` seconds for a frame not taken yet; ``None`` on timeout, or
        at once when capture has finished (``ended``/``failed``/stopped) and nothing is left."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._slot is None:
                thread_died = not self._thread.is_alive() and self._thread.ident
                if self._status.state.finished or self._stop.is_set() or thread_died:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._new_frame.wait(remaining)
            return self._take()

    def _take(self) -> Frame | None:
        frame, self._slot = self._slot, None
        if frame is not None:
            self.delivered += 1
        return frame

    def __iter__(self) -> Iterator[Frame]:
        """Frames as the consumer can take them (newest first, others dropped) until capture finishes."""
        while True:
            frame = self.get()
            if frame is None:
                return
            yield frame

    def _publish(self, frame: Frame) -> None:
        with self._lock:
            if self._slot is not None:
                self.dropped += 1
            self._slot = frame
            self.captured += 1
            self._new_frame.notify_all()

    # -- capture thread -----------------------------------------------------------------------
    def _wait(self, seconds: float) -> bool:
        """Sleep unless stopped; True when stop was requested."""
        return self._stop.wait(min(max(0.0, seconds), 3600.0))

    def _run(self) -> None:
        """The capture thread: any exception the loop does not expect ends it as ``failed`` with the error (a
        notice), never as a dead thread behind a state still saying ``live`` (the picture frozen, nothing said)."""
        try:
            self._loop()
        except Exception as exc:
            log.exception("%s: capture stopped", self.source.name)
            self._set_status(CaptureState.FAILED, f"capture stopped: {type(exc).__name__}: {exc}")
        finally:
            self.source.close()
            with self._lock:
                self._new_frame.notify_all()

    def _loop(self) -> None:
        source = self.source
        attempt = 0
        while not self._stop.is_set():
            if attempt == 0:
                self._set_status(CaptureState.CONNECTING)
            else:
                self.reconnects += 1
            try:
                source.open()
            except Exception as exc:  # SourceUnavailable, driver errors
                if not source.live:
                    self._set_status(CaptureState.FAILED, str(exc))
                    return
                attempt += 1
                delay = self.backoff.delay(attempt)
                self._set_status(CaptureState.RECONNECTING, str(exc), attempt, delay)
                if self._wait(delay):
                    return
                continue
            attempt = 0
            self._set_status(CaptureState.LIVE)
            outcome, error = self._pump(source)
            source.close()
            if outcome == "stopped":
                return
            if outcome == "ended":
                self._set_status(CaptureState.ENDED)
                return
            if not source.live:
                self._set_status(CaptureState.FAILED, error)
                return
            self._set_status(CaptureState.LOST, error)
            attempt = 1
            delay = self.backoff.delay(attempt)
            self._set_status(CaptureState.RECONNECTING, error, attempt, delay)
            if self._wait(delay):
                return

    def _pump(self, source: FrameSource) -> tuple[str, str | None]:
        rate = source.pacing_fps if self.pace else None
        period = 1.0 / rate if rate else 0.0
        next_due = time.monotonic()
        while not self._stop.is_set():
            try:
                frame = source.read()
            except SourceLost as exc:
                return "lost", str(exc)
            except Exception as exc:  # a driver exception is a loss too, never a dead thread
                log.exception("%s: read failed", source.name)
                return "lost", f"{type(exc).__name__}: {exc}"
            if frame is None:
                return "ended", None
            if period:
                now = time.monotonic()
                if next_due > now and self._wait(next_due - now):
                    return "stopped", None
                # fall behind by more than a frame (slow disk): restart the clock, do not burst
                next_due = max(next_due + period, time.monotonic() - period)
            self._publish(frame)
        return "stopped", None


def iter_frames(source: FrameSource | str, *, realtime: bool = False) -> Iterator[Frame]:
    """Every frame of ``source`` in order on the caller's thread: deterministic, no drops.

    For headless runs over a replay (``folder:``/``file:``). ``realtime=True`` sleeps to honour
    the source's ``pacing_fps``. The source is opened if needed and closed at the end. A live
    camera that fails raises :class:`~kiosk.camera.base.SourceLost`.
    """
    src = create_source(source) if isinstance(source, str) else source
    if not src.is_open:
        src.open()
    period = 1.0 / src.pacing_fps if realtime and src.pacing_fps else 0.0
    next_due = time.monotonic()
    try:
        while True:
            frame = src.read()
            if frame is None:
                return
            if period:
                now = time.monotonic()
                if next_due > now:
                    time.sleep(next_due - now)
                next_due = max(next_due + period, time.monotonic() - period)
            yield frame
    finally:
        src.close()
