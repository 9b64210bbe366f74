"""The typed interface of the checkout: what the window, the Qt bridge, headless mode and the UI tests' fake
service all program against. :class:`~kiosk.services.checkout.CheckoutService` is the real one.

Events (:mod:`kiosk.services.events`) reach listeners on the thread that produced them; intents are
thread-safe. Intents that cannot be carried out raise :class:`~kiosk.services.errors.CheckoutError` (a
one-line :class:`~kiosk.errors.UserError`); the window shows that line as a notice.

* ``add_listener(cb) -> unsubscribe``, ``remove_listener(cb)``; ``announce()`` re-sends the current model, cart,
  weight, staff and update state (a UI that just connected calls it);
* ``cart_view()``; ``search(text)`` by name, group or PLU (score 1.0);
* ``choose(sku, placement_id=None) -> line_id | None``: the shopper tapped a suggestion or a search result. Unit
  items are added at once; by-weight items with the current stable weight, or they wait for one
  (``AwaitingWeight``, then ``WeighingEnded``; ``None`` is returned). Another SKU for a placement that already
  has a line replaces that line; the same SKU again does nothing;
* ``remove_line(line_id) -> bool`` (the shopper put the item back, after confirming on screen): False when the line
  is worth more than ``remove_approval_above_paise`` and waits for staff (``RemovalPending``); ``keep_line()`` (the
  shopper changed their mind), ``staff_decide_removal(approve)`` (``RemovalDecided``);
* ``freeze_cart() -> CartView``: the payment page opened; the cart stays as returned (a scan or a placed item is
  refused with a notice, an item waiting for the scale waits) until ``unfreeze_cart()`` or the sale;
  ``pay(method, expected_total_paise=None) -> Receipt`` closes the sale once (not while a removal waits), refusing a
  bill that is not the total the shopper was shown;
* ``call_help(reason="help") -> bool`` / ``cancel_help()``: the Help button (``HelpCallChanged``; staff unlocking
  the kiosk answers the call; audited); ``set_language(code)``, ``set_large_text(on)``, ``new_shopper()`` (back to
  the store's defaults): ``ShopperPrefsChanged``;
* ``browse_groups() -> [BrowseGroup]``, ``browse(group) -> [SuggestionView]``: browse by picture;
  ``print_receipt(receipt_no=None) -> receipt_no`` on the kiosk's printer (``SaleClosed.can_print``);
  ``line_photo(line_id) -> path`` (staff: the placement photo of a line, ``""`` for none);
* ``staff_unlock(pin) -> bool``, ``staff_lock()``, ``staff_unlocked``; ``staff_correct(line_id, sku) -> line_id``,
  ``staff_void(line_id)``, ``staff_override_price(line_id, paise) -> line_id`` (``StaffLocked`` unless unlocked);
  ``staff_reprint(receipt_no=None) -> text``: a marked duplicate of a receipt (the last sale's by default);
  ``staff_receipts_today() -> [summary]``: today's receipts, newest first, to pick one to reprint;
  ``staff_day_report(print_it=False) -> text``: today's takings, the end-of-day report (a supervisor's), printed
  on the receipt printer with ``print_it`` (``can_print``: one is set up);
* ``scale_tare(container="bag") -> grams`` (a container's preset tare), ``scale_clear_tare()``, ``scale_zero() ->
  bool`` (only on an empty, still tray near zero); ``staff_resolve(approve) -> line_id | None`` decides on the item
  the scale disagreed with (``StaffCalled``; ``StaffLocked`` unless unlocked);
* ``latest_frame()`` for a live view that polls; ``start()`` / ``stop()`` live mode.

:class:`ReplayApi` adds what a headless replay drives by hand: ``process_frame(frame)`` (the item trigger, then
recognition of a newly placed item; the top-1 is added by itself at or above the bundle's auto-add threshold),
``poll_scale()``, ``scanned(text)`` (a USB scanner's code), ``placement(id)``, ``awaiting_weight``, the open
``cart`` and the ``last_sale``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from kiosk.services.events import BrowseGroup, CartView, Listener, SuggestionsReady, SuggestionView

__all__ = ["CheckoutApi", "ReplayApi"]


@runtime_checkable
class CheckoutApi(Protocol):
    def add_listener(self, callback: Listener) -> Callable[[], None]: ...

    def remove_listener(self, callback: Listener) -> None: ...

    def announce(self) -> None: ...

    def cart_view(self) -> CartView: ...

    def search(self, text: str) -> list[SuggestionView]: ...

    def choose(self, sku: str, placement_id: str | None = None) -> str | None: ...

    def remove_line(self, line_id: str) -> bool: ...

    def keep_line(self) -> None: ...

    def staff_decide_removal(self, approve: bool) -> None: ...

    def call_help(self, reason: str = "help") -> bool: ...

    def cancel_help(self) -> None: ...

    def set_language(self, code: str) -> None: ...

    def set_large_text(self, on: bool) -> None: ...

    def new_shopper(self) -> None: ...

    def browse_groups(self) -> list[BrowseGroup]: ...

    def browse(self, group: str) -> list[SuggestionView]: ...

    def print_receipt(self, receipt_no: str | None = None) -> str: ...

    def line_photo(self, line_id: str) -> str: ...

    def freeze_cart(self) -> CartView: ...

    def unfreeze_cart(self) -> None: ...

    def pay(self, method: str = "card", expected_total_paise: int | None = None) -> Any: ...

    @property
    def staff_unlocked(self) -> bool: ...

    def staff_unlock(self, pin: str, staff_id: str = "staff") -> bool: ...

    def staff_lock(self) -> None: ...

    def staff_correct(self, line_id: str, new_sku: str) -> str: ...

    def staff_void(self, line_id: str) -> None: ...

    def staff_override_price(self, line_id: str, paise: int) -> str: ...

    def staff_reprint(self, receipt_no: str | None = None) -> str: ...

    def staff_day_report(self, print_it: bool = False) -> str: ...

    def staff_receipts_today(self) -> list[Any]: ...

    def staff_resolve(self, approve: bool) -> str | None: ...

    def scale_tare(self, container: str = "bag") -> int: ...

    def scale_clear_tare(self) -> None: ...

    def scale_zero(self) -> bool: ...

    def latest_frame(self) -> Any: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


@runtime_checkable
class ReplayApi(CheckoutApi, Protocol):
    def process_frame(self, frame: Any) -> SuggestionsReady | None: ...

    def poll_scale(self) -> Any: ...

    def scanned(self, text: str, source: str = "scanner") -> str | None: ...

    def placement(self, placement_id: str) -> Any: ...

    @property
    def awaiting_weight(self) -> tuple[str | None, str] | None: ...

    @property
    def cart(self) -> Any: ...

    @property
    def last_sale(self) -> Any: ...

    def model_info(self) -> tuple[int | None, str]: ...
