"""The ``[barcodes]`` table of ``kiosk.toml``::

    [barcodes]
    camera_frames = true                  # search each placed item's camera frame for EAN/UPC/DataBar codes
    scanner = "serial:/dev/ttyACM0"       # or "wedge:" (a USB scanner typing into the kiosk window), "" = none
    same_code_s = 0.8                     # the same code again within 0.8 s counts once (0 = every read counts)
    max_scans_per_s = 8.0                 # more codes a second than this, over 2 s: a faulty scanner, staff called

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
    #: the same scanned code again within this many seconds counts once (a scanner's same-code delay; 0 = off)
    same_code_s: float = 0.8
    #: more scanned codes a second than this, over 2 s, is a faulty scanner: nothing taken until it is quiet
    max_scans_per_s: float = 8.0

    def __post_init__(self) -> None:
        if not isinstance(self.camera_frames, bool):
            raise BarcodeConfigError(f"[barcodes]: camera_frames={self.camera_frames!r} (true or false)")
        if not isinstance(self.scanner, str):
            raise BarcodeConfigError(f"[barcodes]: scanner={self.scanner!r} (a scanner URI or \"\")")
        for name, low, high in (("same_code_s", 0.0, 10.0), ("max_scans_per_s", 1.0, 100.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:  # nan too
                raise BarcodeConfigError(f"[barcodes]: {name}={value!r:.40} (a number of {low:g} to {high:g})")
            object.__setattr__(self, name, float(value))
        prefixes = [v.prefix for v in self.variable]
        if len(set(prefixes)) != len(prefixes):
            raise BarcodeConfigError(f"[barcodes]: a variable-measure prefix is listed twice ({', '.join(prefixes)})")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BarcodeSettings:
        if not isinstance(data, dict):
            raise BarcodeConfigError(f"[barcodes]: expected a table, got {type(data).__name__}")
        known = {"camera_frames", "scanner", "variable", "same_code_s", "max_scans_per_s"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BarcodeConfigError(f"[barcodes]: unknown key(s) {', '.join(unknown)} (known: "
                                     f"{', '.join(sorted(known))})")
        values = dict(data)
        if "variable" in values:
            if not isinstance(values["variable"], (list, tuple)):
                raise BarcodeConfigError("[barcodes]: variable must be a list of tables ([[barcodes.variable]])")
            values["variable"] = tuple(v if isinstance(v, VariableLayout) else VariableLayout.from_dict(v)
                                       for v in values["variable"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {"camera_frames": self.camera_frames, "scanner": self.scanner, "same_code_s": self.same_code_s,
                "max_scans_per_s": self.max_scans_per_s, "variable": [v.to_dict() for v in self.variable]}
