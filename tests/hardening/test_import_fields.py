"""Numbers and SKU ids read from dataset files: one strict rule each, shared by the catalog, the kiosk and the trainer
(:mod:`kiosk.exchange.fields`). A class id in ``train.txt``/``classes.csv`` is ASCII digits only (``int('٣')`` is 3:
a photo was imported as another product); a SKU id is at most 64 characters, as the catalog sells; a ``train.txt``
without one photo is refused naming it (it imported a 0-photo train.csv, exit 0)."""

from __future__ import annotations

import pytest

from kiosk.cli import main as checkout
from kiosk.errors import DataError

CLASSES = "Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int)\n" \
          "Golden-Delicious,0,Apple,0\nGranny-Smith,1,Apple,0\nRed-Delicious,3,Apple,0\n"


def _dataset(root, train="train/a.jpg, 0, 0\n", classes=CLASSES):
    root.mkdir()
    (root / "classes.csv").write_text(classes, encoding="utf-8")
    (root / "train.txt").write_text(train, encoding="utf-8")
    (root / "val.txt").write_text("val/b.jpg, 1, 0\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("text, value", [("3", 3), (" 3 ", 3), ("-2", -2), ("007", 7), ("٣", None), ("３", None),
                                         ("1_0", None), ("+1", None), ("1.0", None), ("1e3", None), ("", None),
                                         ("9" * 19, None), ("३", None)])
def test_whole_number_takes_ascii_digits_only(text, value):
    from kiosk.exchange.fields import whole_number

    assert whole_number(text) == value


@pytest.mark.parametrize("digit", ["٣", "३", "1_0"])
def test_a_class_id_in_another_script_is_refused_naming_the_line(tmp_path, digit):
    from trainer.data.importers import import_grocery_store

    src = _dataset(tmp_path / "gs", train=f"train/a.jpg, 0, 0\ntrain/Golden-Delicious_001.jpg, {digit}, 0\n")
    with pytest.raises(DataError, match=r"train.txt line 2: class ids must be whole numbers in ASCII digits"):
        import_grocery_store(src, tmp_path / "out", catalog=False)
    assert not (tmp_path / "out" / "train.csv").exists()


def test_a_class_id_in_classes_csv_in_another_script_is_refused(tmp_path):
    from trainer.data.importers import read_grocery_classes

    src = _dataset(tmp_path / "gs", classes=CLASSES.replace("Red-Delicious,3,", "Red-Delicious,٠,"))
    with pytest.raises(DataError, match=r"classes.csv line 4: class ids must be whole numbers in ASCII digits"):
        read_grocery_classes(src)


@pytest.mark.parametrize("train", ["", "\n\n"])
def test_a_train_txt_without_photos_is_refused_naming_it(tmp_path, capsys, train):
    src = _dataset(tmp_path / "gs", train=train)
    assert checkout(["data", "import-grocery-store", str(src), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{src / 'train.txt'}: no photos" in err and "Traceback" not in err, err
    assert not (tmp_path / "out" / "train.csv").exists()


def test_a_sku_id_is_at_most_64_characters_everywhere(tmp_path):
    from catalog.model import _SKU_ID
    from kiosk.exchange import feedback
    from kiosk.exchange.fields import SKU_RE, sku_problem
    from trainer.data.manifest import read_manifest, validate_sku

    assert _SKU_ID is SKU_RE and feedback.SKU_RE is SKU_RE  # one rule
    assert validate_sku("a" * 64) is None and sku_problem("a" * 64) is None
    assert "longer than 64 characters (100000)" in validate_sku("a" * 100_000)
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,sku\nx.jpg,{'a' * 100_000}\n")
    with pytest.raises(DataError, match="longer than 64 characters"):
        read_manifest(manifest)
    src = _dataset(tmp_path / "gs", classes=CLASSES.replace("Red-Delicious", "R" * 65))
    from trainer.data.importers import read_grocery_classes

    with pytest.raises(DataError, match=r"classes.csv line 4, column 1: .*longer than 64 characters"):
        read_grocery_classes(src)
