"""The camera's view of the tray, checked against the scale: re-learning the empty tray, and a camera that is blind.

:class:`TrayWatch` sits between the frames and the item trigger (:class:`kiosk.trigger.ItemTrigger`):

* **the empty tray is learnt again** when the evidence says the tray is empty — the scale reads a stable load under
  Min and the picture has been still for :data:`RELEARN_S` seconds while the trigger thinks something lies there (a
  lighting jump past the drift limit) — after the camera was lost and came back, when its picture changes size, and
  after a Zero. Never while the scale says something is on the tray: learning waits for it — but for the
  first learning at start, which a loaded or un-zeroed scale must not hold up for good (a wrong first picture of the
  tray is learnt again as above). A placement the
  camera still held is cleared (``TrayCleared``), so Zero and the leftovers' auto-zero work again;
* **a blind camera** is said once: a load the scale holds, stable, :data:`UNSEEN_S` seconds at least Min above what
  the camera has accounted for (a placement seen, or the load it last saw) with no placement seen — "the camera did
  not see …: call staff" — and the sale is not paid meanwhile unless staff is signed in; a live device's picture that
  has not changed for :data:`FROZEN_S` seconds, or a picture near-black (any source) or flat (a device) for
  :data:`DARK_S` seconds, is a notice too.

Time is the frames' own (a replay's media time, a device's monotonic clock); bare images use :attr:`clock`.
No Qt, no torch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from kiosk.services.errors import CheckoutError
from kiosk.services.events import CameraStatusChanged, Notice
from kiosk.trigger import BackgroundLearned, ItemPlaced, ItemTrigger, TrayCleared, TrayState, TriggerEvent

__all__ = ["TrayWatch", "BLIND_CALL", "RELEARN_S", "UNSEEN_S", "FROZEN_S", "DARK_S"]

log = logging.getLogger(__name__)

#: the reason of the help call a load the camera did not see raises
BLIND_CALL = "the camera cannot see the tray"
#: seconds of a still picture the trigger calls occupied while the scale reads a stable load under Min
RELEARN_S = 5.0
#: seconds a stable load the camera did not see may stay on the scale before staff is called
UNSEEN_S = 3.0
#: seconds of identical pictures from a live camera before it counts as frozen
FROZEN_S = 10.0
#: seconds of near-black (or, from a live camera, flat) pictures before the camera counts as covered or dark
DARK_S = 3.0
#: brightest 1 % of a near-black picture stays under this (0-255) …
DARK_LEVEL = 40.0
#: … and a flat one varies less than this (standard deviation, 0-255)
FLAT_STD = 0.75


class TrayWatch:
    """Feed every frame through :meth:`update` instead of the trigger's own ``update``."""

    def __init__(self, trigger: ItemTrigger, weighing: Any, book: Any, *, emit: Callable[..., None],
                 listen: Callable[[Callable[[Any], None]], Any] | None = None, desk: Any = None,
                 call: Callable[[str], Any] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._trigger, self._weighing, self._book, self._emit, self.clock = trigger, weighing, book, emit, clock
        self._call = call  # raises a help call (the staff page lists it)
        self._reset_due = self._relearn_due = False
        self._learnt = False  # the trigger has learnt the empty tray once: a later learning waits for an empty scale
        self._still_since: float | None = None  # the trigger thinks occupied, the scale reads empty, still picture
        self._base: int | None = None  # the stable load the camera has accounted for (grams)
        self._unseen_since: float | None = None
        self.unseen_grams: int | None = None  # a load the camera did not see, said to the shopper; None: none
        self._sample: np.ndarray | None = None
        self._same_since: float | None = None
        self._dark_since: float | None = None
        self.problem: str | None = None  # "frozen", "dark": said once until the picture is fine again
        if listen is not None:
            listen(self.on_event)
        if desk is not None:
            desk.zeroed = self.relearn_soon  # a Zero: the tray is empty, learn it again

    # -- hooks ----------------------------------------------------------------------------------------
    def on_event(self, event: Any) -> None:
        """The camera was lost (it may come back in another mode, pointing elsewhere): learn the tray again."""
        if isinstance(event, CameraStatusChanged) and event.status in ("lost", "reconnecting"):
            self._reset_due = True

    def relearn_soon(self) -> None:
        """Learn the empty tray again from the next frame, if it is still and the scale says the tray is empty."""
        self._relearn_due = True

    def refuse_payment(self, staff_present: bool = False) -> None:
        if self.unseen_grams is not None and not staff_present:
            raise CheckoutError(f"the scale holds {self.unseen_grams} g the camera did not see: call staff")

    # -- every frame ----------------------------------------------------------------------------------
    def update(self, frame: Any) -> TriggerEvent | None:
        t = getattr(frame, "timestamp", None)
        t = self.clock() if not isinstance(t, (int, float)) else float(t)
        if self._reset_due:
            self._reset_due = False
            self._trigger.reset()
        reading = self._weighing.current()
        min_grams = self._weighing.rules.min_grams
        loaded = reading is not None and reading.ok and reading.grams >= min_grams
        empty = reading is not None and reading.usable and abs(reading.grams) < min_grams
        event = self._trigger.update(frame, may_learn=not (loaded and self._learnt))
        if isinstance(event, BackgroundLearned):
            self._learnt, was_learnt = True, self._learnt
            if was_learnt and self._book.current is not None:
                event = TrayCleared(frame)  # learnt again (a reconnect, another size): the old placement is gone
        if event is None:
            event = self._relearn(frame, t, empty)
        self._unseen(t, reading, event, min_grams)
        self._health(frame, t)
        return event

    def _relearn(self, frame: Any, t: float, empty: bool) -> TrayCleared | None:
        trigger = self._trigger
        still = trigger.motion_fraction <= trigger.config.still_fraction
        if not (empty and still) or trigger.state is TrayState.LEARNING:
            self._still_since, self._relearn_due = None, False  # a Zero's re-learning: from the very next frame
            return None
        if not self._relearn_due:
            if trigger.state is TrayState.EMPTY:
                self._still_since = None
                return None
            self._still_since = t if self._still_since is None else self._still_since
            if t - self._still_since < RELEARN_S:
                return None
        log.info("the scale reads an empty tray and the picture is still: the empty tray is learnt again")
        self._relearn_due, self._still_since = False, None
        trigger.relearn(frame)
        return TrayCleared(frame) if self._book.current is not None else None

    def _unseen(self, t: float, reading: Any, event: Any, min_grams: int) -> None:
        if isinstance(event, ItemPlaced) or self._trigger.state is TrayState.SETTLING:
            self._base = None  # the camera sees something: the load it settles to is accounted for
            self._unseen_since = None
            self._seen_again()
        if reading is None or not reading.usable:
            return
        grams = reading.grams
        if self._base is None or grams < self._base + min_grams:
            if self._base is None or grams < self._base:
                self._base = grams
            self._unseen_since = None
            self._seen_again()
            return
        self._unseen_since = t if self._unseen_since is None else self._unseen_since
        if self.unseen_grams is None and t - self._unseen_since >= UNSEEN_S:
            self.unseen_grams = grams - self._base
            log.warning("the scale holds %d g more than the camera saw", self.unseen_grams)
            self._emit(Notice("warning", f"the camera did not see what is on the scale ({self.unseen_grams} g): "
                                         "call staff"))
            if self._call is not None:
                self._call(BLIND_CALL)

    def _seen_again(self) -> None:
        if self.unseen_grams is not None:
            self.unseen_grams = None
            self._emit(Notice("info", "the camera sees the tray again"))

    def _health(self, frame: Any, t: float) -> None:
        """A frozen live picture, or a near-black (a device: flat) one, said once until the picture is fine."""
        image = np.asarray(getattr(frame, "image", frame))
        device = str(getattr(frame, "source", "")).startswith("camera:")
        sample = image[::8, ::8].copy()
        same = device and self._sample is not None and np.array_equal(sample, self._sample)
        self._sample = sample
        self._same_since = (self._same_since if self._same_since is not None else t) if same else None
        dark = float(np.percentile(sample, 99)) < DARK_LEVEL or (device and float(sample.std()) < FLAT_STD)
        self._dark_since = (self._dark_since if self._dark_since is not None else t) if dark else None
        problem = None
        if self._same_since is not None and t - self._same_since >= FROZEN_S:
            problem = "frozen"
        elif self._dark_since is not None and t - self._dark_since >= DARK_S:
            problem = "dark"
        if problem == self.problem or (problem is None and (same or dark)):
            return
        self.problem = problem
        if problem == "frozen":
            self._emit(Notice("warning", "the camera's picture has not changed: call staff"))
        elif problem == "dark":
            self._emit(Notice("warning", "the camera sees nothing: is it covered? call staff"))
        else:
            self._emit(Notice("info", "the camera sees the tray again"))
