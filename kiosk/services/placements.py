"""Placements: one item put on the tray, what the recogniser said, the line it became.

:class:`PlacementBook` remembers the last :data:`MAX_PLACEMENTS` placements and which one is on the tray now; plain
state, guarded by the service's lock; it never touches the store. The weighing of a by-weight item that waits for
the scale is :class:`kiosk.weighing.Weighing` (its own room: no recognition code there).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from kiosk.services.events import SuggestionView
from kiosk.store import LineProvenance

__all__ = ["MAX_PLACEMENTS", "Placement", "PlacementBook"]

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
    #: the open-set rule said the item is none the kiosk knows: no suggestions shown, the photo kept for staff
    not_recognised: bool = False
    #: suggestions whose score came from this kiosk's gallery (taught here, not trained): never added by themselves
    enrolled: tuple[str, ...] = ()

    def provenance(self, chooser: str) -> LineProvenance:
        return LineProvenance(self.placement_id, self.image_path, self.recognised_sku, self.top_k,
                              self.model_version, self.scale_grams, chooser, tuple(s.sku for s in self.suggestions))


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
