"""Placements (one item put on the tray, what the recogniser said, the line it became) and the weighing of a
by-weight item that waits for the scale.

:class:`PlacementBook` remembers the last :data:`MAX_PLACEMENTS` placements and which one is on the tray now;
:class:`Weighing` is the small state machine of a by-weight item: ``idle`` → ``waiting`` (chosen, no usable
reading yet) → a stable reading above 0 g completes it (or it is dropped: replaced, taken away, paid). Both are
plain state, guarded by the service's lock; neither touches the store.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from kiosk.services.events import SuggestionView
from kiosk.store import LineProvenance

__all__ = ["MAX_PLACEMENTS", "Placement", "PlacementBook", "Weighing", "PendingItem"]

#: placements remembered for choose()/corrections (older ones are forgotten)
MAX_PLACEMENTS = 64


@dataclass
class Placement:
    """One item placed on the tray: its saved image, what the recogniser said, the line it became."""

    placement_id: str
    image_path: str
    suggestions: list[SuggestionView]
    recognised_sku: str | None
    model_version: int | None
    scale_grams: int | None = None
    line_id: str | None = None
    top_k: tuple[tuple[str, float], ...] = ()

    def provenance(self, chooser: str) -> LineProvenance:
        return LineProvenance(self.placement_id, self.image_path, self.recognised_sku, self.top_k,
                              self.model_version, self.scale_grams, chooser)


class PlacementBook:
    """The recent placements by id, and the one now on the tray (``current``)."""

    def __init__(self, limit: int = MAX_PLACEMENTS) -> None:
        self._items: OrderedDict[str, Placement] = OrderedDict()
        self.limit = limit
        self.current: str | None = None

    def add(self, placement: Placement) -> None:
        self._items[placement.placement_id] = placement
        while len(self._items) > self.limit:
            self._items.popitem(last=False)
        self.current = placement.placement_id

    def get(self, placement_id: str | None) -> Placement | None:
        return self._items.get(placement_id) if placement_id is not None else None

    def forget_line(self, line_id: str) -> None:
        for p in self._items.values():
            if p.line_id == line_id:
                p.line_id = None

    def clear(self) -> None:
        self._items.clear()
        self.current = None


@dataclass(frozen=True)
class PendingItem:
    placement_id: str | None
    sku: Any  # catalog.Sku
    chooser: str = "shopper"


class Weighing:
    """The last scale reading and the by-weight item waiting for a stable one (at most one)."""

    def __init__(self) -> None:
        self.reading = None  # kiosk.scale.WeightReading
        self.pending: PendingItem | None = None

    def usable_grams(self) -> int | None:
        """Grams of the last reading when it may be priced (stable, ok, above 0 g), else ``None``."""
        r = self.reading
        return r.grams if r is not None and r.usable and r.grams > 0 else None

    def take(self, reading) -> tuple[bool, PendingItem | None]:
        """Record a reading. Returns (changed since the last one, the pending item it completes or ``None``)."""
        last = self.reading
        changed = last is None or (last.grams, last.stable, last.status) != (reading.grams, reading.stable,
                                                                           reading.status)
        self.reading = reading
        done = None
        if self.pending is not None and self.usable_grams() is not None:
            done, self.pending = self.pending, None
        return changed, done

    def wait_for(self, item: PendingItem) -> None:
        self.pending = item

    def drop(self, placement_id: str | None = None) -> PendingItem | None:
        """End the wait (for ``placement_id`` only, when given); returns the item that was waiting."""
        item = self.pending
        if item is None or (placement_id is not None and item.placement_id != placement_id):
            return None
        self.pending = None
        return item
