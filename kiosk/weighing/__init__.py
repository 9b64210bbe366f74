"""Legal weighing, kept apart from recognition: zero, tare per container, net = gross − tare, the minimum weight
and division from config, a new stable load for each item; motion, overload, underload and negative net are shown
and never priced.

This room imports the scale's reading type and nothing of the recogniser, the bundles or the trainer (an
import-linter contract in ``pyproject.toml``): a model update can never change how weight becomes money.
"""

from kiosk.weighing.net import NetState, NetWeight, format_kg, net_weight
from kiosk.weighing.rules import WeighingConfigError, WeighingRules
from kiosk.weighing.state import PendingItem, Tare, TareError, Weighing, forced_tare

__all__ = ["NetState", "NetWeight", "PendingItem", "Tare", "TareError", "Weighing", "WeighingConfigError",
           "WeighingRules", "forced_tare", "format_kg", "net_weight"]
