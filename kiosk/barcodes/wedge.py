"""``wedge:``: a USB scanner in keyboard mode ("keyboard wedge"). It types the code's digits and Enter faster
than any person; the kiosk window hands every key press to :meth:`KeyboardWedge.key`.

A burst counts as a scan when it ends in Enter (or Tab), holds 8-14 digits (or a GS1 element string, in brackets
or as scanners send it: ``]e0``, the fields run together, GS as Ctrl+]), and every key came within ``gap_ms`` of
the one before (default 50 ms; a person types at 150 ms+).
Anything slower is someone typing, and is left to whatever has the focus. Options: ``gap_ms``.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time

from kiosk.barcodes.scanner import CodeBuffer, Scanner, ScannerError

__all__ = ["KeyboardWedge"]

log = logging.getLogger(__name__)

#: 8-14 digits; a GS1 element string in brackets; or one as the scanner sends it (an AIM id such as ]e0, then the
#: (01) GTIN's 16 digits and more fields, GS -- Ctrl+] on a keyboard -- after the variable-length ones)
_SCAN = re.compile(r"^(\][A-Za-z][0-9])?([0-9]{8,14}|(\([0-9]{2,4}\)[0-9A-Za-z]+)+|[0-9]{16}[0-9A-Za-z\x1d]{0,78})\Z")
GS = "\x1d"
MAX_BURST = 96


class KeyboardWedge(Scanner):
    scheme = "wedge"
    needs_window = True

    def __init__(self, gap_ms: float = 50.0, name: str = "wedge:") -> None:
        self.name = name
        self.gap_s = gap_ms / 1000.0
        self._burst = CodeBuffer(self.gap_s, "")
        self._codes: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()

    @classmethod
    def from_uri(cls, uri, target, options):
        unknown = sorted(set(options) - {"gap_ms"})
        if unknown or target:
            raise ScannerError(f"scanner {uri!r}: wedge: takes no target and only the option gap_ms")
        try:
            gap = float(options.get("gap_ms", "50"))
        except ValueError:
            gap = -1.0
        if not 5 <= gap <= 500:
            raise ScannerError(f"scanner {uri!r}: gap_ms must be 5..500 milliseconds")
        return cls(gap, name=uri)

    def key(self, text: str, when: float | None = None, *, keep: bool = True) -> bool:
        """One key press (its text; ``"\\r"``/``"\\n"``/``"\\t"`` end a code). True when it completed a scan;
        ``keep=False``: a scan it completes is dropped, not handed on to be sold (a page where scans are refused)."""
        now = time.monotonic() if when is None else when
        with self._lock:
            slow = self._burst.expire(now)  # too slow: a person typing, not the scanner
            if slow:
                log.debug("wedge: %r typed too slowly for a scan", slow)
            if text in ("\r", "\n", "\t"):
                burst = self._burst.clear()
                if _SCAN.match(burst):
                    if keep:
                        self._codes.put(burst)
                    return True
                if burst:
                    log.debug("wedge: %r is not a scan", burst)
                return False
            self._burst.add(text if len(text) == 1 and (text.isprintable() or text == GS) else "", now)
            self._burst.data = self._burst.data[-MAX_BURST:]
            return False

    def read(self, timeout: float) -> str | None:
        try:
            return self._codes.get(timeout=timeout)
        except queue.Empty:
            return None
