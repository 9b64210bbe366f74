"""The live weight for produce, and the "place it on the scale" prompt while the service waits
for a stable weight."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout

from kiosk.ui.widgets.common import label

__all__ = ["WeightPanel", "format_grams", "reading_state"]


def format_grams(grams: int) -> str:
    """``548 -> '0.548 kg'`` (integer arithmetic, no float)."""
    sign = "-" if grams < 0 else ""
    kg, g = divmod(abs(int(grams)), 1000)
    return f"{sign}{kg}.{g:03d} kg"


def reading_state(reading: Any) -> tuple[str, str]:
    """``(text, state)`` for a WeightReading: state is ``stable``, ``moving`` or ``error``."""
    status = getattr(reading, "status", "ok")
    status = getattr(status, "value", status)
    if status != "ok":
        words = {"overload": "Too heavy for the scale", "underload": "Scale below zero", "error": "Scale error"}
        return words.get(str(status), f"Scale: {status}"), "error"
    if reading.stable:
        return "Stable", "stable"
    return "Settling…", "moving"


class WeightPanel(QFrame):
    """Big weight readout + a prompt line. ``set_awaiting(name)`` turns the prompt on."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("weightPanel")
        self.awaiting_sku: str | None = None
        self.reading: Any = None
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 6, 14, 6)
        row.setSpacing(14)
        readout = QVBoxLayout()
        readout.setSpacing(0)
        self.caption = label("Scale", "weightCaption")
        self.weight_label = label("—", "weightValue")
        readout.addWidget(self.caption)
        readout.addWidget(self.weight_label)
        self.state_label = label("", "weightState")
        self.prompt = label("", "weightPrompt", wrap=True)
        row.addLayout(readout)
        row.addWidget(self.state_label)
        row.addWidget(self.prompt, 1)
        self.setMinimumHeight(64)
        self.set_awaiting(None)

    def set_reading(self, reading: Any) -> None:
        self.reading = reading
        text, state = reading_state(reading)
        ok = state != "error"
        self.weight_label.setText(format_grams(reading.grams) if ok else "—")
        self.state_label.setText(text)
        self.state_label.setProperty("state", state)
        self._repolish(self.state_label)

    def set_awaiting(self, sku: str | None, name: str = "") -> None:
        self.awaiting_sku = sku
        waiting = sku is not None
        self.prompt.setText(f"Place {name or 'the item'} on the scale" if waiting else "")
        self.setProperty("awaiting", waiting)
        self._repolish(self)
        self._repolish(self.prompt)

    @property
    def awaiting(self) -> bool:
        return self.awaiting_sku is not None

    @staticmethod
    def _repolish(widget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)
