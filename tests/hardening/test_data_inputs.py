"""Bad inputs to the trainer's data commands (``checkout data import-folder|import-grocery-store|check|split``): each
is refused in one line naming what and where, or handled without losing or mixing up photos, and nothing already
written is lost or half-written."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.cli import main
from trainer.data.manifest import ManifestRow, read_manifest, write_manifest
from trainer.data.split import split_manifest

FAST = ("--no-cache", "--workers", "1", "--no-progress")


def photo(path: Path, seed: int, size: int = 80) -> Path:
    """A distinct textured PNG (random noise: its pHash is ~32 bits from any other)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    cv2.imwrite(str(path), img)
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(capsys, *argv) -> str:
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.startswith("checkout: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def counts(out: Path) -> Counter:
    return Counter({s: len(read_manifest(out / f"{s}.csv")) for s in ("train", "val", "test")
                    if (out / f"{s}.csv").exists()})


# -- data split: shares ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [4, 5, 6])
def test_split_of_a_short_sequence_keeps_the_asked_shares(tmp_path, capsys, n):
    """4-6 consecutive shots of one SKU, 10 %/10 % asked: each held-out split takes at most its 1-photo target
    (before: a 2-photo run was moved whole, holding out 50 %)."""
    for i in range(n):
        photo(tmp_path / "t" / "apple" / f"Golden-Delicious_{i + 1:03d}.png", i)
    assert run(capsys, "data", "import-folder", tmp_path / "t", "--out", tmp_path / "m")[0] == 0
    assert run(capsys, "data", "split", tmp_path / "m" / "manifest.csv", "--out", tmp_path / "s", *FAST)[0] == 0
    got = counts(tmp_path / "s")
    assert got["val"] <= 1 and got["test"] <= 1 and got["train"] >= n - 2, got


def test_split_of_small_skus_warns_and_holds_out_at_most_a_photo_per_split(tmp_path, caplog):
    rows = [ManifestRow(photo(tmp_path / sku / f"IMG_{i:04d}.png", 100 * k + i), sku)
            for k, sku in enumerate(("apple", "kiwi", "leek", "pear")) for i in range(5)]
    manifest = write_manifest(rows, tmp_path / "all.csv")
    with caplog.at_level(logging.WARNING):
        result = split_manifest(manifest, tmp_path / "s", workers=1, progress=False)
    per = Counter((r.sku, s) for s, split_rows in result.rows.items() for r in split_rows)
    for sku in ("apple", "kiwi", "leek", "pear"):
        assert per[(sku, "val")] <= 1 and per[(sku, "test")] <= 1 and per[(sku, "train")] >= 3, per
    assert result.warnings and "could not be split as asked" in result.warnings[0]
    assert "could not be split as asked" in caplog.text


def test_split_guard_that_leaves_a_sku_nothing_to_train_on_is_refused(tmp_path, capsys):
    rows = [ManifestRow(photo(tmp_path / sku / f"IMG_{i:04d}.png", 100 * k + i), sku)
            for k, sku in enumerate(("apple", "kiwi")) for i in range(5)]
    manifest = write_manifest(rows, tmp_path / "all.csv")
    line = one_line_error(capsys, "data", "split", manifest, "--out", tmp_path / "s", "--guard", "5", *FAST)
    assert "--guard 5" in line and "without a training photo" in line and "apple" in line
    assert not (tmp_path / "s").exists()


# -- data split: outputs ---------------------------------------------------------------------------------------
def _twenty(tmp_path: Path) -> Path:
    rows = [ManifestRow(photo(tmp_path / "p" / sku / f"x{i}.png", 100 * k + i), sku)
            for k, sku in enumerate(("apple", "kiwi")) for i in range(10)]
    return write_manifest(rows, tmp_path / "ds" / "train.csv")


def test_split_never_replaces_its_input_or_a_manifest_it_did_not_write(tmp_path, capsys):
    manifest = _twenty(tmp_path)
    val = write_manifest(read_manifest(manifest)[:3], tmp_path / "ds" / "val.csv")
    before = manifest.read_bytes(), val.read_bytes()
    line = one_line_error(capsys, "data", "split", manifest, "--out", tmp_path / "ds", *FAST)
    assert "train.csv" in line and "being split" in line
    val_only = tmp_path / "other" / "val.csv"
    write_manifest(read_manifest(val), val_only)
    line = one_line_error(capsys, "data", "split", manifest, "--out", tmp_path / "other", *FAST)
    assert "val.csv" in line and "not written by" in line
    assert (manifest.read_bytes(), val.read_bytes()) == before


def test_split_again_into_the_same_folder_leaves_no_stale_manifest(tmp_path, capsys):
    manifest, out = _twenty(tmp_path), tmp_path / "s"
    assert run(capsys, "data", "split", manifest, "--out", out, *FAST)[0] == 0
    assert (out / "test.csv").exists()
    assert run(capsys, "data", "split", manifest, "--out", out, "--test", "0", "--val", "0.2", *FAST)[0] == 0
    assert not (out / "test.csv").exists()
    paths = [r.path for s in ("train", "val") for r in read_manifest(out / f"{s}.csv")]
    assert len(paths) == len(set(paths)) == 20


@pytest.mark.parametrize("command", ["import-folder", "check", "split", "import-grocery-store"])
def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys, command, monkeypatch):
    manifest = _twenty(tmp_path)
    out = tmp_path / "base.csv"
    out.write_text("keep me\n")
    import trainer.data.hashing as hashing

    monkeypatch.setattr(hashing, "inspect_images", lambda *a, **k: pytest.fail("hashed before --out was checked"))
    source = {"import-folder": tmp_path / "p", "check": manifest, "split": manifest,
              "import-grocery-store": tmp_path / "p"}[command]
    line = one_line_error(capsys, "data", command, source, "--out", out, *(FAST if command in ("check", "split")
                                                                            else ()))
    assert f"--out {out}: not a folder" in line
    assert out.read_text() == "keep me\n"


