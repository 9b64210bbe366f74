import dataclasses

import pytest

from catalog.repository import Catalog
from kiosk.errors import CatalogError


def seed(cat, make_sku):
    cat.upsert_many([
        make_sku("arla-standard-milk", name="Arla Standard Milk 1 l", barcodes=("2000000000411", "96385074")),
        make_sku("granny-smith", name="Granny Smith Apple", group="Apple", sold_by="weight", price_paise=26000,
                 hsn="080810", plu="102", unit_weight_min_g=126, unit_weight_max_g=234),
        make_sku("golden-delicious", name="Golden Delicious Apple", group="Apple", sold_by="weight",
                 price_paise=22000, hsn="080810", plu="101"),
        make_sku("banana", name="Banana", group="Banana", sold_by="weight", price_paise=6950, hsn="080390", plu="107"),
        make_sku("old-juice", name="Old Apple Juice", group="Juice", gst_bp=1200, hsn="200971", plu="1100",
                 active=False),
        make_sku("pineapple", name="Pineapple", group="Pineapple", hsn="080430", plu="124"),
    ])


def test_get_returns_immutable_sku(cat, make_sku):
    seed(cat, make_sku)
    s = cat.get("arla-standard-milk")
    assert s.barcodes == ("2000000000411", "96385074")  # order kept
    assert s.price_paise == 7200 and s.gst_percent == 0 and not s.by_weight
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.price_paise = 1
    g = cat.get("granny-smith")
    assert (g.sold_by, g.unit_weight_min_g, g.unit_weight_max_g, g.plu) == ("weight", 126, 234, "102")


def test_unknown_sku_is_catalog_error(cat, make_sku):
    with pytest.raises(CatalogError, match="unknown SKU 'nope'"):
        cat.get("nope")
    assert cat.find("nope") is None


def test_find_by_plu_and_barcode(cat, make_sku):
    seed(cat, make_sku)
    assert cat.by_plu("107").sku == "banana"
    assert cat.by_plu("999") is None
    assert cat.by_barcode("96385074").sku == "arla-standard-milk"
    assert cat.by_barcode("4006381333931") is None
    assert cat.lookup("102").sku == "granny-smith"
    assert cat.lookup("Banana").sku == "banana"
    assert cat.lookup("2000000000411").sku == "arla-standard-milk"


def test_search_plu_prefix_and_names(cat, make_sku):
    seed(cat, make_sku)
    assert [s.sku for s in cat.search("10")] == ["golden-delicious", "granny-smith", "banana"]
    assert [s.sku for s in cat.search("apple")] == ["golden-delicious", "granny-smith", "pineapple"]
    assert [s.sku for s in cat.search("APP")] == ["golden-delicious", "granny-smith", "pineapple"]
    assert [s.sku for s in cat.search("gran")] == ["granny-smith"]  # name starts with it
    assert [s.sku for s in cat.search("smith gran")] == ["granny-smith"]  # every word, any order
    assert cat.search("") == [] and cat.search("   ") == []
    assert cat.search("%") == [] and cat.search("_") == []  # LIKE wildcards are literal
    assert [s.sku for s in cat.search("96385074")] == ["arla-standard-milk"]
    assert len(cat.search("a", limit=2)) == 2


def test_search_hides_inactive_unless_asked(cat, make_sku):
    seed(cat, make_sku)
    assert cat.search("juice") == []
    assert cat.search("11") == []
    assert [s.sku for s in cat.search("juice", include_inactive=True)] == ["old-juice"]
    assert "old-juice" not in {s.sku for s in cat.list_active()}
    cat.set_active("old-juice", True)
    assert [s.sku for s in cat.search("1100")] == ["old-juice"]


def test_upsert_updates_and_replaces_barcodes(cat, make_sku):
    seed(cat, make_sku)
    cat.upsert(make_sku("arla-standard-milk", name="Arla Milk", price_paise=7400, barcodes=("4006381333931",)))
    s = cat.get("arla-standard-milk")
    assert (s.name, s.price_paise, s.barcodes) == ("Arla Milk", 7400, ("4006381333931",))
    assert cat.by_barcode("96385074") is None
    assert len(cat) == 6


def test_upsert_refuses_invalid_and_writes_nothing(cat, make_sku):
    seed(cat, make_sku)
    with pytest.raises(CatalogError, match="gst_percent"):
        cat.upsert_many([make_sku("new-one"), make_sku("bad", gst_bp=700)])
    assert cat.find("new-one") is None


def test_plu_and_barcode_conflicts_are_refused_whole(cat, make_sku):
    seed(cat, make_sku)
    with pytest.raises(CatalogError, match="PLU 107 of 'kiwi' already belongs to 'banana'"):
        cat.upsert_many([make_sku("lemon", hsn="080550", plu="109"), make_sku("kiwi", hsn="081050", plu="107")])
    assert cat.find("lemon") is None
    with pytest.raises(CatalogError, match="barcode 96385074 .* already belongs to 'arla-standard-milk'"):
        cat.upsert(make_sku("other-milk", barcodes=("96385074",)))


def test_plus_can_swap_within_one_update(cat, make_sku):
    seed(cat, make_sku)
    g, b = cat.get("golden-delicious"), cat.get("granny-smith")
    cat.upsert_many([dataclasses.replace(g, plu="102"), dataclasses.replace(b, plu="101")])
    assert cat.by_plu("101").sku == "granny-smith" and cat.by_plu("102").sku == "golden-delicious"


def test_persisted_across_reopen(tmp_path, make_sku):
    path = tmp_path / "c.sqlite"
    with Catalog.open(path) as c:
        seed(c, make_sku)
    with Catalog.open(path, create=False) as c:
        assert len(c) == 6 and c.get("banana").price_paise == 6950


def test_open_without_create_needs_file(tmp_path):
    with pytest.raises(CatalogError, match="no catalog"):
        Catalog.open(tmp_path / "none.sqlite", create=False)
