"""The status bar and the notice strip.

The status bar says in words what a shopper may need to know — the camera and the scale working or not — and,
only while staff mode is open (``set_technical(True)``), the technical fields: the model's version and backend,
the model updater, the feedback outbox and the receipt printer (while it needs attention: paper near its end, or
why it did not print). Every field is one line that elides (the whole text as its tooltip), so
no text, however long (a camera error, a refusal), can widen the window.

The notice strip under the header keeps its height whether or not it shows a notice (the page never jumps); it
shows the newest notice for a few seconds, otherwise a standing message (a help call), otherwise nothing. A screen
reader is told each notice (an accessibility announcement: an error interrupts, anything else waits its turn).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QSizePolicy, QStatusBar

from kiosk.printing.base import (
    COVER_OPEN,
    NOT_ANSWERING,
    NOT_CONNECTED,
    NOT_WORKING,
    OFFLINE,
    OUT_OF_PAPER,
    PRINTER_FAULT,
)
from kiosk.printing.status import PAPER_NEAR_END
from kiosk.ui.i18n import mark, translate
from kiosk.ui.widgets.common import ElidedLabel, Translatable, announce, line, repolish
from kiosk.ui.widgets.weight import format_grams, reading_state

__all__ = ["KioskStatusBar", "NoticeBanner", "camera_text", "printer_text"]

_C = "Status"
_CAMERA_WORDS = {
    "connecting": (mark("Status", "Camera: starting…"), "warn"),
    "live": (mark("Status", "Camera: live"), "ok"),
    "lost": (mark("Status", "Camera lost"), "error"),
    "reconnecting": (mark("Status", "Camera lost — reconnecting"), "error"),
    "ended": (mark("Status", "Camera: replay ended"), "warn"),
    "failed": (mark("Status", "Camera failed"), "error"),
}

#: the receipt printer's warning or reason not to print (kiosk.printing) → the status bar's words
_PRINTER_WORDS = {
    PAPER_NEAR_END: mark("Status", "Printer: paper low"),
    OUT_OF_PAPER: mark("Status", "Printer: out of paper"),
    COVER_OPEN: mark("Status", "Printer: cover open"),
    OFFLINE: mark("Status", "Printer: offline"),
    PRINTER_FAULT: mark("Status", "Printer: reports a fault"),
    NOT_CONNECTED: mark("Status", "Printer: not connected"),
    NOT_ANSWERING: mark("Status", "Printer: does not answer"),
    NOT_WORKING: mark("Status", "Printer: not working"),
}


def printer_text(reason: str) -> str:
    """The receipt printer's warning or reason not to print, as the status bar says it (translated)."""
    words = _PRINTER_WORDS.get(reason)
    return translate(_C, words) if words else translate("Status", "Printer: {reason}").format(reason=reason)


def camera_text(status: Any, retry_in: float | None = None) -> tuple[str, str]:
    """``(text, level)`` for a camera state (``"live"``, a CaptureState or a CaptureStatus), translated."""
    state = getattr(status, "state", status)
    state = str(getattr(state, "value", state))
    words, level = _CAMERA_WORDS.get(state, (None, "warn"))
    text = translate(_C, words) if words else translate("Status", "Camera: {state}").format(state=state)
    retry_in = getattr(status, "retry_in", retry_in)
    if state == "reconnecting" and retry_in:
        text = translate("Status", "Camera lost — reconnecting in {seconds} s").format(seconds=max(1, round(retry_in)))
    return text, level


