"""What staff do at the kiosk behind the PIN: unlock/lock, correct a line to another SKU, void it, override
its price. Corrections are stored with the placement photo (``SalesStore.record_correction``) as labelled
data for the next training run; every change keeps the line's provenance and is committed before it shows."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from kiosk.domain.cart import CartLine
from kiosk.domain.money import format_inr
from kiosk.services.cart_lines import CartKeeper
from kiosk.services.errors import CheckoutError
from kiosk.services.events import CartChanged, CartView, Notice, StaffModeChanged
from kiosk.services.staff import StaffSession
from kiosk.weighing import Weighing

__all__ = ["StaffDesk"]


class StaffDesk:
    def __init__(self, session: StaffSession, cart: CartKeeper, *, active_sku: Callable[[str], Any],
                 weighing: Weighing, lock: threading.RLock, cart_view: Callable[[], CartView],
                 emit: Callable[..., None], clock: Callable[[], datetime], pin_configured: bool) -> None:
        self.session, self._cart, self._active_sku, self._weighing = session, cart, active_sku, weighing
        self._lock, self._cart_view, self._emit, self._clock = lock, cart_view, emit, clock
        self._pin_configured = pin_configured

    @property
    def unlocked(self) -> bool:
        unlocked, timed_out = self.session.is_open()
        if timed_out:
            self._emit(StaffModeChanged(False))
        return unlocked

    def unlock(self, pin: str, staff_id: str = "staff") -> bool:
        result = self.session.unlock(pin, staff_id)
        if result.wait_s:
            self._emit(Notice("warning", f"too many wrong PINs: try again in {result.wait_s} s"))
        elif result.ok:
            self._emit(StaffModeChanged(True))
        else:
            self._emit(Notice("warning", "wrong staff PIN" if self._pin_configured else
                              "no staff PIN is configured (staff_pin_hash)"))
        return result.ok

    def lock(self) -> None:
        if self.session.lock():
            self._emit(StaffModeChanged(False))

    def require(self) -> str:
        """The staff id of the open session; raises StaffLocked when staff mode is not unlocked."""
        self.unlocked  # noqa: B018 - announces a time-out
        return self.session.touch()

    def correct(self, line_id: str, new_sku: str) -> str:
        """The item of ``line_id`` is really ``new_sku``: replace the line, record the correction."""
        who = self.require()
        with self._lock:
            old = self._cart.open_line(line_id)
            sku = self._active_sku(new_sku)
            before = self._cart.provenance(line_id)
            if sku.by_weight:
                grams = old.net_grams or (before.scale_grams if before else None) or self._weighing.usable_grams()
                if not grams:
                    raise CheckoutError(f"{sku.name} is sold by weight: put it on the scale, then correct again")
                new = CartLine.weighed(sku.sku, sku.name, sku.price_paise, sku.gst_bp, int(grams))
            else:
                new = CartLine.unit(sku.sku, sku.name, sku.price_paise, sku.gst_bp, old.qty or 1)
            stored = self._cart.replace(line_id, new, who)
            self._cart.store.record_correction(
                (before.recognised_sku if before else None) or old.sku, sku.sku, before.image_path if before else "",
                who, when=self._clock(), cart_id=self._cart.cart.cart_id, line_id=line_id)
            view = self._cart_view()
        self._emit(CartChanged(view), Notice("info", f"corrected {old.name} → {sku.name}"))
        return stored.line_id

    def reprint(self, make: Callable[[str], Any]) -> str:
        """A duplicate receipt, made by ``make(who)`` (a ``kiosk.store.receipts.Reprint``); staff only."""
        who = self.require()
        copy = make(who)
        self._emit(Notice("info", f"receipt {copy.sale.receipt_no} reprinted (copy {copy.copy}) by {who}"))
        return copy.text

    def void(self, line_id: str) -> None:
        who = self.require()
        with self._lock:
            self._cart.void(line_id, by=who)
            view = self._cart_view()
        self._emit(CartChanged(view))

    def override_price(self, line_id: str, paise: int) -> str:
        """Re-price a line (``paise`` per unit, or per kg for weighed lines); the old line is voided."""
        who = self.require()
        if isinstance(paise, bool) or not isinstance(paise, int) or paise < 0:
            raise CheckoutError(f"price override must be whole paise >= 0, got {paise!r}")
        with self._lock:
            old = self._cart.open_line(line_id)
            new = CartLine(line_id=uuid.uuid4().hex, sku=old.sku, name=old.name, sold_by=old.sold_by,
                           unit_price=paise, gst_bp=old.gst_bp, qty=old.qty, net_grams=old.net_grams)
            stored = self._cart.replace(line_id, new, who)
            view = self._cart_view()
        self._emit(CartChanged(view), Notice("info", f"{old.name}: price {format_inr(old.unit_price)} → "
                                                     f"{format_inr(paise)} by {who}"))
        return stored.line_id
