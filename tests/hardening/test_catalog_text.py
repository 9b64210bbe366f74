"""Catalog text that reaches a tax invoice or a spreadsheet is safe: the cases the adversarial probe found, each
refused with line, column and value (or made harmless), never a traceback."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from catalog.csv_io import CsvImportError, export_csv, import_csv
from catalog.model import Sku, parse_sku_fields, validate_sku
from catalog.repository import Catalog
from kiosk.cli import main
from kiosk.domain.cart import Cart, CartLine
from kiosk.domain.receipt import Receipt, StoreInfo
from kiosk.errors import CatalogError

HEADER = "sku,name,group,sold_by,price_paise,gst_percent,hsn,plu,barcodes,active,image\n"
GOOD_ROW = "milk,Toned Milk 500 ml,Milk,unit,2800,5,040120,,,1,\n"


def _import(tmp_path, rows: str, db_name: str = "catalog.sqlite") -> tuple[Catalog, CsvImportError | None]:
    path = tmp_path / "in.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    cat = Catalog.open(tmp_path / db_name)
    try:
        import_csv(cat, path)
        return cat, None
    except CsvImportError as exc:
        return cat, exc


def _only_error(exc: CsvImportError | None):
    assert exc is not None, "the row was accepted"
    assert len(exc.errors) == 1, exc.errors
    return exc.errors[0]


@pytest.mark.parametrize("name", [
    "Milk\nTOTAL                          ₹0.01",  # the forged line the probe printed
    "Milk\rTOTAL ₹0.01", "Milk\u2028TOTAL ₹0.01", "Milk\x85TOTAL", "Milk\x00", "Milk\u202e", "Milk\x1b[2J",
])
def test_a_name_that_could_add_a_line_is_refused_by_line_and_column(tmp_path, name):
    cat, exc = _import(tmp_path, GOOD_ROW + f'banana,"{name}",Fruit,weight,6000,0,080390,,,1,\n')
    err = _only_error(exc)
    assert (err.line, err.column) == (3, "name") and "unprintable character" in err.reason
    assert len(cat) == 0  # all or nothing
    cat.close()


def test_names_are_stored_nfc_and_a_receipt_never_gets_an_extra_line(tmp_path):
    cat, exc = _import(tmp_path, 'cafe,"Cafe\u0301 au lait  ",Drinks,unit,5000,5,090111,,,1,\n')
    assert exc is None and cat.get("cafe").name == "Café au lait"  # NFC, trimmed
    cat.close()
    # even a name that never went through the catalog (an old cart line, a bug) cannot add a line
    cart = Cart("c")
    cart.add(CartLine.unit("x", "Milk\nTOTAL ₹0.01\r\n\u2028" + "ＴＯＴＡＬ" * 30, 2800, 500))
    cart.close()
    text = Receipt.from_cart(cart, "K1-000001", datetime(2026, 1, 1, tzinfo=timezone.utc),
                             store=StoreInfo(name="Shop\nTOTAL 0")).to_text()
    plain = Cart("c")
    plain.add(CartLine.unit("x", "Milk", 2800, 500))
    plain.close()
    reference = Receipt.from_cart(plain, "K1-000001", datetime(2026, 1, 1, tzinfo=timezone.utc),
                                  store=StoreInfo(name="Shop")).to_text()
    assert text.count("\n") == reference.count("\n")
    assert [line for line in text.splitlines() if line.startswith("TOTAL")] == [
        line for line in reference.splitlines() if line.startswith("TOTAL")]


@pytest.mark.parametrize("column,value,reason", [
    ("gst_percent", "٥", "must be one of"),  # Arabic-Indic five is not a GST rate
    ("gst_percent", "²", "must be one of"),  # superscript two: was a traceback
    ("price_paise", "--5", "not a whole number"),  # was a traceback
    ("price_paise", "9" * 5000, "more than 12 digits"),  # was a traceback (int() refuses 4,300+ digits)
    ("price_paise", "١٢٣", "not a whole number"),
    ("hsn", "٠٨٠٣٩٠", "HSN code"),
    ("plu", "١٠٧", "PLU must be"),
    ("image", "../../../../etc/passwd", "inside the CSV file's folder"),
    ("image", "photos/\x00.jpg", "unprintable"),
])
def test_malformed_values_name_line_column_and_value(tmp_path, column, value, reason):
    row = dict(zip(HEADER.strip().split(","), GOOD_ROW.strip().split(",")))
    row[column] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(row.values())
    cat, exc = _import(tmp_path, GOOD_ROW.replace("milk,", "curd,") + out.getvalue())
    err = _only_error(exc)
    assert (err.line, err.column) == (3, column) and reason in err.reason, err
    shown = str(err)
    assert shown.startswith(f"{tmp_path / 'in.csv'}:3: column {column} value ") and len(shown) < 300
    cat.close()


def test_one_gtin_in_two_lengths_is_one_barcode(tmp_path):
    upc, ean = "036000291452", "0036000291452"
    cat, exc = _import(tmp_path, f"a,A,G,unit,100,0,1234,,{upc},1,\nb,B,G,unit,100,0,1234,,{ean},1,\n")
    err = _only_error(exc)
    assert (err.line, err.column, err.value) == (3, "barcodes", ean) and "the same GTIN" in err.reason
    _, exc = _import(tmp_path, f"a,A,G,unit,100,0,1234,,{upc};{ean},1,\n", "two.sqlite")
    assert "listed twice" in _only_error(exc).reason
    cat, exc = _import(tmp_path, f"a,A,G,unit,100,0,1234,,{upc},1,\n", "three.sqlite")
    assert exc is None and cat.lookup(ean).sku == "a" and cat.by_barcode("00036000291452").sku == "a"
    with pytest.raises(CatalogError, match="the same GTIN as 036000291452"):
        cat.upsert(Sku("b", "B", "G", "unit", 100, 0, "1234", barcodes=(ean,)))
    (tmp_path / "again.csv").write_text(HEADER + f"b,B,G,unit,100,0,1234,,{ean},1,\n", encoding="utf-8")
    with pytest.raises(CsvImportError, match="already a barcode of 'a'"):
        import_csv(cat, tmp_path / "again.csv")
    cat.close()


def test_formula_cells_are_neutralised_on_export_and_restored_on_import(tmp_path):
    names = ["=HYPERLINK(\"http://evil\",\"x\")", "+91 Masala", "-50% Soap", "@SUM(A1:A9)", "'=already quoted",
             "Plain"]
    rows = "".join(f'p{i},"{n.replace(chr(34), chr(34) * 2)}",G,unit,100,0,1234,,,1,\n' for i, n in enumerate(names))
    cat, exc = _import(tmp_path, rows)
    assert exc is None
    out = io.StringIO()
    export_csv(cat, out)
    cells = [row[1] for row in csv.reader(io.StringIO(out.getvalue()))][1:]
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells), cells
    first = tmp_path / "export.csv"
    export_csv(cat, first)
    with Catalog.open(tmp_path / "again.sqlite") as again:
        import_csv(again, first)
        assert sorted(s.name for s in again.all()) == sorted(s.name for s in cat.all())
        assert "=already quoted" in {s.name for s in cat.all()}  # import takes off the one ' export puts on
        export_csv(again, tmp_path / "export-2.csv")
    assert first.read_bytes() == (tmp_path / "export-2.csv").read_bytes()
    cat.close()


def test_stored_images_stay_in_the_catalog_folder(tmp_path):
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        for image in ("../../etc/passwd", "images/../../x.jpg", "/etc/\x00passwd", "elsewhere/x.jpg"):
            with pytest.raises(CatalogError, match="column image"):
                cat.upsert(Sku("a", "A", "G", "unit", 100, 0, "1234", image=image))
        cat.upsert(Sku("a", "A", "G", "unit", 100, 0, "1234", image="images/a.jpg"))
    from kiosk.services.views import Presenter

    (tmp_path / "secret.jpg").write_bytes(b"x")
    assert Presenter(tmp_path / "catalog").image_path("../secret.jpg") == ""  # never outside the folder


def test_parse_never_raises_on_odd_cells():
    for value in ("\ud800", "\x00", "٥", "²", "--5", "9" * 5000, "1e3", " ", "\u202e", "5%%", "-0", "+5"):
        for column in ("sku", "name", "group", "sold_by", "price_paise", "gst_percent", "hsn", "plu", "barcodes",
                       "unit_weight_min_g", "unit_weight_max_g", "active", "image"):
            sku, errors = parse_sku_fields({"sku": "a", "name": "A", "group": "G", "sold_by": "unit",
                                            "price_paise": "100", "gst_percent": "0", "hsn": "1234", column: value})
            assert (sku is None) == bool(errors)
            if sku is not None:
                assert validate_sku(sku) == []


def test_a_failed_import_into_a_new_path_leaves_no_file(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + 'x,"A\nB",G,unit,100,0,1234,,,1,\n', encoding="utf-8")
    db = tmp_path / "new" / "catalog.sqlite"
    assert main(["catalog", "import", str(bad), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:2: column name value 'A\\nB'" in err and "Traceback" not in err
    assert not db.parent.exists()  # the file is refused before the catalog (or its folder) is made
    good = tmp_path / "good.csv"
    good.write_text(HEADER + GOOD_ROW, encoding="utf-8")
    assert main(["catalog", "import", str(good), "--db", str(db)]) == 0
    assert main(["catalog", "import", str(bad), "--db", str(db)]) == 2  # an existing catalog stays as it was
    with Catalog.open(db, create=False) as cat:
        assert [s.sku for s in cat.all()] == ["milk"]
