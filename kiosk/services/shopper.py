"""The shopper's side of the counter beyond items and paying: language and text size, the Help button, confirming
(and, above a value, getting approved) a removal, browsing by picture, printing the receipt, and the placement photo
staff see beside a line.

:class:`ShopperPrefs` holds the language and large-text choice of the shopper at the kiosk (back to the store's
defaults for the next one: :meth:`ShopperIntents.new_shopper`). :class:`ShopperIntents` is the part of
:class:`~kiosk.services.checkout.CheckoutService`'s interface that delegates to these parts
(:mod:`~kiosk.services.attendant`, :mod:`~kiosk.services.browse`, :mod:`~kiosk.services.printing`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kiosk.services.attendant import Attendant
from kiosk.services.browse import Browser
from kiosk.services.errors import CheckoutError
from kiosk.services.events import BrowseGroup, CartView, ShopperPrefsChanged, SuggestionView
from kiosk.services.printing import ReceiptDesk
from kiosk.services.tray_watch import TrayWatch

__all__ = ["ShopperPrefs", "ShopperIntents"]


class ShopperPrefs:
    """``languages``: what the shopper may choose, the first being where every shopper starts."""

    def __init__(self, languages: Sequence[str], emit: Callable[..., None]) -> None:
        self.languages = tuple(languages) or ("en",)
        self._emit = emit
        self.language, self.large_text = self.languages[0], False

    def event(self) -> ShopperPrefsChanged:
        return ShopperPrefsChanged(self.language, self.large_text, self.languages)

    def set_language(self, code: str) -> None:
        if code not in self.languages:
            raise CheckoutError(f"language {code!r} is not offered at this kiosk (languages: "
                                f"{', '.join(self.languages)})")
        self.language = code
        self._emit(self.event())

    def set_large_text(self, on: bool) -> None:
        self.large_text = bool(on)
        self._emit(self.event())

    def reset(self) -> None:
        self.language, self.large_text = self.languages[0], False
        self._emit(self.event())


class ShopperIntents:
    """Intents of :class:`~kiosk.services.api.CheckoutApi` served by the shopper-side parts. The service that mixes
    this in calls :meth:`_init_shopper_side` and has ``_cart`` (CartKeeper), ``_counter``, ``_desk`` (StaffDesk),
    ``_shelf``, ``_views``, ``_emit``, ``_clock`` and ``_lock`` (and ``_trigger``, ``_weighing``, ``_book``,
    ``_scale_desk`` for :class:`~kiosk.services.tray_watch.TrayWatch`)."""

    def _init_shopper_side(self, config, store) -> None:
        """Make the parts (called by the service's ``__init__`` once its cart, counter, staff desk and shelf exist)."""
        self._attendant = Attendant(store=store, line=lambda i: self._cart.cart.line(i), emit=self._emit,
                                    remove=self._counter.remove_line, staff=self._desk,
                                    clock=self._clock, approval_above=config.remove_approval_above_paise)
        self._prefs = ShopperPrefs(config.languages, self._emit)
        self._receipts = ReceiptDesk(config.receipt_printer, store, self._emit)
        self._browser = Browser(lambda: self._shelf.catalog.list_active(), lambda s: self._views.suggestion(s, 1.0))
        self._tray = TrayWatch(self._trigger, self._weighing, self._book, emit=self._emit, listen=self.add_listener,
                               desk=self._scale_desk, call=self._attendant.call)  # the empty tray; a blind camera

    def call_help(self, reason: str = "help") -> bool:
        """The Help button: call staff to the kiosk (audited); False when a call is already up."""
        return self._attendant.call(reason)

    def cancel_help(self) -> None:
        self._attendant.cancel()

    def freeze_cart(self) -> CartView:
        """The shopper opened the payment page: the open cart is frozen as it is now (returned: its total is what to
        show and to pass to ``pay``). A scan or a placed item is refused with a notice, an item waiting for the scale
        waits, removals and staff's changes are refused, until :meth:`unfreeze_cart` or the sale."""
        with self._lock:
            return self._views.cart_view(self._cart.freeze())

    def unfreeze_cart(self) -> None:
        """The shopper left the payment page without paying: the cart may change again."""
        with self._lock:
            self._cart.unfreeze()

    def keep_line(self) -> None:
        """The shopper keeps the item whose removal waits for staff."""
        self._attendant.keep()

    def staff_decide_removal(self, approve: bool) -> None:
        """Staff approves or refuses the removal waiting for them (``StaffLocked`` unless unlocked)."""
        self._attendant.decide(approve)

    def set_language(self, code: str) -> None:
        self._prefs.set_language(code)

    def set_large_text(self, on: bool) -> None:
        self._prefs.set_large_text(on)

    def new_shopper(self) -> None:
        """The next shopper: language and text size back to the store's defaults."""
        self._prefs.reset()

    def browse_groups(self) -> list[BrowseGroup]:
        return self._browser.groups()

    def browse(self, group: str) -> list[SuggestionView]:
        return self._browser.items(group)

    def print_receipt(self, receipt_no: str | None = None) -> str:
        """Print a receipt (the last sale's by default) on the kiosk's printer; returns its number."""
        return self._receipts.print(receipt_no)

    def line_photo(self, line_id: str) -> str:
        """Staff: the tray photo of the placement a line came from (``""``: none, e.g. a search pick)."""
        self._desk.require()
        p = self._cart.provenance(line_id)
        return str(p.image_path) if p is not None and p.image_path else ""
