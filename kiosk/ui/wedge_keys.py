"""Key presses for a keyboard-wedge barcode scanner (``[barcodes] scanner = "wedge:"``).

An application-wide event filter hands every key press to the scanner driver
(:class:`kiosk.barcodes.wedge.KeyboardWedge`), which tells a scanner's burst from a person typing. A scanner types
into whatever has the focus, so the filter holds back every key that types something for the scanner's gap
(``gap_ms``, 50 ms by default; the next key within the gap is held too), and then:

* a burst the driver takes as a scan (a code ended by Enter or Tab): its keys are dropped with its Enter -- never
  typed into a field (search read "ban4006381333931"), never pressing a button -- and the code is sold as before;
* on the staff PIN and price pages (:data:`NOT_SOLD_ON`) a scan, or any burst of :data:`MIN_BURST` keys or more each
  within the gap and ended by Enter (a shelf label or coupon the driver does not sell), is neither sold, typed nor
  submitted (four scans of a 6-digit label locked staff out): the page's error line says so;
* anything else -- the gap passes, a key that types nothing (Backspace, an arrow), a line end that is no scan, a tap
  -- has the held keys typed into the widget with the focus, in their order, before that key or tap, each with its
  release. A person typing (60-120 ms a key) sees each character one gap later; auto-repeat is typed at once.

Keys are timed when they were typed (the key event's own timestamp, the window system's), not when the window got
round to them: while the Qt thread was busy a fragment ("2400", a scan cut short) and the next scan 300 ms later
queued up and read back to back as one valid code (240096300008), and a person's slow typing as a scan
(:class:`KeyTimes`). Events without a timestamp (synthetic ones) are timed as they are handled.

GS (FNC1, between a DataBar label's variable-length fields) comes from the scanner as Ctrl+]. X11 turns it into the
character ``\x1d``; other platforms (offscreen, eglfs, some Wayland compositors) give the key with no text or a
plain "]": the filter hands the driver GS for Ctrl+] whatever the text.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from kiosk.ui.i18n import translate

__all__ = ["MIN_BURST", "NOT_SOLD_ON", "KeyTimes", "WedgeKeyFilter"]

log = logging.getLogger(__name__)

_ENDS = {Qt.Key.Key_Return: "\r", Qt.Key.Key_Enter: "\r", Qt.Key.Key_Tab: "\t"}
GS = "\x1d"
# pages where staff type a number (the PIN, a price): a scan there is neither sold nor typed
NOT_SOLD_ON = frozenset({"pin", "price"})
# keys, each within the gap, that make a burst ended by Enter a scanner's whatever it reads (no one types 4 keys
# 50 ms apart)
MIN_BURST = 4
# keys that type nothing by themselves and come around a scanner's capitals: neither held nor releasing the held
_MODIFIERS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_AltGr, Qt.Key.Key_Meta}
_TAPS = (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin)


def _text(event: QEvent) -> str:
    """What the key press types, for the driver: Enter/Tab as the line end, Ctrl+] as GS."""
    if event.key() == Qt.Key.Key_BracketRight and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
        return GS
    return _ENDS.get(event.key(), event.text())


class KeyTimes:
    """A key event's time on the driver's clock (``time.monotonic()``): its own timestamp (ms, the window system's
    clock) mapped through an event seen earlier, so the time between two keys is the time between their typing,
    however late either was handled. A mapping more than :attr:`SLIP_S` from now (the window system's clock wrapped
    or restarted) or going back before that event starts again from the event in hand."""

    SLIP_S = 60.0

    def __init__(self) -> None:
        self._base: tuple[int, float] | None = None  # (an event's timestamp, time.monotonic() when handled)

    def at(self, event: QKeyEvent) -> float:
        now = time.monotonic()
        stamp = int(event.timestamp() or 0)
        if not stamp:  # a synthetic event: no time of its own
            return now
        if self._base is not None and stamp >= self._base[0]:
            at = self._base[1] + (stamp - self._base[0]) / 1000.0
            if abs(at - now) <= self.SLIP_S:
                return at
        self._base = (stamp, now)
        return now


@dataclass(frozen=True)
class _Held:
    """A key event held back (press or release), as it came."""

    kind: QEvent.Type
    key: int
    modifiers: Qt.KeyboardModifier
    text: str
    at: float  # when it was typed, on the driver's clock (KeyTimes)

    @classmethod
    def of(cls, event: QKeyEvent, at: float) -> _Held:
        return cls(event.type(), event.key(), event.modifiers(), event.text(), at)

    def event(self) -> QKeyEvent:
        return QKeyEvent(self.kind, self.key, self.modifiers, self.text)


class WedgeKeyFilter(QObject):
    """``window``: the kiosk window, which gets the key presses when no widget has the focus, and whose ``page``
    says where a scan is refused (:data:`NOT_SOLD_ON`)."""

    def __init__(self, scanner: Any, window: QObject) -> None:
        super().__init__(window)
        self.scanner, self.window = scanner, window
        self.scans = 0
        self.refused = 0  # scans (or scanner bursts) dropped on a page where they are refused
        self.gap_s = float(getattr(scanner, "gap_s", 0.05))
        self._held: list[_Held] = []
        self._replaying = False
        self._swallow_release: int | None = None  # the key whose press ended a dropped scan
        self._times = KeyTimes()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, round(self.gap_s * 1000)))
        self._timer.timeout.connect(self.release)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        kind = event.type()
        if kind in _TAPS and self._held:
            self.release()  # typed, then tapped: what was typed lands first (Set price reads the whole price)
            return False
        if self._replaying or kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        # a key event is offered to the platform window, the focus widget and its parents: take it once, at the
        # focus widget (or the kiosk window when nothing has the focus), and only this window's
        if watched is not (QApplication.focusWidget() or self.window) or watched.window() is not self.window:
            return False
        at = self._times.at(event)
        if kind == QEvent.Type.KeyRelease:
            return self._on_release(event, at)
        if event.isAutoRepeat():
            self.release()
            return False
        if event.key() in _MODIFIERS:
            return False
        text = _text(event)
        if text in ("\r", "\t"):
            return self._on_line_end(event, text, at)
        if text:
            self.scanner.key(text, at)
        if len(text) == 1 and (text.isprintable() or text == GS):
            self._held.append(_Held.of(event, at))
            self._timer.start()  # the gap starts again
            return True
        self.release()  # a key that types nothing: what was held goes first
        return False

    def _on_release(self, event: QEvent, at: float) -> bool:
        if self._swallow_release is not None and event.key() == self._swallow_release and not event.isAutoRepeat():
            self._swallow_release = None
            return True
        if self._held:  # its press may be held: released after it, in order
            self._held.append(_Held.of(event, at))
            return True
        return False

    def _on_line_end(self, event: QEvent, text: str, at: float) -> bool:
        """Enter or Tab: a scan (dropped with its keys), else the held keys are typed and the key goes on."""
        refusing = getattr(self.window, "page", "") in NOT_SOLD_ON
        scan = self.scanner.key(text, at, keep=not refusing)
        if not (scan or (refusing and self._scanner_burst(at))):
            self.release()
            return False
        self._timer.stop()
        self._held.clear()
        self._swallow_release = event.key()
        self.scans += scan
        if refusing:
            self.refused += 1
            self._say_refused()
        return True

    def _scanner_burst(self, end: float) -> bool:
        """The held keys are a scanner's: :data:`MIN_BURST` presses or more, each (and the line end) within the gap."""
        times = [h.at for h in self._held if h.kind == QEvent.Type.KeyPress]
        if len(times) < MIN_BURST:
            return False
        times.append(end)
        return all(b - a <= self.gap_s for a, b in zip(times, times[1:], strict=False))

    def _say_refused(self) -> None:
        """On the page's own error line (the PIN's, the price's), else as a notice; the code is never logged."""
        page = getattr(self.window, "page", "")
        log.info("wedge: a scan on the %s page was dropped: not sold, not typed", page)
        text = translate("Window", "Barcode ignored: scan items on the checkout page")
        shown = getattr(self.window, "pages", {}).get(page)
        if callable(getattr(shown, "show_error", None)):
            shown.show_error(text)
        else:
            self.window.banner.show_notice("warning", text)

    def release(self) -> None:
        """Type the held keys into the widget with the focus (the window when none), in their order."""
        self._timer.stop()
        held, self._held = self._held, []
        self._replaying = True
        try:
            for key in held:
                QApplication.sendEvent(QApplication.focusWidget() or self.window, key.event())
        finally:
            self._replaying = False
