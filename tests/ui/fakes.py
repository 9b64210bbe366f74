"""A small in-memory stand-in for :class:`kiosk.services.checkout.CheckoutService` for widget tests.

It implements the same typed interface (:class:`kiosk.services.api.CheckoutApi`, checked by
``tests/ui/test_fakes.py``) with the same event/view classes as the real service (``kiosk.services.events``),
priced by the real domain (``kiosk.domain``), so what the window shows is what a real cart would
show; only the catalog (a dict), the store (memory) and recognition (``place()``) are faked.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from kiosk.domain.cart import Cart, CartLine
from kiosk.domain.money import format_inr
from kiosk.domain.receipt import Receipt, StoreInfo
from kiosk.scale import WeightReading
from kiosk.services.events import (
    AwaitingWeight,
    BrowseGroup,
    CartChanged,
    CartView,
    HelpCallChanged,
    ModelChanged,
    Notice,
    PlacementCleared,
    RemovalDecided,
    RemovalPending,
    SaleClosed,
    ShopperPrefsChanged,
    StaffModeChanged,
    SuggestionsReady,
    SuggestionView,
    WeighingEnded,
    WeightChanged,
)
from kiosk.services.views import cart_view

PIN = "2468"
#: a line worth more than this needs staff to approve its removal (the real default, remove_approval_above_paise)
APPROVAL_ABOVE = 50000
LANGUAGES = ("en", "hi")
#: a tray photo for lines that came from a placement (what the staff page shows beside the line)
TRAY_PHOTO = "assets/demo/camera/05_granny-smith.jpg"


class FakeRefusal(ValueError):
    pass


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    sold_by: str
    price_paise: int
    gst_bp: int
    plu: str = ""
    image: str = ""
    department: str = "other"


CATALOG = {i.sku: i for i in (
    Item("banana", "Banana", "weight", 6000, 0, "101", "assets/demo/products/banana.jpg", "fruit"),
    Item("granny-smith", "Granny Smith apple", "weight", 22000, 0, "104", "assets/demo/products/granny-smith.jpg",
         "fruit"),
    Item("oatly-oat-milk", "Oatly Oat Drink 1L", "unit", 34900, 1800, "", "assets/demo/products/oatly-oat-milk.jpg",
         "drinks"),
    Item("arla-standard-milk", "Arla Standard Milk 1L", "unit", 6800, 0, "", "no/such/file.jpg", "dairy"),
    Item("avocado", "Avocado", "unit", 9900, 0, "110", "", "fruit"),
    Item("yoghurt", "Arla Natural Yoghurt 1kg", "unit", 12550, 500, "", "", "dairy"),
    Item("mango", "Mango", "unit", 8000, 0, "111", "assets/demo/products/mango.jpg", "fruit"),
    Item("cheese", "Aged Cheddar Wheel", "unit", 275000, 1200, "", "", "dairy"),
)}
DEPARTMENTS = (("fruit", "Fruit"), ("vegetables", "Vegetables"), ("dairy", "Dairy"), ("drinks", "Drinks"),
               ("other", "Other"))


class FakeCheckoutService:
    def __init__(self) -> None:
        self.listeners = []
        self.cart = Cart()
        self.calls: list[tuple] = []
        self.placements: dict[str, str | None] = {}  # placement → line id
        self.pending: tuple[str | None, Item] | None = None
        self.reading: WeightReading | None = None
        self.unlocked = False
        self.receipts: list[Receipt] = []
        self.unlabelled: list = []  # kiosk.services.not_recognised.UnlabelledView rows: "Not recognised today"
        self.frame = None
        self._ids = itertools.count(1)
        self.help_since: str | None = None
        self.removal: str | None = None  # line id waiting for a staff approval
        self.language, self.large_text = LANGUAGES[0], False
        self.printed: list[str] = []  # receipt numbers printed
        self.can_print = True
        self.photos: dict[str, str] = {}  # line id → tray photo
        self.expected_totals: list[int | None] = []  # what each pay() was told the shopper was shown
        self.frozen = False  # the shopper is on the payment page (freeze_cart): choose and remove_line are refused

    # listeners
    def add_listener(self, callback):
        self.listeners.append(callback)
        return lambda: self.remove_listener(callback)

    def remove_listener(self, callback):
        self.listeners.remove(callback)

    def emit(self, *events):
        for e in events:
            for cb in list(self.listeners):
                cb(e)

    def announce(self):
        self.emit(ModelChanged(7, "v7 fake-net"), CartChanged(self.cart_view()), StaffModeChanged(self.unlocked),
                  self.prefs_event())
        if self.help_since is not None:
            self.emit(HelpCallChanged(True, "help", self.help_since))

    def latest_frame(self):
        return self.frame

    def start(self):
        pass

    def stop(self):
        pass

    @property
    def staff_unlocked(self):
        return self.unlocked

    # views
    def view(self, sku: str, score: float = 1.0) -> SuggestionView:
        i = CATALOG[sku]
        price = format_inr(i.price_paise) + ("/kg" if i.sold_by == "weight" else "")
        return SuggestionView(i.sku, i.name, price, i.sold_by, i.image, score, i.price_paise, i.department)

    def cart_view(self) -> CartView:
        return cart_view(self.cart)  # the real service's presentation of a real cart

    def _changed(self):
        self.emit(CartChanged(self.cart_view()))

    # test drivers ("the camera saw an item", "the scale moved")
    def place(self, *skus: str, auto: bool = False, scores: tuple[float, ...] = ()) -> str:
        """The camera saw an item: suggestions ``skus`` (scores 0.9, 0.7 … unless given); ``auto`` adds the first."""
        pid = f"p{next(self._ids)}"
        self.placements[pid] = None
        views = [self.view(s, scores[n] if n < len(scores) else 0.9 - 0.2 * n) for n, s in enumerate(skus)]
        line_id = None
        if auto:
            line_id = self._add(skus[0], pid)
            self._changed()
        self.emit(SuggestionsReady(pid, views, line_id, skus[0] if line_id else None))
        return pid

    def clear_tray(self, pid: str) -> None:
        self.emit(PlacementCleared(pid))

    def set_weight(self, grams: int, stable: bool = True) -> None:
        self.reading = WeightReading(grams, stable)
        self.emit(WeightChanged(self.reading, f"{grams} g"))
        if self.pending and stable and grams > 0:
            pid, item = self.pending
            self.pending = None
            line = self.cart.add_weighed(item.sku, item.name, item.price_paise, item.gst_bp, grams)
            if pid:
                self.placements[pid] = line.line_id
            self._changed()
            self.emit(WeighingEnded(pid, item.sku, line.line_id))

    # intents
    def _add(self, sku: str, pid: str | None) -> str | None:
        item = CATALOG[sku]
        if item.sold_by == "weight":
            if self.reading is None or not self.reading.usable or self.reading.grams <= 0:
                self.pending = (pid, item)
                self.emit(AwaitingWeight(pid, item.sku, item.name, item.price_paise))
                return None
            line = self.cart.add_weighed(item.sku, item.name, item.price_paise, item.gst_bp, self.reading.grams)
        else:
            line = self.cart.add_unit(item.sku, item.name, item.price_paise, item.gst_bp)
        if pid:
            self.placements[pid] = line.line_id
            self.photos[line.line_id] = TRAY_PHOTO
        return line.line_id

    def choose(self, sku, placement_id=None):
        self.calls.append(("choose", sku, placement_id))
        self._refuse_while_frozen()
        if sku not in CATALOG:
            raise FakeRefusal(f"unknown SKU {sku!r}")
        old = self.placements.get(placement_id) if placement_id else None
        if old is not None and old in self.cart:
            if self.cart.line(old).sku == sku:
                return old
            self.cart.remove(old)
        if self.pending is not None:
            self.emit(WeighingEnded(self.pending[0], self.pending[1].sku, None))
            self.pending = None
        line_id = self._add(sku, placement_id)
        self._changed()
        return line_id

    def search(self, text):
        self.calls.append(("search", text))
        t = text.lower()
        return [self.view(i.sku) for i in CATALOG.values() if t in i.name.lower() or t == i.plu]

    def remove_line(self, line_id):
        self.calls.append(("remove_line", line_id))
        self._refuse_while_frozen()
        line = self.cart.line(line_id)
        if line.total > APPROVAL_ABOVE:
            self.removal = line_id
            self.emit(RemovalPending(line_id, line.name, format_inr(line.total), line.total))
            self.call_help("removal approval")  # as the real attendant does
            return False
        self.cart.remove(line_id)
        self._changed()
        return True

    def keep_line(self):
        self.calls.append(("keep_line",))
        if self.removal is not None:
            line_id, self.removal = self.removal, None
            self.emit(RemovalDecided(line_id, False, "shopper"))
            self._end_help("shopper")

    def staff_decide_removal(self, approve):
        self.calls.append(("staff_decide_removal", approve))
        self._staff()
        if self.removal is None:
            raise FakeRefusal("no removal is waiting for a staff approval")
        line_id, self.removal = self.removal, None
        if approve:
            self.cart.remove(line_id)
            self._changed()
        self.emit(RemovalDecided(line_id, bool(approve), "staff"))

    # help, language, text size
    def call_help(self, reason="help"):
        self.calls.append(("call_help", reason))
        if self.help_since is not None:
            return False
        self.help_since = "2025-01-02T10:30:00+05:30"
        self.emit(HelpCallChanged(True, reason, self.help_since))
        return True

    def cancel_help(self):
        self.calls.append(("cancel_help",))
        self._end_help("shopper")

    def _end_help(self, by):
        if self.help_since is not None:
            since, self.help_since = self.help_since, None
            self.emit(HelpCallChanged(False, "help", since, by))

    def prefs_event(self):
        return ShopperPrefsChanged(self.language, self.large_text, LANGUAGES)

    def set_language(self, code):
        self.calls.append(("set_language", code))
        if code not in LANGUAGES:
            raise FakeRefusal(f"language {code!r} is not offered")
        self.language = code
        self.emit(self.prefs_event())

    def set_large_text(self, on):
        self.calls.append(("set_large_text", on))
        self.large_text = bool(on)
        self.emit(self.prefs_event())

    def new_shopper(self):
        self.calls.append(("new_shopper",))
        self.language, self.large_text = LANGUAGES[0], False
        self.emit(self.prefs_event())

    # browsing, printing, photos
    def browse_groups(self):
        self.calls.append(("browse_groups",))
        out = []
        for key, title in DEPARTMENTS:
            items = [i for i in CATALOG.values() if i.department == key]
            if items:
                out.append(BrowseGroup(key, title, next((i.image for i in items if i.image), ""), len(items)))
        return out

    def browse(self, group):
        self.calls.append(("browse", group))
        return [self.view(i.sku) for i in sorted(CATALOG.values(), key=lambda i: i.name) if i.department == group]

    def print_receipt(self, receipt_no=None):
        self.calls.append(("print_receipt", receipt_no))
        if not self.receipts:
            raise FakeRefusal("no sale yet: nothing to print")
        self.printed.append(receipt_no or self.receipts[-1].receipt_no)
        return self.printed[-1]

    def line_photo(self, line_id):
        self._staff()
        return self.photos.get(line_id, "")

    def freeze_cart(self):
        self.calls.append(("freeze_cart",))
        if not self.cart.lines:
            raise FakeRefusal("nothing to pay: the cart is empty")
        self.frozen = True
        return self.cart_view()

    def unfreeze_cart(self):
        self.calls.append(("unfreeze_cart",))
        self.frozen = False

    def _refuse_while_frozen(self):
        if self.frozen:
            raise FakeRefusal("finish or cancel the payment first: the bill cannot change while you pay")

    def pay(self, method="card", expected_total_paise=None):
        self.calls.append(("pay", method))
        self.expected_totals.append(expected_total_paise)
        if not self.cart.lines:
            raise FakeRefusal("nothing to pay: the cart is empty")
        total = self.cart.bill().total
        if expected_total_paise is not None and expected_total_paise != total:
            raise FakeRefusal(f"the bill is now {format_inr(total)}, not the {format_inr(expected_total_paise)} shown: "
                              f"check it and pay again")
        if self.removal is not None:
            raise FakeRefusal("staff must first approve removing an item")
        self.cart.close()
        receipt = Receipt.from_cart(self.cart, f"K1-{len(self.receipts) + 1:06d}",
                                    datetime(2025, 1, 2, 10, 30, tzinfo=timezone.utc),
                                    store=StoreInfo("Fake Mart"), payment_method=method)
        self.receipts.append(receipt)
        self.cart = Cart()
        self.placements.clear()
        self.frozen = False
        self.emit(SaleClosed(receipt, receipt.to_text(), self.can_print), CartChanged(self.cart_view()))
        return receipt

    def staff_unlock(self, pin, staff_id="staff"):
        self.calls.append(("staff_unlock", pin))
        self.unlocked = pin == PIN
        if self.unlocked:
            self.emit(StaffModeChanged(True))
            self._end_help("staff")
        else:
            self.emit(Notice("warning", "wrong staff PIN"))
        return self.unlocked

    def staff_lock(self):
        self.calls.append(("staff_lock",))
        self.unlocked = False
        self.emit(StaffModeChanged(False))

    def _staff(self):
        if not self.unlocked:
            raise FakeRefusal("staff mode is locked")

    def staff_void(self, line_id):
        self.calls.append(("staff_void", line_id))
        self._staff()
        self.cart.void(line_id)
        self._changed()

    def staff_correct(self, line_id, new_sku):
        self.calls.append(("staff_correct", line_id, new_sku))
        self._staff()
        old = self.cart.line(line_id)
        item = CATALOG[new_sku]
        n = f"c{next(self._ids)}"
        if item.sold_by == "weight":
            line = CartLine.weighed(item.sku, item.name, item.price_paise, item.gst_bp, old.net_grams or 500, line_id=n)
        else:
            line = CartLine.unit(item.sku, item.name, item.price_paise, item.gst_bp, old.qty or 1, line_id=n)
        line = self.cart.add(replace(line, replaces=line_id))  # listed where the old line was, as the store does
        self.cart.void(line_id)
        self._changed()
        return line.line_id

    def staff_reprint(self, receipt_no=None):
        self.calls.append(("staff_reprint", receipt_no))
        self._staff()
        if not self.receipts:
            raise FakeRefusal("no sale yet, nothing to reprint")
        return "*** DUPLICATE - reprint 1 ***\n" + self.receipts[-1].to_text()

    def staff_receipts_today(self):
        from kiosk.services.paying import ReceiptSummary

        self.calls.append(("staff_receipts_today",))
        self._staff()
        return [ReceiptSummary(r.receipt_no, r.issued_at.strftime("%H:%M"), r.bill.item_count, r.bill.total,
                               r.payment_method) for r in reversed(self.receipts)]

    def staff_not_recognised_today(self):
        """Today's placements nobody labelled (``unlabelled``: UnlabelledView rows a test puts there)."""
        self.calls.append(("staff_not_recognised_today",))
        self._staff()
        return list(self.unlabelled)

    def staff_label_placement(self, placement_id, sku):
        self.calls.append(("staff_label_placement", placement_id, sku))
        self._staff()
        self.unlabelled = [v for v in self.unlabelled if v.placement_id != placement_id]
        return sku

    def staff_not_a_product(self, placement_id):
        self.calls.append(("staff_not_a_product", placement_id))
        self._staff()
        self.unlabelled = [v for v in self.unlabelled if v.placement_id != placement_id]

    def staff_day_report(self, print_it=False):
        self.calls.append(("staff_day_report", print_it))
        self._staff()
        return "END OF DAY\n" + "".join(r.to_text() for r in self.receipts)

    def staff_resolve(self, approve):
        self.calls.append(("staff_resolve", approve))
        self._staff()
        return None

    # the scale keys
    def scale_tare(self, container="bag"):
        self.calls.append(("scale_tare", container))
        return 5

    def scale_clear_tare(self):
        self.calls.append(("scale_clear_tare",))

    def scale_zero(self):
        self.calls.append(("scale_zero",))
        return True

    def staff_override_price(self, line_id, paise):
        self.calls.append(("staff_override_price", line_id, paise))
        self._staff()
        old = self.cart.line(line_id)
        new = CartLine(f"o{next(self._ids)}", old.sku, old.name, old.sold_by, paise, old.gst_bp, qty=old.qty,
                       net_grams=old.net_grams, replaces=line_id)
        self.cart.add(new)
        self.cart.void(line_id)
        self._changed()
        return new.line_id
