"""The shopping cart: an ordered list of priced lines, opened, edited, then closed once.

Merging policy: **repeated unit items are never merged** in the cart. Every add (one
recognised item, one scan, one weighing) is its own :class:`CartLine` with its own id, so a
single item can be removed, voided or corrected by staff without touching the others, and
the kiosk's store stays an append-only log of what the customer saw. The printed receipt
consolidates identical unit lines (same SKU, unit price and GST rate) into one row with
the summed quantity; see :mod:`kiosk.domain.receipt`.

``remove`` takes a line out as if it was never added (the customer put the item back);
``void`` keeps the line for the audit trail but excludes it from every total.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from kiosk.domain.pricing import (
    GST_RATES_BP,
    Bill,
    SoldBy,
    compute_bill,
    line_items,
    unit_line_total,
    weighed_line_total,
)

__all__ = ["CartError", "CartLine", "Cart", "MAX_UNIT_QTY", "MAX_NET_GRAMS", "MAX_CART_LINES"]

#: Largest quantity one unit line may carry (a kiosk is not a wholesale till).
MAX_UNIT_QTY = 999
#: Largest net weight of one weighed line, in grams (above any retail scale's capacity).
MAX_NET_GRAMS = 100_000
#: Most lines one cart may hold, voided ones included (a shopper's basket, not a warehouse: a cart rebuilt from
#: forged rows with more is refused rather than replayed line by line).
MAX_CART_LINES = 2_000


class CartError(ValueError):
    """A cart operation that is not allowed: bad quantity/weight, unknown line, closed cart."""


def new_line_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class CartLine:
    """One line of the cart. ``qty`` is set for unit items, ``net_grams`` for weighed ones.

    ``unit_price`` is paise per unit for unit items and paise per kg for weighed items;
    ``total`` is the tax-inclusive line amount in paise (computed, never passed in).
    ``replaces``: the id of the line this one stands in for (a staff correction or price override voids the old
    line and adds this one, which the cart lists in the old line's place).
    """

    line_id: str
    sku: str
    name: str
    sold_by: SoldBy
    unit_price: int
    gst_bp: int
    qty: int | None = None
    net_grams: int | None = None
    voided: bool = False
    replaces: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sold_by", SoldBy(self.sold_by))
        if not self.line_id or not isinstance(self.line_id, str):
            raise CartError("line id must be a non-empty string")
        if not self.sku or not isinstance(self.sku, str):
            raise CartError(f"line needs a SKU (a non-empty string), got {type(self.sku).__name__}")
        if not isinstance(self.name, str):
            raise CartError(f"{self.sku}: name must be a string, got {type(self.name).__name__}")
        if self.replaces is not None and not isinstance(self.replaces, str):
            raise CartError(f"{self.sku}: replaces must be a line id (string), got {type(self.replaces).__name__}")
        if not isinstance(self.voided, bool):
            raise CartError(f"{self.sku}: voided must be true or false, got {type(self.voided).__name__}")
        for name in ("unit_price", "gst_bp"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise CartError(f"{name} must be int, got {v!r}")
        if self.unit_price < 0:
            raise CartError(f"{self.sku}: price must not be negative, got {self.unit_price}")
        if self.gst_bp not in GST_RATES_BP:
            raise CartError(f"{self.sku}: GST rate {self.gst_bp} bp is not an accepted slab")
        if self.sold_by is SoldBy.UNIT:
            if self.net_grams is not None:
                raise CartError(f"{self.sku} is sold by unit: a weight makes no sense")
            if isinstance(self.qty, bool) or not isinstance(self.qty, int) or not 1 <= self.qty <= MAX_UNIT_QTY:
                raise CartError(f"{self.sku}: quantity must be a whole number 1..{MAX_UNIT_QTY}, got {self.qty!r}")
        else:
            if self.qty is not None:
                raise CartError(f"{self.sku} is sold by weight: give net grams, not a quantity")
            g = self.net_grams
            if isinstance(g, bool) or not isinstance(g, int) or not 1 <= g <= MAX_NET_GRAMS:
                raise CartError(f"{self.sku}: net weight must be 1..{MAX_NET_GRAMS} g, got {g!r} g")

    @property
    def total(self) -> int:
        if self.sold_by is SoldBy.UNIT:
            return unit_line_total(self.unit_price, self.qty)
        return weighed_line_total(self.unit_price, self.net_grams)

    @classmethod
    def unit(cls, sku: str, name: str, unit_price: int, gst_bp: int, qty: int = 1, *,
             line_id: str | None = None, replaces: str | None = None) -> CartLine:
        return cls(line_id or new_line_id(), sku, name, SoldBy.UNIT, unit_price, gst_bp, qty=qty, replaces=replaces)

    @classmethod
    def weighed(cls, sku: str, name: str, price_per_kg: int, gst_bp: int, net_grams: int, *,
                line_id: str | None = None, replaces: str | None = None) -> CartLine:
        return cls(line_id or new_line_id(), sku, name, SoldBy.WEIGHT, price_per_kg, gst_bp, net_grams=net_grams,
                   replaces=replaces)

    def to_dict(self) -> dict:
        return {
            "line_id": self.line_id,
            "sku": self.sku,
            "name": self.name,
            "sold_by": self.sold_by.value,
            "unit_price": self.unit_price,
            "gst_bp": self.gst_bp,
            "qty": self.qty,
            "net_grams": self.net_grams,
            "voided": self.voided,
            "total": self.total,
            **({"replaces": self.replaces} if self.replaces else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> CartLine:
        return cls(
            line_id=d["line_id"], sku=d["sku"], name=d["name"], sold_by=SoldBy(d["sold_by"]),
            unit_price=d["unit_price"], gst_bp=d["gst_bp"], qty=d.get("qty"), net_grams=d.get("net_grams"),
            voided=d.get("voided", False), replaces=d.get("replaces") or None,
        )


def _in_place(lines: Iterable[CartLine], cart_id: str) -> list[CartLine]:
    """``lines`` in the order :meth:`Cart._insert` one by one gives them — a line that replaces an earlier one right
    after it, the later of two replacements first — in one pass (a stored cart of any size loads in linear time: one
    by one, 16,000 replacing lines took 60 s)."""
    roots: list[CartLine] = []
    after: dict[str, list[CartLine]] = {}
    for line in lines:
        if line.line_id in after:
            raise CartError(f"line {line.line_id!r} is already in cart {cart_id}")
        (after[line.replaces] if line.replaces in after else roots).append(line)
        after[line.line_id] = []
    ordered, stack = [], list(reversed(roots))
    while stack:
        line = stack.pop()
        ordered.append(line)
        stack.extend(after[line.line_id])  # the latest replacement on top: it comes right after the line
    return ordered


class Cart:
    """An open cart holds lines in the order they were added — a line that replaces another (``replaces``) in the
    place of the one it replaces, so a correction never moves an item; :meth:`close` freezes it."""

    def __init__(self, cart_id: str | None = None, lines: Iterable[CartLine] = (), *, closed: bool = False,
                 id_factory: Callable[[], str] = new_line_id) -> None:
        self.cart_id = cart_id or uuid.uuid4().hex
        self._lines: dict[str, CartLine] = {line.line_id: line for line in _in_place(lines, self.cart_id)}
        self._id_factory = id_factory
        self._closed = closed

    # -- reading -------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def lines(self) -> tuple[CartLine, ...]:
        """Active (not voided) lines in the order they were added."""
        return tuple(line for line in self._lines.values() if not line.voided)

    @property
    def all_lines(self) -> tuple[CartLine, ...]:
        """Every line still in the cart, voided ones included (for the audit trail)."""
        return tuple(self._lines.values())

    def line(self, line_id: str) -> CartLine:
        try:
            return self._lines[line_id]
        except KeyError:
            raise CartError(f"no line {line_id!r} in cart {self.cart_id}") from None

    def original(self, line: CartLine) -> CartLine | None:
        """The (voided) line ``line`` replaced — a staff correction or price override — or ``None``."""
        return self._lines.get(line.replaces) if line.replaces else None

    def chain(self, line: CartLine) -> tuple[CartLine, ...]:
        """``line`` and the lines it stands in for (staff corrections and price overrides one after another, through
        ``replaces``), the first first."""
        out, seen = [line], {line.line_id}
        while (before := self.original(out[-1])) is not None and before.line_id not in seen:
            seen.add(before.line_id)
            out.append(before)
        return tuple(reversed(out))

    def first(self, line: CartLine) -> CartLine | None:
        """The line ``line`` stands in for at the start of its chain (before the first staff change), or ``None``."""
        first = self.chain(line)[0]
        return first if first is not line else None

    def shown_change(self, line: CartLine) -> tuple[str, CartLine | None]:
        """What a shopper is told staff changed on ``line``, against the line's FIRST state (several changes in a row
        tell the first price or item, not only the last step's): ``("corrected", first)`` (another item),
        ``("price", first)`` or ``("", None)``."""
        first = self.first(line)
        if first is None:
            return "", None
        return ("corrected" if first.sku != line.sku else "price"), first

    def change_kind(self, line: CartLine) -> str:
        """How staff changed ``line``: ``"corrected"`` (another SKU), ``"price"`` (another price), ``""`` (not)."""
        before = self.original(line)
        if before is None:
            return ""
        return "corrected" if before.sku != line.sku else "price"

    def __len__(self) -> int:
        return len(self.lines)

    def __contains__(self, line_id: object) -> bool:
        return line_id in self._lines

    @property
    def total(self) -> int:
        """Gross of active lines in paise (before the rupee round-off)."""
        return sum(line.total for line in self.lines)

    def bill(self) -> Bill:
        return compute_bill((line.total, line.gst_bp, line_items(line.sold_by, line.qty)) for line in self.lines)

    # -- editing -------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise CartError(f"cart {self.cart_id} is closed")

    def _insert(self, line: CartLine) -> None:
        if line.line_id in self._lines:
            raise CartError(f"line {line.line_id!r} is already in cart {self.cart_id}")
        if line.replaces not in self._lines:
            self._lines[line.line_id] = line
            return
        items = list(self._lines.items())
        at = next(i for i, (line_id, _) in enumerate(items) if line_id == line.replaces) + 1
        items.insert(at, (line.line_id, line))
        self._lines = dict(items)

    def add(self, line: CartLine) -> CartLine:
        """Append a prepared line (its id must be new). Returns it."""
        self._check_open()
        if line.voided:
            raise CartError("cannot add a voided line")
        if len(self._lines) >= MAX_CART_LINES:
            raise CartError(f"cart {self.cart_id} already holds {MAX_CART_LINES} lines: no more")
        self._insert(line)
        return line

    def add_unit(self, sku: str, name: str, unit_price: int, gst_bp: int, qty: int = 1) -> CartLine:
        return self.add(CartLine.unit(sku, name, unit_price, gst_bp, qty, line_id=self._id_factory()))

    def add_weighed(self, sku: str, name: str, price_per_kg: int, gst_bp: int, net_grams: int) -> CartLine:
        return self.add(CartLine.weighed(sku, name, price_per_kg, gst_bp, net_grams, line_id=self._id_factory()))

    def remove(self, line_id: str) -> CartLine:
        """Take a line out entirely (as if never added). Returns the removed line."""
        self._check_open()
        line = self.line(line_id)
        del self._lines[line_id]
        return line

    def void(self, line_id: str) -> CartLine:
        """Mark a line voided: it stays listed for audit but counts for nothing."""
        self._check_open()
        line = self.line(line_id)
        if line.voided:
            raise CartError(f"line {line_id!r} is already voided")
        voided = replace(line, voided=True)
        self._lines[line_id] = voided
        return voided

    def close(self) -> Cart:
        """Freeze the cart (no more edits). An empty cart cannot be closed."""
        self._check_open()
        if not self.lines:
            raise CartError(f"cart {self.cart_id} has no items to pay for")
        self._closed = True
        return self
