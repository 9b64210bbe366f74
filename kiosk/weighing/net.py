"""From one scale reading and the tare in force to what the shopper sees and what may be priced.

:func:`net_weight` is the whole rule, a pure function: gross (from the scale) − tare = net, and the net is
priceable only when the reading is stable and in range, the net is at least the minimum weight, and the load is
not the one that priced the previous item. Every other case has a state of its own, shown and never priced:

============  =====================================================================
``ok``        a stable net weight at or above Min: may be priced
``empty``     a stable 0 g (nothing on the tray)
``motion``    the load is moving
``overload``  above Max + 9 e (or the scale's own overload)
``underload`` below the zero range (the scale's underload: pan lifted, zero lost)
``negative``  net below 0: the tare is more than what is on the tray
``below_min`` net above 0 but under Min (20 e)
``off_scale`` a weight that is not a whole number of divisions (a misconfigured scale)
``spent``     the same stable load that priced the last item: the tray must change first
``error``     no answer, a garbled answer or a fault
============  =====================================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kiosk.scale.base import WeightReading, WeightStatus
from kiosk.weighing.rules import WeighingRules

__all__ = ["NetState", "NetWeight", "net_weight", "format_kg"]


class NetState(str, enum.Enum):
    OK = "ok"
    EMPTY = "empty"
    MOTION = "motion"
    OVERLOAD = "overload"
    UNDERLOAD = "underload"
    NEGATIVE = "negative"
    BELOW_MIN = "below_min"
    OFF_SCALE = "off_scale"
    SPENT = "spent"
    ERROR = "error"


_STATUS_STATE = {WeightStatus.OVERLOAD: NetState.OVERLOAD, WeightStatus.UNDERLOAD: NetState.UNDERLOAD,
                 WeightStatus.ERROR: NetState.ERROR}


def format_kg(grams: int) -> str:
    """``548 → '0.548 kg'``, ``-5 → '-0.005 kg'`` (integer arithmetic)."""
    sign = "-" if grams < 0 else ""
    kg, g = divmod(abs(int(grams)), 1000)
    return f"{sign}{kg}.{g:03d} kg"


@dataclass(frozen=True)
class NetWeight:
    """What the weight panel shows: ``state``, gross, tare and net grams (net and gross are 0 when no weight is
    known), the tare's name, and ``text`` (one line for the shopper)."""

    state: NetState
    gross: int = 0
    tare: int = 0
    net: int = 0
    tare_name: str = ""
    text: str = ""

    @property
    def priceable(self) -> bool:
        return self.state is NetState.OK

    @property
    def shows_weight(self) -> bool:
        """A weight figure may be displayed (not for overload, underload and errors)."""
        return self.state not in (NetState.OVERLOAD, NetState.UNDERLOAD, NetState.ERROR)


def _state(reading: WeightReading, net: int, rules: WeighingRules, spent: bool) -> NetState:
    if reading.status is not WeightStatus.OK:
        return _STATUS_STATE.get(reading.status, NetState.ERROR)
    limit = rules.overload_grams
    if limit is not None and reading.grams > limit:
        return NetState.OVERLOAD
    if reading.grams % rules.division_g:
        return NetState.OFF_SCALE
    if not reading.stable:
        return NetState.MOTION
    if net < 0:
        return NetState.NEGATIVE
    if reading.grams == 0 and net == 0:
        return NetState.EMPTY
    if net < rules.min_grams:
        return NetState.BELOW_MIN
    return NetState.SPENT if spent else NetState.OK


def _text(state: NetState, net: int, tare: int, rules: WeighingRules) -> str:
    words = {
        NetState.OK: f"NET {format_kg(net)}" if tare else format_kg(net),
        NetState.EMPTY: format_kg(0),
        NetState.MOTION: "Settling…",
        NetState.OVERLOAD: "Too heavy for the scale",
        NetState.UNDERLOAD: "Scale below zero: empty the tray and press Zero",
        NetState.NEGATIVE: "Net weight below zero: check the tare",
        NetState.BELOW_MIN: f"Below the {format_kg(rules.min_grams)} minimum",
        NetState.OFF_SCALE: f"Scale reading not in {rules.division_g} g steps: call staff",
        NetState.SPENT: "Take the last item off the scale",
        NetState.ERROR: "Scale error",
    }
    return words[state]


def net_weight(reading: WeightReading | None, rules: WeighingRules, tare: int = 0, tare_name: str = "",
               spent: bool = False) -> NetWeight:
    """Evaluate one reading under ``rules`` with ``tare`` grams in force; ``spent`` says this stable load priced
    the last item already."""
    if reading is None:
        return NetWeight(NetState.ERROR, text="No scale reading yet")
    state = _state(reading, reading.grams - tare, rules, spent)
    if state in (NetState.OVERLOAD, NetState.UNDERLOAD, NetState.ERROR):
        return NetWeight(state, 0, tare, 0, tare_name, _text(state, 0, tare, rules))
    net = reading.grams - tare
    return NetWeight(state, reading.grams, tare, net, tare_name, _text(state, net, tare, rules))
