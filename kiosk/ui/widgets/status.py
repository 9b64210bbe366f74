"""The status bar (model version, camera, scale, update and head-office slots) and the notice banner."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QStatusBar

from kiosk.ui.widgets.common import label
from kiosk.ui.widgets.weight import format_grams, reading_state

__all__ = ["KioskStatusBar", "NoticeBanner", "camera_text"]

_CAMERA_WORDS = {
    "connecting": ("Camera: connecting…", "warn"),
    "live": ("Camera: live", "ok"),
    "lost": ("Camera lost", "error"),
    "reconnecting": ("Camera lost — reconnecting", "error"),
    "ended": ("Camera: replay ended", "warn"),
    "failed": ("Camera failed", "error"),
}


def camera_text(status: Any, retry_in: float | None = None) -> tuple[str, str]:
    """``(text, level)`` for a camera state (``"live"``, a CaptureState or a CaptureStatus)."""
    state = getattr(status, "state", status)
    state = str(getattr(state, "value", state))
    text, level = _CAMERA_WORDS.get(state, (f"Camera: {state}", "warn"))
    retry_in = getattr(status, "retry_in", retry_in)
    if state == "reconnecting" and retry_in:
        text += f" in {max(1, round(retry_in))} s"
    return text, level


class KioskStatusBar(QStatusBar):
    """Permanent fields: model, camera, scale, update (the updater fills the last one later)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("kioskStatusBar")
        self.setSizeGripEnabled(False)
        self.model_label = self._field("statusModel", "Model: —")
        self.camera_label = self._field("statusCamera", "Camera: —")
        self.scale_label = self._field("statusScale", "Scale: —")
        self.update_label = self._field("statusUpdate", "")
        self.update_label.hide()
        self.outbox_label = self._field("statusOutbox", "")
        self.outbox_label.hide()

    def _field(self, name: str, text: str) -> QLabel:
        field = label(text, name)
        field.setProperty("role", "statusField")
        self.addPermanentWidget(field)
        return field

    def _set(self, field: QLabel, text: str, level: str = "ok") -> None:
        field.setText(text)
        field.setProperty("level", level)
        field.style().unpolish(field)
        field.style().polish(field)

    def set_model(self, version: str, description: str = "") -> None:
        """``version`` as shown (``v3``); ``description`` may already start with it (the service's does)."""
        if description.startswith(version):
            description = description[len(version):].lstrip(" ·")
        self._set(self.model_label, f"Model {version}" + (f" · {description}" if description else ""))
        self.model_label.setToolTip(description)

    def set_camera(self, status: Any, retry_in: float | None = None) -> None:
        self._set(self.camera_label, *camera_text(status, retry_in))

    def set_scale(self, reading: Any) -> None:
        text, state = reading_state(reading)
        if state == "error":
            self._set(self.scale_label, text, "error")
        else:
            self._set(self.scale_label, f"Scale: {format_grams(reading.grams)} {'✓' if state == 'stable' else '~'}")

    def set_update(self, text: str | None, level: str = "ok", details: str = "") -> None:
        """The slot for the model updater's state (hidden while empty); ``details`` (e.g. the full refusal
        message) is the tooltip."""
        self._set(self.update_label, text or "", level)
        self.update_label.setToolTip(details or text or "")
        self.update_label.setVisible(bool(text))

    def set_outbox(self, text: str, level: str = "ok", details: str = "") -> None:
        """Feedback waiting for head office: shown only while it needs attention (``level`` not ``ok``)."""
        self._set(self.outbox_label, text if level != "ok" else "", level)
        self.outbox_label.setToolTip(details or text)
        self.outbox_label.setVisible(level != "ok")


class NoticeBanner(QLabel):
    """One line of news for the shopper (level ``info``/``warning``/``error``), hides itself."""

    def __init__(self, *, timeout_ms: int = 6000, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBanner")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.timeout_ms = timeout_ms
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_notice(self, level: str, message: str) -> None:
        level = str(getattr(level, "value", level)).lower()
        self.setText(message)
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()
        if self.timeout_ms > 0:
            self._timer.start(self.timeout_ms)
