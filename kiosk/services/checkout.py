"""The checkout flow, without Qt: camera frames and scale readings in, priced cart lines and events out.

:class:`CheckoutService` is what the windowed kiosk (``kiosk.ui``) and the headless run both drive.

Construction::

    service = CheckoutService.from_config(config)          # opens catalog, store, bundle, scale
    service = CheckoutService(config, catalog=..., store=..., recognizer_holder=..., scale=..., clock=None,
                              updater=None, catalog_lock=None)

``recognizer_holder`` is a :class:`kiosk.bundles.active.ActiveModel` (a bare recogniser is wrapped in
one); ``clock`` returns timezone-aware datetimes (staff time-out, capture folders). The catalog must be
usable from any thread: :func:`open_catalog` opens one that is (``from_config`` uses it).

Signed bundles (``config.model_state`` set, see :mod:`kiosk.services.model_updates` and ``docs/bundles.md``):
``from_config`` runs the active bundle of the :class:`~kiosk.bundles.store.BundleStore` (installing ``bundle``
into an empty store first), checked against the real catalog. With ``config.channel`` an
:class:`~kiosk.bundles.updater.Updater` (``updater=``) polls the channel every ``update_interval_s`` in its own
thread while the service runs: a model it activates is swapped in through :meth:`swap_model` (between two frames;
the cart is not touched; ``ModelChanged`` follows), and every state change of the updater is re-sent as
``UpdateStatusChanged`` (the status bar's update slot). ``catalog_lock`` is the lock the service holds around
catalog calls; pass the one the updater's catalog check uses.

Listening: ``add_listener(callback) -> unsubscribe``; events are the dataclasses of
:mod:`kiosk.services.events`, delivered on the thread that produced them.

Intents (the UI calls these; all thread-safe):

* ``process_frame(frame) -> SuggestionsReady | None``: feed one camera frame (a ``Frame`` or BGR array) to
  the item trigger; when an item was placed, save its image, recognise it (on the calling thread: live
  mode calls this from its recognition worker, never from the UI) and emit ``SuggestionsReady``. The
  top-1 is added by itself only when its score ≥ the bundle's ``auto_add_threshold``;
* ``poll_scale() -> WeightReading``: read the scale once, emit ``WeightChanged`` when the reading changed,
  and complete a by-weight item that waits for a stable reading above 0 g;
* ``choose(sku, placement_id=None) -> line_id | None``: the shopper tapped a suggestion or a manual-search
  result. Unit items are added at once; by-weight items are added with the current stable weight, or
  wait for one (``AwaitingWeight``; ``None`` is returned). Choosing another SKU for a placement that
  already has a line replaces that line; choosing the same SKU again does nothing;
* ``search(text) -> list[SuggestionView]`` by name, group or PLU (score 1.0);
* ``remove_line(line_id)`` (the shopper put the item back);
* ``pay(method="card") -> Receipt``: simulated payment; the sale is closed exactly once, a new cart opens;
  raises :class:`CheckoutError` for an empty cart;
* ``staff_unlock(pin, staff_id="staff") -> bool``, ``staff_lock()``, ``staff_unlocked``;
  ``staff_correct(line_id, new_sku) -> line_id``, ``staff_void(line_id)``,
  ``staff_override_price(line_id, paise) -> line_id`` (``paise`` = new price per unit, or per kg for a
  weighed line) raise :class:`StaffLocked` unless unlocked. A correction is stored with
  ``SalesStore.record_correction`` together with the placement image, for the next training run;
* ``cart_view() -> CartView``; ``announce()`` re-sends the current model, cart, weight and update status;
* ``start()`` / ``stop()`` live mode: a capture thread (:class:`~kiosk.camera.CaptureWorker`, which drops
  and counts frames while recognition is busy), a recognition worker thread and a scale poller thread, and the
  model updater's polling thread (when there is an updater);
* ``start_updates()`` / ``stop_updates()`` the updater's polling thread alone; ``check_for_update()`` one check now
  (returns the :class:`~kiosk.bundles.updater.UpdateResult`); ``update_status`` the last ``UpdateStatusChanged``;
* ``swap_model(new_recognizer)``: between two frames, cart untouched (``ModelChanged`` follows);
* ``close()`` stops the updater and live mode and closes the catalog, store, scale and recogniser.

The cart is read back from the store after every change, so what listeners see is what was committed;
after a crash a new service resumes the store's open cart exactly.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kiosk.config import KioskConfig
from kiosk.domain.cart import Cart, CartError, CartLine
from kiosk.domain.money import format_inr
from kiosk.domain.pricing import SoldBy, format_rate
from kiosk.domain.receipt import Receipt
from kiosk.errors import BundleError, CatalogError, UserError
from kiosk.services.events import (
    AwaitingWeight, BillView, CameraStatusChanged, CartChanged, CartLineView, CartView, FrameCaptured, Listener,
    ModelChanged, Notice, PlacementCleared, SaleClosed, StaffModeChanged, SuggestionsReady, SuggestionView,
    TaxRowView, UpdateStatusChanged, WeightChanged,
)
from kiosk.trigger import ItemPlaced, ItemTrigger, TrayCleared

__all__ = ["CheckoutError", "StaffLocked", "CheckoutService", "Placement", "open_catalog", "format_grams"]

log = logging.getLogger(__name__)

#: placements remembered for choose()/corrections (older ones are forgotten)
MAX_PLACEMENTS = 64
#: wrong PINs in a row before staff unlock is refused for STAFF_LOCKOUT
MAX_PIN_FAILURES = 3
STAFF_LOCKOUT = timedelta(seconds=30)
CAPTURE_INDEX = "index.jsonl"


class CheckoutError(UserError):
    """An intent that cannot be carried out (empty cart, unknown line or SKU, no weight)."""


class StaffLocked(CheckoutError):
    """A staff action was asked for while staff mode is locked."""


def _now() -> datetime:
    return datetime.now().astimezone()


def format_grams(grams: int) -> str:
    kg, g = divmod(int(grams), 1000)
    return f"{kg}.{g:03d} kg"


def open_catalog(path: str | Path):
    """Open an existing catalog so that any thread may use it (the service serialises access)."""
    from sqlite_utils import Database

    from catalog.repository import Catalog

    path = Path(path)
    Catalog.open(path, create=False).close()  # exists? migrations applied?
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
    except sqlite3.DatabaseError as exc:
        raise CatalogError(f"{path}: not a usable catalog database ({exc})") from None
    return Catalog(Database(conn), path)


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


@dataclass
class _Pending:
    placement_id: str | None
    sku: Any  # catalog.Sku


class CheckoutService:
    """See the module docstring for the contract (events, intents, threads)."""

    def __init__(self, config: KioskConfig, *, catalog, store, recognizer_holder, scale,
                 clock: Callable[[], datetime] | None = None, updater=None,
                 catalog_lock: threading.RLock | None = None) -> None:
        from kiosk.bundles.active import ActiveModel

        self.config = config
        self.catalog = catalog
        self.store = store
        self.scale = scale
        if recognizer_holder is None or not hasattr(recognizer_holder, "swap"):
            recognizer_holder = ActiveModel(recognizer_holder)
        self.model = recognizer_holder
        self._clock = clock or _now
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()  # cart, placements, pending weight, staff state
        self._catalog_lock = catalog_lock or threading.RLock()
        self._frame_lock = threading.Lock()  # the trigger sees one frame at a time
        self._trigger = ItemTrigger(config.trigger)
        self._placements: OrderedDict[str, Placement] = OrderedDict()
        self._current: str | None = None
        self._pending: _Pending | None = None
        self._last_reading = None
        self._staff_until: datetime | None = None
        self._staff_id = ""
        self._pin_failures = 0
        self._pin_locked_until: datetime | None = None
        self.captures = Path(config.captures)
        self._line_info: dict[str, dict] = {}
        self._cart: Cart = store.open_cart()
        self._load_line_info()
        self._unsubscribe_model = self.model.subscribe(self._on_model_swapped)
        self._closed = False
        self._startup_notices: list[Notice] = []
        # model updates (kiosk.bundles.updater.Updater), polled in the updater's own thread
        self.updater = updater
        self._update_status: UpdateStatusChanged | None = None
        self._unsubscribe_updates: Callable[[], None] = lambda: None
        if updater is not None:
            updater.on_activated = self._on_update_activated
            self._unsubscribe_updates = updater.add_listener(self._on_update_status)
            self._update_status = self._update_event(updater.status)
        # live mode
        self._capture = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._last_frame = None
        self.frames_processed = 0
        self.recognitions = 0
        self.last_timings_ms: dict[str, float] = {}
        self.last_sale = None

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: KioskConfig, *, clock: Callable[[], datetime] | None = None) -> CheckoutService:
        """Open everything the config names. A missing or broken bundle raises a one-line BundleError."""
        from kiosk.bundles.active import ActiveModel
        from kiosk.recognition.recognizer import Recognizer
        from kiosk.scale import open_scale
        from kiosk.store import SalesStore

        opened: list[Any] = []
        catalog_lock = threading.RLock()
        models = None
        recognizer = None
        try:
            try:
                if not config.model_state.strip():
                    recognizer = Recognizer.load(config.bundle, backend=config.backend, device=config.device,
                                                 threads=config.threads or None, top_k=config.top_k)
                    opened.append(recognizer)
                catalog = open_catalog(config.catalog)
                opened.append(catalog)
                if config.model_state.strip():  # signed bundles: the catalog decides which model may run
                    from kiosk.services.model_updates import catalog_compat, open_model_store

                    models = open_model_store(config, catalog_compat(catalog, catalog_lock))
                    recognizer = models.recognizer
                    if recognizer is not None:
                        opened.append(recognizer)
            except BundleError as exc:
                if type(exc) is BundleError:  # one line for `checkout` (refusals are one line already)
                    raise BundleError(" ".join(str(exc).split())) from None
                raise
            store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, store_info=config.store_info)
            opened.append(store)
            scale = open_scale(config.scale)
            opened.append(scale)
        except BaseException:
            for thing in reversed(opened):
                try:
                    thing.close()
                except Exception:  # pragma: no cover - best effort while failing
                    log.exception("closing %r", thing)
            raise
        service = cls(config, catalog=catalog, store=store, recognizer_holder=ActiveModel(recognizer), scale=scale,
                      clock=clock, updater=models.updater if models is not None else None, catalog_lock=catalog_lock)
        if models is not None:
            service._startup_notices = [Notice("warning", text) for text in models.warnings]
            if models.installed_version is not None:
                service._startup_notices.append(Notice("info", f"model v{models.installed_version} installed from "
                                                               f"{config.bundle} into {config.model_state}"))
        return service

    def close(self) -> None:
        self._closed = True  # a model the updater activates from now on is closed, not swapped in
        self.stop()
        self._unsubscribe_updates()
        self._unsubscribe_model()
        recognizer = self.model.recognizer
        for thing in (self.scale, self.store, self.catalog, recognizer):
            if thing is not None and hasattr(thing, "close"):
                try:
                    thing.close()
                except Exception:
                    log.exception("closing %r", thing)

    def __enter__(self) -> CheckoutService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- listeners -------------------------------------------------------------------------------
    def add_listener(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; returns a function that removes it again."""
        self._listeners.append(callback)
        return lambda: self.remove_listener(callback)

    def remove_listener(self, callback: Listener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _emit(self, *events: Any) -> None:
        for event in events:
            for cb in list(self._listeners):
                try:
                    cb(event)
                except Exception:  # a listener bug must never break the checkout
                    log.exception("listener %r failed on %s", cb, type(event).__name__)

    def announce(self) -> None:
        """Send the current model, cart, weight and staff state (a UI that just connected calls this)."""
        version, description = self.model_info()
        events: list[Any] = [ModelChanged(version, description), CartChanged(self.cart_view()),
                             StaffModeChanged(self.staff_unlocked)]
        if self._last_reading is not None:
            events.append(WeightChanged(self._last_reading, self._reading_text(self._last_reading)))
        if self._update_status is not None:
            events.append(self._update_status)
        notices, self._startup_notices = self._startup_notices, []  # once, to the first UI that listens
        self._emit(*events, *notices)

    # -- views -----------------------------------------------------------------------------------
    def _sku(self, sku: str):
        with self._catalog_lock:
            return self.catalog.find(sku)

    @staticmethod
    def price_text(sku) -> str:
        text = format_inr(sku.price_paise)
        return f"{text}/kg" if sku.sold_by == "weight" else text

    def _image_path(self, image: str) -> str:
        if not image:
            return ""
        p = Path(image)
        candidates = [p] if p.is_absolute() else [Path.cwd() / p, Path(__file__).resolve().parents[2] / p]
        if not p.is_absolute() and getattr(self.catalog, "path", None):
            candidates.append(Path(self.catalog.path).resolve().parent / p)
        for c in candidates:
            if c.is_file():
                return str(c)
        return ""

    def _view(self, sku, score: float) -> SuggestionView:
        return SuggestionView(sku=sku.sku, name=sku.name, price_text=self.price_text(sku), sold_by=sku.sold_by,
                              image_path=self._image_path(sku.image), score=float(score))

    @staticmethod
    def _line_view(line: CartLine) -> CartLineView:
        if line.sold_by is SoldBy.WEIGHT:
            qty_text, unit_text = format_grams(line.net_grams), f"{format_inr(line.unit_price)}/kg"
        else:
            qty_text, unit_text = str(line.qty), format_inr(line.unit_price)
        return CartLineView(line_id=line.line_id, sku=line.sku, name=line.name, qty_text=qty_text,
                            unit_price_text=unit_text, total_text=format_inr(line.total), sold_by=line.sold_by.value,
                            grams=line.net_grams, qty=line.qty, unit_price=line.unit_price, total=line.total,
                            gst_bp=line.gst_bp)

    def cart_view(self) -> CartView:
        with self._lock:
            cart = self._cart
        b = cart.bill()
        rows = tuple(TaxRowView(rate_text=format_rate(r.rate_bp), rate_bp=r.rate_bp, gross_text=format_inr(r.gross),
                                gross=r.gross, taxable_text=format_inr(r.taxable), taxable=r.taxable,
                                cgst_text=format_inr(r.cgst), cgst=r.cgst, sgst_text=format_inr(r.sgst), sgst=r.sgst)
                     for r in b.tax_rows)
        bill = BillView(gross_text=format_inr(b.gross), gross=b.gross, tax_rows=rows,
                        round_off_text=format_inr(b.round_off, sign=True), round_off=b.round_off,
                        total_text=format_inr(b.total), total=b.total, item_count=b.item_count,
                        taxable_text=format_inr(b.taxable), taxable=b.taxable, cgst_text=format_inr(b.cgst),
                        cgst=b.cgst, sgst_text=format_inr(b.sgst), sgst=b.sgst)
        return CartView(cart_id=cart.cart_id, lines=tuple(self._line_view(x) for x in cart.lines), bill=bill)

    @property
    def cart(self) -> Cart:
        """The open cart as last committed (read-only use)."""
        return self._cart

    def placement(self, placement_id: str) -> Placement | None:
        with self._lock:
            return self._placements.get(placement_id)

    @property
    def awaiting_weight(self) -> tuple[str | None, str] | None:
        """``(placement_id, sku)`` of the by-weight item waiting for a stable reading, if any."""
        with self._lock:
            return None if self._pending is None else (self._pending.placement_id, self._pending.sku.sku)

    @property
    def last_reading(self):
        return self._last_reading

    def model_info(self) -> tuple[int | None, str]:
        rec = self.model.recognizer
        if rec is None:
            return None, "no model"
        version = getattr(rec, "model_version", None)
        bundle = getattr(rec, "bundle", None)
        arch = getattr(getattr(bundle, "manifest", None), "architecture", "") if bundle is not None else ""
        backend = getattr(rec, "backend", None)
        how = backend.describe() if backend is not None and hasattr(backend, "describe") else type(rec).__name__
        return version, " ".join(x for x in (f"v{version}", arch, f"· {how}") if x)

    # -- frames ----------------------------------------------------------------------------------
    def process_frame(self, frame) -> SuggestionsReady | None:
        """Feed one frame to the trigger; recognise a newly placed item (on this thread)."""
        image = getattr(frame, "image", frame)
        with self._frame_lock:
            event = self._trigger.update(frame)
            self.frames_processed += 1
            if isinstance(event, ItemPlaced):
                return self._on_item_placed(image, event)
            if isinstance(event, TrayCleared):
                self._on_tray_cleared()
        return None

    def _new_placement_id(self) -> str:
        return f"{self._clock().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"

    def _save_capture(self, placement_id: str, image) -> str:
        import cv2

        folder = self.captures / placement_id[:8]
        path = folder / f"{placement_id}.jpg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95]):
                raise OSError("OpenCV could not encode the image")
        except (OSError, cv2.error) as exc:
            log.warning("cannot save placement image %s: %s", path, exc)
            self._emit(Notice("warning", f"cannot save placement image {path}: {exc}"))
            return ""
        return str(path)

    def _threshold_for(self, model_version) -> float:
        rec = self.model.recognizer
        if rec is None or getattr(rec, "model_version", None) != model_version:
            return float("inf")  # swapped mid-recognition: never auto-add on a threshold of another model
        return float(getattr(rec, "auto_add_threshold", float("inf")))

    def _on_item_placed(self, image, event: ItemPlaced) -> SuggestionsReady | None:
        placement_id = self._new_placement_id()
        image_path = self._save_capture(placement_id, image)
        result = self.model.recognize(image)
        if result is None:
            self._emit(Notice("error", "no recognition model loaded: use manual search"))
            result_suggestions, version, timings = [], None, {}
        else:
            result_suggestions, version, timings = result.suggestions, result.model_version, result.timings_ms
            self.recognitions += 1
            self.last_timings_ms = dict(timings)
        views = []
        for s in result_suggestions:
            sku = self._sku(s.sku)
            if sku is None or not sku.active:
                log.warning("recogniser suggested %r, which the catalog does not sell", s.sku)
                continue
            views.append(self._view(sku, s.score))
        top = result_suggestions[0] if result_suggestions else None
        reading = self._last_reading
        placement = Placement(placement_id, image_path, views, top.sku if top else None, version,
                              scale_grams=reading.grams if reading is not None and reading.usable else None)
        events: list[Any] = []
        line = None
        with self._lock:
            if self._pending is not None:
                events.append(Notice("warning", f"{self._pending.sku.name} was not weighed: tap it again to add it"))
                self._pending = None
            self._placements[placement_id] = placement
            while len(self._placements) > MAX_PLACEMENTS:
                self._placements.popitem(last=False)
            self._current = placement_id
            if top is not None and views and views[0].sku == top.sku and top.score >= self._threshold_for(version):
                try:
                    line, add_events = self._add(views[0].sku, placement)
                    events += add_events
                except (CheckoutError, CatalogError, CartError) as exc:
                    events.append(Notice("error", str(exc)))
        ready = SuggestionsReady(placement_id, views, line.line_id if line is not None else None)
        cart_events = [e for e in events if isinstance(e, CartChanged)]
        rest = [e for e in events if not isinstance(e, CartChanged)]
        self._emit(*cart_events, ready, *rest)
        if not views:
            self._emit(Notice("info", "item not recognised: search by name or PLU"))
        return ready

    def _on_tray_cleared(self) -> None:
        events: list[Any] = []
        with self._lock:
            current, self._current = self._current, None
            if self._pending is not None and self._pending.placement_id == current and current is not None:
                events.append(Notice("warning", f"{self._pending.sku.name} was taken away before it was weighed"))
                self._pending = None
        if current is not None:
            self._emit(PlacementCleared(current), *events)

    # -- adding lines ----------------------------------------------------------------------------
    def _active_sku(self, sku_id: str):
        sku = self._sku(sku_id)
        if sku is None:
            raise CheckoutError(f"unknown SKU {sku_id!r}: not in the catalog {getattr(self.catalog, 'path', '')}")
        if not sku.active:
            raise CheckoutError(f"{sku.name} ({sku_id}) is not on sale")
        return sku

    def _reload_cart(self) -> None:
        self._cart = self.store.open_cart()

    def _add(self, sku_id: str, placement: Placement | None) -> tuple[CartLine | None, list[Any]]:
        """Add one item (caller holds the lock). Returns the line, or None while it waits for the scale."""
        sku = self._active_sku(sku_id)
        pid = placement.placement_id if placement else None
        if sku.by_weight:
            reading = self._last_reading
            if reading is None or not reading.usable or reading.grams <= 0:
                self._pending = _Pending(pid, sku)
                return None, [AwaitingWeight(pid, sku.sku, sku.name),
                              Notice("info", f"place {sku.name} on the scale and hold still")]
            line = CartLine.weighed(sku.sku, sku.name, sku.price_paise, sku.gst_bp, reading.grams)
        else:
            line = CartLine.unit(sku.sku, sku.name, sku.price_paise, sku.gst_bp, 1)
        return self._commit_line(line, placement), [CartChanged(self._cart_view_locked())]

    def _commit_line(self, line: CartLine, placement: Placement | None, info: dict | None = None) -> CartLine:
        stored = self.store.add_line(line)  # committed (fsynced) before anything shows it
        self._reload_cart()
        if placement is not None:
            placement.line_id = stored.line_id
            info = {"placement_id": placement.placement_id, "image": placement.image_path,
                    "recognised_sku": placement.recognised_sku, "model_version": placement.model_version,
                    "scale_grams": placement.scale_grams}
        if info is not None:
            self._remember_line(stored.line_id, info)
        if self._pending is not None and placement is not None and self._pending.placement_id == placement.placement_id:
            self._pending = None
        return stored

    def _cart_view_locked(self) -> CartView:
        return self.cart_view()

    def choose(self, sku: str, placement_id: str | None = None) -> str | None:
        """The shopper picked ``sku`` (a suggestion of ``placement_id``, or a search result)."""
        events: list[Any] = []
        with self._lock:
            placement = self._placements.get(placement_id) if placement_id is not None else None
            if placement_id is not None and placement is None:
                log.info("choose(): placement %s is no longer known; adding %s as a manual pick", placement_id, sku)
            if placement is not None and placement.line_id is not None and placement.line_id in self._cart:
                existing = self._cart.line(placement.line_id)
                if existing.sku == sku and not existing.voided:
                    return existing.line_id  # a second tap on the same button
                self._active_sku(sku)  # refuse an unknown SKU before touching the cart
                self.store.remove_line(existing.line_id, by="shopper")
                self._reload_cart()
                placement.line_id = None
                events.append(CartChanged(self.cart_view()))
            if self._pending is not None:
                self._pending = None  # the new choice replaces an item that still waited for the scale
            line, add_events = self._add(sku, placement)
            events += add_events
        self._emit(*events)
        return line.line_id if line is not None else None

    def search(self, text: str, limit: int = 12) -> list[SuggestionView]:
        """Manual search by name, group or PLU (active SKUs only)."""
        with self._catalog_lock:
            found = self.catalog.search(text, limit=limit)
        return [self._view(s, 1.0) for s in found]

    def remove_line(self, line_id: str) -> None:
        with self._lock:
            if line_id not in self._cart:
                raise CheckoutError(f"no line {line_id!r} in the open cart")
            self.store.remove_line(line_id, by="shopper")
            self._reload_cart()
            for p in self._placements.values():
                if p.line_id == line_id:
                    p.line_id = None
            view = self.cart_view()
        self._emit(CartChanged(view))

    # -- scale -----------------------------------------------------------------------------------
    @staticmethod
    def _reading_text(reading) -> str:
        if reading.ok:
            return f"{reading.grams} g" + ("" if reading.stable else " ~")
        return reading.status.value + (f": {reading.message}" if reading.message else "")

    def poll_scale(self):
        """Read the scale once; completes a waiting by-weight item on a stable reading above 0 g."""
        from kiosk.scale import WeightReading

        try:
            reading = self.scale.read()
        except Exception as exc:  # drivers should not raise; never let one kill the poller
            log.exception("scale read failed")
            reading = WeightReading.error(f"{type(exc).__name__}: {exc}")
        return self._take_reading(reading)

    def _take_reading(self, reading):
        events: list[Any] = []
        with self._lock:
            last = self._last_reading
            changed = last is None or (last.grams, last.stable, last.status) != (
                reading.grams, reading.stable, reading.status)
            self._last_reading = reading
            if changed:
                events.append(WeightChanged(reading, self._reading_text(reading)))
            pending = self._pending
            if pending is not None and reading.usable and reading.grams > 0:
                placement = self._placements.get(pending.placement_id) if pending.placement_id else None
                sku = pending.sku
                line = CartLine.weighed(sku.sku, sku.name, sku.price_paise, sku.gst_bp, reading.grams)
                self._pending = None
                try:
                    self._commit_line(line, placement)
                    events.append(CartChanged(self.cart_view()))
                except (CartError, UserError) as exc:
                    events.append(Notice("error", f"{sku.name}: {exc}"))
        self._emit(*events)
        return reading

    # -- paying ----------------------------------------------------------------------------------
    def pay(self, method: str = "card") -> Receipt:
        """Simulated payment: close the open cart as one sale (never twice) and open a new cart."""
        with self._lock:
            cart = self._cart
            if not cart.lines:
                raise CheckoutError("nothing to pay: the cart is empty")
            ref = f"SIM-{uuid.uuid4().hex[:12].upper()}"  # the simulated terminal approves every payment
            sale = self.store.pay(cart.cart_id, method=method, payment_ref=ref)
            receipt = sale.receipt()
            self.last_sale = sale
            dropped = self._pending
            self._pending = None
            self._placements.clear()
            self._current = None
            was_staff = self._staff_until is not None
            self._staff_until = None
            self._reload_cart()
            view = self.cart_view()
        events: list[Any] = [SaleClosed(receipt, sale.receipt_text), CartChanged(view)]
        if dropped is not None:
            events.append(Notice("warning", f"{dropped.sku.name} was never weighed and is not on the bill"))
        if was_staff:
            events.append(StaffModeChanged(False))
        self._emit(*events)
        return receipt

    # -- staff -----------------------------------------------------------------------------------
    @property
    def staff_unlocked(self) -> bool:
        with self._lock:
            if self._staff_until is None:
                return False
            if self._clock() < self._staff_until:
                return True
            self._staff_until = None  # timed out
        self._emit(StaffModeChanged(False))
        return False

    def staff_unlock(self, pin: str, staff_id: str = "staff") -> bool:
        now = self._clock()
        with self._lock:
            if self._pin_locked_until is not None and now < self._pin_locked_until:
                wait = int((self._pin_locked_until - now).total_seconds()) + 1
                locked = True
            else:
                locked = False
        if locked:
            self._emit(Notice("warning", f"too many wrong PINs: try again in {wait} s"))
            return False
        ok = self.config.check_pin(pin)
        with self._lock:
            if ok:
                self._pin_failures = 0
                self._pin_locked_until = None
                self._staff_until = now + timedelta(seconds=self.config.staff_timeout_s)
                self._staff_id = staff_id or "staff"
            else:
                self._pin_failures += 1
                if self._pin_failures >= MAX_PIN_FAILURES:
                    self._pin_locked_until = now + STAFF_LOCKOUT
                    self._pin_failures = 0
        if ok:
            self._emit(StaffModeChanged(True))
        else:
            self._emit(Notice("warning", "wrong staff PIN" if self.config.staff_pin_hash else
                              "no staff PIN is configured (staff_pin_hash)"))
        return ok

    def staff_lock(self) -> None:
        with self._lock:
            was = self._staff_until is not None
            self._staff_until = None
        if was:
            self._emit(StaffModeChanged(False))

    def _require_staff(self) -> str:
        if not self.staff_unlocked:
            raise StaffLocked("staff mode is locked: unlock it with the staff PIN first")
        with self._lock:  # activity keeps staff mode open
            self._staff_until = self._clock() + timedelta(seconds=self.config.staff_timeout_s)
            return self._staff_id

    def _open_line(self, line_id: str) -> CartLine:
        if line_id not in self._cart:
            raise CheckoutError(f"no line {line_id!r} in the open cart")
        line = self._cart.line(line_id)
        if line.voided:
            raise CheckoutError(f"line {line_id!r} is voided")
        return line

    def staff_correct(self, line_id: str, new_sku: str) -> str:
        """Staff: the item of ``line_id`` is really ``new_sku``. Records a correction with the placement image."""
        who = self._require_staff()
        with self._lock:
            old = self._open_line(line_id)
            sku = self._active_sku(new_sku)
            info = dict(self._line_info.get(line_id, {}))
            if sku.by_weight:
                grams = old.net_grams or info.get("scale_grams")
                reading = self._last_reading
                if not grams and reading is not None and reading.usable and reading.grams > 0:
                    grams = reading.grams
                if not grams:
                    raise CheckoutError(f"{sku.name} is sold by weight: put it on the scale, then correct again")
                new = CartLine.weighed(sku.sku, sku.name, sku.price_paise, sku.gst_bp, int(grams))
            else:
                new = CartLine.unit(sku.sku, sku.name, sku.price_paise, sku.gst_bp, old.qty or 1)
            stored = self._commit_line(new, None, info or None)  # add first: a crash in between shows both
            self.store.void_line(line_id, by=who)
            self.store.record_correction(info.get("recognised_sku") or old.sku, sku.sku, info.get("image", ""), who,
                                         when=self._clock(), cart_id=self._cart.cart_id, line_id=line_id)
            self._reload_cart()
            view = self.cart_view()
        self._emit(CartChanged(view), Notice("info", f"corrected {old.name} → {sku.name}"))
        return stored.line_id

    def staff_void(self, line_id: str) -> None:
        who = self._require_staff()
        with self._lock:
            self._open_line(line_id)
            self.store.void_line(line_id, by=who)
            self._reload_cart()
            view = self.cart_view()
        self._emit(CartChanged(view))

    def staff_override_price(self, line_id: str, paise: int) -> str:
        """Staff: re-price a line (``paise`` per unit, or per kg for weighed lines); the old line is voided."""
        who = self._require_staff()
        if isinstance(paise, bool) or not isinstance(paise, int) or paise < 0:
            raise CheckoutError(f"price override must be whole paise >= 0, got {paise!r}")
        with self._lock:
            old = self._open_line(line_id)
            new = CartLine(line_id=uuid.uuid4().hex, sku=old.sku, name=old.name, sold_by=old.sold_by,
                           unit_price=paise, gst_bp=old.gst_bp, qty=old.qty, net_grams=old.net_grams)
            stored = self._commit_line(new, None, dict(self._line_info.get(line_id, {})) or None)
            self.store.void_line(line_id, by=who)
            self._reload_cart()
            view = self.cart_view()
        self._emit(CartChanged(view), Notice("info", f"{old.name}: price {format_inr(old.unit_price)} → "
                                                     f"{format_inr(paise)} by {who}"))
        return stored.line_id

    # -- placement images of cart lines (survive a restart) --------------------------------------
    def _remember_line(self, line_id: str, info: dict) -> None:
        self._line_info[line_id] = info
        try:
            self.captures.mkdir(parents=True, exist_ok=True)
            with open(self.captures / CAPTURE_INDEX, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"line_id": line_id, **info}, sort_keys=True) + "\n")
        except OSError as exc:
            log.warning("cannot write %s: %s", self.captures / CAPTURE_INDEX, exc)

    def _load_line_info(self) -> None:
        path = self.captures / CAPTURE_INDEX
        wanted = {line.line_id for line in self._cart.all_lines}
        if not wanted or not path.is_file():
            return
        try:
            with open(path, encoding="utf-8") as fh:
                for text in fh:
                    try:
                        rec = json.loads(text)
                    except json.JSONDecodeError:
                        continue  # a line cut short by a crash
                    if rec.get("line_id") in wanted:
                        self._line_info[rec.pop("line_id")] = rec
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)

    def line_capture(self, line_id: str) -> dict:
        """What is known about the placement a line came from: image, recognised SKU, model version."""
        with self._lock:
            return dict(self._line_info.get(line_id, {}))

    # -- model -----------------------------------------------------------------------------------
    def swap_model(self, new_recognizer) -> None:
        """Activate another recogniser between two frames; the cart is not touched."""
        self.model.swap(new_recognizer)

    def _on_model_swapped(self, _recognizer) -> None:
        version, description = self.model_info()
        self._emit(ModelChanged(version, description))

    # -- model updates ---------------------------------------------------------------------------
    def _update_event(self, status) -> UpdateStatusChanged:
        from kiosk.services.model_updates import update_event

        return update_event(status, self.model.version)

    def _on_update_status(self, status) -> None:
        """Updater listener (updater thread): snapshot the status and re-send it as an event."""
        event = self._update_event(status)
        self._update_status = event
        self._emit(event)

    def _on_update_activated(self, recognizer) -> None:
        """The updater activated a new model (updater thread): swap it in between two frames."""
        if self._closed:
            recognizer.close()  # shutting down: the store already points at it; the next start runs it
            return
        self.swap_model(recognizer)
        self._emit(Notice("info", f"new recognition model v{getattr(recognizer, 'model_version', '?')} active"))

    @property
    def update_status(self) -> UpdateStatusChanged | None:
        """The last update status (``None`` without an updater)."""
        return self._update_status

    def start_updates(self) -> None:
        """Poll the channel every ``config.update_interval_s`` in the updater's thread (no-op without an updater)."""
        if self.updater is None or self._closed or self.updater.running:
            return
        self.updater.start(interval_s=self.config.update_interval_s)

    def stop_updates(self, timeout: float = 10.0) -> None:
        """Stop polling; a check in progress finishes (or is abandoned after ``timeout``: it resumes next start)."""
        if self.updater is not None:
            self.updater.stop(timeout)

    def check_for_update(self):
        """One update check now, on this thread (staff button, tests); returns the UpdateResult."""
        if self.updater is None:
            raise CheckoutError("no update channel is configured (channel, with model_state and store_id)")
        return self.updater.check_once()

    # -- live mode -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def capture(self):
        """The live :class:`~kiosk.camera.CaptureWorker` (``dropped`` counts frames never recognised)."""
        return self._capture

    def latest_frame(self):
        """The last frame the recognition worker took (for a live view that polls), or None."""
        return self._last_frame

    def start(self) -> None:
        """Live mode: capture thread, recognition worker thread, scale poller thread."""
        from kiosk.camera import CaptureWorker
        from kiosk.scale import ScriptedScale

        self.start_updates()
        if self.running:
            return
        self._stop.clear()
        self.announce()
        self._capture = CaptureWorker(self.config.camera, observers=[self._on_capture_status])
        stepped = isinstance(self.scale, ScriptedScale)  # a scale script is one reading per camera frame
        self._threads = [threading.Thread(target=self._recognition_loop, args=(stepped,), name="recognition",
                                          daemon=True)]
        if not stepped:
            self._threads.append(threading.Thread(target=self._scale_loop, name="scale poll", daemon=True))
        self._capture.start()
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_updates()
        self._stop.set()
        if self._capture is not None:
            self._capture.stop(timeout)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout)
        self._threads = []

    def _on_capture_status(self, status) -> None:
        state = status.state.value
        events: list[Any] = [CameraStatusChanged(state, status.error, status.retry_in)]
        if state == "lost":
            events.append(Notice("warning", "camera lost" + (f": {status.error}" if status.error else "")))
        elif state == "live" and self._capture is not None and self._capture.reconnects:
            events.append(Notice("info", "camera back"))
        elif state == "failed":
            events.append(Notice("error", f"camera failed: {status.error}"))
        self._emit(*events)

    def _recognition_loop(self, stepped_scale: bool) -> None:
        capture = self._capture
        while not self._stop.is_set():
            frame = capture.get(timeout=0.2)
            if frame is None:
                if capture.state.finished or not capture.running:
                    return
                continue
            try:
                if stepped_scale:  # keep the script aligned with the frame index (dropped frames included)
                    behind = frame.index + 1 - self.scale.polls
                    for _ in range(max(0, behind - 1)):
                        self.scale.read()
                    if behind > 0:
                        self.poll_scale()
                self._last_frame = frame
                self._emit(FrameCaptured(frame.index, frame.image))
                self.process_frame(frame)
            except Exception as exc:  # one bad frame must not stop the kiosk
                log.exception("frame %s failed", getattr(frame, "index", "?"))
                self._emit(Notice("error", f"recognition failed: {type(exc).__name__}: {exc}"))

    def _scale_loop(self) -> None:
        period = 1.0 / self.config.scale_poll_hz
        next_due = time.monotonic()
        while not self._stop.is_set():
            self.poll_scale()
            next_due += period
            if self._stop.wait(max(0.0, next_due - time.monotonic())):
                return
            next_due = max(next_due, time.monotonic() - period)
