"""The catalog as the checkout sees it: SKUs by id (must exist and be on sale to be sold) and manual search.

The catalog connection is shared with the model updater's compatibility check (another thread): every call
holds the catalog lock.
"""

from __future__ import annotations

import logging
import threading

from kiosk.services.errors import CheckoutError
from kiosk.services.events import SuggestionView
from kiosk.services.views import Presenter

__all__ = ["Shelf"]

log = logging.getLogger(__name__)


class Shelf:
    def __init__(self, catalog, lock: threading.RLock, views: Presenter) -> None:
        self.catalog, self.lock, self._views = catalog, lock, views

    def find(self, sku_id: str):
        """The SKU or ``None`` (inactive ones too)."""
        with self.lock:
            return self.catalog.find(sku_id)

    def row(self, sku_id: str) -> dict[str, str] | None:
        """The SKU's catalog row as the catalog CSV writes it (None: not in the catalog)."""
        from catalog.model import sku_to_fields

        sku = self.find(sku_id)
        return sku_to_fields(sku) if sku is not None else None

    def active(self, sku_id: str):
        """The SKU, refused with a one-line CheckoutError when it is unknown or not on sale."""
        sku = self.find(sku_id)
        if sku is None:
            raise CheckoutError(f"unknown SKU {sku_id!r}: not in the catalog {getattr(self.catalog, 'path', '')}")
        if not sku.active:
            raise CheckoutError(f"{sku.name} ({sku_id}) is not on sale")
        return sku

    def search(self, text: str, limit: int = 12) -> list[SuggestionView]:
        """By name, group or PLU (active SKUs only), as suggestion views with score 1.0. Never raises: whatever
        the shopper typed, the answer is a (maybe empty) list."""
        try:
            with self.lock:
                found = self.catalog.search(text, limit=limit)
            return [self._views.suggestion(s, 1.0) for s in found]
        except Exception:  # noqa: BLE001 - a search must never break the checkout
            log.exception("search failed (%d characters typed)", len(text) if isinstance(text, str) else -1)
            return []
