"""What :class:`~kiosk.services.checkout.CheckoutService` tells its listeners: small frozen dataclasses.

Events are delivered synchronously, on whichever thread produced them (the recognition worker,
the scale poller, the capture thread, or the caller of an intent). A Qt bridge re-emits them as
queued signals; a headless run just reads them. Listeners must be quick and must not call back
into the service from a capture/scale thread expecting a particular order.

Events (names and fields are the UI contract: they only ever grow):

* :class:`CameraStatusChanged` ``(status, error, retry_in)``: ``status`` is one of ``connecting``,
  ``live``, ``lost``, ``reconnecting``, ``ended``, ``failed`` (``kiosk.camera.CaptureState`` values);
* :class:`FrameCaptured` ``(index, image)``: a frame the recognition worker took (live view), BGR uint8;
* :class:`SuggestionsReady` ``(placement_id, suggestions, auto_added_line_id, auto_added_sku, not_recognised)``:
  the line and SKU added without a tap (both ``None`` when the shopper must choose); ``not_recognised``: the model's
  open-set rule says the item is none the kiosk knows: no suggestions, the screen says "Not recognised — search or
  call staff" instead of tiles (:data:`NOT_RECOGNISED`), and the photo is kept for staff to label;
* :class:`PlacementCleared` ``(placement_id)``: the tray was emptied; hide that item's suggestions;
* :class:`AwaitingWeight` ``(placement_id, sku, name)``: a by-weight item waits for a stable reading;
* :class:`WeighingEnded` ``(placement_id, sku, line_id)``: that wait is over — weighed and added (``line_id``), or
  dropped (``line_id`` ``None``: replaced by another choice, taken away, never weighed before payment);
* :class:`WeightChanged` ``(reading, text, net)``: a new scale reading (only sent when it differs from the last, or
  when the tare changed); ``net`` is the weighing room's :class:`kiosk.weighing.NetWeight` (state, gross, tare,
  net, the text to show): only its ``ok`` state is ever priced;
* :class:`StaffCalled` ``(placement_id, sku, name, grams, reason)``: the weight on the tray does not fit the item
  confirmed (a ticket switch?): it is not billed until staff approves or refuses it;
* :class:`StaffCallEnded` ``(placement_id, sku, line_id)``: staff decided (``line_id`` ``None``: not added);
* :class:`CartChanged` ``(cart_view)``: the cart after a committed change (a line is shown only after
  the store committed it);
* :class:`SaleClosed` ``(receipt, receipt_text, can_print)``: payment done; a new empty cart follows as CartChanged;
* :class:`ModelChanged` ``(version, description)``: the recogniser was loaded or swapped;
* :class:`UpdateStatusChanged` ``(state, version, message, level, …)``: the model updater's state (only when
  the kiosk polls a channel); ``message`` is one line for the status bar, ``level`` ``ok|warn|error``;
* :class:`OutboxChanged` ``(queued, message, level, last_error, dropped)``: feedback waiting for head office; the
  status bar shows ``message`` while ``level`` is not ``ok`` (head office unreachable for long, batches dropped);
* :class:`StaffModeChanged` ``(unlocked, staff_id, name, role)``: who is signed in (``role`` ``assistant`` |
  ``supervisor``; all empty when locked), ``reason`` why it ended (``done``, ``idle``, ``paid``);
* :class:`Notice` ``(level, message)``: ``level`` is ``info``, ``warning`` or ``error``;
* :class:`HelpCallChanged` ``(active, reason, since, by)``: the shopper called staff with the Help button (``active``)
  or the call ended (cancelled by the shopper, or answered by staff ``by``);
* :class:`RemovalPending` ``(line_id, name, total_text, total)``: the shopper asked to remove a line worth more than
  ``remove_approval_above_paise``: it stays on the bill until staff approves;
* :class:`RemovalDecided` ``(line_id, approved, by)``: staff approved (the line is gone) or refused, or the shopper
  kept the item (``by`` ``"shopper"``);
* :class:`ShopperPrefsChanged` ``(language, large_text, languages)``: the shopper's language and text size (back to
  the store's defaults for the next shopper);
* :class:`PaymentPending` ``(cart_id, amount, amount_text, since, checks, answer, active)``: a payment whose outcome
  the terminal has not told yet (its answer lost, no answer, still at the PIN pad, an answer about another payment):
  the kiosk asks again in the background (:class:`kiosk.services.paying.PaymentWatch`), for staff to see meanwhile;
  ``active`` ``False`` when it is settled (the receipt, or the cart released, follows as usual);
* :class:`PrinterStatus` ``(level, reason, details)``: the receipt printer's state as staff should know it, sent by
  :class:`kiosk.services.printing.ReceiptDesk` when it changes (after a print, or a refusal to print): ``ok`` (it
  printed, nothing to say), ``warn`` (it printed, but: ``reason``, e.g. paper near its end) or ``error`` (it refused:
  ``reason`` is one of :mod:`kiosk.printing.base`'s reasons); ``details``: what the printer said, for the log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AwaitingWeight", "BillView", "BrowseGroup", "CameraStatusChanged", "CartChanged", "CartLineView", "CartView",
    "Event", "FrameCaptured", "HelpCallChanged", "Listener", "ModelChanged", "Notice", "OutboxChanged",
    "PaymentPending", "PlacementCleared", "PrinterStatus", "RemovalDecided", "RemovalPending", "SaleClosed",
    "ShopperPrefsChanged", "StaffCallEnded", "StaffCalled", "StaffModeChanged", "SuggestionView", "SuggestionsReady",
    "TaxRowView", "UpdateStatusChanged", "WeighingEnded", "WeightChanged",
]


# -- views: plain values a widget can show without knowing the domain -----------------------------
@dataclass(frozen=True)
class SuggestionView:
    """One suggestion button (or manual-search result). ``price_text`` reads ``₹45.00`` or ``₹120.00/kg``;
    ``image_path`` is an existing file or ``""``; ``score`` is the softmax probability (1.0 for search hits);
    ``price_paise`` the price per piece or per kg; ``group`` the catalog's group."""

    sku: str
    name: str
    price_text: str
    sold_by: str  # "unit" | "weight"
    image_path: str
    score: float
    price_paise: int = field(default=0, compare=False)
    group: str = field(default="", compare=False)


