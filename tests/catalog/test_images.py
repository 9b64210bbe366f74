"""Product photos travel with the catalog: copied into its images/ folder on import, refused when unsafe."""

import pytest

from catalog.csv_io import CsvImportError, export_csv, import_csv
from catalog.repository import Catalog
from tests.catalog.conftest import HEADER

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)
ROW = "milk,Milk 1 l,Milk,unit,7200,0,040120,,,,,1,{image}\n"


def csv_with(folder, image):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "catalog.csv"
    path.write_text(HEADER + ROW.format(image=image), encoding="utf-8")
    return path


def test_import_copies_the_photo_beside_the_catalog(tmp_path):
    src = tmp_path / "head-office"
    (src / "photos").mkdir(parents=True)
    (src / "photos" / "m.png").write_bytes(PNG)
    with Catalog.open(tmp_path / "till" / "catalog.sqlite") as cat:
        import_csv(cat, csv_with(src, "photos/m.png"))
        assert cat.get("milk").image == "images/milk.png"
    assert (tmp_path / "till" / "images" / "milk.png").read_bytes() == PNG
    # the till's catalog folder alone is enough: head office's copy may go away
    (src / "photos" / "m.png").unlink()
    (tmp_path / "export").mkdir()
    with Catalog.open(tmp_path / "till" / "catalog.sqlite") as cat:
        export_csv(cat, tmp_path / "export" / "out.csv")  # image paths relative to the exported file
    assert "../till/images/milk.png" in (tmp_path / "export" / "out.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize("image, reason", [
    ("../../../../etc/passwd", "inside the CSV file's folder"),
    ("photos/../../secret.jpg", "inside the CSV file's folder"),
    ("missing.jpg", "cannot read"),
    ("notes.txt", "not a JPEG, PNG or WebP"),
    ("photos", "cannot read"),
])
def test_unsafe_or_unusable_images_are_refused_by_line_and_column(tmp_path, image, reason):
    src = tmp_path / "src"
    (src / "photos").mkdir(parents=True)
    (src / "notes.txt").write_text("not an image")
    (tmp_path / "secret.jpg").write_bytes(JPEG)
    with Catalog.open(tmp_path / "c.sqlite") as cat:
        with pytest.raises(CsvImportError, match=rf"catalog.csv:2: column image value .*{reason}"):
            import_csv(cat, csv_with(src, image))
        assert cat.find("milk") is None  # nothing imported
    assert not (tmp_path / "images").exists()
