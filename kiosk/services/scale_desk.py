"""The scale at the checkout: polling it, and the zero and tare keys.

* :meth:`ScaleDesk.poll` reads the scale once (a driver that raises is an ``error`` reading) and hands the reading
  to the counter, which completes a waiting by-weight item on a priceable net weight;
* :meth:`ScaleDesk.zero` is the Zero key: only on a stable reading within the zero range while the camera sees an
  empty tray; :meth:`ScaleDesk.tray_cleared` zeroes by itself what is left under the minimum weight (drift,
  crumbs) when the camera sees the tray emptied;
* :meth:`ScaleDesk.tare` sets a container's preset tare (the Bag button), :meth:`ScaleDesk.tare_now` weighs the
  empty container on the tray, :meth:`ScaleDesk.clear_tare` drops it.

Scale I/O runs outside the checkout's lock; the weighing state only changes under it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kiosk.errors import UserError
from kiosk.services.errors import CheckoutError
from kiosk.services.events import Notice

__all__ = ["ScaleDesk"]

log = logging.getLogger(__name__)


class ScaleDesk:
    def __init__(self, *, scale: Any, counter: Any, lock: threading.RLock, tray_empty: Callable[[], bool],
                 emit: Callable[..., None]) -> None:
        self.scale, self._counter, self._lock, self._tray_empty, self._emit = scale, counter, lock, tray_empty, emit
        self.zeroed: Callable[[], None] | None = None  # told after the scale zeroed (the camera learns the tray)

    @property
    def weighing(self):
        return self._counter.weighing

    def poll(self):
        from kiosk.scale import WeightReading

        try:
            reading = self.scale.read()
        except Exception as exc:  # drivers should not raise; never let one kill the poller
            log.exception("scale read failed")
            reading = WeightReading.error(f"{type(exc).__name__}: {exc}")
        self._counter.take_reading(reading)
        return reading

    def zero(self) -> bool:
        """The Zero key. Refused (CheckoutError) unless the tray is empty and the reading stable and near zero."""
        with self._lock:
            if not self._tray_empty():
                raise CheckoutError("zero: take everything off the tray first")
            if not self.weighing.may_zero():
                limit = self.weighing.rules.zero_limit_grams
                raise CheckoutError(f"zero: the scale must be still and within {limit} g of zero")
        return self._zero()

    def _zero(self) -> bool:
        try:
            done = bool(self.scale.zero())
        except Exception:
            log.exception("scale zero failed")
            done = False
        self._emit(Notice("info" if done else "warning", "scale zeroed" if done else "the scale did not zero"))
        if done and self.zeroed is not None:
            self.zeroed()
        self.poll()
        return done

    def tray_cleared(self) -> None:
        """The camera saw the tray emptied: a stable leftover under the minimum weight is zeroed away."""
        with self._lock:
            w = self.weighing
            due = w.needs_zero() and abs(w.reading.grams) < w.rules.min_grams
        if due:
            log.info("empty tray reads %d g: zeroing", self.weighing.reading.grams)
            self._zero()

    def tare(self, container: str) -> int:
        """A container's preset tare (``bag`` …); returns its grams."""
        with self._lock:
            try:
                tare = self.weighing.set_container(container)
            except UserError as exc:
                raise CheckoutError(str(exc)) from None
            event = self._counter.weight_event()
        self._emit(event, Notice("info", f"tare {container}: {tare.grams} g"))
        return tare.grams

    def tare_now(self) -> int:
        """Weigh the empty container now on the tray as the tare."""
        with self._lock:
            try:
                tare = self.weighing.tare_current()
            except UserError as exc:
                raise CheckoutError(str(exc)) from None
            event = self._counter.weight_event()
        self._emit(event, Notice("info", f"tare: {tare.grams} g"))
        return tare.grams

    def clear_tare(self) -> None:
        with self._lock:
            self.weighing.clear_tare()
            event = self._counter.weight_event()
        self._emit(event)