@dataclass(frozen=True)
class BrowseGroup:
    """A department to browse by picture: ``key`` (``fruit``, ``vegetables`` …), its English ``title``, a product
    photo standing for it (``""``: none) and how many SKUs it holds."""

    key: str
    title: str
    image_path: str
    count: int


@dataclass(frozen=True)
class CartLineView:
    """One cart row. ``qty_text`` is ``"2"`` or ``"0.548 kg"``; ``grams`` is the billed weight (None for unit
    items); ``unit_price_text`` is per piece or per kg; amounts also as int paise."""

    line_id: str
    sku: str
    name: str
    qty_text: str
    unit_price_text: str
    total_text: str
    sold_by: str
    grams: int | None
    qty: int | None = None
    unit_price: int = 0
    total: int = 0
    gst_bp: int = 0
    voided: bool = False
    #: what staff changed: "" (nothing), "corrected" (another item), "price" (another price), "voided"
    mark: str = ""
    #: for a mark: what it was (the item's name before a correction, the price before an override)
    was_text: str = ""


@dataclass(frozen=True)
class TaxRowView:
    """All lines at one GST rate: taxable value + CGST + SGST = gross (texts and int paise)."""

    rate_text: str
    rate_bp: int
    gross_text: str
    gross: int
    taxable_text: str
    taxable: int
    cgst_text: str
    cgst: int
    sgst_text: str
    sgst: int


@dataclass(frozen=True)
class BillView:
    """The bill's totals: gross (GST included), tax table, round-off to the rupee and the amount payable."""

    gross_text: str
    gross: int
    tax_rows: tuple[TaxRowView, ...]
    round_off_text: str
    round_off: int
    total_text: str
    total: int
    item_count: int
    taxable_text: str = ""
    taxable: int = 0
    cgst_text: str = ""
    cgst: int = 0
    sgst_text: str = ""
    sgst: int = 0


