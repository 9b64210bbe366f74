"""The checkout flow, without Qt: camera frames and scale readings in, priced cart lines and events out.

:class:`CheckoutService` is what the windowed kiosk (``kiosk.ui``), the headless run and the tools drive; its
contract (intents, events, threads) is the typed interface :class:`kiosk.services.api.CheckoutApi`. It only
coordinates the parts a newcomer finds by name:

* :mod:`~kiosk.services.counter` — from an item on the tray to a line on the bill (barcodes first, then the model
  with the scale's second opinion, choices, weighing), with :mod:`~kiosk.services.placements`,
  :mod:`~kiosk.services.recognise`, :mod:`~kiosk.services.scans`, :mod:`~kiosk.services.second_opinion` and
  :mod:`~kiosk.services.shelf`; the weighing itself is :mod:`kiosk.weighing` (no recognition code there);
* :mod:`~kiosk.services.scale_desk` — polling the scale, the Zero and tare keys;
* :mod:`~kiosk.services.cart_lines` — the open cart in the kiosk's SQLite store, with each line's provenance;
* :mod:`~kiosk.services.staff_desk` — staff actions behind the PIN (:mod:`~kiosk.services.staff`: the session);
* :mod:`~kiosk.services.paying` — the payment terminal, exactly once; recovery of a payment a crash cut short;
  receipts shown again after a crash, and reprinted by staff;
* :mod:`~kiosk.services.live` — live mode's capture, recognition and scale threads;
* :mod:`~kiosk.services.model_updates` — signed bundles at start, the updater while running;
* :mod:`~kiosk.services.feedback_relay` — each placement's feedback to head office (:mod:`kiosk.feedback`: tray crops,
  retention, the outbox, the heartbeat), on a thread of its own;
* :mod:`~kiosk.services.views` — the views widgets show; :mod:`~kiosk.services.bus` — the listeners;
* :mod:`~kiosk.services.wiring` — :meth:`CheckoutService.from_config` opens everything a config names.

The cart is read back from the store after every change, so what listeners see is what was committed;
after a crash a new service resumes the store's open cart exactly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.config import KioskConfig
from kiosk.domain.cart import Cart
from kiosk.domain.receipt import Receipt
from kiosk.services.bus import EventBus
from kiosk.services.cart_lines import CartKeeper
from kiosk.services.counter import Counter, SecondOpinion, weighing_ended
from kiosk.services.errors import CheckoutError, StaffLocked
from kiosk.services.events import (
    CartChanged,
    CartView,
    ModelChanged,
    Notice,
    SaleClosed,
    StaffModeChanged,
    SuggestionsReady,
    SuggestionView,
)
from kiosk.services.feedback_relay import FeedbackRelay, service_stats
from kiosk.services.live import LiveLoop
from kiosk.services.model_updates import UpdateRelay
from kiosk.services.paying import PaymentWatch, Till
from kiosk.services.placements import Placement, PlacementBook
from kiosk.services.recognise import PlacementRecogniser
from kiosk.services.scale_desk import ScaleDesk
from kiosk.services.scans import ScanDesk
from kiosk.services.shelf import Shelf
from kiosk.services.shopper import ShopperIntents
from kiosk.services.staff import StaffSession
from kiosk.services.staff_desk import StaffDesk, StaffIntents
from kiosk.services.teaching import TeachDesk
from kiosk.services.views import (
    Presenter,
    format_grams,
    model_description,
)
from kiosk.services.wiring import close_all, open_catalog
from kiosk.trigger import BackgroundLearned, ItemPlaced, ItemTrigger, TrayCleared
from kiosk.weighing import Weighing

__all__ = ["CheckoutError", "StaffLocked", "CheckoutService", "Placement", "open_catalog", "format_grams"]

log = logging.getLogger(__name__)


def _simulated_terminal():
    from kiosk.payments import open_terminal

    return open_terminal("sim:")


class CheckoutService(ShopperIntents, StaffIntents):  # shopper and staff intents: services.shopper, staff_desk
    """See :class:`kiosk.services.api.CheckoutApi` for the contract (events, intents, threads)."""

    _instance = None  # from_config's lock: one kiosk per state folder (kiosk.services.instance), let go at close

    def __init__(self, config: KioskConfig, *, catalog, store, recognizer_holder, scale,
                 clock: Callable[[], datetime] | None = None, updater=None,
                 catalog_lock: threading.RLock | None = None, scanner=None, terminal=None,
                 head_office=None, gallery=None) -> None:
        from kiosk.bundles.active import ActiveModel
        from kiosk.services.captures import CaptureFolder

        self.config, self.catalog, self.store, self.scale = config, catalog, store, scale
        if recognizer_holder is None or not hasattr(recognizer_holder, "swap"):
            recognizer_holder = ActiveModel(recognizer_holder)
        self.model = recognizer_holder
        self._clock = clock or config.now  # the store's clock: in store_timezone
        self._bus = EventBus()
        self._lock = threading.RLock()  # cart, placements, weighing
        self._frame_lock = threading.Lock()  # the trigger sees one frame at a time
        self._trigger = ItemTrigger(config.trigger)
        self._book, self._weighing = PlacementBook(), Weighing(config.weighing)
        self._cart = CartKeeper(store)
        self._views = Presenter(Path(catalog.path).parent if getattr(catalog, "path", None) else None)
        self._shelf = Shelf(catalog, catalog_lock or threading.RLock(), self._views)
        self.feedback = FeedbackRelay(config, store, clock=self._clock, emit=self._emit,
                                      stats=lambda: service_stats(self), transport=head_office)
        self.captures = CaptureFolder(config.captures, self._bus.emit, make_room=self.feedback.make_room)
        self.captures.restore_provenance(store, self._cart.cart)
        self._recogniser = PlacementRecogniser(self.model, self.captures, find_sku=self._shelf.find, views=self._views,
                                               clock=self._clock, emit=self._emit, tray_region=config.tray_region,
                                               record=store.record_placement,
                                               outcome=getattr(store, "set_placement_outcome", None))
        opinion = SecondOpinion(config.weight_rerank, config.weight_check, config.weight_tolerance_pct / 100)
        self._counter = Counter(lock=self._lock, cart=self._cart, shelf=self._shelf, recogniser=self._recogniser,
                                book=self._book, weighing=self._weighing, cart_view=self.cart_view, emit=self._emit,
                                scans=ScanDesk(config.barcodes, config.weighing, self._shelf), opinion=opinion)
        self._scale_desk = ScaleDesk(scale=scale, counter=self._counter, lock=self._lock, emit=self._emit,
                                     tray_empty=lambda: self._book.current is None)
        self.scanner = scanner
        session = StaffSession(config.check_pin, config.staff_timeout_s, self._clock, lockout=store, accounts=store,
                               kiosk_free_failures=config.staff.kiosk_free_failures,
                               legacy_role=config.staff.legacy_pin_role, approval_s=config.staff.approval_valid_s,
                               ticker=time.monotonic if clock is None else None)  # a lockout outlives a clock step
        self._desk = StaffDesk(session, self._cart, active_sku=self._shelf.active, weighing=self._weighing,
                               lock=self._lock, cart_view=self.cart_view, emit=self._emit, clock=self._clock,
                               pin_configured=bool(config.staff_pin_hash), rules=config.staff)
        self.teaching = TeachDesk(gallery=gallery, model=self.model, shelf=self._shelf, emit=self._emit,
                                  require_staff=self._desk.require, occupancy=self._trigger.occupancy,
                                  tray_region=config.tray_region, audit=getattr(store, "audit", None))
        self.feedback.carry_enrollments(gallery, self._shelf.row)  # what staff teach goes to head office
        self._init_shopper_side(config, store)  # help, removals, language, browsing, printing, the tray's camera
        self._unsubscribe_model = self.model.subscribe(lambda _rec: self._emit(ModelChanged(*self.model_info())))
        self._updates = UpdateRelay(updater, self.model, self._emit, lambda: self.config.update_interval_s,
                                    self.config.tz)
        self._live = LiveLoop(camera=lambda: self.config.camera, scale=scale,
                              poll_hz=lambda: self.config.scale_poll_hz, process_frame=self.process_frame,
                              poll_scale=self.poll_scale, emit=self._emit, scanner=scanner, scanned=self.scanned,
                              on_scale_polling=self._weighing.expire_readings)
        self._startup_notices: list[Notice] = []
        self.frames_processed = 0
        self.last_sale = None
        self._till = Till(self._cart, terminal if terminal is not None else _simulated_terminal(),
                          alert=self._attendant.call)  # an answer about another payment calls staff
        self.recovered = self._till.recover()  # a payment a crash cut short: completed or released, never recharged
        self.payments = PaymentWatch(self._till, lock=self._lock, emit=self._emit, after_sale=self._after_sale,
                                     paid=self._paid)  # one whose outcome is unknown: asked about in the background

    @classmethod
    def from_config(cls, config: KioskConfig, *, clock: Callable[[], datetime] | None = None) -> CheckoutService:
        """Open everything the config names. A missing or broken bundle raises a one-line BundleError."""
        from kiosk.services.wiring import open_parts

        parts = open_parts(config)
        service = cls(config, catalog=parts.catalog, store=parts.store, recognizer_holder=parts.model,
                      scale=parts.scale, clock=clock, updater=parts.updater, catalog_lock=parts.catalog_lock,
                      scanner=parts.scanner, terminal=parts.terminal, gallery=parts.gallery)
        service._startup_notices = [Notice(level, text) for level, text in parts.notices]
        service._desk.rollback = parts.rollback  # staff mode's model rollback (model_state), else None
        service._instance = parts.instance
        return service

    def close(self) -> None:
        self._updates.close()
        self.stop()
        self.feedback.close()
        self._unsubscribe_model()
        self.teaching.close()  # the gallery
        close_all(self.scanner, self._till.terminal, self._receipts, self.scale, self.store, self.catalog,
                  self.model.recognizer, self._instance)

    def __enter__(self) -> CheckoutService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- listeners and views ---------------------------------------------------------------------
    def add_listener(self, callback) -> Callable[[], None]:
        return self._bus.add_listener(callback)

    def remove_listener(self, callback) -> None:
        self._bus.remove_listener(callback)

    def _emit(self, *events: Any) -> None:
        self._bus.emit(*events)

    def announce(self) -> None:
        """Send the current model, cart, weight, staff and update state (a UI that just connected calls this)."""
        events: list[Any] = [ModelChanged(*self.model_info()), CartChanged(self.cart_view()),
                             StaffModeChanged(self.staff_unlocked), self._prefs.event(), *self._attendant.events()]
        if self.last_reading is not None:
            with self._lock:
                events.append(self._counter.weight_event())
        if self._updates.status is not None:
            events.append(self._updates.status)
        events += [e for e in (self.feedback.event, self._receipts.status) if e is not None]  # head office, printer
        events += self.payments.pending()  # payments the terminal has not settled yet, for staff to see
        notices, self._startup_notices = self._startup_notices, []  # once, to the first UI that listens
        self._emit(*events, *notices)
        for sale in self.store.unshown_sales():  # committed just before a crash: the shopper sees the receipt now
            self._show(sale)

    def _show(self, sale, *extra: Any) -> None:
        """Show a sale's receipt (SaleClosed, to the UI) and record that it was shown."""
        self.last_sale = sale
        self._emit(SaleClosed(sale.receipt(), sale.receipt_text, self._receipts.available), *extra)
        self.store.mark_receipt_shown(sale.receipt_no)

    def cart_view(self) -> CartView:
        with self._lock:
            return self._views.cart_view(self._cart.cart)

    @property
    def cart(self) -> Cart:
        """The open cart as last committed (read-only use)."""
        return self._cart.cart

    def placement(self, placement_id: str) -> Placement | None:
        with self._lock:
            return self._book.get(placement_id)

    @property
    def awaiting_weight(self) -> tuple[str | None, str] | None:
        """``(placement_id, sku)`` of the by-weight item waiting for a stable reading, if any."""
        with self._lock:
            pending = self._weighing.pending
            return None if pending is None else (pending.placement_id, pending.sku.sku)

    @property
    def last_reading(self):
        return self._weighing.reading

    def model_info(self) -> tuple[int | None, str]:
        return model_description(self.model.recognizer)

    @property
    def recognitions(self) -> int:
        return self._recogniser.recognitions

    @property
    def last_timings_ms(self) -> dict[str, float]:
        return self._recogniser.last_timings_ms

    def line_capture(self, line_id: str) -> dict:
        """Where a line came from: placement, image, recognised SKU, model version, grams (from the store)."""
        return self._cart.provenance_dict(line_id)

    # -- frames ----------------------------------------------------------------------------------
    def process_frame(self, frame) -> SuggestionsReady | None:
        """Feed one frame to the trigger; recognise a newly placed item (on this thread)."""
        with self._frame_lock:
            event = self._tray.update(frame)
            self.frames_processed += 1
            if isinstance(event, ItemPlaced):
                return self._counter.item_placed(getattr(frame, "image", frame))
            if isinstance(event, TrayCleared):
                self._counter.tray_cleared()
                self._scale_desk.tray_cleared()
            if isinstance(event, BackgroundLearned):  # teaching refuses photos of the empty tray
                self.teaching.tray_learnt(getattr(frame, "image", frame))
        return None

    def choose(self, sku: str, placement_id: str | None = None) -> str | None:
        """The shopper picked ``sku`` (a suggestion of ``placement_id``, or a search result)."""
        return self._counter.choose(sku, placement_id)

    def search(self, text: str, limit: int = 12) -> list[SuggestionView]:
        """Manual search by name, group or PLU (active SKUs only)."""
        return self._shelf.search(text, limit)

    def remove_line(self, line_id: str) -> bool:  # False: it waits for a staff approval
        return self._attendant.remove(line_id)

    def scanned(self, text: str, source: str = "scanner") -> str | None:
        """A USB scanner's code (kiosk.services.scans): sold when the catalog knows it, else a notice."""
        return self._counter.scanned(text, source)

    # -- the scale (kiosk.services.scale_desk; legal weighing in kiosk.weighing) -------------------
    def poll_scale(self):
        """Read the scale once; completes a waiting by-weight item on a priceable net weight."""
        return self._scale_desk.poll()

    def scale_zero(self) -> bool:
        return self._scale_desk.zero()

    def scale_tare(self, container: str = "bag") -> int:
        return self._scale_desk.tare(container)

    def scale_clear_tare(self) -> None:
        self._scale_desk.clear_tare()

    # -- paying ----------------------------------------------------------------------------------
    def pay(self, method: str = "card", expected_total_paise: int | None = None) -> Receipt:
        """Charge the open cart on the payment terminal exactly once (:mod:`~kiosk.services.paying`), close it as one
        sale and open a new cart. A decline or a silent terminal is a CheckoutError; the cart stays as it is.
        ``expected_total_paise``: the total the shopper agreed to (a bill that differs is refused)."""
        with self._lock:  # not held while the terminal is asked (seconds): a scan meanwhile is refused, not queued
            if self._counter.held is not None:
                raise CheckoutError(f"staff must check {self._counter.held.line.name} before payment")
            self._attendant.refuse_payment()
            self._tray.refuse_payment(self.staff_unlocked)  # a load the camera did not see
            self._cart.start_paying()  # frozen (a scan: "finish or cancel the payment first") until the answer
        events: list[Any] = []
        try:
            sale = self._till.pay(method, expected_total_paise, lock=self._lock,
                                  closed=lambda _sale: events.extend(self._after_sale()))
        finally:
            with self._lock:
                self._cart.stop_paying()
        return self._paid(sale, events)

    def _after_sale(self) -> list[Any]:
        """Under the lock, once a sale closed (a tap on Pay, or the payment watch): the counter starts afresh."""
        dropped = self._weighing.drop()
        self._weighing.reset()
        self._book.clear()
        events: list[Any] = [CartChanged(self.cart_view())]
        if dropped is not None:
            events += weighing_ended(dropped, None, f"{dropped.sku.name} was never weighed and is not on "
                                                          "the bill")
        if self._desk.signed_out("paid"):
            events.append(StaffModeChanged(False, reason="paid"))
        return events

    def _paid(self, sale, events: list[Any]) -> Receipt:
        self._show(sale, *events)
        self.feedback.wake()  # the sale's placements are final: they can go to head office now
        return sale.receipt()

    # -- staff (kiosk.services.staff_desk; the other staff intents: StaffIntents) -----------------
    def staff_unlock(self, pin: str, staff_id: str = "staff") -> bool:
        return self._desk.unlock(pin, staff_id) and self._attendant.answered(staff_id)  # staff is here: help answered

    # -- model and updates (kiosk.services.model_updates) ----------------------------------------
    def swap_model(self, new_recognizer) -> None:
        """Activate another recogniser between two frames; the cart is not touched."""
        self.model.swap(new_recognizer)

    @property
    def updater(self):
        return self._updates.updater

    @property
    def update_status(self):
        return self._updates.status

    def start_updates(self) -> None:
        self._updates.start()

    def stop_updates(self, timeout: float = 10.0) -> None:
        self._updates.stop(timeout)

    def check_for_update(self):
        return self._updates.check_now()

    # -- live mode (kiosk.services.live) -------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._live.running

    @property
    def capture(self):
        return self._live.capture

    def latest_frame(self):
        return self._live.last_frame

    def start(self) -> None:
        self.start_updates()
        self.feedback.start()
        if not self.running:
            self.announce()
            self._live.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.payments.stop(timeout)  # a payment left unsettled later starts it again
        self.stop_updates()
        self.feedback.stop()
        self._live.stop(timeout)
