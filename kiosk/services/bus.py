"""The event bus of the checkout service: listeners in, events out, on the thread that produced them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kiosk.services.events import Listener

__all__ = ["EventBus"]

log = logging.getLogger(__name__)


class EventBus:
    """``add_listener(cb) -> unsubscribe``; :meth:`emit` calls every listener in order. A listener that raises is
    logged and skipped: a UI bug must never break the checkout."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def add_listener(self, callback: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(callback)
        return lambda: self.remove_listener(callback)

    def remove_listener(self, callback: Listener) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def emit(self, *events: Any) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for event in events:
            for cb in listeners:
                try:
                    cb(event)
                except Exception:
                    log.exception("listener %r failed on %s", cb, type(event).__name__)