# -- manifests -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["path", "sku", "last line"])
def test_a_quote_never_closed_is_named_on_its_own_line(tmp_path, where):
    from kiosk.errors import DataError

    lines = [f"Golden-Delicious_{i:03d}.jpg,golden" for i in range(1, 51)]
    at = 49 if where == "last line" else 2
    lines[at] = f'"{lines[at]}' if where != "sku" else lines[at].replace(",", ',"')
    m = tmp_path / "m.csv"
    m.write_text("path,sku\n" + "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"m.csv line {at + 2}: a quote opened on this line is never closed"):
        read_manifest(m)


# -- data import-folder ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("names", [("Apple", "apple"), ("Red Apple", "red-apple")])
@pytest.mark.parametrize("copy", [True, False])
def test_import_folder_refuses_two_folders_that_make_one_sku(tmp_path, capsys, names, copy):
    for k, name in enumerate(names):
        photo(tmp_path / "t" / name / "img1.png", k)
    line = one_line_error(capsys, "data", "import-folder", tmp_path / "t", "--out", tmp_path / "o",
                          *(["--copy"] if copy else []))
    assert all(repr(n) in line for n in names) and "both make SKU id" in line
    assert not (tmp_path / "o" / "manifest.csv").exists()


def test_import_folder_copy_replaces_a_changed_photo_of_the_same_size(tmp_path, capsys):
    src = photo(tmp_path / "t" / "apple" / "a.png", 1)
    assert run(capsys, "data", "import-folder", tmp_path / "t", "--out", tmp_path / "o", "--copy")[0] == 0
    copied = tmp_path / "o" / "images" / "apple" / "a.png"
    changed = bytearray(src.read_bytes())
    changed[-20] ^= 0xFF  # same size, other content
    src.write_bytes(bytes(changed))
    assert run(capsys, "data", "import-folder", tmp_path / "t", "--out", tmp_path / "o", "--copy")[0] == 0
    assert copied.read_bytes() == src.read_bytes()


def test_import_folder_with_out_inside_the_root_does_not_import_its_own_copies(tmp_path, capsys):
    photo(tmp_path / "t" / "apple" / "a.png", 1)
    photo(tmp_path / "t" / "kiwi" / "b.png", 2)
    for _ in range(2):
        assert run(capsys, "data", "import-folder", tmp_path / "t", "--out", tmp_path / "t" / "out", "--copy")[0] == 0
    rows = read_manifest(tmp_path / "t" / "out" / "manifest.csv")
    assert sorted(r.sku for r in rows) == ["apple", "kiwi"]
    photo(tmp_path / "u" / "apple" / "a.png", 1)
    for _ in range(2):  # --out the root itself: its images/ is left out
        assert run(capsys, "data", "import-folder", tmp_path / "u", "--out", tmp_path / "u", "--copy")[0] == 0
    assert [r.sku for r in read_manifest(tmp_path / "u" / "manifest.csv")] == ["apple"]


def test_import_folder_skips_a_linked_folder_outside_the_root(tmp_path, capsys):
    photo(tmp_path / "t" / "apple" / "a.png", 1)
    photo(tmp_path / "elsewhere" / "x" / "b.png", 2)
    (tmp_path / "t" / "everything").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "t" / "pomme").symlink_to(tmp_path / "t" / "apple")  # a link inside the root is fine
    code, out, _ = run(capsys, "data", "import-folder", tmp_path / "t", "--out", tmp_path / "o")
    assert code == 0 and "everything" in out and "outside" in out
    assert sorted(r.sku for r in read_manifest(tmp_path / "o" / "manifest.csv")) == ["apple", "pomme"]


