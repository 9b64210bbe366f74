"""Staff at the till say what today's unlabelled items were: "Not recognised today" behind the PIN.

An item the model did not know (``unknown``), or one the shopper took away before anything was chosen (``""``),
never became a bill line: its feedback row goes to head office with no label. The staff who came when the shopper
called often know what it was. :func:`today` lists the store day's such placements whose tray crop is kept (newest
first, at most :data:`LIMIT`); :func:`label` records the SKU staff picked (active in the catalog) as a staff-trusted
label (chooser ``staff:<id>``), :func:`not_a_product` records that it was no product (chooser
``not-a-product:<id>``, no label: head office's collect leaves it out of training and of review). Either raises the
row's revision, so a row already sent is sent again and head office keeps the higher revision; each writes its
audit row (``staff.label_placement``) in the same store transaction. Neither touches a bill: no supervisor is
needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from kiosk.services.errors import CheckoutError
from kiosk.services.events import Notice

__all__ = ["LIMIT", "NOT_A_PRODUCT", "UnlabelledView", "label", "not_a_product", "today"]

LIMIT = 100
#: the chooser word of a placement staff said is no product (head office's Label page calls it the same)
NOT_A_PRODUCT = "not-a-product"


@dataclass(frozen=True)
class UnlabelledView:
    """One of today's unlabelled placements as the staff list shows it: ``time`` HH:MM in the store's zone,
    ``guess`` the name of the model's top-1 ("" when it had none), ``score`` its score (None: none)."""

    placement_id: str
    time: str
    image_path: str
    guess: str
    guess_sku: str
    score: float | None


def _day_bounds(day: date, zone: tzinfo | None) -> tuple[int, int]:
    """``day`` in ``zone`` (None: this process's local zone) as epoch seconds, from its first second to the next
    day's (a day of 23 or 25 hours too)."""
    def start(d: date) -> int:
        t = datetime.combine(d, time(0), tzinfo=zone)
        return int((t if zone is not None else t.astimezone()).timestamp())

    return start(day), start(day + timedelta(days=1))


def today(store: Any, find_sku: Callable[[str], Any], now: datetime, zone: tzinfo | None,
          limit: int = LIMIT) -> list[UnlabelledView]:
    """The store day's placements nobody labelled whose crop is kept, newest first (``now``: the store's clock)."""
    since, until = _day_bounds(now.astimezone(zone).date(), zone)
    out = []
    for r in store.unlabelled_placements(since, until, limit):
        guess = r["recognised_sku"] or (r["top_k"][0][0] if r["top_k"] else "")
        sku = find_sku(guess) if guess else None
        score = next((float(v) for s, v in r["top_k"] if s == guess), None)
        placed = datetime.fromisoformat(r["placed_at"]).astimezone(zone)
        out.append(UnlabelledView(r["placement_id"], placed.strftime("%H:%M"), r["image_path"],
                                  sku.name if sku is not None else guess, guess, score))
    return out


def _write(store: Any, who: str, placement_id: str, sku: str | None, name: str) -> None:
    chooser = f"staff:{who}" if sku else f"{NOT_A_PRODUCT}:{who}"
    row = ("staff.label_placement", who, {"placement_id": placement_id, "sku": sku or "",
                                          "not_a_product": sku is None})
    if not store.label_placement(placement_id, sku, chooser, audit_with=[row]):
        raise CheckoutError(f"{name}: placement {placement_id} is not one nobody labelled today (labelled already, "
                            "on a bill, or its photo is gone)")


def label(desk: Any, store: Any, active_sku: Callable[[str], Any], emit: Callable[..., None], placement_id: str,
          sku_id: str) -> str:
    """Staff (signed in) say placement ``placement_id`` was ``sku_id`` (active in the catalog); returns the SKU."""
    who = desk.require()
    sku = active_sku(sku_id)  # a CheckoutError naming it when the catalog does not sell it
    _write(store, who, placement_id, sku.sku, sku.name)
    emit(Notice("info", f"labelled {sku.name}: it goes to head office as a staff label"))
    return sku.sku


def not_a_product(desk: Any, store: Any, emit: Callable[..., None], placement_id: str) -> None:
    """Staff (signed in) say placement ``placement_id`` was no product (a hand, a bag): kept out of training."""
    who = desk.require()
    _write(store, who, placement_id, None, "not a product")
    emit(Notice("info", "marked not a product: it is kept out of training"))
