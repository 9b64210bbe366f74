"""The open cart as committed in the kiosk's :class:`~kiosk.store.SalesStore`, and every change to it.

Each change is committed (fsynced) before the cart is read back, so what listeners are shown is what the store
holds; a line's provenance (photo, top-k, model version, grams, who chose it) is committed with the line.
The service's lock guards a :class:`CartKeeper`; it has none of its own.

While the shopper is paying (:meth:`CartKeeper.freeze`: the payment page shows the total) the open cart does not
change: every add, removal, void or replacement is refused with :data:`FROZEN` until :meth:`CartKeeper.unfreeze`
(the shopper went back to the cart) or the sale (a new cart is not frozen). While a tap on Pay waits for the
terminal (:meth:`CartKeeper.start_paying`, the service's lock let go meanwhile) the cart is frozen too, whatever the
page did. Once a payment is under way with the terminal the store itself refuses changes too (``SalesStore`` while an
intent is live).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from kiosk.domain.cart import Cart, CartLine
from kiosk.services.errors import CheckoutError
from kiosk.store import LineProvenance, Sale
from kiosk.store.sales import AuditRow
from kiosk.weighing import forced_tare

__all__ = ["CartKeeper", "FROZEN", "weighed_line"]

#: why the cart does not change while the shopper is on the payment page
FROZEN = "finish or cancel the payment first: the bill cannot change while you pay"


def weighed_line(sku, gross_grams: int, chosen_tare_grams: int, rules) -> tuple[CartLine, tuple[int, int]]:
    """The line of by-weight ``sku`` (a catalog SKU) for ``gross_grams`` on the scale with ``chosen_tare_grams`` (a
    bag, a container; 0: none) in force, under the weighing ``rules``: net = gross − the larger of the chosen tare
    and the SKU's forced tare (legal metrology: the container is never sold). Returned with ``(gross, chosen tare)``
    as stored with the line. The shopper's choice and a staff correction both price a weighed item here, so a
    correction bills what choosing that SKU would have."""
    tare = max(int(chosen_tare_grams), forced_tare(sku, rules))
    net = int(gross_grams) - tare
    if net < rules.min_grams:
        raise CheckoutError(f"{sku.name}: {net} g net ({gross_grams} g less {tare} g tare) is under the scale's "
                            f"minimum of {rules.min_grams} g: weigh it again")
    line = CartLine.weighed(sku.sku, sku.name, sku.price_paise, sku.gst_bp, net)
    return line, (int(gross_grams), int(chosen_tare_grams))


class CartKeeper:
    def __init__(self, store) -> None:
        self.store = store
        self.cart: Cart = store.open_cart()
        self._frozen: str | None = None  # the id of the cart the shopper is paying for
        self._paying: str | None = None  # the id of the cart a tap on Pay is asking the terminal about now

    def reload(self) -> None:
        self.cart = self.store.open_cart()

    # -- the shopper is paying ----------------------------------------------------------------------
    def freeze(self) -> Cart:
        """The shopper is paying the open cart as it is now (returned): nothing changes it until :meth:`unfreeze` or
        its sale."""
        if not self.cart.lines:
            raise CheckoutError("nothing to pay: the cart is empty")
        self._frozen = self.cart.cart_id
        return self.cart

    def unfreeze(self) -> None:
        self._frozen = None

    def start_paying(self) -> None:
        """A tap on Pay asks the terminal about the open cart: frozen until :meth:`stop_paying` or its sale; a second
        tap meanwhile is refused."""
        if self._paying is not None and self._paying == self.cart.cart_id:
            raise CheckoutError(f"cart {self.cart.cart_id} already has a payment in progress")
        self._paying = self.cart.cart_id

    def stop_paying(self) -> None:
        self._paying = None

    @property
    def frozen(self) -> bool:
        """The shopper is paying the open cart (a sale ends it: the next cart is another)."""
        return self.cart.cart_id in (self._frozen, self._paying)

    def refuse_while_frozen(self) -> None:
        if self.frozen:
            raise CheckoutError(FROZEN)

    # -- changes ---------------------------------------------------------------------------------------
    def add(self, line: CartLine, provenance: LineProvenance | None = None,
            weighed: tuple[int, int] | None = None, removes: str | None = None, *, by: str = "",
            audit_with: Sequence[AuditRow] = ()) -> CartLine:
        """``weighed``: a weighed line's ``(gross grams, chosen tare grams)`` (:func:`weighed_line`); ``removes``: a
        line the new one takes the place of, removed in the same store transaction; ``by``: who put it on the bill
        (empty: the shopper), with the rows ``audit_with`` in that transaction too."""
        self.refuse_while_frozen()
        try:
            stored = self.store.add_line(line, provenance, weighed=weighed, removes=removes, by=by,
                                         audit_with=audit_with)
        finally:
            self.reload()
        return stored

    def open_line(self, line_id: str) -> CartLine:
        if line_id not in self.cart:
            raise CheckoutError(f"no line {line_id!r} in the open cart")
        line = self.cart.line(line_id)
        if line.voided:
            raise CheckoutError(f"line {line_id!r} is voided")
        return line

    def current(self, line_id: str) -> CartLine | None:
        """The line on the bill that stands for ``line_id`` now: the line itself, or the line a staff correction or
        price override put in its place (followed through each one); None when it is not on the bill any more
        (voided or taken off with nothing in its place, or never in this cart)."""
        if line_id not in self.cart:
            return None
        after = {line.replaces: line for line in self.cart.all_lines if line.replaces}
        line, seen = self.cart.line(line_id), {line_id}
        while line.voided and line.line_id in after and after[line.line_id].line_id not in seen:
            line = after[line.line_id]
            seen.add(line.line_id)
        return None if line.voided else line

    def remove(self, line_id: str, by: str = "shopper", audit_with: Sequence[AuditRow] = ()) -> None:
        """Take an open line off the bill (a voided one is refused: it is the record of what it was), with the rows
        ``audit_with`` in the same store transaction."""
        self.refuse_while_frozen()
        self.open_line(line_id)
        try:
            self.store.remove_line(line_id, by=by, audit_with=audit_with)
        finally:
            self.reload()

    def void(self, line_id: str, by: str, audit_with: Sequence[AuditRow] = ()) -> None:
        self.refuse_while_frozen()
        self.open_line(line_id)
        try:
            self.store.void_line(line_id, by=by, audit_with=audit_with)
        finally:
            self.reload()

    def provenance(self, line_id: str) -> LineProvenance | None:
        return self.store.provenance(line_id)

    def provenance_dict(self, line_id: str) -> dict:
        p = self.provenance(line_id)
        return {} if p is None else {"placement_id": p.placement_id, "image": p.image_path,
                                     "recognised_sku": p.recognised_sku, "model_version": p.model_version,
                                     "scale_grams": p.scale_grams, "chooser": p.chooser}

    def replace(self, line_id: str, new: CartLine, who: str, *, weighed: tuple[int, int] | None = None,
                correction: dict | None = None, audit_with: Sequence[AuditRow] = ()) -> CartLine:
        """Staff: ``new`` takes the place of ``line_id`` (voided; ``new`` is listed where it was), keeping its
        provenance. ONE store transaction (``SalesStore.replace_line``: the new line, the void, their audit rows,
        ``correction`` and ``audit_with``): a crash or an error leaves the old line or the new one, never both, never
        neither."""
        self.refuse_while_frozen()
        self.open_line(line_id)
        before = self.provenance(line_id)
        provenance = replace(before, chooser="staff") if before is not None else None
        try:
            stored = self.store.replace_line(line_id, new, provenance, by=who, weighed=weighed, correction=correction,
                                             audit_with=audit_with)
        finally:
            self.reload()
        return stored

    def pay(self, method: str, payment_ref: str) -> Sale:
        if not self.cart.lines:
            raise CheckoutError("nothing to pay: the cart is empty")
        sale = self.store.pay(self.cart.cart_id, method=method, payment_ref=payment_ref)
        self.reload()
        return sale