def test_import_folder_names_a_photo_name_that_is_not_utf8(tmp_path, capsys):
    photo(tmp_path / "t" / "apple" / "a.png", 1)
    bad = os.path.join(os.fsencode(tmp_path / "t" / "apple"), b"bad\xff\xfe.jpg")
    with open(bad, "wb") as fh:
        fh.write(b"x")
    line = one_line_error(capsys, "data", "import-folder", tmp_path / "t", "--out", tmp_path / "o")
    assert "not UTF-8" in line and "bad" in line


def test_import_folder_copy_skips_a_pipe_named_like_a_photo(tmp_path, capsys):
    photo(tmp_path / "t" / "apple" / "a.png", 1)
    os.mkfifo(tmp_path / "t" / "apple" / "pipe.jpg")
    code, out, err = run(capsys, "data", "import-folder", tmp_path / "t", "--out", tmp_path / "o", "--copy")
    assert code == 0 and "Traceback" not in err and "not regular files" in out
    assert [r.path.name for r in read_manifest(tmp_path / "o" / "manifest.csv")] == ["a.png"]


# -- data import-grocery-store -------------------------------------------------------------------------------
def grocery(tmp_path: Path, classes: list[str], train: str = "train/a.jpg, 0, 0\n", val: str = "val/b.jpg, 0, 0\n"):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    header = "Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int)\n"
    (src / "classes.csv").write_text(header + "".join(f"{c},{i},Fruit,0\n" for i, c in enumerate(classes)))
    (src / "train.txt").write_text(train)
    (src / "val.txt").write_text(val)
    return src


def test_import_grocery_store_writes_nothing_when_an_input_is_missing(tmp_path, capsys):
    src = grocery(tmp_path, ["Golden-Delicious"])
    assert run(capsys, "data", "import-grocery-store", src, "--out", tmp_path / "gs", "--no-catalog")[0] == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "gs").iterdir()}
    (src / "train.txt").write_text("train/a.jpg, 0, 0\ntrain/c.jpg, 0, 0\n")
    (src / "val.txt").unlink()
    line = one_line_error(capsys, "data", "import-grocery-store", src, "--out", tmp_path / "gs", "--no-catalog")
    assert "val.txt" in line
    assert {p.name: p.read_bytes() for p in (tmp_path / "gs").iterdir()} == before


