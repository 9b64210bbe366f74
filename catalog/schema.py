"""Catalog schema as an ordered list of migrations, applied when a catalog file is opened.

``schema_version`` holds one row per applied migration (version, name, applied_at). To change
the schema, append ONE function to :data:`MIGRATIONS`; never edit one that has shipped. Each
migration runs in its own transaction together with its ``schema_version`` row, so a crash
mid-migration leaves the file at the previous version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from sqlite_utils import Database

from kiosk.errors import CatalogError

__all__ = ["MIGRATIONS", "Migration", "current_version", "migrate"]

Migration = Callable[[Database], None]


def _001_initial(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE skus (
            sku TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL CHECK (length(trim(name)) > 0),
            group_name TEXT NOT NULL,
            sold_by TEXT NOT NULL CHECK (sold_by IN ('unit', 'weight')),
            price_paise INTEGER NOT NULL CHECK (typeof(price_paise) = 'integer' AND price_paise > 0),
            gst_bp INTEGER NOT NULL CHECK (gst_bp IN (0, 500, 1200, 1800, 2800)),
            hsn TEXT NOT NULL,
            plu TEXT UNIQUE,
            unit_weight_min_g INTEGER CHECK (unit_weight_min_g IS NULL OR unit_weight_min_g > 0),
            unit_weight_max_g INTEGER CHECK (unit_weight_max_g IS NULL OR unit_weight_max_g >= unit_weight_min_g
                                             OR unit_weight_min_g IS NULL),
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            image TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE barcodes (
            barcode TEXT PRIMARY KEY NOT NULL,
            sku TEXT NOT NULL REFERENCES skus(sku) ON DELETE CASCADE,
            position INTEGER NOT NULL DEFAULT 0
        )
        """
    )


def _002_search_indexes(db: Database) -> None:
    db.execute("CREATE INDEX idx_barcodes_sku ON barcodes(sku, position)")
    db.execute("CREATE INDEX idx_skus_active_name ON skus(active, name COLLATE NOCASE)")


#: (name, function) in the order they apply; version = position + 1.
MIGRATIONS: tuple[tuple[str, Migration], ...] = (
    ("initial", _001_initial),
    ("search-indexes", _002_search_indexes),
)


def current_version(db: Database) -> int:
    if "schema_version" not in db.table_names():
        return 0
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    return row[0] or 0


def migrate(db: Database, migrations: Sequence[tuple[str, Migration]] = MIGRATIONS) -> list[int]:
    """Apply the migrations the file lacks, in order; returns the versions applied."""
    if "schema_version" not in db.table_names():
        db.execute("CREATE TABLE IF NOT EXISTS schema_version "
                   "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    have = current_version(db)
    if have > len(migrations):
        raise CatalogError(
            f"{db.conn.execute('PRAGMA database_list').fetchone()[2] or 'catalog'}: schema version {have} is newer "
            f"than this program knows ({len(migrations)}); upgrade the kiosk software"
        )
    applied = []
    for version, (name, fn) in enumerate(migrations, start=1):
        if version <= have:
            continue
        with db.atomic():
            fn(db)
            db.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                       [version, name, datetime.now(timezone.utc).isoformat(timespec="seconds")])
        applied.append(version)
    return applied