@dataclass(frozen=True)
class CartView:
    """``lines``: the lines on the bill, in order (a corrected line where the one it replaced was);
    ``shown_lines``: what a screen lists — those, plus lines staff voided (``voided``, marked) in their place."""

    cart_id: str
    lines: tuple[CartLineView, ...]
    bill: BillView
    shown_lines: tuple[CartLineView, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.lines


# -- events ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CameraStatusChanged:
    status: str
    error: str | None = None
    retry_in: float | None = None


@dataclass(frozen=True, eq=False)
class FrameCaptured:
    index: int
    image: Any  # numpy BGR uint8; compared by identity


@dataclass(frozen=True)
class SuggestionsReady:
    placement_id: str
    suggestions: list[SuggestionView]
    auto_added_line_id: str | None = None
    auto_added_sku: str | None = None
    not_recognised: bool = False


#: what the shopper reads instead of suggestions when the item is none the kiosk knows
NOT_RECOGNISED = "Not recognised — search or call staff"


@dataclass(frozen=True)
class PlacementCleared:
    placement_id: str


@dataclass(frozen=True)
class AwaitingWeight:
    placement_id: str | None
    sku: str
    name: str
    price_paise: int = field(default=0, compare=False)  # per kg: for the live price preview


@dataclass(frozen=True)
class WeighingEnded:
    placement_id: str | None
    sku: str
    line_id: str | None = None

    @property
    def weighed(self) -> bool:
        return self.line_id is not None


@dataclass(frozen=True)
class WeightChanged:
    reading: Any  # kiosk.scale.WeightReading
    text: str = ""
    net: Any = None  # kiosk.weighing.NetWeight


@dataclass(frozen=True)
class StaffCalled:
    placement_id: str | None
    sku: str
    name: str
    grams: int | None
    reason: str


@dataclass(frozen=True)
class StaffCallEnded:
    placement_id: str | None
    sku: str
    line_id: str | None = None


@dataclass(frozen=True)
class CartChanged:
    cart_view: CartView


@dataclass(frozen=True)
class SaleClosed:
    receipt: Any  # kiosk.domain.Receipt
    receipt_text: str = ""
    can_print: bool = False  # a receipt printer is set up (the receipt screen offers Print)


@dataclass(frozen=True)
class ModelChanged:
    version: int | None
    description: str = ""


@dataclass(frozen=True)
class UpdateStatusChanged:
    """The updater's state (``idle|checking|downloading|verifying|activating|failed``, see
    ``kiosk.bundles.updater.UpdateState``), the active model ``version``, a one-line ``message`` for the status
    bar, its ``level`` (``ok``, ``warn``, ``error``), the version the channel offers, and the last error with its
    reason code (``signature``, ``hash``, … or ``error`` for network trouble)."""

    state: str
    version: int | None
    message: str
    level: str = "ok"
    available_version: int | None = None
    error: str | None = None
    reason: str | None = None
    last_check: str | None = None


@dataclass(frozen=True)
class OutboxChanged:
    """The feedback outbox (:mod:`kiosk.feedback.outbox`): batches ``queued`` for head office, one-line ``message``
    and its ``level`` (``ok``, ``warn``, ``error``), the last upload error, batches ``dropped`` unsent."""

    queued: int
    message: str
    level: str = "ok"
    last_error: str | None = None
    dropped: int = 0


@dataclass(frozen=True)
class StaffModeChanged:
    unlocked: bool
    staff_id: str = ""
    name: str = ""
    role: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Notice:
    level: str  # info | warning | error
    message: str
    details: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class HelpCallChanged:
    active: bool
    reason: str = "help"
    since: str = ""  # ISO time the call began
    by: str = ""  # who ended it: "shopper" (cancelled) or the staff id that answered


@dataclass(frozen=True)
class RemovalPending:
    line_id: str
    name: str
    total_text: str
    total: int = 0


@dataclass(frozen=True)
class RemovalDecided:
    line_id: str
    approved: bool
    by: str = ""


@dataclass(frozen=True)
class PaymentPending:
    cart_id: str
    amount: int  # paise
    amount_text: str
    since: str  # ISO time the payment began
    checks: int = 0  # how often the kiosk asked the terminal about it since
    answer: str = ""  # the terminal's last answer (or why there was none); at the end: what settled it
    active: bool = True


@dataclass(frozen=True)
class PrinterStatus:
    level: str  # ok | warn | error
    reason: str = ""  # the warning (warn) or why it did not print (error); "" when ok
    details: str = field(default="", compare=False)  # what the printer said (for the log and a tooltip)


@dataclass(frozen=True)
class ShopperPrefsChanged:
    language: str
    large_text: bool = False
    languages: tuple[str, ...] = ("en",)


Event = (CameraStatusChanged | FrameCaptured | SuggestionsReady | PlacementCleared | AwaitingWeight | WeighingEnded
         | WeightChanged | CartChanged | SaleClosed | ModelChanged | StaffModeChanged | UpdateStatusChanged | Notice
         | StaffCalled | StaffCallEnded | OutboxChanged | HelpCallChanged | RemovalPending | RemovalDecided
         | ShopperPrefsChanged | PaymentPending | PrinterStatus)
Listener = Callable[[Event], None]
