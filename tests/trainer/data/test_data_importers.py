import shutil

import cv2
import numpy as np
import pytest

from kiosk.errors import DataError
from trainer.data.importers import import_folder, import_grocery_store
from trainer.data.manifest import read_manifest


def make_tree(root):
    img = np.full((40, 50, 3), 127, np.uint8)
    for rel in ("Granny-Smith/a.jpg", "Granny-Smith/more/b.png", "banana/c.jpg"):
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(p), img)
    (root / "banana" / "notes.txt").write_text("not a photo")
    (root / "stray.jpg").write_bytes(b"")


def test_import_folder_references_originals(tmp_path, data_cli, capsys):
    make_tree(tmp_path / "photos")
    assert data_cli("import-folder", tmp_path / "photos", "--out", tmp_path / "out") == 0
    rows = read_manifest(tmp_path / "out" / "manifest.csv")
    assert [(r.path.relative_to(tmp_path / "photos").as_posix(), r.sku) for r in rows] == [
        ("Granny-Smith/a.jpg", "granny-smith"), ("Granny-Smith/more/b.png", "granny-smith"), ("banana/c.jpg", "banana")]
    assert (tmp_path / "out" / "manifest.csv").read_text().splitlines()[1].startswith("../photos/Granny-Smith/a.jpg,")
    assert not (tmp_path / "out" / "images").exists()
    out = capsys.readouterr().out
    assert "3 photos" in out and "2 SKUs" in out and "skipped 2 file(s)" in out


def test_import_folder_copy(tmp_path):
    make_tree(tmp_path / "photos")
    result = import_folder(tmp_path / "photos", tmp_path / "out", copy=True)
    rows = read_manifest(tmp_path / "out" / "manifest.csv")
    assert all(r.path.is_file() and (tmp_path / "out" / "images") in r.path.parents for r in rows)
    assert (tmp_path / "out" / "images" / "granny-smith" / "more" / "b.png").is_file()
    assert (tmp_path / "photos" / "banana" / "c.jpg").is_file()  # originals stay
    assert result.skus == 2


def test_import_folder_errors(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        import_folder(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty" / "kiwi").mkdir(parents=True)
    with pytest.raises(DataError, match="no images"):
        import_folder(tmp_path / "empty", tmp_path / "out")
    (tmp_path / "bad" / "Kiwi!").mkdir(parents=True)
    with pytest.raises(DataError, match="'Kiwi!' is not a valid SKU id"):
        import_folder(tmp_path / "bad", tmp_path / "out")


def test_import_grocery_store(grocery_root, tmp_path, data_cli, capsys):
    assert data_cli("import-grocery-store", grocery_root, "--out", tmp_path / "gs") == 0
    train, val = read_manifest(tmp_path / "gs" / "train.csv"), read_manifest(tmp_path / "gs" / "val.csv")
    assert (len(train), len(val)) == (2640, 296)
    assert len({r.sku for r in train}) == 81
    first = train[0]
    assert first.path == grocery_root.resolve() / "train/Fruit/Apple/Golden-Delicious/Golden-Delicious_001.jpg"
    assert (first.sku, first.group, first.split, first.source) == (
        "golden-delicious", "apple", "train", "grocery-store")
    assert {(r.sku, r.group) for r in train} >= {
        ("anjou", "pear"), ("arla-standard-milk", "milk"), ("red-beet", "red-beet")}
    assert all(r.split == "val" for r in val)
    out = capsys.readouterr().out
    try:
        import catalog.grocery  # noqa: F401
    except ModuleNotFoundError:
        assert "catalog CSV not written" in out
    else:
        assert (tmp_path / "gs" / "catalog.csv").is_file()


def test_import_grocery_store_bad_lines(grocery_root, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copyfile(grocery_root / "classes.csv", src / "classes.csv")
    (src / "train.txt").write_text("train/a.jpg, 0, 0\ntrain/b.jpg, 1, 5\n")
    (src / "val.txt").write_text("")
    with pytest.raises(DataError, match=r"train.txt line 2, column 3: coarse id 5 does not match"):
        import_grocery_store(src, tmp_path / "out", catalog=False)
    (src / "train.txt").write_text("train/a.jpg, 0\n")
    with pytest.raises(DataError, match=r"train.txt line 1: expected 'path, fine_id, coarse_id'"):
        import_grocery_store(src, tmp_path / "out", catalog=False)
    (src / "train.txt").write_text("train/a.jpg, 99, 0\n")
    with pytest.raises(DataError, match=r"fine class id 99 is not in classes.csv"):
        import_grocery_store(src, tmp_path / "out", catalog=False)
    for outside in ("../../etc/passwd", "/etc/passwd", "train/../../x.jpg"):  # were imported as photos
        (src / "train.txt").write_text(f"{outside}, 0, 0\n")
        with pytest.raises(DataError, match=r"train.txt line 1, column 1: .* is not a photo inside the dataset"):
            import_grocery_store(src, tmp_path / "out", catalog=False)
    (src / "train.txt").write_text("train/a.jpg, 0, 0\n")
    text = (grocery_root / "classes.csv").read_text(encoding="utf-8-sig").splitlines()
    (src / "classes.csv").write_text("\n".join([*text[:3], text[2].replace(",1,", ",0,", 1)]) + "\n")
    with pytest.raises(DataError, match=r"classes.csv line 4: class id 0 appears twice"):
        import_grocery_store(src, tmp_path / "out", catalog=False)
    (src / "classes.csv").write_text(text[0] + "\n")  # was blamed on train.txt's first line
    with pytest.raises(DataError, match=r"classes.csv: no classes"):
        import_grocery_store(src, tmp_path / "out", catalog=False)
