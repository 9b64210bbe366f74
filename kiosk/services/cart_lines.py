"""The open cart as committed in the kiosk's :class:`~kiosk.store.SalesStore`, and every change to it.

Each change is committed (fsynced) before the cart is read back, so what listeners are shown is what the store
holds; a line's provenance (photo, top-k, model version, grams, who chose it) is committed with the line.
The service's lock guards a :class:`CartKeeper`; it has none of its own.
"""

from __future__ import annotations

from dataclasses import replace

from kiosk.domain.cart import Cart, CartLine
from kiosk.services.errors import CheckoutError
from kiosk.store import LineProvenance, Sale

__all__ = ["CartKeeper"]


class CartKeeper:
    def __init__(self, store) -> None:
        self.store = store
        self.cart: Cart = store.open_cart()

    def reload(self) -> None:
        self.cart = self.store.open_cart()

    def add(self, line: CartLine, provenance: LineProvenance | None = None) -> CartLine:
        stored = self.store.add_line(line, provenance)
        self.reload()
        return stored

    def open_line(self, line_id: str) -> CartLine:
        if line_id not in self.cart:
            raise CheckoutError(f"no line {line_id!r} in the open cart")
        line = self.cart.line(line_id)
        if line.voided:
            raise CheckoutError(f"line {line_id!r} is voided")
        return line

    def remove(self, line_id: str, by: str = "shopper") -> None:
        if line_id not in self.cart:
            raise CheckoutError(f"no line {line_id!r} in the open cart")
        self.store.remove_line(line_id, by=by)
        self.reload()

    def void(self, line_id: str, by: str) -> None:
        self.open_line(line_id)
        self.store.void_line(line_id, by=by)
        self.reload()

    def provenance(self, line_id: str) -> LineProvenance | None:
        return self.store.provenance(line_id)

    def provenance_dict(self, line_id: str) -> dict:
        p = self.provenance(line_id)
        return {} if p is None else {"placement_id": p.placement_id, "image": p.image_path,
                                     "recognised_sku": p.recognised_sku, "model_version": p.model_version,
                                     "scale_grams": p.scale_grams, "chooser": p.chooser}

    def replace(self, line_id: str, new: CartLine, who: str) -> CartLine:
        """Staff: ``new`` takes the place of ``line_id`` (voided; ``new`` is listed where it was), keeping its
        provenance. The new line is committed first: a crash in between shows both, never neither."""
        before = self.provenance(line_id)
        provenance = replace(before, chooser="staff") if before is not None else None
        stored = self.add(replace(new, replaces=line_id), provenance)
        self.store.void_line(line_id, by=who)
        self.reload()
        return stored

    def pay(self, method: str, payment_ref: str) -> Sale:
        if not self.cart.lines:
            raise CheckoutError("nothing to pay: the cart is empty")
        sale = self.store.pay(self.cart.cart_id, method=method, payment_ref=payment_ref)
        self.reload()
        return sale
