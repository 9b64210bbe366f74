"""The counter: what happens between an item on the tray and a line on the bill.

A placed item's frame is first searched for a barcode (:mod:`~kiosk.services.scans`): a code the catalog knows
wins, and the classifier is not asked; a container's tare code sets the tare. Otherwise the placement is recognised
(:mod:`~kiosk.services.recognise`), its suggestions re-ranked by the weight on the tray
(:mod:`~kiosk.services.second_opinion`); the top-1 is added by itself when the model is sure enough and the weight
does not contradict it, otherwise the shopper chooses (a suggestion, or a search result). A USB scanner's codes
take the same path without a placement.

Unit items are added at once — unless the weight on the tray does not fit them: then staff is called instead
(:class:`~kiosk.services.events.StaffCalled`). By-weight items are priced on the net weight of the weighing room
(:class:`kiosk.weighing.Weighing`), or they wait for one. Every line added, unit or by weight, claims the load on
the tray (even one still settling): a later item is judged and priced on the increase over it, and a new picture
with no increase is the same item moved, never a new line (a confident other top-1 alone on the tray replaces its
line: a swap). Another choice for a placement replaces its line; the tray cleared before weighing drops the item.
Every line is committed with its provenance (:mod:`~kiosk.services.cart_lines`) before listeners hear of it; a
weighed line the store failed to take keeps its item waiting for the scale and is tried again.

While the shopper is paying (:meth:`CartKeeper.freeze <kiosk.services.cart_lines.CartKeeper.freeze>`: the payment
page shows the total) the bill stays as shown: a scan or a placed item is not added (a notice says why), an item
waiting for the scale keeps waiting (priced once the shopper goes back to the cart; the sale drops it, saying so).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from kiosk.domain.cart import CartError, CartLine
from kiosk.errors import CatalogError, UserError
from kiosk.services.cart_lines import FROZEN, CartKeeper, weighed_line
from kiosk.services.errors import CheckoutError
from kiosk.services.events import (
    NOT_RECOGNISED,
    AwaitingWeight,
    CartChanged,
    CartView,
    Notice,
    PlacementCleared,
    StaffCalled,
    StaffCallEnded,
    SuggestionsReady,
    WeighingEnded,
    WeightChanged,
)
from kiosk.services.placements import Placement, PlacementBook
from kiosk.services.recognise import PlacementRecogniser
from kiosk.services.scans import ScanDesk, ScanOutcome
from kiosk.services.second_opinion import check_label_weight, check_unit_weight, rerank
from kiosk.services.shelf import Shelf
from kiosk.services.views import reading_text
from kiosk.store.sales import AuditRow
from kiosk.weighing import PendingItem, Weighing

__all__ = ["Counter", "SecondOpinion", "weighing_ended"]

log = logging.getLogger(__name__)

#: seconds before a weighed line whose commit failed (the store locked or failing) is tried again
RETRY_S = 1.0
#: a scanner's code while the shopper is paying
SCAN_WHILE_PAYING = "finish or cancel the payment first: the scan was not added"


@dataclass(frozen=True)
class SecondOpinion:
    """What the scale may say about the camera: re-rank suggestions, call staff on a weight that does not fit."""

    rerank: bool = True
    check: bool = True
    slack: float = 0.15


@dataclass(frozen=True)
class HeldItem:
    """An item staff must look at before it is billed (its weight did not fit)."""

    placement_id: str | None
    line: CartLine
    grams: int
    reason: str
    chooser: str


def weighing_ended(item: PendingItem, line_id: str | None, warning: str = "") -> list[Any]:
    ended = WeighingEnded(item.placement_id, item.sku.sku, line_id)
    return [ended, Notice("warning", warning)] if warning else [ended]


class Counter:
    def __init__(self, *, lock: threading.RLock, cart: CartKeeper, shelf: Shelf, recogniser: PlacementRecogniser,
                 book: PlacementBook, weighing: Weighing, cart_view: Callable[[], CartView],
                 emit: Callable[..., None], scans: ScanDesk | None = None,
                 opinion: SecondOpinion | None = None) -> None:
        self._lock, self._cart, self._shelf, self._recogniser = lock, cart, shelf, recogniser
        self.book, self.weighing, self._cart_view, self._emit = book, weighing, cart_view, emit
        self.scans, self.opinion = scans, opinion or SecondOpinion()
        self.held: HeldItem | None = None
        self._replacing: str | None = None  # the line a re-choice takes the place of (choose → _commit)
        self._shown: tuple = ()  # (reading, net) last sent in a WeightChanged

    # -- a placed item ---------------------------------------------------------------------------
    def item_placed(self, image) -> SuggestionsReady:
        with self._lock:
            grams = self.weighing.fresh_grams()
        sale, events = self._camera_codes(image)
        if sale is not None:
            placement = self._recogniser.scanned(image, sale.sku, grams)
        else:
            ranker = partial(rerank, slack=self.opinion.slack) if self.opinion.rerank else None
            placement = self._recogniser.recognise(image, grams, ranker)
        line = None
        with self._lock:
            dropped = self.weighing.drop()
            if dropped is not None:
                events += weighing_ended(dropped, None, f"{dropped.sku.name} was not weighed: tap it again to add it")
            self.book.add(placement)
            try:
                if self._cart.frozen:  # the shopper is paying: the bill stays as shown
                    line, add_events = None, [Notice("warning", FROZEN)]
                elif (same := self._same_items(placement)) is not None:  # moved, not added: never a new line
                    line, add_events = same
                elif sale is not None:
                    line, add_events = self._sell(sale, placement, "barcode")
                else:
                    line, add_events = self._auto_add(placement)
                events += add_events
            except (CheckoutError, CatalogError, CartError) as exc:
                events.append(Notice("error", str(exc)))
            events += self._weight_changes()
        ready = SuggestionsReady(placement.placement_id, placement.suggestions,
                                 line.line_id if line is not None else None, line.sku if line is not None else None,
                                 not_recognised=placement.not_recognised)
        self._emit(*[e for e in events if isinstance(e, CartChanged)], ready,
                   *[e for e in events if not isinstance(e, CartChanged)])
        if not placement.suggestions:
            self._emit(Notice("info", NOT_RECOGNISED if placement.not_recognised else
                              "item not recognised: search by name or PLU"))
        return ready

    def _camera_codes(self, image) -> tuple[ScanOutcome | None, list[Any]]:
        """The first sellable code in the frame, after applying any tare codes; notices for the rest."""
        if self.scans is None:
            return None, []
        sale, events = None, []
        for code in self.scans.decode(image):
            outcome = self.scans.resolve(code)
            if outcome.kind == "tare":
                events += self._apply_tare(outcome.container)
            elif outcome.sells and sale is None:
                sale = outcome
            elif outcome.message:
                events.append(Notice("info" if outcome.kind == "unknown" else "warning", outcome.message))
        return sale, events

    def _auto_add(self, placement: Placement) -> tuple[CartLine | None, list[Any]]:
        auto_sku = self._recogniser.auto_add_sku(placement)
        if auto_sku is None:
            return None, []
        sku = self._shelf.active(auto_sku)
        grams = self.weighing.usable_grams(None, placement.placement_id)
        if not sku.by_weight and self.opinion.check and check_unit_weight(sku, grams, 1, self.opinion.slack).fits \
                is False:
            return None, []  # the weight says otherwise: the shopper chooses, and a wrong choice calls staff
        return self._add(auto_sku, placement, "auto")

    def _same_items(self, placement: Placement) -> tuple[CartLine | None, list[Any]] | None:
        """The picture changed and the claimed load did not grow by Min: the same item(s) moved (or one swapped for
        one of the same weight), never a new line. The placement takes over the newest line on the tray; a confident
        top-1 that differs replaces that line when its item is alone on the tray, judged on the whole load as a
        re-choice is. ``None``: the load grew, or the scale cannot say: a new item."""
        if self.weighing.grew() is not False:
            return None
        old = self.book.get(self.weighing.newest_owner())
        if old is None or old.line_id is None or old.line_id not in self._cart.cart:
            log.info("placement %s: the load did not grow; not added by itself", placement.placement_id)
            return None, []
        existing = self._cart.cart.line(old.line_id)
        self.weighing.adopt(old.placement_id, placement.placement_id)
        placement.line_id = existing.line_id
        auto = self._recogniser.auto_add_sku(placement)
        if auto is None or auto == existing.sku or not self.weighing.sole_owner(placement.placement_id):
            return existing, []
        sku = self._shelf.active(auto)
        grams = self.weighing.usable_grams(sku, placement.placement_id)
        if grams is None or (not sku.by_weight and self.opinion.check
                             and check_unit_weight(sku, grams, 1, self.opinion.slack).fits is False):
            return existing, []  # the weight does not say it is the other item: the shopper may re-choose
        self._replacing = existing.line_id  # swapped: removed in the new line's transaction (_commit)
        try:
            line, events = self._add(auto, placement, "auto")
        finally:
            self._replacing = None
        return (line, events) if line is not None else (existing, events)

    def tray_cleared(self) -> None:
        events: list[Any] = []
        with self._lock:
            current, self.book.current = self.book.current, None
            self.weighing.tray_emptied()
            dropped = self.weighing.drop(current) if current is not None else None
            if dropped is not None:
                events += weighing_ended(dropped, None, f"{dropped.sku.name} was taken away before it was weighed")
        if current is not None:
            self._emit(PlacementCleared(current), *events)

    # -- adding a line ---------------------------------------------------------------------------
    def _add(self, sku_id: str, placement: Placement | None, chooser: str) -> tuple[CartLine | None, list[Any]]:
        """Add one item (caller holds the lock). Returns the line, or None while it waits for the scale or staff."""
        sku = self._shelf.active(sku_id)
        pid = placement.placement_id if placement else None
        grams = self.weighing.usable_grams(sku, pid)
        if sku.by_weight:
            if grams is None:
                self.weighing.wait_for(PendingItem(pid, sku, chooser))
                return None, [AwaitingWeight(pid, sku.sku, sku.name, sku.price_paise),
                              Notice("info", f"place {sku.name} on the scale and hold still")]
            line, weighed = self._weighed(sku, pid)
            return self._commit(line, placement, chooser, weighed), [CartChanged(self._cart_view())]
        line = CartLine.unit(sku.sku, sku.name, sku.price_paise, sku.gst_bp, 1)
        fit = check_unit_weight(sku, grams, 1, self.opinion.slack) if self.opinion.check else None
        if fit is not None and fit.fits is False:
            return None, self._hold(HeldItem(pid, line, grams, fit.reason, chooser))
        return self._commit(line, placement, chooser), [CartChanged(self._cart_view())]

    def _sell(self, outcome: ScanOutcome, placement: Placement | None, chooser: str
              ) -> tuple[CartLine | None, list[Any]]:
        """A scanned code the catalog knows: a plain GTIN is sold as its SKU; a label at its embedded price (a DataBar
        label with both, a weight and the amount payable, at the amount: GS1's rule, and what the shopper read), else
        at its weight; a label's weight is checked against the tray when a fresh weight is there."""
        if outcome.kind == "sku":
            return self._add(outcome.sku.sku, placement, chooser)
        sku, pid = outcome.sku, placement.placement_id if placement else None
        if outcome.price is not None:  # the amount on the label is what the shopper pays, its weight is checked
            line = CartLine.unit(sku.sku, f"{sku.name} (label)", outcome.price, sku.gst_bp, 1)
        else:
            line = CartLine.weighed(sku.sku, sku.name, sku.price_paise, sku.gst_bp, outcome.grams)
        grams = self.weighing.usable_grams(None, pid)
        if outcome.grams is not None and self.opinion.check:
            fit = check_label_weight(outcome.grams, grams, self.opinion.slack, self.weighing.rules.min_grams)
            if fit.fits is False:
                return None, self._hold(HeldItem(pid, line, grams, fit.reason, chooser))
        return self._commit(line, placement, chooser), [CartChanged(self._cart_view())]

    def _hold(self, item: HeldItem) -> list[Any]:
        self.held = item
        log.warning("staff called: %s", item.reason)
        return [StaffCalled(item.placement_id, item.line.sku, item.line.name, item.grams, item.reason),
                Notice("warning", f"Staff is on the way: {item.reason}")]

    def _weighed(self, sku: Any, placement_id: str | None) -> tuple[CartLine, tuple[int, int]]:
        """The line of by-weight ``sku`` on the priceable load now on the tray (``weighed_line``, as a staff
        correction prices it), with its ``(gross, chosen tare)``: the item's own gross, the increase over a load
        other lines claimed."""
        gross = self.weighing.net(sku, placement_id).gross
        return weighed_line(sku, gross, self.weighing.chosen_tare_grams, self.weighing.rules)

    def _commit(self, line: CartLine, placement: Placement | None, chooser: str,
                weighed: tuple[int, int] | None = None, *, by: str = "",
                audit_with: Sequence[AuditRow] = ()) -> CartLine:
        """``by``, ``audit_with``: who put the line on the bill (empty: the shopper) and their action's rows, in the
        line's own store transaction."""
        provenance = placement.provenance(chooser) if placement is not None else None
        removes, self._replacing = self._replacing, None  # a line the shopper's new choice takes the place of
        stored = self._cart.add(line, provenance, weighed, removes, by=by,  # committed (fsynced) before it shows
                                audit_with=audit_with)
        self._committed(stored, placement)
        return stored

    def _committed(self, stored: CartLine, placement: Placement | None) -> None:
        """A line is in the store: its placement knows it, and it claims the load on the tray (stable, settling or
        unknown): no other item is priced on that load until the tray is emptied."""
        if placement is not None:
            placement.line_id = stored.line_id
        self.weighing.spend(placement.placement_id if placement else None)

    # -- the shopper's and the scanner's intents ---------------------------------------------------
    def choose(self, sku: str, placement_id: str | None = None) -> str | None:
        """The shopper picked ``sku`` (a suggestion of ``placement_id``, or a search result)."""
        events: list[Any] = []
        with self._lock:
            self._refuse_while_held()
            self._cart.refuse_while_frozen()
            placement = self.book.get(placement_id)
            if placement_id is not None and placement is None:
                log.info("choose(): placement %s is no longer known; adding %s as a manual pick", placement_id, sku)
            existing = self._cart.open_line(placement.line_id) if self._on_bill(placement) else None
            if existing is not None:  # a line staff voided or replaced stays as it is: the record of what it was
                if existing.sku == sku:
                    return existing.line_id  # a second tap on the same button
                self._shelf.active(sku)  # refuse an unknown SKU before touching the cart
                self._replacing = existing.line_id  # removed in the new line's transaction (_commit)
            dropped = self.weighing.drop()  # the new choice replaces an item that still waited for the scale
            if dropped is not None:
                events += weighing_ended(dropped, None)
            try:
                line, add_events = self._add(sku, placement, "shopper" if placement is not None else "search")
            finally:
                old, self._replacing = self._replacing, None
            if old is not None and line is None:  # the new item waits (scale, staff): the old line goes now
                self._cart.remove(old, by="shopper")
                placement.line_id = None
                events.append(CartChanged(self._cart_view()))
            events += add_events + self._weight_changes()
        self._emit(*events)
        return line.line_id if line is not None else None

    def _on_bill(self, placement: Placement | None) -> bool:
        """``placement``'s line is on the bill (in the cart and not voided)."""
        if placement is None or placement.line_id is None or placement.line_id not in self._cart.cart:
            return False
        return not self._cart.cart.line(placement.line_id).voided

    def scanned(self, text: str, source: str = "scanner") -> str | None:
        """A USB scanner's code: sold when the catalog knows it; a bad check digit is ignored (never guessed); the
        same code again at once counts once, and a scanner sending faster than anyone scans is paused (ScanDesk)."""
        if self.scans is not None:
            taken, notices = self.scans.admit(text, source)
            self._emit(*notices)
            if not taken:
                return None
        code = self.scans.read_text(text, source) if self.scans is not None else None
        if code is None:
            log.warning("%s: %r ignored: not a GTIN with a right check digit", source, text)
            self._emit(Notice("warning", "barcode not read: scan it again"))
            return None
        outcome = self.scans.resolve(code)
        line = None
        with self._lock:
            try:
                line, events = self._scan_outcome(outcome, source)
            except (CheckoutError, CatalogError, CartError) as exc:  # a held item, a line the cart cannot take
                events = [Notice("error", str(exc))]
            events += self._weight_changes()
        self._emit(*events)
        return line.line_id if line is not None else None

    def _scan_outcome(self, outcome: ScanOutcome, source: str) -> tuple[CartLine | None, list[Any]]:
        if self._cart.frozen:  # the shopper is paying: neither sold nor a tare, never kept for later
            return None, [Notice("warning", SCAN_WHILE_PAYING)]
        if outcome.kind == "tare":
            return None, self._apply_tare(outcome.container)
        if not outcome.sells:
            return None, [Notice("warning", f"{outcome.message}: search by name or PLU")]
        self._refuse_while_held()
        return self._sell(outcome, None, source)

    def _refuse_while_held(self) -> None:
        if self.held is not None:
            raise CheckoutError(f"staff must check {self.held.line.name} first: {self.held.reason}")

    def remove_line(self, line_id: str, by: str = "shopper", audit_with: Sequence[AuditRow] = ()) -> None:
        """``audit_with``: rows written in the removal's own store transaction (an approval's)."""
        with self._lock:
            self._cart.remove(line_id, by=by, audit_with=audit_with)
            self.book.forget_line(line_id)
            view = self._cart_view()
        self._emit(CartChanged(view))

    def resolve_held(self, approve: bool, who: str) -> str | None:
        """Staff looked at the held item: add it (``approve``) or not. Returns the line id when added."""
        with self._lock:
            if approve:
                self._cart.refuse_while_frozen()  # the item stays held: staff adds it once the shopper went back
            item, self.held = self.held, None
            if item is None:
                raise CheckoutError("no item is waiting for staff")
            events: list[Any] = []
            line_id = None
            detail = {"sku": item.line.sku, "name": item.line.name, "total": item.line.total, "grams": item.grams,
                      "placement_id": item.placement_id, "reason": item.reason}
            try:  # the line (by them) and their row in one store transaction; a refusal is their row alone
                if approve:
                    row = ("staff.resolve", who, {"line_id": item.line.line_id, **detail, "added": True})
                    stored = self._commit(item.line, self.book.get(item.placement_id), f"staff:{who}", by=who,
                                          audit_with=[row])
                else:
                    self._cart.store.audit("staff.resolve", who, line_id="", **detail, added=False)
            except BaseException:
                self.held = item  # nothing changed: it still waits for staff
                raise
            if approve:
                line_id = stored.line_id
                events += [CartChanged(self._cart_view()), *self._weight_changes()]
        events += [StaffCallEnded(item.placement_id, item.line.sku, line_id),
                   Notice("info", f"{item.line.name} {'added' if approve else 'not added'} by {who}")]
        self._emit(*events)
        return line_id

    # -- the scale -------------------------------------------------------------------------------
    def take_reading(self, reading) -> None:
        """A scale reading: sent on when it changed; completes a waiting by-weight item when it is priceable."""
        read_at = self.weighing.clock()  # before the lock: a reading that waited for it is as old as it is
        events: list[Any] = []
        with self._lock:
            _changed, done = self.weighing.take(reading, read_at)
            events += self._weight_changes()
            if done is not None and not self._cart.frozen:  # paying: it waits until the shopper goes back
                events += self._complete_weighing(done)
                events += self._weight_changes()
        self._emit(*events)

    def weight_event(self) -> WeightChanged:
        """The weight as it stands (reading, its text, the net the weighing room makes of it); remembered as
        sent."""
        reading, net = self.weighing.reading, self.weighing.net()
        self._shown = (reading, net)
        return WeightChanged(reading, reading_text(reading) if reading is not None else "", net)

    def _weight_changes(self) -> list[Any]:
        """A WeightChanged when the reading or what it means (tare, spent, state) changed since the last one sent."""
        if self.weighing.reading is None or (self.weighing.reading, self.weighing.net()) == self._shown:
            return []
        return [self.weight_event()]

    def _apply_tare(self, container: str) -> list[Any]:
        tare = self.weighing.set_container(container)
        return [self.weight_event(), Notice("info", f"tare {container}: {tare.grams} g")]

    def _complete_weighing(self, item: PendingItem) -> list[Any]:
        """Add the waiting item's line on the priceable weight now on the tray. A line the store refused ends the
        wait with its reason; a store that failed (locked, disk full, I/O) leaves the item waiting, tried again
        after :data:`RETRY_S` -- unless the failed try reached the store after all."""
        sku, placement = item.sku, self.book.get(item.placement_id)
        known, stored = self._stored(item.tried_line)
        if not known:  # an earlier try may be in the store, which does not answer: never add it twice
            self.weighing.retry_later(RETRY_S, None)
            return []
        line = None
        try:
            if stored is None:
                line, weighed = self._weighed(sku, item.placement_id)
                stored = self._commit(line, placement, item.chooser, weighed)
            else:
                self._committed(stored, placement)
        except (CartError, UserError) as exc:
            self.weighing.complete(item)
            return [*weighing_ended(item, None), Notice("error", f"{sku.name}: {exc}")]
        except Exception as exc:  # the store failed: the item still waits, nothing is lost
            log.exception("%s: the weighed line could not be committed", sku.sku)
            _known, stored = self._stored(line.line_id if line is not None else None)
            if stored is None:
                self.weighing.retry_later(RETRY_S, line.line_id if line is not None else None)
                return [Notice("error", f"{sku.name} was not added yet: the bill could not be saved "
                                        f"({type(exc).__name__}: {exc}); trying again")]
            self._committed(stored, placement)
        self.weighing.complete(item)
        return [CartChanged(self._cart_view()), *weighing_ended(item, stored.line_id)]

    def _stored(self, line_id: str | None) -> tuple[bool, CartLine | None]:
        """Whether the store answered, and line ``line_id`` as the open cart holds it (``None``: not there)."""
        if line_id is None:
            return True, None
        try:
            self._cart.reload()
        except Exception:
            log.warning("the open cart could not be read back to look for line %s", line_id, exc_info=True)
            return False, None
        return True, (self._cart.cart.line(line_id) if line_id in self._cart.cart else None)
