"""Hostile catalog databases: what ``Catalog.open`` and everything reading a catalog (``checkout catalog``, the
kiosk's ``open_catalog``, ``checkout doctor``) do with a SQLite file that is not a catalog, has rows its constraints
would have refused, a wrong schema, views or triggers, another program's write lock, or no write access.

Each is refused in one line naming the file (and the SKU and column for a row), nothing is written into a file that
is only read, and a row that cannot be priced is never sold.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path

import pytest

from catalog import repository
from catalog.model import Sku
from catalog.repository import Catalog
from kiosk.errors import CatalogError


def _sku(sku: str, **kw) -> Sku:
    base = dict(sku=sku, name=sku.title(), group="Fruit", sold_by="unit", price_paise=12000, gst_bp=0, hsn="080440",
                barcodes=())
    base.update(kw)
    return Sku(**base)


@pytest.fixture
def catalog_db(tmp_path) -> Path:
    """A good catalog: avocado (PLU 4046, a barcode) and banana."""
    path = tmp_path / "catalog.sqlite"
    with Catalog.open(path) as cat:
        cat.upsert_many([_sku("avocado", plu="4046", barcodes=("4006381333931",)),
                         _sku("banana", price_paise=6950, sold_by="weight", hsn="080390", plu="107")])
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    """``checkout ARGV`` in this process: exit status, stdout and stderr (without a traceback)."""
    from kiosk.cli import main

    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


def _one_line_error(capsys, *argv: str) -> str:
    rc, _, err = _run(capsys, *argv)
    assert rc == 2 and err.startswith("checkout: error: ") and err.count("\n") == 1, err
    return err


# -- B1: a SQLite file that is not a catalog is refused, and nothing is written into it ---------------------------
def _sales_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE sales (id INTEGER PRIMARY KEY, total_paise INTEGER)")
    conn.execute("INSERT INTO sales (total_paise) VALUES (12000)")
    conn.commit()
    conn.close()
    return path


def test_a_database_that_is_not_a_catalog_is_refused_and_left_as_it_was(tmp_path, capsys):
    from kiosk.services.wiring import open_catalog

    sales = _sales_db(tmp_path / "kiosk.sqlite")
    before = _digest(sales)
    for opener in (lambda: Catalog.open(sales, create=False), lambda: Catalog.open(sales),
                   lambda: open_catalog(sales)):
        with pytest.raises(CatalogError, match=r"kiosk\.sqlite: not a catalog \(no schema_version table\)"):
            opener()
    assert "not a catalog" in _one_line_error(capsys, "catalog", "show", "avocado", "--db", str(sales))
    assert "not a catalog" in _one_line_error(capsys, "catalog", "export", "--db", str(sales))
    assert _digest(sales) == before
    conn = sqlite3.connect(sales)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["sales"]
    conn.close()


def test_an_empty_schema_version_is_not_a_catalog_to_read(tmp_path):
    path = tmp_path / "half.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
    conn.close()
    with pytest.raises(CatalogError, match="not a catalog"):
        Catalog.open(path, create=False)
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["schema_version"]
    conn.close()


def test_a_version_that_is_not_a_number_is_refused(catalog_db):
    conn = sqlite3.connect(catalog_db)
    conn.execute("CREATE TABLE loose AS SELECT * FROM schema_version")  # without INTEGER PRIMARY KEY
    conn.execute("DROP TABLE schema_version")
    conn.execute("ALTER TABLE loose RENAME TO schema_version")
    conn.execute("INSERT INTO schema_version VALUES ('abc', 'x', 'now')")
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match="schema_version"):
        Catalog.open(catalog_db, create=False)


# -- B2: a row the table's constraints would have refused is never sold -------------------------------------------
def _loosen(path: Path) -> None:
    """Rebuild ``skus`` without any constraint but its keys (as a broken tool or a hand edit could leave it)."""
    conn = sqlite3.connect(path)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(skus)")]
    conn.execute("PRAGMA foreign_keys = OFF")
    loose = ["sku PRIMARY KEY" if c == "sku" else "plu UNIQUE" if c == "plu" else c for c in cols]
    conn.execute(f"CREATE TABLE skus_loose ({', '.join(loose)})")
    conn.execute("INSERT INTO skus_loose SELECT * FROM skus")
    conn.execute("DROP TABLE skus")
    conn.execute("ALTER TABLE skus_loose RENAME TO skus")
    conn.execute("CREATE INDEX idx_skus_active_name ON skus(active, name COLLATE NOCASE)")
    conn.commit()
    conn.close()


def _poke(path: Path, column: str, value: object, sku: str = "avocado") -> None:
    _loosen(path)
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE skus SET {column} = ? WHERE sku = ?", [value, sku])
    conn.commit()
    conn.close()


BAD_CELLS = [
    ("price_paise", 12000.5), ("price_paise", 1e19), ("price_paise", None), ("price_paise", "abc"),
    ("price_paise", b"\x01\x02"), ("price_paise", 0), ("price_paise", 2**62), ("price_paise", -100),
    ("gst_bp", 1234), ("gst_bp", -1800), ("gst_bp", None), ("gst_bp", 1800.0),
    ("name", None), ("name", b"Avocado"), ("name", "Avocado\nTOTAL 0.00"), ("name", ""),
    ("active", "no"), ("active", 2), ("active", None), ("active", 1.0),
    ("sold_by", "piece"), ("hsn", None), ("plu", 4046), ("image", None), ("unit_weight_min_g", 0.5),
]


@pytest.mark.parametrize(("column", "value"), BAD_CELLS, ids=[f"{c}={v!r}" for c, v in BAD_CELLS])
def test_a_row_that_cannot_be_priced_is_left_out_and_named(catalog_db, column, value):
    _poke(catalog_db, column, value)
    with Catalog.open(catalog_db, create=False) as cat:
        problems = cat.bad_rows()
        assert len(problems) == 1 and "'avocado'" in problems[0] and f"column {column} " in problems[0]
        assert cat.find("avocado") is None and cat.by_plu("4046") is None and cat.by_barcode("4006381333931") is None
        assert cat.lookup("avocado") is None and cat.search("avo") == []
        assert [s.sku for s in cat.list_active()] == ["banana"] == [s.sku for s in cat.all()]
        assert cat.get("banana").price_paise == 6950  # the rest of the catalog still sells
        cat.strict = True  # what `catalog show` and `export` ask for: the bad row is an error naming it
        with pytest.raises(CatalogError, match=f"'avocado'.*column {column} "):
            cat.lookup("avocado")
        with pytest.raises(CatalogError, match=f"'avocado'.*column {column} "):
            cat.all()


def test_catalog_show_and_export_name_the_bad_row(catalog_db, capsys, tmp_path):
    _poke(catalog_db, "price_paise", 12000.5)
    err = _one_line_error(capsys, "catalog", "show", "avocado", "--db", str(catalog_db))
    assert "'avocado'" in err and "price_paise" in err and "12000.5" in err
    out = tmp_path / "out.csv"
    err = _one_line_error(capsys, "catalog", "export", "--db", str(catalog_db), "--out", str(out))
    assert "'avocado'" in err and "price_paise" in err and not out.exists()
    assert _run(capsys, "catalog", "show", "banana", "--db", str(catalog_db))[0] == 0  # a good row still shows


def test_the_kiosk_leaves_a_bad_row_out_loudly(catalog_db, caplog):
    from kiosk.services.wiring import open_catalog

    _poke(catalog_db, "gst_bp", 1234)
    with caplog.at_level(logging.WARNING):
        cat = open_catalog(catalog_db)
    try:
        assert cat.find("avocado") is None and cat.find("banana") is not None
    finally:
        cat.close()
    assert any("'avocado'" in r.getMessage() and "gst_bp" in r.getMessage() and r.levelno >= logging.ERROR
               for r in caplog.records)


def test_the_kiosk_refuses_a_catalog_with_nothing_it_can_sell(catalog_db):
    from kiosk.services.wiring import open_catalog

    _loosen(catalog_db)
    conn = sqlite3.connect(catalog_db)
    conn.execute("UPDATE skus SET price_paise = price_paise * 1.0")  # a broken exporter wrote every price as REAL
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match=r"catalog\.sqlite: no SKU can be sold.*'avocado'.*price_paise"):
        open_catalog(catalog_db)


def _doctor_catalog_line(path: Path):
    from kiosk.config import KioskConfig
    from kiosk.doctor.core import Check, Context, run_one
    from kiosk.doctor.model import catalog_advice, check_catalog

    ctx = Context(KioskConfig(catalog=str(path), bundle="", model_state=""))
    return run_one(Check("catalog", check_catalog, catalog_advice), ctx)


def test_doctor_fails_a_catalog_with_a_bad_row(catalog_db):
    from kiosk.doctor.core import FAIL

    _poke(catalog_db, "price_paise", 0)
    result = _doctor_catalog_line(catalog_db)
    assert result.status == FAIL and "'avocado'" in result.found and "price_paise" in result.found


# -- B3: a schema without what the code reads is refused at open --------------------------------------------------
def _rebuild_skus(path: Path, sql: str | None) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("DROP TABLE skus")
    if sql:
        conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(("sql", "expected"), [
    ("CREATE TABLE skus (sku TEXT PRIMARY KEY, name TEXT)", r"skus lacks the column\(s\) group_name, sold_by"),
    (None, "no skus table"),
    ("CREATE TABLE skus (sku, name, group_name, sold_by, price_paise, gst_bp, hsn, plu, unit_weight_min_g, "
     "unit_weight_max_g, active, image, updated_at)", "skus's primary key is none, not sku"),
    ("CREATE TABLE skus (sku PRIMARY KEY, name, group_name, sold_by, price_paise, gst_bp, hsn, plu, unit_weight_min_g, "
     "unit_weight_max_g, active, image, updated_at)", "skus.plu is not unique"),
    ("CREATE TABLE skus (sku PRIMARY KEY, name, group_name, sold_by, price_paise, gst_bp, hsn, plu UNIQUE, "
     "unit_weight_min_g, unit_weight_max_g, active, image, updated_at, raw, "
     "price_paise2 GENERATED ALWAYS AS (raw * 2))", None),
])
def test_a_schema_without_the_columns_the_code_reads_is_refused(catalog_db, capsys, sql, expected):
    _rebuild_skus(catalog_db, sql)
    if expected is None:  # every column there: a plain table the code can read
        with Catalog.open(catalog_db, create=False) as cat:
            assert len(cat) == 0
        return
    before = _digest(catalog_db)
    with pytest.raises(CatalogError, match=expected):
        Catalog.open(catalog_db, create=False)
    for argv in (("catalog", "show", "avocado"), ("catalog", "export")):
        assert expected.split(" ")[0] in _one_line_error(capsys, *argv, "--db", str(catalog_db))
    assert _doctor_catalog_line(catalog_db).status == "FAIL"
    assert _digest(catalog_db) == before


def test_a_generated_price_column_is_refused(catalog_db):
    _rebuild_skus(catalog_db, "CREATE TABLE skus (sku PRIMARY KEY, name, group_name, sold_by, raw, gst_bp, hsn, "
                              "plu UNIQUE, unit_weight_min_g, unit_weight_max_g, active, image, updated_at, "
                              "price_paise GENERATED ALWAYS AS (raw * 2))")
    with pytest.raises(CatalogError, match="price_paise.*computed"):
        Catalog.open(catalog_db, create=False)


def test_any_remaining_sqlite_error_is_one_line(monkeypatch, capsys, tmp_path):
    import catalog.cli

    def broken(args):
        raise sqlite3.OperationalError("no such table: skus")

    monkeypatch.setattr(catalog.cli, "cmd_show", broken)
    err = _one_line_error(capsys, "catalog", "show", "x", "--db", str(tmp_path / "c.sqlite"))
    assert "c.sqlite" in err and "no such table: skus" in err


# -- B4: another program's write lock ------------------------------------------------------------------------------
def test_import_while_another_program_writes_is_one_line_and_writes_nothing(catalog_db, tmp_path, capsys,
                                                                           monkeypatch):
    monkeypatch.setattr(repository, "BUSY_TIMEOUT_S", 0.2)
    csv = tmp_path / "in.csv"
    csv.write_text("sku,name,group,sold_by,price_paise,gst_percent,hsn\n"
                   "avocado,Avocado,Fruit,unit,9900,0,080440\nkiwi,Kiwi,Fruit,unit,3000,0,081050\n")
    other = sqlite3.connect(catalog_db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE skus SET updated_at = 'now' WHERE sku = 'banana'")
    try:
        err = _one_line_error(capsys, "catalog", "import", str(csv), "--db", str(catalog_db))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert "being written by another program; try again" in err and "catalog.sqlite" in err
    with Catalog.open(catalog_db, create=False) as cat:
        assert cat.get("avocado").price_paise == 12000 and cat.find("kiwi") is None


# -- B5: reading never writes, so a read-only catalog can be read -------------------------------------------------
def test_reading_a_catalog_does_not_change_its_journal_mode(catalog_db, capsys):
    conn = sqlite3.connect(catalog_db)
    assert conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    conn.close()
    before = _digest(catalog_db)
    with Catalog.open(catalog_db, create=False) as cat:
        assert cat.get("avocado").price_paise == 12000
    assert _run(capsys, "catalog", "show", "avocado", "--db", str(catalog_db))[0] == 0
    assert _run(capsys, "catalog", "export", "--db", str(catalog_db))[0] == 0
    assert _digest(catalog_db) == before


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_a_catalog_that_refuses_writes_can_still_be_read(catalog_db, capsys, monkeypatch, journal):
    """Root may run these tests, for whom a 0444 file is writable: a ``mode=ro`` connection stands in for it."""
    conn = sqlite3.connect(catalog_db)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.close()
    real = repository._connect

    def read_only(path, *, read_only=False, **kw):
        return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, **kw)

    monkeypatch.setattr(repository, "_connect", read_only)
    with Catalog.open(catalog_db, create=False) as cat:
        assert cat.get("avocado").price_paise == 12000
    rc, out, _ = _run(capsys, "catalog", "show", "avocado", "--db", str(catalog_db))
    assert rc == 0 and "₹120.00 each" in out
    rc, out, _ = _run(capsys, "catalog", "export", "--db", str(catalog_db))
    assert rc == 0 and "avocado,Avocado" in out
    csv = catalog_db.with_name("in.csv")
    csv.write_text("sku,name,group,sold_by,price_paise,gst_percent,hsn\nkiwi,Kiwi,Fruit,unit,3000,0,081050\n")
    err = _one_line_error(capsys, "catalog", "import", str(csv), "--db", str(catalog_db))
    assert "read-only" in err
    monkeypatch.setattr(repository, "_connect", real)
    with Catalog.open(catalog_db, create=False) as cat:
        assert cat.find("kiwi") is None


# -- B6: views and triggers ---------------------------------------------------------------------------------------
def _as_view(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("ALTER TABLE skus RENAME TO skus_real")
    conn.execute("CREATE VIEW skus AS SELECT sku, name, group_name, sold_by, price_paise * 2 AS price_paise, gst_bp, "
                 "hsn, plu, unit_weight_min_g, unit_weight_max_g, active, image, updated_at FROM skus_real")
    conn.commit()
    conn.close()


def _with_trigger(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TRIGGER cheap AFTER INSERT ON skus BEGIN "
                 "UPDATE skus SET price_paise = 1 WHERE sku = NEW.sku; END")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(("make", "expected"), [(_as_view, "view 'skus'"), (_with_trigger, "trigger 'cheap'")])
def test_views_and_triggers_are_refused(catalog_db, tmp_path, capsys, make, expected):
    from kiosk.services.wiring import open_catalog

    make(catalog_db)
    before = _digest(catalog_db)
    for opener in (lambda: Catalog.open(catalog_db, create=False), lambda: Catalog.open(catalog_db),
                   lambda: open_catalog(catalog_db)):
        with pytest.raises(CatalogError, match=expected):
            opener()
    csv = tmp_path / "in.csv"
    csv.write_text("sku,name,group,sold_by,price_paise,gst_percent,hsn\nkiwi,Kiwi,Fruit,unit,3000,0,081050\n")
    assert expected in _one_line_error(capsys, "catalog", "import", str(csv), "--db", str(catalog_db))
    assert expected in _one_line_error(capsys, "catalog", "show", "avocado", "--db", str(catalog_db))
    result = _doctor_catalog_line(catalog_db)
    assert result.status == "FAIL" and expected in result.found
    assert _digest(catalog_db) == before