@pytest.mark.parametrize("name", ["Äpple Röd", "Milk (1L)", "Salt & Pepper", '""'])
def test_import_grocery_store_names_a_class_that_makes_no_valid_sku(tmp_path, capsys, name):
    src = grocery(tmp_path, ["Golden-Delicious", name], train="train/a.jpg, 1, 0\n")
    line = one_line_error(capsys, "data", "import-grocery-store", src, "--out", tmp_path / "gs", "--no-catalog")
    assert "classes.csv line 3" in line and "valid SKU id" in line
    assert not (tmp_path / "gs").exists()


def test_import_grocery_store_refuses_two_classes_that_make_one_sku(tmp_path, capsys):
    src = grocery(tmp_path, ["Granny Smith", "Kiwi", "granny-smith"])
    line = one_line_error(capsys, "data", "import-grocery-store", src, "--out", tmp_path / "gs", "--no-catalog")
    assert "classes.csv line 4" in line and "line 2" in line and "'granny-smith'" in line


def test_import_grocery_store_drops_a_bom_and_names_bytes_that_are_not_utf8(tmp_path, capsys):
    src = grocery(tmp_path, ["Golden-Delicious"])
    (src / "train.txt").write_bytes(b"\xef\xbb\xbftrain/a.jpg, 0, 0\n")
    assert run(capsys, "data", "import-grocery-store", src, "--out", tmp_path / "gs", "--no-catalog")[0] == 0
    assert read_manifest(tmp_path / "gs" / "train.csv")[0].path == (src / "train" / "a.jpg").resolve()
    (src / "train.txt").write_bytes(b"train/a.jpg, 0, 0\ntrain/b\xff.jpg, 0, 0\n")
    line = one_line_error(capsys, "data", "import-grocery-store", src, "--out", tmp_path / "gs2", "--no-catalog")
    assert "train.txt line 2: not UTF-8" in line
    (src / "train.txt").write_bytes(b"train/a.jpg, 0, 0\n")
    (src / "classes.csv").write_bytes((src / "classes.csv").read_bytes().replace(b"Golden", b"Gr\xe4nny"))
    line = one_line_error(capsys, "data", "import-grocery-store", src, "--out", tmp_path / "gs2", "--no-catalog")
    assert "classes.csv line 2: not UTF-8" in line


# -- feedback collect ------------------------------------------------------------------------------------------
def test_feedback_collect_keeps_the_newer_label_whatever_offset_the_kiosks_write(tmp_path):
    from tests.trainer.fleet.stores import crop, put_batch, record
    from trainer.fleet.collect import collect_feedback

    ho = tmp_path / "ho"
    older, newer = "2026-12-01T23:00:00+05:30", "2026-12-01T18:00:00Z"  # 17:30 UTC, then 18:00 UTC
    put_batch(ho, "S", "K1", [record("a", "lemon", "shopper", when=older)], {"a": crop(1)})
    put_batch(ho, "S", "K2", [record("b", "banana", "shopper", when=newer)], {"b": crop(1)})  # the same crop
    # and one placement whose revision 2 was written twice, the later one with a Z
    put_batch(ho, "S", "K3", [record("c", "lemon", "staff", revision=2, when=older)], {"c": crop(2)})
    put_batch(ho, "S", "K3", [record("c", "kiwi", "staff", revision=2, when=newer)], {"c": crop(2)})
    collect_feedback(str(ho), tmp_path / "out", progress=False, workers=1)
    kept = {r.extra["placement_id"]: r.sku for r in read_manifest(tmp_path / "out" / "feedback.csv")}
    assert kept == {"b": "banana", "c": "kiwi"}


