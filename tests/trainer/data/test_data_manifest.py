from pathlib import Path

import pytest

from kiosk.errors import DataError, UserError
from trainer.data.manifest import ManifestRow, read_manifest, relative_path, sku_from_name, write_manifest


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_round_trip_keeps_columns_and_resolves_paths(tmp_path):
    (tmp_path / "a").mkdir()
    m = write(tmp_path / "a" / "m.csv",
              "path,sku,group,note\nimg/x.jpg,granny-smith,apple,first\n\n../y.png,banana,,\n")
    rows = read_manifest(m)
    assert [r.path for r in rows] == [tmp_path / "a" / "img" / "x.jpg", tmp_path / "y.png"]
    assert rows[0].sku == "granny-smith" and rows[0].group == "apple" and rows[0].extra == {"note": "first"}
    assert rows[1].group == "" and rows[1].extra == {"note": ""}

    out = write_manifest(rows, tmp_path / "b" / "c" / "copy.csv")
    text = out.read_text().splitlines()
    assert text[0] == "path,sku,group,note"
    assert text[1] == "../../a/img/x.jpg,granny-smith,apple,first"  # relative to the new folder
    assert read_manifest(out) == rows


def test_write_adds_optional_columns_only_when_used(tmp_path):
    rows = [ManifestRow(tmp_path / "p.jpg", "kiwi", sha256="ab" * 32, split="val")]
    out = write_manifest(rows, tmp_path / "m.csv")
    assert out.read_text().splitlines() == ["path,sku,split,sha256", f"p.jpg,kiwi,val,{'ab' * 32}"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty manifest"),
        ("file,sku\nx.jpg,kiwi\n", "line 1: missing column 'path'"),
        ("path,sku,sku\nx.jpg,kiwi,kiwi\n", "line 1, column 3: duplicate column 'sku'"),
        ("path,sku\nx.jpg,kiwi\ny.jpg\n", "line 3: expected 2 columns (path,sku), found 1"),
        ("path,sku\nx.jpg,kiwi,extra\n", "line 2: expected 2 columns (path,sku), found 3"),
        ("path,sku\n,kiwi\n", "line 2, column 1 'path': '' is empty"),
        ("path,sku\nx.jpg,\n", "line 2, column 2 'sku': '' is empty"),
        ("path,sku\nx.jpg,Granny Smith\n", "line 2, column 2 'sku': 'Granny Smith' must be lower-case"),
        ("sku,path,sha256\nkiwi,x.jpg,abc\n", "line 2, column 3 'sha256': 'abc' is not 64 hexadecimal digits"),
        ('path,sku\n"multi\nline.jpg",kiwi\nz.jpg,Bad!\n', "line 4, column 2 'sku'"),
    ],
)
def test_malformed_manifest_names_line_and_column(tmp_path, text, message):
    m = write(tmp_path / "bad.csv", text)
    with pytest.raises(DataError) as err:
        read_manifest(m)
    assert str(m) in str(err.value)
    assert message in str(err.value)
    assert isinstance(err.value, UserError)


def test_missing_manifest(tmp_path):
    with pytest.raises(DataError, match="manifest not found"):
        read_manifest(tmp_path / "nope.csv")


def test_bom_and_whitespace_are_tolerated(tmp_path):
    m = tmp_path / "m.csv"
    m.write_bytes("\ufeffpath , sku\n x.jpg , kiwi \n".encode())
    assert read_manifest(m) == [ManifestRow(tmp_path / "x.jpg", "kiwi")]


def test_helpers():
    assert sku_from_name("Granny-Smith") == "granny-smith"
    assert sku_from_name(" Red  Beet ") == "red-beet"
    assert relative_path("/a/b/c.jpg", "/a/d") == "../b/c.jpg"
