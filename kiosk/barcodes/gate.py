"""How often scanned codes count: a scanner's "same code delay", and a scanner that floods the till.

* **The same code again** within ``same_code_s`` seconds of the last time it came counts once, as a scanner's own
  same-code (reread) delay does: a pack held in front of a presentation scanner, a scanner left in continuous mode.
  The window runs from the last read of that code, so a code read on and on counts once until it stops for that long
  (``same_code_s = 0``: every read counts).
* **A flood**: more than ``max_scans_per_s`` codes a second over :data:`RATE_WINDOW_S` seconds (repeats counted) is
  more than any person scans; the scanner is taken as faulty (a stuck trigger, a loop, a cable fault) and nothing it
  sends is taken until it has been quiet for :data:`QUIET_S` seconds. :meth:`ScanGate.admit` says when a flood
  begins (once, so staff are called once) and when codes are taken again.

Plain Python over the codes' text and a monotonic clock: no catalog, no cart (kiosk.services.scans applies it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Admission", "QUIET_S", "RATE_WINDOW_S", "ScanGate"]

log = logging.getLogger(__name__)

#: the rate of codes is judged over this many seconds (a person's quick run of scans is shorter)
RATE_WINDOW_S = 2.0
#: a flooding scanner is taken again once it has sent nothing for this long
QUIET_S = 3.0


@dataclass(frozen=True)
class Admission:
    """``taken``: the code counts. Otherwise ``why``: ``repeat`` (the same code within the window), ``flood`` (this
    code began a flood: call staff) or ``paused`` (a flood goes on). ``resumed``: taken, and the first since a flood."""

    taken: bool
    why: str = ""
    resumed: bool = False


class ScanGate:
    def __init__(self, same_code_s: float = 0.8, max_scans_per_s: float = 8.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.same_code_s, self.max_scans_per_s, self._clock = float(same_code_s), float(max_scans_per_s), clock
        self._arrivals: deque[float] = deque()
        self._last_code, self._last_at = "", float("-inf")
        self._flood_since: float | None = None
        self._lock = threading.Lock()  # the scanner thread and the window's wedge may both scan
        #: codes not counted: repeats within the window, and codes refused during floods
        self.repeats = self.refused = 0

    @property
    def flooding(self) -> bool:
        return self._flood_since is not None

    def admit(self, text: str, now: float | None = None) -> Admission:
        """Whether the code ``text`` that came at ``now`` (the gate's clock by default) counts."""
        now = self._clock() if now is None else now
        with self._lock:
            previous = self._arrivals[-1] if self._arrivals else None
            self._arrivals.append(now)
            while self._arrivals and self._arrivals[0] < now - RATE_WINDOW_S:
                self._arrivals.popleft()
            resumed = False
            if self._flood_since is not None:
                if previous is not None and now - previous < QUIET_S:
                    self.refused += 1
                    return Admission(False, "paused")
                log.warning("scanner: codes are taken again (quiet for %.1f s after a flood; %d refused)",
                            now - previous if previous is not None else 0.0, self.refused)
                self._flood_since, resumed = None, True
                self._arrivals = deque([now])
            elif len(self._arrivals) > self.max_scans_per_s * RATE_WINDOW_S:
                self._flood_since = now
                self.refused += 1
                log.warning("scanner: %d codes in %.0f s, more than anyone scans (%g a second at most): a faulty "
                            "scanner? nothing it sends is taken until it is quiet for %.0f s", len(self._arrivals),
                            RATE_WINDOW_S, self.max_scans_per_s, QUIET_S)
                return Admission(False, "flood")
            if text == self._last_code and now - self._last_at <= self.same_code_s:
                self._last_at = now
                self.repeats += 1
                log.debug("scanner: %r again within %.2f s: counted once", text, self.same_code_s)
                return Admission(False, "repeat")
            self._last_code, self._last_at = text, now
            return Admission(True, resumed=resumed)