# -- data check ------------------------------------------------------------------------------------------------
def test_check_flat_photos_of_different_colours_are_not_near_duplicates(tmp_path, capsys):
    rows = []
    for k in range(300):
        path = tmp_path / "p" / f"flat{k:03d}.png"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), np.full((80, 80, 3), (k % 256, (7 * k) % 256, (k // 2) % 256), np.uint8))
        rows.append(ManifestRow(path, "kiwi"))
    manifest = write_manifest(rows, tmp_path / "m.csv")
    assert run(capsys, "data", "check", manifest, "--out", tmp_path / "out", *FAST)[0] == 0
    assert read_manifest(tmp_path / "out" / "m.clean.csv") == read_manifest(manifest)


def test_check_report_grows_with_the_photos_not_with_their_pairs(tmp_path, capsys):
    base = np.random.default_rng(0).integers(0, 256, (80, 80, 3), dtype=np.uint8)
    rows = []
    for k in range(300):  # one photo, 300 slightly different copies: 44,850 near pairs
        img = base.copy()
        img[k // 80, k % 80] ^= 1
        path = tmp_path / "p" / f"copy{k:03d}.png"
        path.parent.mkdir(exist_ok=True)
        cv2.imwrite(str(path), img)
        rows.append(ManifestRow(path, "kiwi" if k else "lemon"))  # one copy labelled otherwise
    manifest = write_manifest(rows, tmp_path / "m.csv")
    assert run(capsys, "data", "check", manifest, "--out", tmp_path / "out", *FAST)[0] == 0
    (group,) = json.loads((tmp_path / "out" / "report.json").read_text())["duplicate_groups"]
    assert len(group["members"]) == 300 and len(group["links"]) == 299
    assert (tmp_path / "out" / "report.json").stat().st_size < 1_000_000
    assert (tmp_path / "out" / "quarantine.csv").stat().st_size < 200_000


# -- hash cache ------------------------------------------------------------------------------------------------
def test_a_hash_cache_that_cannot_be_used_is_said_and_skipped(tmp_path, capsys, monkeypatch, caplog):
    import sqlite3

    manifest = write_manifest([ManifestRow(photo(tmp_path / "p" / f"{k}.png", k), "kiwi") for k in range(3)],
                              tmp_path / "m.csv")
    notdb = tmp_path / "notdb.sqlite"
    notdb.write_bytes(b"not a database, just some text\n" * 100)
    catalog = tmp_path / "kiosk.db"  # someone else's database: never written into
    with sqlite3.connect(catalog) as db:
        db.execute("CREATE TABLE skus (sku TEXT)")
    catalog_bytes = catalog.read_bytes()
    for cache in (notdb, tmp_path, catalog):
        code, out, err = run(capsys, "data", "check", manifest, "--out", tmp_path / "out", "--cache", cache,
                             "--workers", "1", "--no-progress")
        assert code == 0 and "Traceback" not in err and f"hash cache {cache} cannot be used" in caplog.text, err
        assert "3 clean" in out
        caplog.clear()
    assert notdb.read_bytes() == b"not a database, just some text\n" * 100 and catalog.read_bytes() == catalog_bytes
    # the default cache is ours: a broken one is moved aside and rebuilt
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    default = tmp_path / "xdg" / "checkout" / "image-facts.sqlite"
    default.parent.mkdir(parents=True)
    default.write_bytes(notdb.read_bytes())
    for command in (("check", manifest, "--out", tmp_path / "o2"), ("split", manifest, "--out", tmp_path / "s")):
        code, _, err = run(capsys, "data", *command, "--workers", "1", "--no-progress")
        assert code == 0 and "Traceback" not in err, err
    assert default.with_name("image-facts.sqlite.broken").read_bytes() == notdb.read_bytes()
    with sqlite3.connect(default) as db:
        assert db.execute("SELECT COUNT(*) FROM facts").fetchone()[0] == 3
