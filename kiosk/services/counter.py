"""The counter: what happens between an item on the tray and a line on the bill.

A placement is recognised (:mod:`~kiosk.services.recognise`); its top-1 is added by itself when the model is
sure enough, otherwise the shopper chooses (a suggestion, or a search result). Unit items are added at once;
by-weight items with the current stable weight, or they wait for one (:class:`~kiosk.services.placements.Weighing`).
Another choice for a placement replaces its line; the tray cleared before weighing drops the item. Every line
is committed with its provenance (:mod:`~kiosk.services.cart_lines`) before listeners hear of it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kiosk.domain.cart import CartError, CartLine
from kiosk.errors import CatalogError, UserError
from kiosk.services.cart_lines import CartKeeper
from kiosk.services.errors import CheckoutError
from kiosk.services.events import (
    AwaitingWeight,
    CartChanged,
    CartView,
    Notice,
    PlacementCleared,
    SuggestionsReady,
    WeighingEnded,
    WeightChanged,
)
from kiosk.services.placements import PendingItem, Placement, PlacementBook, Weighing
from kiosk.services.recognise import PlacementRecogniser
from kiosk.services.shelf import Shelf
from kiosk.services.views import reading_text

__all__ = ["Counter", "weighing_ended"]

log = logging.getLogger(__name__)


def weighing_ended(item: PendingItem, line_id: str | None, warning: str = "") -> list[Any]:
    ended = WeighingEnded(item.placement_id, item.sku.sku, line_id)
    return [ended, Notice("warning", warning)] if warning else [ended]


class Counter:
    def __init__(self, *, lock: threading.RLock, cart: CartKeeper, shelf: Shelf, recogniser: PlacementRecogniser,
                 book: PlacementBook, weighing: Weighing, cart_view: Callable[[], CartView],
                 emit: Callable[..., None]) -> None:
        self._lock, self._cart, self._shelf, self._recogniser = lock, cart, shelf, recogniser
        self.book, self.weighing, self._cart_view, self._emit = book, weighing, cart_view, emit

    def item_placed(self, image) -> SuggestionsReady:
        placement = self._recogniser.recognise(image, self.weighing.usable_grams())
        events: list[Any] = []
        line = None
        with self._lock:
            dropped = self.weighing.drop()
            if dropped is not None:
                events += weighing_ended(dropped, None, f"{dropped.sku.name} was not weighed: tap it again to add it")
            self.book.add(placement)
            auto_sku = self._recogniser.auto_add_sku(placement)
            if auto_sku is not None:
                try:
                    line, add_events = self._add(auto_sku, placement, "auto")
                    events += add_events
                except (CheckoutError, CatalogError, CartError) as exc:
                    events.append(Notice("error", str(exc)))
        ready = SuggestionsReady(placement.placement_id, placement.suggestions,
                                 line.line_id if line is not None else None, line.sku if line is not None else None)
        self._emit(*[e for e in events if isinstance(e, CartChanged)], ready,
                   *[e for e in events if not isinstance(e, CartChanged)])
        if not placement.suggestions:
            self._emit(Notice("info", "item not recognised: search by name or PLU"))
        return ready

    def tray_cleared(self) -> None:
        events: list[Any] = []
        with self._lock:
            current, self.book.current = self.book.current, None
            dropped = self.weighing.drop(current) if current is not None else None
            if dropped is not None:
                events += weighing_ended(dropped, None, f"{dropped.sku.name} was taken away before it was weighed")
        if current is not None:
            self._emit(PlacementCleared(current), *events)

    def _add(self, sku_id: str, placement: Placement | None, chooser: str) -> tuple[CartLine | None, list[Any]]:
        """Add one item (caller holds the lock). Returns the line, or None while it waits for the scale."""
        sku = self._shelf.active(sku_id)
        pid = placement.placement_id if placement else None
        if sku.by_weight:
            grams = self.weighing.usable_grams()
            if grams is None:
                self.weighing.wait_for(PendingItem(pid, sku, chooser))
                return None, [AwaitingWeight(pid, sku.sku, sku.name),
                              Notice("info", f"place {sku.name} on the scale and hold still")]
            line = CartLine.weighed(sku.sku, sku.name, sku.price_paise, sku.gst_bp, grams)
        else:
            line = CartLine.unit(sku.sku, sku.name, sku.price_paise, sku.gst_bp, 1)
        return self._commit(line, placement, chooser), [CartChanged(self._cart_view())]

    def _commit(self, line: CartLine, placement: Placement | None, chooser: str) -> CartLine:
        provenance = placement.provenance(chooser) if placement is not None else None
        stored = self._cart.add(line, provenance)  # committed (fsynced) before anything shows it
        if placement is not None:
            placement.line_id = stored.line_id
        return stored

    def choose(self, sku: str, placement_id: str | None = None) -> str | None:
        """The shopper picked ``sku`` (a suggestion of ``placement_id``, or a search result)."""
        events: list[Any] = []
        with self._lock:
            placement = self.book.get(placement_id)
            if placement_id is not None and placement is None:
                log.info("choose(): placement %s is no longer known; adding %s as a manual pick", placement_id, sku)
            if placement is not None and placement.line_id is not None and placement.line_id in self._cart.cart:
                existing = self._cart.cart.line(placement.line_id)
                if existing.sku == sku and not existing.voided:
                    return existing.line_id  # a second tap on the same button
                self._shelf.active(sku)  # refuse an unknown SKU before touching the cart
                self._cart.remove(existing.line_id, by="shopper")
                placement.line_id = None
                events.append(CartChanged(self._cart_view()))
            dropped = self.weighing.drop()  # the new choice replaces an item that still waited for the scale
            if dropped is not None:
                events += weighing_ended(dropped, None)
            line, add_events = self._add(sku, placement, "shopper" if placement is not None else "search")
            events += add_events
        self._emit(*events)
        return line.line_id if line is not None else None

    def remove_line(self, line_id: str) -> None:
        with self._lock:
            self._cart.remove(line_id, by="shopper")
            self.book.forget_line(line_id)
            view = self._cart_view()
        self._emit(CartChanged(view))

    def take_reading(self, reading) -> None:
        """A scale reading: sent on when it changed; completes a waiting by-weight item when it is usable."""
        events: list[Any] = []
        with self._lock:
            changed, done = self.weighing.take(reading)
            if changed:
                events.append(WeightChanged(reading, reading_text(reading)))
            if done is not None:
                events += self._complete_weighing(done, reading.grams)
        self._emit(*events)

    def _complete_weighing(self, item: PendingItem, grams: int) -> list[Any]:
        sku = item.sku
        try:
            line = CartLine.weighed(sku.sku, sku.name, sku.price_paise, sku.gst_bp, grams)
            stored = self._commit(line, self.book.get(item.placement_id), item.chooser)
        except (CartError, UserError) as exc:
            return [*weighing_ended(item, None), Notice("error", f"{sku.name}: {exc}")]
        return [CartChanged(self._cart_view()), *weighing_ended(item, stored.line_id)]
