"""The ``[barcodes]`` table of ``kiosk.toml``::

    [barcodes]
    camera_frames = true                  # search each placed item's camera frame for EAN/UPC/DataBar codes
    scanner = "serial:/dev/ttyACM0"       # or "wedge:" (a USB scanner typing into the kiosk window), "" = none

    [[barcodes.variable]]                 # the store's label layouts (replace the defaults)
    prefix = "28"
    kind = "weight"
    layout = "PPIIIIIVVVVVC"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.barcodes.variable import DEFAULT_LAYOUTS, BarcodeConfigError, VariableLayout

__all__ = ["BarcodeSettings"]


@dataclass(frozen=True)
class BarcodeSettings:
    #: decode barcodes in the frame of each placed item (zxing-cpp)
    camera_frames: bool = True
    #: a USB scanner: "" (none), "wedge:" (keyboard wedge into the window) or "serial:PORT?baud=9600"
    scanner: str = ""
    #: GS1 variable-measure layouts of the store's label scales
    variable: tuple[VariableLayout, ...] = field(default_factory=lambda: DEFAULT_LAYOUTS)

    def __post_init__(self) -> None:
        if not isinstance(self.camera_frames, bool):
            raise BarcodeConfigError(f"[barcodes]: camera_frames={self.camera_frames!r} (true or false)")
        if not isinstance(self.scanner, str):
            raise BarcodeConfigError(f"[barcodes]: scanner={self.scanner!r} (a scanner URI or \"\")")
        prefixes = [v.prefix for v in self.variable]
        if len(set(prefixes)) != len(prefixes):
            raise BarcodeConfigError(f"[barcodes]: a variable-measure prefix is listed twice ({', '.join(prefixes)})")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BarcodeSettings:
        if not isinstance(data, dict):
            raise BarcodeConfigError(f"[barcodes]: expected a table, got {type(data).__name__}")
        unknown = sorted(set(data) - {"camera_frames", "scanner", "variable"})
        if unknown:
            raise BarcodeConfigError(f"[barcodes]: unknown key(s) {', '.join(unknown)} (known: camera_frames, "
                                     "scanner, variable)")
        values = dict(data)
        if "variable" in values:
            if not isinstance(values["variable"], (list, tuple)):
                raise BarcodeConfigError("[barcodes]: variable must be a list of tables ([[barcodes.variable]])")
            values["variable"] = tuple(v if isinstance(v, VariableLayout) else VariableLayout.from_dict(v)
                                       for v in values["variable"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {"camera_frames": self.camera_frames, "scanner": self.scanner,
                "variable": [v.to_dict() for v in self.variable]}
