import io

import pytest

from catalog.csv_io import CsvImportError, export_csv, import_csv, read_catalog_csv

HEADER = ("sku,name,group,sold_by,price_paise,gst_percent,hsn,plu,barcodes,"
          "unit_weight_min_g,unit_weight_max_g,active,image\n")

GOOD = (
    "# demo prices\n"
    "# second comment\n"
    + HEADER
    + "arla-standard-milk,Arla Standard Milk 1 l,Milk,unit,7200,0,040120,,2000000000411;96385074,,,1,a.jpg\n"
    + "granny-smith,Granny Smith Apple,Apple,weight,26000,0,080810,102,,126,234,1,\n"
    + '"bravo-apple-juice","Bravo Apple Juice, 2 l",Juice,unit,25000,12,200971,,,,,0,\n'
)


JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")  # a JPEG header is all import reads


def write(tmp_path, text, name="c.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    (tmp_path / "a.jpg").write_bytes(JPEG)
    return p


def test_import_good_file(cat, tmp_path):
    res = import_csv(cat, write(tmp_path, GOOD))
    assert (res.created, res.updated) == (3, 0)
    j = cat.get("bravo-apple-juice")
    assert j.name == "Bravo Apple Juice, 2 l" and j.gst_bp == 1200 and not j.active
    assert cat.get("arla-standard-milk").barcodes == ("2000000000411", "96385074")
    res = import_csv(cat, write(tmp_path, GOOD))
    assert (res.created, res.updated) == (0, 3)


def test_every_error_reported_with_line_column_value(cat, tmp_path):
    bad = GOOD + (
        "kiwi,Kiwi,Kiwi,unit,abc,0,081050,108,,,,1,\n"                # line 7: price not a number
        "lemon,Lemon,Lemon,unit,1000,7,080550,109,4006381333932,,,1,\n"  # line 8: gst, barcode check digit
        "lime,Lime,Lime,piece,800,0,080550,102,,,,1,\n"               # line 9: sold_by, PLU 102 used on line 5
        "granny-smith,Dup,Apple,weight,1,0,080810,,,,,1,\n"           # line 10: sku already on line 5
        "short,row\n"                                                 # line 11: wrong field count
    )
    with pytest.raises(CsvImportError) as ei:
        import_csv(cat, write(tmp_path, bad))
    got = {(e.line, e.column, e.value) for e in ei.value.errors}
    assert got == {
        (7, "price_paise", "abc"), (8, "gst_percent", "7"), (8, "barcodes", "4006381333932"),
        (9, "sold_by", "piece"), (9, "plu", "102"), (10, "sku", "granny-smith"), (11, "*", "short,row"),
    }
    assert all(e.file.endswith("c.csv") for e in ei.value.errors)
    msg = str(ei.value)
    assert "\n" not in msg and "7 problem(s), nothing imported" in msg
    assert "c.csv:7: column price_paise value 'abc'" in msg
    assert len(cat) == 0  # all or nothing: the good rows were not written either


def test_malformed_csv_changes_nothing(cat, tmp_path):
    import_csv(cat, write(tmp_path, GOOD))
    before = [s for s in cat.all()]
    broken = HEADER + 'banana,"Banana,Banana,weight,6950,0,080390,107,,,,1,\n'  # unterminated quote
    with pytest.raises(CsvImportError):
        import_csv(cat, write(tmp_path, broken, "broken.csv"))
    changed = HEADER + "arla-standard-milk,CHANGED,Milk,unit,1,0,040120,,,,,1,\n" + '"x"y,bad\n'
    with pytest.raises(CsvImportError):
        import_csv(cat, write(tmp_path, changed, "changed.csv"))
    assert cat.all() == before


def test_header_problems(cat, tmp_path):
    with pytest.raises(CsvImportError) as ei:
        import_csv(cat, write(tmp_path, "sku,name,colour,name\nx,y,z,w\n"))
    got = {(e.line, e.column) for e in ei.value.errors}
    assert (1, "colour") in got and (1, "name") in got
    assert {"group", "sold_by", "price_paise", "gst_percent", "hsn"} <= {c for _, c in got}
    with pytest.raises(CsvImportError, match="no header"):
        import_csv(cat, write(tmp_path, "# only a comment\n\n", "empty.csv"))


def test_not_utf8(cat, tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes((HEADER + "x,Sm\xf6r,G,unit,1,0,1234\n").encode("latin-1"))
    with pytest.raises(Exception, match=r"latin.csv:2: not UTF-8"):
        import_csv(cat, p)


def test_bom_and_crlf_and_column_order(cat, tmp_path):
    text = "\ufeffname,sku,group,sold_by,price_paise,gst_percent,hsn\r\nMilk,milk,Milk,unit,7200,0,0401\r\n"
    p = tmp_path / "excel.csv"
    p.write_bytes(text.encode("utf-8"))
    assert import_csv(cat, p).created == 1
    assert cat.get("milk").hsn == "0401" and cat.get("milk").active


def test_conflict_with_existing_sku_not_in_file(cat, tmp_path):
    import_csv(cat, write(tmp_path, GOOD))
    other = HEADER + "kiwi,Kiwi,Kiwi,unit,3000,0,081050,102,96385074,,,1,\n"
    with pytest.raises(CsvImportError) as ei:
        import_csv(cat, write(tmp_path, other, "kiwi.csv"))
    assert {(e.line, e.column, e.value) for e in ei.value.errors} == {(2, "plu", "102"), (2, "barcodes", "96385074")}
    assert "granny-smith" in str(ei.value)
    assert cat.find("kiwi") is None


def test_export_import_round_trip(cat, tmp_path):
    import_csv(cat, write(tmp_path, GOOD))
    out1 = tmp_path / "out1.csv"
    export_csv(cat, out1)
    from catalog.repository import Catalog

    with Catalog.open(tmp_path / "second.sqlite") as other:
        import_csv(other, out1)
        assert other.all() == cat.all()
        buf = io.StringIO()
        export_csv(other, buf)
    assert buf.getvalue() == out1.read_text(encoding="utf-8")
    assert read_catalog_csv(out1) == cat.all()
