"""Catalog schema as an ordered list of migrations, applied when a catalog file is opened.

``schema_version`` holds one row per applied migration (version, name, applied_at). To change
the schema, append ONE function to :data:`MIGRATIONS`; never edit one that has shipped. Each
migration runs in its own transaction together with its ``schema_version`` row, so a crash
mid-migration leaves the file at the previous version.

What the code reads is checked before it is read (:func:`check_objects`, :func:`check_columns`): a catalog file holds
the tables of :data:`TABLES` as plain tables with at least those columns, none of them computed, and no view or
trigger at all (the schema has none, and one could change a price between the file and the bill).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from sqlite_utils import Database

from kiosk.errors import CatalogError

__all__ = ["MIGRATIONS", "TABLES", "Migration", "check_columns", "check_objects", "current_version", "migrate"]

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


#: The catalog's tables and the columns the code reads and writes in each, at the newest version (a migration that
#: adds a column the code needs adds it here too).
TABLES: dict[str, tuple[str, ...]] = {
    "schema_version": ("version", "name", "applied_at"),
    "skus": ("sku", "name", "group_name", "sold_by", "price_paise", "gst_bp", "hsn", "plu", "unit_weight_min_g",
             "unit_weight_max_g", "active", "image", "updated_at"),
    "barcodes": ("barcode", "sku", "position"),
}
#: The primary key of each table: what makes one SKU one row and one barcode one SKU's.
KEYS = {"schema_version": "version", "skus": "sku", "barcodes": "barcode"}


def _where(db: Database) -> str:
    return db.conn.execute("PRAGMA database_list").fetchone()[2] or "catalog"


def check_objects(db: Database, where: str | None = None) -> None:
    """Refuse a file whose views or triggers could change what is read or written behind the code's back (a
    catalog has none), or whose catalog tables are not plain tables. Reads only."""
    where = where or _where(db)
    rows = db.execute("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master").fetchall()
    for kind, name, table, _sql in rows:
        if kind in ("view", "trigger"):
            on = f" on {table}" if kind == "trigger" else ""
            raise CatalogError(f"{where}: not a usable catalog: it holds the {kind} {name!r}{on}, and a catalog has "
                               "no views or triggers (re-create it with `checkout catalog import`)")
    for kind, name, _table, sql in rows:
        if name in TABLES and (kind != "table" or sql.lstrip().upper().startswith("CREATE VIRTUAL")):
            raise CatalogError(f"{where}: not a usable catalog: {name} is a virtual table, not a plain table")


def check_columns(db: Database, where: str | None = None) -> None:
    """Refuse a catalog that lacks a table or a column the code reads, or computes one (a generated column)."""
    where = where or _where(db)
    tables = set(db.table_names())
    for table, needed in TABLES.items():
        if table not in tables:
            raise CatalogError(f"{where}: not a usable catalog: no {table} table")
        info = db.execute(f"PRAGMA table_xinfo([{table}])").fetchall()  # cid, name, type, notnull, dflt, pk, hidden
        computed = sorted(r[1] for r in info if r[6] in (2, 3) and r[1] in needed)
        if computed:
            raise CatalogError(f"{where}: not a usable catalog: {table}.{', '.join(computed)} is computed (a "
                               "generated column), not stored")
        have = {r[1] for r in info}
        missing = [c for c in needed if c not in have]
        if missing:
            raise CatalogError(f"{where}: not a usable catalog: {table} lacks the column(s) {', '.join(missing)}")
        keys = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
        if table in KEYS and keys != [KEYS[table]]:
            raise CatalogError(f"{where}: not a usable catalog: {table}'s primary key is {', '.join(keys) or 'none'}, "
                               f"not {KEYS[table]} (the same {KEYS[table]} could be there twice)")
    if not _unique(db, "skus", "plu"):
        raise CatalogError(f"{where}: not a usable catalog: skus.plu is not unique (one PLU could name two SKUs)")


def _unique(db: Database, table: str, column: str) -> bool:
    for index in db.execute(f"PRAGMA index_list([{table}])").fetchall():  # seq, name, unique, origin, partial
        if index[2] and not index[4]:
            columns = [r[2] for r in db.execute(f"PRAGMA index_info([{index[1]}])").fetchall()]
            if columns == [column]:
                return True
    return False


def current_version(db: Database) -> int:
    """The newest applied migration (0: none); :class:`CatalogError` when ``schema_version`` holds something else."""
    if "schema_version" not in db.table_names():
        return 0
    row = db.execute("SELECT max(version), count(*) FROM schema_version "
                     "WHERE typeof(version) != 'integer' OR version < 1").fetchone()
    if row[1]:
        raise CatalogError(f"{_where(db)}: not a usable catalog: schema_version holds {row[0]!r}, not a version "
                           "number")
    row = db.execute("SELECT max(version) FROM schema_version").fetchone()
    return row[0] or 0


def migrate(db: Database, migrations: Sequence[tuple[str, Migration]] = MIGRATIONS) -> list[int]:
    """Apply the migrations the file lacks, in order; returns the versions applied."""
    if "schema_version" not in db.table_names():
        db.execute("CREATE TABLE IF NOT EXISTS schema_version "
                   "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    have = current_version(db)
    if have > len(migrations):
        raise CatalogError(f"{_where(db)}: schema version {have} is newer than this program knows ({len(migrations)}); "
                           "upgrade the kiosk software")
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
