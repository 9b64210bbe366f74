"""Browse by picture: the catalog's active SKUs in a few departments a shopper recognises at a glance (fruit,
vegetables, dairy, drinks, other), for an item the camera does not know and the shopper cannot spell.

Departments come from the SKU's HSN code (the customs chapter every Indian retailer files GST under: 07
vegetables, 08 fruit, 04 dairy, 2009/22 drinks), so a new catalog needs no extra column. Within a department the
SKUs come in name order, produce first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from kiosk.services.errors import CheckoutError
from kiosk.services.events import BrowseGroup, SuggestionView

__all__ = ["DEPARTMENTS", "Browser", "department_of"]

log = logging.getLogger(__name__)

#: (key, title, HSN prefixes), in the order shown; "other" takes the rest
DEPARTMENTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("fruit", "Fruit", ("08",)),
    ("vegetables", "Vegetables", ("07", "0910")),
    ("dairy", "Dairy", ("04",)),
    ("drinks", "Drinks", ("2009", "22")),
    ("other", "Other", ()),
)


def department_of(hsn: str) -> str:
    code = str(hsn or "").strip()
    best, length = "other", 0
    for key, _title, prefixes in DEPARTMENTS:
        for prefix in prefixes:
            if code.startswith(prefix) and len(prefix) > length:
                best, length = key, len(prefix)
    return best


class Browser:
    """``active_skus()``: the catalog's SKUs on sale; ``view(sku)``: its suggestion view (score 1.0)."""

    def __init__(self, active_skus: Callable[[], Iterable[Any]], view: Callable[[Any], SuggestionView]) -> None:
        self._active_skus, self._view = active_skus, view

    def _by_department(self) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {key: [] for key, _t, _p in DEPARTMENTS}
        try:
            skus = list(self._active_skus())
        except Exception:  # noqa: BLE001 - browsing must never break the checkout
            log.exception("browse: the catalog could not be read")
            return out
        for sku in sorted(skus, key=lambda s: (s.sold_by != "weight", s.name.casefold())):
            out[department_of(sku.hsn)].append(sku)
        return out

    def groups(self) -> list[BrowseGroup]:
        """The departments that hold at least one SKU, each with a product photo to show."""
        found = self._by_department()
        out = []
        for key, title, _prefixes in DEPARTMENTS:
            skus = found[key]
            if skus:
                image = next((v.image_path for v in map(self._view, skus[:8]) if v.image_path), "")
                out.append(BrowseGroup(key, title, image, len(skus)))
        return out

    def items(self, group: str) -> list[SuggestionView]:
        found = self._by_department()
        if group not in found:
            raise CheckoutError(f"no department {group!r} to browse (one of {', '.join(found)})")
        return [self._view(s) for s in found[group]]
