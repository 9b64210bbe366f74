"""The live weight for produce, highlighted while the service waits for a by-weight item's stable weight.

What is shown comes from the weighing room's :class:`kiosk.weighing.NetWeight` (the ``net`` of a
``WeightChanged`` event): the net weight, ``NET`` and the tare when one is in force, and a short state —
empty, settling, too heavy, below zero, net below zero, under the minimum, take the last item off — for every
reading that is not priced, with one line saying what to do about it. "Put … on the scale" and the price preview
are the step area's (:mod:`kiosk.ui.widgets.suggestions`). The Bag button sets the bag's preset tare (tapped again
it clears it), Zero zeroes an empty tray.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QVBoxLayout

from kiosk.ui.i18n import mark, translate
from kiosk.ui.widgets.common import ClampedLabel, Translatable, label, line, repolish, touch_button

__all__ = ["WeightPanel", "format_grams", "net_state", "reading_state"]

_C = "Weight"
#: net state → (short state text, style state, what the shopper should do — "" when nothing)
_NET_STATES = {
    "ok": (mark("Weight", "Stable"), "stable", ""),
    "empty": (mark("Weight", "Empty"), "stable", ""),
    "motion": (mark("Weight", "Settling…"), "moving", ""),
    "overload": (mark("Weight", "Too heavy"), "error", mark("Weight", "Too heavy for the scale: take some off")),
    "underload": (mark("Weight", "Below zero"), "error", mark("Weight", "The scale reads below zero: call staff")),
    "negative": (mark("Weight", "Net below 0"), "error",
                 mark("Weight", "Less on the tray than the tare: is the bag right?")),
    "below_min": (mark("Weight", "Under minimum"), "moving", mark("Weight", "Too light to weigh on its own")),
    "off_scale": (mark("Weight", "Scale setup"), "error", mark("Weight", "The scale is set up wrongly: call staff")),
    "spent": (mark("Weight", "Take item off"), "moving", mark("Weight", "Take the last item off the tray first")),
    "error": (mark("Weight", "Scale error"), "error", mark("Weight", "The scale is not answering: call staff")),
}


def format_grams(grams: int) -> str:
    """``548 -> '0.548 kg'`` (integer arithmetic, no float)."""
    sign = "-" if grams < 0 else ""
    kg, g = divmod(abs(int(grams)), 1000)
    return f"{sign}{kg}.{g:03d} kg"


def reading_state(reading: Any) -> tuple[str, str]:
    """``(text, state)`` for a WeightReading: state is ``stable``, ``moving`` or ``error`` (text translated)."""
    status = getattr(reading, "status", "ok")
    status = getattr(status, "value", status)
    if status != "ok":
        words = {"overload": mark("Weight", "Too heavy for the scale"), "underload": mark("Weight", "Scale below zero"),
                 "error": mark("Weight", "Scale error")}
        return translate(_C, words.get(str(status), mark("Weight", "Scale error"))), "error"
    if reading.stable:
        return translate("Weight", "Stable" if reading.grams else "Empty"), "stable"
    return translate("Weight", "Settling…"), "moving"


def net_state(net: Any) -> tuple[str, str]:
    """``(text, state)`` for a :class:`kiosk.weighing.NetWeight` (text translated)."""
    state = getattr(getattr(net, "state", None), "value", "error")
    text, style, _advice = _NET_STATES.get(state, (str(state), "error", ""))
    return translate(_C, text), style


class WeightPanel(Translatable, QFrame):
    """Big weight readout, its state and what to do; ``set_awaiting(sku)`` highlights it."""

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
        row.setContentsMargins(12, 4, 12, 4)
        row.setSpacing(10)
        readout = QVBoxLayout()
        readout.setSpacing(0)
        self.caption = line("", "weightCaption")
        self.weight_label = label("—", "weightValue")  # the weight is never elided: it is what the shopper pays for
        readout.addWidget(self.caption)
        readout.addWidget(self.weight_label)
        state = QVBoxLayout()
        state.setSpacing(0)
        self.state_label = line("", "weightState")
        self.prompt = ClampedLabel("", "weightPrompt", 2)  # what to do: two lines before it elides
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        state.addWidget(self.state_label)
        state.addWidget(self.prompt)
        self.bag_button = touch_button("", "bagButton")
        self.zero_button = touch_button("", "zeroButton")
        for button in (self.bag_button, self.zero_button):
            button.setMinimumWidth(80)
        self.bag_button.clicked.connect(lambda: self.tare_requested.emit("" if self.tared else "bag"))
        self.zero_button.clicked.connect(self.zero_requested.emit)
        row.addLayout(readout, 0)
        row.addLayout(state, 1)
        row.addWidget(self.bag_button)
        row.addWidget(self.zero_button)
        self.setMinimumHeight(64)
        self.retranslate()
        self.set_awaiting(None)

    @property
    def tared(self) -> bool:
        return bool(getattr(self.net, "tare", 0))

    def retranslate(self) -> None:
        self.zero_button.setText(translate("Weight", "Zero"))
        self._render()

    def set_reading(self, reading: Any, net: Any = None) -> None:
        """Show a reading; ``net`` (the weighing room's NetWeight) says what may be priced and why not."""
        self.reading, self.net = reading, net
        self._render()

    def _render(self) -> None:
        reading, net = self.reading, self.net
        self.bag_button.setText(translate("Weight", "No bag") if self.tared else translate("Weight", "Bag"))
        self.caption.setText(translate("Weight", "NET · tare {tare} ({name})").format(
            tare=format_grams(net.tare), name=net.tare_name) if self.tared else translate("Weight", "Scale"))
        if reading is None and net is None:
            self.weight_label.setText("—")
            self.state_label.setText("")
            self.prompt.setText("")
            return
        if net is None:
            text, state = reading_state(reading)
            shown, advice = (format_grams(reading.grams) if state != "error" else "—"), ""
        else:
            text, state = net_state(net)
            shown = format_grams(net.net) if net.shows_weight else "—"
            advice = _NET_STATES.get(getattr(net.state, "value", ""), ("", "", ""))[2]
        self.weight_label.setText(shown)
        self.state_label.setText(text)
        self.state_label.setProperty("state", state)
        self.prompt.setText(translate(_C, advice) if advice else "")
        repolish(self.state_label)

    def set_awaiting(self, sku: str | None, name: str = "") -> None:
        """Highlight the panel while ``sku`` waits for its weight (``None``: not waiting)."""
        self.awaiting_sku = sku
        self.setProperty("awaiting", sku is not None)
        repolish(self)

    @property
    def awaiting(self) -> bool:
        return self.awaiting_sku is not None
