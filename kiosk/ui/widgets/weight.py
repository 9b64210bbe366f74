"""The live weight for produce, and the "place it on the scale" prompt while the service waits
for a stable weight.

What is shown comes from the weighing room's :class:`kiosk.weighing.NetWeight` (the ``net`` of a
``WeightChanged`` event): the net weight, ``NET`` and the tare when one is in force, and a short state —
settling, too heavy, below zero, net below zero, under the minimum, take the last item off — for every
reading that is not priced. The Bag button sets the bag's preset tare (tapped again it clears it), Zero
zeroes an empty tray.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout

from kiosk.ui.widgets.common import label, touch_button

__all__ = ["WeightPanel", "format_grams", "net_state", "reading_state"]

#: net state → (short state text, style state)
_NET_STATES = {
    "ok": ("Stable", "stable"),
    "empty": ("Empty", "stable"),
    "motion": ("Settling…", "moving"),
    "overload": ("Too heavy", "error"),
    "underload": ("Below zero", "error"),
    "negative": ("Net below 0", "error"),
    "below_min": ("Under minimum", "moving"),
    "off_scale": ("Scale setup", "error"),
    "spent": ("Take item off", "moving"),
    "error": ("Scale error", "error"),
}


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


def net_state(net: Any) -> tuple[str, str]:
    """``(text, state)`` for a :class:`kiosk.weighing.NetWeight`."""
    state = getattr(getattr(net, "state", None), "value", "error")
    return _NET_STATES.get(state, (str(state), "error"))


class WeightPanel(QFrame):
    """Big weight readout + a prompt line. ``set_awaiting(name)`` turns the prompt on."""

    #: the shopper tapped Bag (``"bag"``) — or tapped it again to take the tare off (``""``)
    tare_requested = Signal(str)
    zero_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("weightPanel")
        self.awaiting_sku: str | None = None
        self.reading: Any = None
        self.net: Any = None
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
        self.bag_button = touch_button("Bag", "bagButton")
        self.zero_button = touch_button("Zero", "zeroButton")
        for button in (self.bag_button, self.zero_button):
            button.setMinimumWidth(88)
        self.bag_button.clicked.connect(lambda: self.tare_requested.emit("" if self.tared else "bag"))
        self.zero_button.clicked.connect(self.zero_requested.emit)
        row.addLayout(readout)
        row.addWidget(self.state_label)
        row.addWidget(self.prompt, 1)
        row.addWidget(self.bag_button)
        row.addWidget(self.zero_button)
        self.setMinimumHeight(64)
        self.set_awaiting(None)

    @property
    def tared(self) -> bool:
        return bool(getattr(self.net, "tare", 0))

    def set_reading(self, reading: Any, net: Any = None) -> None:
        """Show a reading; ``net`` (the weighing room's NetWeight) says what may be priced and why not."""
        self.reading, self.net = reading, net
        if net is None:
            text, state = reading_state(reading)
            shown = format_grams(reading.grams) if state != "error" else "—"
            self.caption.setText("Scale")
        else:
            text, state = net_state(net)
            shown = format_grams(net.net) if net.shows_weight else "—"
            self.caption.setText(f"NET · tare {format_grams(net.tare)} ({net.tare_name})" if net.tare else "Scale")
            self.bag_button.setText("No bag" if net.tare else "Bag")
            if state != "stable" and not self.awaiting:
                self.prompt.setText(net.text if net.state.value not in ("motion", "empty") else "")
            elif not self.awaiting:
                self.prompt.setText("")
        self.weight_label.setText(shown)
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
