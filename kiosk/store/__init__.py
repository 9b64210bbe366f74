"""The kiosk's own SQLite file: open cart, closed sales, staff corrections (stdlib sqlite3 + kiosk.domain)."""

from kiosk.store.sales import SCHEMA_VERSION, Correction, LineProvenance, Sale, SalesStore, StoreError, read_corrections

__all__ = ["SCHEMA_VERSION", "Correction", "LineProvenance", "Sale", "SalesStore", "StoreError", "read_corrections"]
