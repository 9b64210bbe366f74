"""The kiosk-side hot swap: one holder of the Recognizer that frames go through.

``ActiveModel.recognize(frame)`` runs the current recognizer while holding a lock; ``swap(new)`` takes the same
lock, so a swap lands between two frames, never inside one. The cart is not touched: it lives in the checkout
service, which only asks this holder for suggestions. Observers hear about every swap (UI status bar).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class ActiveModel:
    def __init__(self, recognizer=None):
        self._lock = threading.Lock()
        self._recognizer = recognizer
        self._observers: list[Callable[[object | None], None]] = []
        self.swaps = 0

    @property
    def recognizer(self):
        with self._lock:
            return self._recognizer

    @property
    def version(self) -> int | None:
        r = self.recognizer
        return None if r is None else r.model_version

    def recognize(self, image_bgr):
        """Top-k for one frame with whichever model is active now; ``None`` while there is no model."""
        with self._lock:
            if self._recognizer is None:
                return None
            return self._recognizer.recognize(image_bgr)

    def with_recognizer(self, fn: Callable[[object], object]):
        """``fn(recognizer)`` between two frames (e.g. embedding teaching photos with the model that recognises);
        ``fn(None)`` while there is no model."""
        with self._lock:
            return fn(self._recognizer)

    def swap(self, new_recognizer, close_old: bool = True):
        """Replace the recognizer between two frames; returns the old one (closed unless ``close_old=False``)."""
        with self._lock:
            old, self._recognizer = self._recognizer, new_recognizer
            self.swaps += 1
        if old is not None and close_old:
            old.close()
        for cb in list(self._observers):
            try:
                cb(new_recognizer)
            except Exception:  # an observer must never break the swap
                log.exception("ActiveModel observer failed")
        return old

    def subscribe(self, callback: Callable[[object | None], None]) -> Callable[[], None]:
        """Call ``callback(recognizer)`` after every swap; returns a function that unsubscribes."""
        self._observers.append(callback)
        return lambda: self._observers.remove(callback)