class KioskStatusBar(Translatable, QStatusBar):
    """Camera and scale in words for everyone; model, update and outbox only in staff mode."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("kioskStatusBar")
        self.setSizeGripEnabled(False)
        self.technical = False
        self._camera: tuple[Any, float | None] = ("connecting", None)
        self._reading: Any = None
        self._model: tuple[str, str] | None = None
        self.camera_label = self._field("statusCamera", 3)
        self.scale_label = self._field("statusScale", 2)
        self.model_label = self._field("statusModel", 3)
        self.update_label = self._field("statusUpdate", 3)
        self.outbox_label = self._field("statusOutbox", 2)
        self.printer_label = self._field("statusPrinter", 2)
        self._printer: tuple[str, str, str] = ("ok", "", "")
        self._wanted = {self.update_label: False, self.outbox_label: False, self.printer_label: False}
        self.retranslate()
        self.set_technical(False)

    def _field(self, name: str, stretch: int) -> ElidedLabel:
        field = line("", name)
        field.setProperty("role", "statusField")
        field.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.addPermanentWidget(field, stretch)
        return field

    def _set(self, field: ElidedLabel, text: str, level: str = "ok") -> None:
        field.setText(text)
        field.setProperty("level", level)
        repolish(field)

    def retranslate(self) -> None:
        self.set_camera(*self._camera)
        if self._reading is not None:
            self.set_scale(self._reading)
        else:
            self._set(self.scale_label, translate("Status", "Scale: —"))
        if self._model is None:
            self._set(self.model_label, translate("Status", "Model: —"))
        else:
            self.set_model(*self._model)
        self.set_printer(*self._printer)

    def set_technical(self, on: bool) -> None:
        """Show the technical fields (staff mode) or hide them (shoppers see words only)."""
        self.technical = on
        self.model_label.setVisible(on)
        for field, wanted in self._wanted.items():
            field.setVisible(on and wanted)

    def set_model(self, version: str, description: str = "") -> None:
        """``version`` as shown (``v3``); ``description`` may already start with it (the service's does)."""
        self._model = (version, description)
        if description.startswith(version):
            description = description[len(version):].lstrip(" ·")
        self._set(self.model_label, translate("Status", "Model {version}").format(version=version)
                  + (f" · {description}" if description else ""))
        self.model_label.setToolTip(description)

    def set_camera(self, status: Any, retry_in: float | None = None) -> None:
        self._camera = (status, retry_in)
        self._set(self.camera_label, *camera_text(status, retry_in))

    def set_scale(self, reading: Any) -> None:
        self._reading = reading
        text, state = reading_state(reading)
        if state == "error":
            self._set(self.scale_label, text, "error")
        else:
            self._set(self.scale_label, translate("Status", "Scale: {weight} {mark}").format(
                weight=format_grams(reading.grams), mark="✓" if state == "stable" else "~"))

    def set_update(self, text: str | None, level: str = "ok", details: str = "") -> None:
        """The slot for the model updater's state (hidden while empty, and outside staff mode); ``details`` (e.g.
        the full refusal message) is the tooltip."""
        self._set(self.update_label, text or "", level)
        self.update_label.setToolTip(details or text or "")
        self._wanted[self.update_label] = bool(text)
        self.update_label.setVisible(self.technical and bool(text))

    def set_outbox(self, text: str, level: str = "ok", details: str = "") -> None:
        """Feedback waiting for head office: shown (in staff mode) only while it needs attention."""
        self._set(self.outbox_label, text if level != "ok" else "", level)
        self.outbox_label.setToolTip(details or text)
        self._wanted[self.outbox_label] = level != "ok"
        self.outbox_label.setVisible(self.technical and level != "ok")

    def set_printer(self, level: str, reason: str = "", details: str = "") -> None:
        """The receipt printer (``PrinterStatus``): shown (in staff mode) while it warns or did not print."""
        self._printer = (level, reason, details)
        attention = level != "ok" and bool(reason)
        self._set(self.printer_label, printer_text(reason) if attention else "", level)
        self.printer_label.setToolTip(details or reason)
        self._wanted[self.printer_label] = attention
        self.printer_label.setVisible(self.technical and attention)


class NoticeBanner(ElidedLabel):
    """One line of news (level ``info``/``warning``/``error``) that goes after ``timeout_ms``; between notices the
    standing message (``set_standing``), if any. Keeps its height when empty."""

    def __init__(self, *, timeout_ms: int = 6000, parent=None) -> None:
        super().__init__("", parent)
        self.setObjectName("noticeBanner")
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        self.timeout_ms = timeout_ms
        self._standing: tuple[str, str] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear_notice)
        self.hide()

    def show_notice(self, level: str, message: str) -> None:
        """Show a notice; a screen reader says it (an error at once)."""
        level = str(getattr(level, "value", level)).lower()
        self._show(level, message)
        announce(self, message, assertive=level == "error")
        if self.timeout_ms > 0:
            self._timer.start(self.timeout_ms)

    def set_standing(self, level: str | None, message: str = "") -> None:
        """A message that stays while nothing newer is shown (``None`` removes it); said once when it changes."""
        standing = (level, message) if level else None
        if standing is not None and standing != self._standing:
            announce(self, message)
        self._standing = standing
        if not self._timer.isActive():
            self.clear_notice()

    def clear_notice(self) -> None:
        """Drop the notice now (a page changed, a new shopper); the standing message comes back."""
        self._timer.stop()
        if self._standing is not None:
            self._show(*self._standing)
        else:
            self.setText("")
            self.hide()

    def _show(self, level: str, message: str) -> None:
        self.setText(message)
        self.setProperty("level", level)
        repolish(self)
        self.show()
