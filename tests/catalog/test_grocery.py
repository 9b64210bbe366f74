from pathlib import Path

import pytest

from catalog.csv_io import import_csv, read_catalog_csv
from catalog.grocery import DEMO_IMAGE_DIR, _unit_weight_range, grocery_catalog_rows, write_catalog_csv
from catalog.model import is_valid_gtin
from catalog.repository import Catalog

REPO = Path(__file__).resolve().parents[2]
DEMO_CSV = REPO / "assets" / "demo" / "catalog.csv"


@pytest.mark.parametrize("text, rng", [(" ca 180g ", (126, 234)), (" ca 1.05kg", (735, 1365)), (" 250g", (250, 275)),
                                       (" 1kg", (1000, 1100)), (" 2l", (None, None)), ("", (None, None))])
def test_unit_weight_range(text, rng):
    assert _unit_weight_range(text) == rng


@pytest.fixture(scope="module")
def rows(grocery_root):
    return grocery_catalog_rows(grocery_root)


def test_all_81_products(rows, grocery_root):
    assert len(rows) == 81
    assert len({r["sku"] for r in rows}) == 81
    by = {r["sku"]: r for r in rows}
    g = by["granny-smith"]
    assert (g["group"], g["sold_by"], g["unit_weight_min_g"], g["unit_weight_max_g"], g["gst_percent"]) == (
        "Apple", "weight", "126", "234", "0")
    assert g["plu"] and g["image"] == f"{DEMO_IMAGE_DIR}/granny-smith.jpg"
    assert (grocery_root / g["source_image"]).is_file()
    assert by["avocado"]["sold_by"] == "unit"          # URL ends in _ST
    assert by["cabbage"]["sold_by"] == "weight"        # its info file is named Cabbage-Information.txt
    assert by["cabbage"]["unit_weight_min_g"] == "1960"
    assert by["bravo-apple-juice"]["gst_percent"] == "12"
    assert by["arla-natural-yoghurt"]["gst_percent"] == "5"
    assert {r["gst_percent"] for r in rows} >= {"0", "5", "12", "18"}
    for r in rows:
        assert (grocery_root / r["source_image"]).is_file()
        if r["family"] == "Packages":
            assert not r["plu"] and is_valid_gtin(r["barcodes"])
        else:
            assert r["plu"] and not r["barcodes"] and r["gst_percent"] == "0"


def test_sold_by_weight_matches_kg_urls(rows, grocery_root):
    kg = 0
    for info in grocery_root.glob("iconic-images-and-descriptions/**/*Information.txt"):
        kg += info.read_text(encoding="utf-8-sig").rstrip().endswith("_KG")
    assert sum(r["sold_by"] == "weight" for r in rows) == kg > 20


def test_written_csv_imports(rows, tmp_path):
    (tmp_path / DEMO_IMAGE_DIR).symlink_to(DEMO_CSV.parent / DEMO_IMAGE_DIR)  # the photos beside the CSV
    out = write_catalog_csv(rows, tmp_path / "demo.csv")
    assert out.read_text(encoding="utf-8").startswith("# DEMO catalog")
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        assert import_csv(cat, out).created == 81
        assert cat.get("watermelon").by_weight


def test_committed_demo_csv_is_current(rows, tmp_path):
    """assets/demo/catalog.csv is what grocery_catalog_rows produces today (regenerate it when this fails)."""
    out = write_catalog_csv(rows, tmp_path / "demo.csv")
    assert DEMO_CSV.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_committed_demo_csv_is_valid_without_dataset():
    skus = read_catalog_csv(DEMO_CSV)
    assert len(skus) == 81
    assert all(s.image == f"{DEMO_IMAGE_DIR}/{s.sku}.jpg" for s in skus)
    with open(DEMO_CSV, encoding="utf-8") as fh:
        assert "DEMO" in fh.readline()
    assert len({s.plu for s in skus if s.plu}) == sum(1 for s in skus if s.plu)
