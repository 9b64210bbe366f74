"""Output files a user names (``--csv``, ``--out FILE``, ``feedback collect --out DIR``) never destroy data: a sales
database, an audit or signing key, or anything that is not a regular file is refused always; any other file that is
there unless ``--force``; ``feedback collect`` replaces only what it wrote itself, never a manifest by a shorter one,
and never writes into the kiosks' upload tree (kiosk.bundle_format.atomic.check_output, trainer/fleet/collect.py)."""

from __future__ import annotations

import json
import os

import pytest

from kiosk.bundle_format.atomic import check_output, shown
from kiosk.cli import main as checkout
from kiosk.errors import UserError
from kiosk.store import SalesStore
from tests.trainer.fleet.stores import crop, put_batch, record

CATALOG_CSV = ("sku,name,group,sold_by,price_paise,gst_percent,hsn,plu,barcodes\n"
               "banana,Banana,Banana,weight,6950,0,080390,107,\n")


@pytest.fixture
def store(tmp_path):
    db = tmp_path / "kiosk.sqlite"
    with SalesStore.open(db, kiosk_id="K1") as s:
        s.add_unit("milk", "Milk 1 l", 7200, 0)
        s.pay(s.open_cart().cart_id, method="cash")
    return db


def _day(db, csv, *extra):
    return checkout(["receipt", "day", "--store", str(db), "--csv", str(csv), *extra])


def test_receipt_day_csv_never_replaces_the_database_or_its_key(store, tmp_path, capsys):
    key, witness = store.with_name("kiosk.audit-key"), store.with_name("kiosk.audit-key.head")
    assert key.is_file() and witness.is_file()
    before = store.read_bytes(), key.read_bytes(), witness.read_bytes()
    for target in (store, key, witness):
        assert _day(store, target, "--force") == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(target) in err[0]
        assert any(word in err[0] for word in ("SQLite database", "key", "audit witness"))
    assert (store.read_bytes(), key.read_bytes(), witness.read_bytes()) == before
    copy = tmp_path / "sales-copy.bin"  # a database under any name: found by its header
    copy.write_bytes(store.read_bytes())
    assert _day(store, copy, "--force") == 2 and copy.read_bytes() == store.read_bytes()


def test_receipt_day_csv_replaces_a_file_only_with_force(store, tmp_path, capsys):
    csv = tmp_path / "gst.csv"
    assert _day(store, csv) == 0 and "wrote" in capsys.readouterr().err
    csv.write_text("accountant's notes\n")
    assert _day(store, csv) == 2 and "--force" in capsys.readouterr().err
    assert csv.read_text() == "accountant's notes\n"
    assert _day(store, csv, "--force") == 0 and csv.read_text() != "accountant's notes\n"
    assert _day(store, tmp_path) == 2 and "folder" in capsys.readouterr().err  # not a regular file: always


def test_catalog_export_never_replaces_a_sales_database(store, tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(CATALOG_CSV, encoding="utf-8")
    cat = tmp_path / "catalog.sqlite"
    assert checkout(["catalog", "import", str(src), "--db", str(cat)]) == 0
    before = store.read_bytes()
    assert checkout(["catalog", "export", "--db", str(cat), "--out", str(store), "--force"]) == 2
    assert store.read_bytes() == before and "SQLite database" in capsys.readouterr().err
    assert checkout(["catalog", "export", "--db", str(cat), "--out", str(src)]) == 2  # there: only with --force
    assert checkout(["catalog", "export", "--db", str(cat), "--out", str(src), "--force"]) == 0
    assert "banana" in src.read_text()


@pytest.mark.parametrize("content", [b"ab" * 32 + b"\n", b"-----BEGIN PRIVATE KEY-----\nMC4CAQ==\n"
                                     b"-----END PRIVATE KEY-----\n"])
def test_key_files_are_found_by_content_too(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(UserError, match="key"):
        check_output(path, force=True)
    named = tmp_path / "head-office.key"
    named.write_text("x")
    with pytest.raises(UserError, match="key"):
        check_output(named, force=True)
    assert check_output(tmp_path / "new.csv") == tmp_path / "new.csv"


def test_odd_paths_are_shown_on_one_line():
    assert shown("a\nb.csv") == "'a\\nb.csv'" and shown("दही.csv") == "दही.csv"


def _two_placements(ho):
    put_batch(ho, "S", "K1", [record("old", "lemon", "staff", when="2026-11-01T10:00:00+05:30"),
                              record("new", "banana", "staff", when="2026-12-01T10:00:00+05:30")],
              {"old": crop(1), "new": crop(2)})


def _collect(ho, out, *extra):
    return checkout(["feedback", "collect", str(ho), "--out", str(out), "--no-cache", "--workers", "1", *extra])


def test_collect_never_shrinks_a_manifest_or_replaces_others_files(tmp_path, capsys):
    ho, out = tmp_path / "ho", tmp_path / "out"
    _two_placements(ho)
    assert _collect(ho, out) == 0 and _collect(ho, out) == 0  # again: the same output, its own files
    manifest = (out / "feedback.csv").read_text()
    capsys.readouterr()
    assert _collect(ho, out, "--since", "2026-11-15") == 2
    assert "2 row(s)" in capsys.readouterr().err and (out / "feedback.csv").read_text() == manifest
    assert _collect(ho, out, "--since", "2026-11-15", "--force") == 0
    assert (out / "feedback.csv").read_text().count("\n") == 2
    checked = tmp_path / "checked"  # `data check` left its report there
    checked.mkdir()
    (checked / "report.json").write_text('{"data": "check"}')
    assert _collect(ho, checked) == 2 and (checked / "report.json").read_text() == '{"data": "check"}'
    (out / "report.json").write_text("{}")  # changed since the collect wrote it
    assert _collect(ho, out) == 2 and (out / "report.json").read_text() == "{}"
    assert json.loads((out / "collect.json").read_text())["rows"] == 1


def test_collect_out_may_not_be_empty_src_or_inside_src(tmp_path, capsys, monkeypatch):
    ho = tmp_path / "ho"
    _two_placements(ho)
    monkeypatch.chdir(tmp_path)
    assert _collect(ho, "") == 2 and "--out: empty" in capsys.readouterr().err
    assert not (tmp_path / "feedback.csv").exists()
    for out in (ho, ho / "feedback" / "x", tmp_path / "ho" / ".." / "ho"):
        assert _collect(ho, out) == 2 and "inside SRC" in capsys.readouterr().err
    assert not (ho / "feedback.csv").exists() and not (ho / "feedback" / "x").exists()


def test_collect_summary_keeps_an_odd_out_on_one_line(tmp_path, capsys):
    ho = tmp_path / "ho"
    _two_placements(ho)
    out = tmp_path / "a\nb"
    assert _collect(ho, out) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("row(s) in '" in line and "a\\nb" in line for line in lines)
    assert not any(line.startswith("b/feedback.csv") for line in lines) and os.path.isdir(out)
