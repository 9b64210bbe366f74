"""The legal settings of the counter scale: capacity, division, minimum weight, zero range and the tare table.

They follow the rules for a non-automatic weighing instrument of accuracy class III (OIML R 76-1, adopted in
India by the Legal Metrology (General) Rules, 2011, Eighth Schedule):

* ``division_g`` is the verification scale interval *e* (= the display division *d* of a retail scale);
* the minimum capacity is ``min_divisions`` × *e* (20 *e* for class III): lighter loads are shown, never priced;
* nothing above ``capacity_g`` + 9 *e* may be indicated (an overload);
* the zero key works only within ``zero_range_g`` of the zero the scale was calibrated at (4 % of Max for
  zero-setting and zero-tracking together) and only on a stable reading;
* a preset tare is a multiple of *e* and at most Max.

Nothing here knows a model, a bundle or a camera: how weight becomes money is decided by these numbers, the scale
and :mod:`kiosk.domain.pricing`, and no model update can reach them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kiosk.errors import UserError

__all__ = ["WeighingConfigError", "WeighingRules", "DEFAULT_CONTAINERS"]

#: preset tares a store starts with (grams): a thin produce bag and the kiosk's own tray insert
DEFAULT_CONTAINERS = {"bag": 2}

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}\Z")


class WeighingConfigError(UserError):
    """A ``[weighing]`` setting that is unknown or out of range (names the key and the reason)."""


@dataclass(frozen=True)
class WeighingRules:
    """The ``[weighing]`` table of ``kiosk.toml``; :meth:`from_dict` refuses unknown keys and illegal values."""

    #: verification scale interval e = display division d, grams (a 15 kg retail scale: 5 g)
    division_g: int = 1
    #: minimum capacity in divisions (OIML R 76 class III: 20 e)
    min_divisions: int = 20
    #: maximum capacity Max, grams (0: only the scale's own overload signal counts)
    capacity_g: int = 15_000
    #: how far from zero the zero key may bring a load back, grams (0: 4 % of Max)
    zero_range_g: int = 0
    #: preset tares by container name, grams (each a multiple of division_g); "bag" is the shopper's bag button
    containers: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CONTAINERS))
    #: barcodes printed on containers (a deli tub, a crate) → container name, scanned to set its tare
    tare_barcodes: dict[str, str] = field(default_factory=dict)
    #: forced tares by SKU id, grams: the fixed container a by-weight SKU is always sold in (never less is taken off)
    forced_tares: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        for name in ("division_g", "min_divisions", "capacity_g", "zero_range_g"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                problems.append(f"{name}={value!r} (whole number >= 0)")
        if not problems:
            problems += self._check_numbers()
        if not problems:
            problems += self._check_containers()
        if problems:
            raise WeighingConfigError(f"[weighing]: {'; '.join(problems)}")

    def _check_numbers(self) -> list[str]:
        problems = []
        if self.division_g < 1:
            problems.append(f"division_g={self.division_g} (at least 1 g)")
        if self.min_divisions < 1:
            problems.append(f"min_divisions={self.min_divisions} (at least 1; class III scales use 20)")
        if self.capacity_g and self.capacity_g % max(self.division_g, 1):
            problems.append(f"capacity_g={self.capacity_g} is not a multiple of division_g={self.division_g}")
        if self.capacity_g and self.min_grams >= self.capacity_g:
            problems.append(f"min_divisions×division_g={self.min_grams} g is not below capacity_g={self.capacity_g}")
        return problems

    def _check_containers(self) -> list[str]:
        problems = []
        for name, grams in self.containers.items():
            if not isinstance(name, str) or not _NAME.match(name):
                problems.append(f"container {name!r} (lower-case name, a-z 0-9 _ -)")
            elif isinstance(grams, bool) or not isinstance(grams, int) or grams <= 0:
                problems.append(f"container {name}={grams!r} (tare in whole grams > 0)")
            elif grams % self.division_g:
                problems.append(f"container {name}={grams} g is not a multiple of division_g={self.division_g}")
            elif self.capacity_g and grams >= self.capacity_g:
                problems.append(f"container {name}={grams} g is not below capacity_g={self.capacity_g}")
        for sku, grams in self.forced_tares.items():
            if not isinstance(sku, str) or not sku or isinstance(grams, bool) or not isinstance(grams, int) \
                    or grams <= 0 or grams % self.division_g or (self.capacity_g and grams >= self.capacity_g):
                problems.append(f"forced tare {sku!r}={grams!r} (whole grams > 0, in division_g steps, below "
                                "capacity_g)")
        for code, name in self.tare_barcodes.items():
            if not isinstance(code, str) or not (code.isascii() and code.isdigit()) or name not in self.containers:
                problems.append(f"tare barcode {code!r} → {name!r} (digits → one of the containers)")
        return problems

    # -- derived ---------------------------------------------------------------------------------
    @property
    def min_grams(self) -> int:
        """The minimum capacity Min: lighter net loads are never priced."""
        return self.min_divisions * self.division_g

    @property
    def overload_grams(self) -> int | None:
        """Gross loads above this are an overload (Max + 9 e), or ``None`` when no capacity is set."""
        return self.capacity_g + 9 * self.division_g if self.capacity_g else None

    @property
    def zero_limit_grams(self) -> int:
        """The largest gross load the zero key may take away."""
        if self.zero_range_g:
            return self.zero_range_g
        return self.capacity_g * 4 // 100 if self.capacity_g else 20 * self.division_g

    def container_tare(self, name: str) -> int:
        try:
            return self.containers[name]
        except KeyError:
            known = ", ".join(sorted(self.containers)) or "none"
            raise WeighingConfigError(f"unknown container {name!r} (configured: {known})") from None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WeighingRules:
        if not isinstance(data, dict):
            raise WeighingConfigError(f"[weighing]: expected a table, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise WeighingConfigError(f"[weighing]: unknown key(s) {', '.join(unknown)} "
                                      f"(known: {', '.join(sorted(known))})")
        values = dict(data)
        for key in ("containers", "tare_barcodes", "forced_tares"):
            if key in values and not isinstance(values[key], dict):
                raise WeighingConfigError(f"[weighing]: {key} must be a table")
            if key in values:
                values[key] = dict(values[key])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {"division_g": self.division_g, "min_divisions": self.min_divisions, "capacity_g": self.capacity_g,
                "zero_range_g": self.zero_range_g, "containers": dict(self.containers),
                "tare_barcodes": dict(self.tare_barcodes), "forced_tares": dict(self.forced_tares)}
