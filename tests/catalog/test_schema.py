import sqlite3

import pytest
from sqlite_utils import Database

from catalog.repository import Catalog
from catalog.schema import MIGRATIONS, current_version, migrate
from kiosk.errors import CatalogError


def test_open_applies_all_migrations_once(tmp_path):
    path = tmp_path / "c.sqlite"
    with Catalog.open(path) as c:
        assert c.schema_version == len(MIGRATIONS)
    db = Database(path)
    rows = list(db.query("SELECT version, name FROM schema_version ORDER BY version"))
    assert [r["version"] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    assert migrate(db) == []  # nothing left to apply
    db.close()


def test_a_later_migration_is_one_function(tmp_path):
    path = tmp_path / "c.sqlite"
    Catalog.open(path).close()

    def _003_add_brand(db):
        db.execute("ALTER TABLE skus ADD COLUMN brand TEXT NOT NULL DEFAULT ''")

    with Catalog.open(path, migrations=MIGRATIONS + (("brand", _003_add_brand),)) as c:
        assert c.schema_version == len(MIGRATIONS) + 1
        assert "brand" in c.db["skus"].columns_dict


def test_failed_migration_leaves_previous_version(tmp_path):
    path = tmp_path / "c.sqlite"
    Catalog.open(path).close()

    def _003_broken(db):
        db.execute("ALTER TABLE skus ADD COLUMN half_done TEXT")
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        Catalog.open(path, migrations=MIGRATIONS + (("broken", _003_broken),))
    db = Database(path)
    assert current_version(db) == len(MIGRATIONS)
    assert "half_done" not in db["skus"].columns_dict
    db.close()


def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "c.sqlite"
    Catalog.open(path).close()
    db = Database(path)
    db.execute("INSERT INTO schema_version VALUES (99, 'future', '2030-01-01')")
    db.close()
    with pytest.raises(CatalogError, match="newer"):
        Catalog.open(path)


def test_not_a_database(tmp_path):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="not a usable catalog"):
        Catalog.open(path)


def test_check_constraints_guard_raw_writes(cat):
    with pytest.raises(sqlite3.IntegrityError):
        cat.db.execute("INSERT INTO skus (sku, name, group_name, sold_by, price_paise, gst_bp, hsn, updated_at) "
                       "VALUES ('x', 'X', 'G', 'unit', 100, 700, '1234', 'now')")
    with pytest.raises(sqlite3.IntegrityError):
        cat.db.execute("INSERT INTO skus (sku, name, group_name, sold_by, price_paise, gst_bp, hsn, updated_at) "
                       "VALUES ('x', 'X', 'G', 'unit', 12.5, 500, '1234', 'now')")
