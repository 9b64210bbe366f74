"""Scales: the :class:`Scale` interface, protocol parsers, serial and simulated drivers.

``open_scale("serial:/dev/ttyUSB0?protocol=mt-sics")``, ``open_scale("sim:")``,
``open_scale("script:assets/demo/scale.txt")``. pyserial is imported only for ``serial:``.
"""

from kiosk.scale.base import Scale, ScaleError, WeightReading, WeightStatus, open_scale
from kiosk.scale.simulated import ScriptedScale, SimulatedScale, parse_script

__all__ = [
    "Scale",
    "ScaleError",
    "ScriptedScale",
    "SimulatedScale",
    "WeightReading",
    "WeightStatus",
    "open_scale",
    "parse_script",
]
