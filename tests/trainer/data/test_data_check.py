"""``checkout data check`` on a copy of real photos with planted problems: it finds each, and nothing else."""

import csv
import json
import shutil
import sqlite3

import cv2
import pytest

from kiosk.errors import DataError
from trainer.data.check import CheckOptions, read_skus_table, run_check
from trainer.data.manifest import ManifestRow, read_manifest, write_manifest


def append(manifest, *rows):
    write_manifest(read_manifest(manifest) + list(rows), manifest)


@pytest.fixture
def planted(grocery_subset):
    """The subset plus one of each problem; returns (subset, {relative path: expected reason})."""
    s = grocery_subset
    train = read_manifest(s.train)
    kiwi = next(r for r in train if r.sku == "kiwi")
    bad = s.root / "train" / "bad"
    bad.mkdir()
    good = s.spare.read_bytes()

    (bad / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20 + b"\xff\xd9")
    (bad / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (bad / "empty.jpg").write_bytes(b"")
    tiny = cv2.resize(cv2.imread(str(s.spare)), (40, 30), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(bad / "tiny.jpg"), tiny)
    # a 300x300 re-encoded copy of a train photo, listed in train too
    banana = next(r for r in train if r.sku == "banana")
    small = cv2.resize(cv2.imread(str(banana.path)), (300, 300), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(bad / "banana-small.jpg"), small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    append(s.train, *(ManifestRow(bad / n, "kiwi") for n in ("corrupt.jpg", "truncated.jpg", "empty.jpg", "tiny.jpg")),
           ManifestRow(bad / "banana-small.jpg", "banana"))
    # an exact copy of a train photo placed in val under another name: leakage
    leaked = s.root / "val" / "leaked.jpg"
    shutil.copyfile(kiwi.path, leaked)
    # a photo of a product the catalog does not know
    mystery = s.root / "val" / "mystery.jpg"
    shutil.copyfile(s.spare, mystery)
    append(s.val, ManifestRow(leaked, "kiwi"), ManifestRow(mystery, "mystery-item"))

    expected = {
        "train/bad/corrupt.jpg": "undecodable",
        "train/bad/truncated.jpg": "truncated",
        "train/bad/empty.jpg": "empty",
        "train/bad/tiny.jpg": "tiny",
        "train/bad/banana-small.jpg": "near-duplicate",
        "val/leaked.jpg": "duplicate",
        "val/mystery.jpg": "unknown-sku",
    }
    return s, expected, kiwi, banana


def quarantine(out):
    with open(out / "quarantine.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_check_finds_each_planted_problem_and_nothing_else(planted, tmp_path, data_cli, capsys, make_catalog):
    s, expected, kiwi, banana = planted
    catalog = make_catalog(tmp_path / "catalog.sqlite", list(s.skus))
    out = tmp_path / "check"
    before = sorted(p for p in s.root.rglob("*") if p.is_file() and p.suffix == ".jpg")
    code = data_cli("check", s.train, s.val, "--catalog", catalog, "--out", out, "--no-cache", "--workers", "1",
                    "--no-progress", "--min-per-sku", "3")
    assert code == 0
    rows = quarantine(out)
    found = {(out / r["path"]).resolve().relative_to(s.root.resolve()).as_posix(): r["reason"] for r in rows}
    assert found == expected
    assert len(rows) == len(expected)

    by_reason = {r["reason"]: r for r in rows}
    assert "LEAKAGE across train/val" in by_reason["duplicate"]["detail"]
    assert kiwi.path.name in by_reason["duplicate"]["detail"]
    assert banana.path.name in by_reason["near-duplicate"]["detail"]
    assert "FFD9" in by_reason["truncated"]["detail"] and by_reason["empty"]["detail"] == "0 bytes"
    assert "40x30" in by_reason["tiny"]["detail"]

    report = json.loads((out / "report.json").read_text())
    assert report["reason_counts"] == {"empty": 1, "undecodable": 1, "truncated": 1, "tiny": 1, "unknown-sku": 1,
                                       "duplicate": 1, "near-duplicate": 1}
    assert report["unknown_skus"] == ["mystery-item"]
    assert report["leakage_groups"] == 1
    groups = report["duplicate_groups"]
    assert sorted((g["kind"], g["cross_manifest"]) for g in groups) == [("exact", True), ("near", False)]
    assert report["class_counts"] == {"train": {"banana": 6, "golden-delicious": 6, "kiwi": 6},
                                      "val": {"banana": 2, "golden-delicious": 2, "kiwi": 2}}
    assert report["imbalance"]["min"] == report["imbalance"]["max"] == 8 and report["imbalance"]["ratio"] == 1
    assert report["imbalance"]["under_minimum"] == {"mystery-item": 0}

    # cleansed manifests: the originals minus the quarantined rows, paths still resolving to the photos
    clean_train, clean_val = read_manifest(out / "train.clean.csv"), read_manifest(out / "val.clean.csv")
    assert len(clean_train) == 18 and len(clean_val) == 6
    assert all(r.path.is_file() for r in clean_train + clean_val)
    assert kiwi.path in {r.path for r in clean_train}  # the first copy (train) is kept
    # photos are never deleted or moved
    assert sorted(p for p in s.root.rglob("*") if p.is_file() and p.suffix == ".jpg") == before
    md = (out / "report.md").read_text()
    assert "**LEAKAGE**" in md and "mystery-item" in md
    assert "7 quarantined" in capsys.readouterr().out


def test_check_is_order_sensitive_only_in_which_copy_is_kept(planted, tmp_path):
    s, expected, kiwi, _ = planted
    report = run_check([s.val, s.train], tmp_path / "rev", options=CheckOptions(workers=1, progress=False))
    dup = [q for q in report.quarantined if q.reason == "duplicate"]
    assert [q.path for q in dup] == [kiwi.path]  # now the val copy is first, so the train one goes
    assert "LEAKAGE across val/train" in dup[0].detail


def test_conflicting_labels_quarantine_every_copy(grocery_subset, tmp_path):
    s = grocery_subset
    first = read_manifest(s.val)[0]
    copy = s.root / "val" / "relabelled.jpg"
    shutil.copyfile(first.path, copy)
    append(s.val, ManifestRow(copy, "kiwi" if first.sku != "kiwi" else "banana"))
    report = run_check([s.train, s.val], tmp_path / "out", options=CheckOptions(workers=1, progress=False))
    assert {(q.path, q.reason) for q in report.quarantined} == {(first.path, "conflicting-labels"),
                                                                (copy, "conflicting-labels")}


def test_two_products_that_only_hash_alike_are_not_conflicting_copies(tmp_path):
    """Two cartons of one shape with different labels hash within 4 bits (a grey pHash): before, both were
    quarantined as "conflicting-labels" copies. Photos labelled differently are joined only when their pixels say
    they are one photo; near frames of one SKU are still near-duplicates (leakage)."""
    from tests.trainer.tray_scenes import BLUE_LABEL, LEMON, LIME, RED_LABEL, carton, copy_of, fruit, jpeg

    photos = {"arla.jpg": jpeg(carton(BLUE_LABEL, seed=1)), "valio.jpg": jpeg(carton(RED_LABEL, seed=2)),
              "lemon-1.jpg": jpeg(fruit(LEMON, seed=1)), "lemon-2.jpg": jpeg(fruit(LEMON, seed=4, centre=(114, 98))),
              "lime.jpg": jpeg(fruit(LIME, seed=2, centre=(100, 90)))}
    photos["lime-copy.jpg"] = copy_of(photos["lime.jpg"])
    for name, data in photos.items():
        (tmp_path / name).write_bytes(data)
    skus = {"arla.jpg": "arla-milk", "valio.jpg": "valio-milk", "lemon-1.jpg": "lemon", "lemon-2.jpg": "lemon",
            "lime.jpg": "lime", "lime-copy.jpg": "lemon"}  # the copy of the lime photo is labelled lemon
    write_manifest([ManifestRow(tmp_path / n, sku) for n, sku in skus.items()], tmp_path / "train.csv")
    report = run_check([tmp_path / "train.csv"], tmp_path / "out", options=CheckOptions(workers=1, progress=False,
                                                                                        min_per_sku=1))
    assert {q.path.name: q.reason for q in report.quarantined} == {
        "lemon-2.jpg": "near-duplicate", "lime.jpg": "conflicting-labels", "lime-copy.jpg": "conflicting-labels"}
    assert sorted(sorted(m["path"] for m in g["members"]) for g in report.duplicate_groups) == [
        ["../lemon-1.jpg", "../lemon-2.jpg"], ["../lime-copy.jpg", "../lime.jpg"]]


def test_checksum_column_is_verified(grocery_subset, tmp_path):
    s = grocery_subset
    rows = read_manifest(s.train)
    rows[0] = rows[0].with_(sha256="0" * 64)
    write_manifest(rows, s.train)
    report = run_check([s.train], tmp_path / "out", options=CheckOptions(workers=1, progress=False))
    assert [(q.path, q.reason) for q in report.quarantined] == [(rows[0].path, "checksum-mismatch")]


def test_missing_file_and_hash_cache(grocery_subset, tmp_path):
    s = grocery_subset
    append(s.train, ManifestRow(s.root / "train" / "gone.jpg", "kiwi"))
    options = CheckOptions(workers=2, progress=False, cache=tmp_path / "cache.sqlite")
    first = run_check([s.train, s.val], tmp_path / "a", options=options)
    again = run_check([s.train, s.val], tmp_path / "b", options=options)
    assert [(q.path.name, q.reason) for q in first.quarantined] == [("gone.jpg", "missing")]
    assert again.quarantined == first.quarantined
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    assert db.execute("SELECT count(*) FROM facts").fetchone()[0] == 24  # missing files are not cached


def test_catalog_errors_and_sqlite_reader(tmp_path, grocery_subset):
    with pytest.raises(DataError, match="catalog not found"):
        run_check([grocery_subset.train], tmp_path / "o", catalog=tmp_path / "nope.sqlite")
    db = sqlite3.connect(tmp_path / "plain.sqlite")
    db.execute("CREATE TABLE skus (sku TEXT PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO skus VALUES (?, ?)", [("kiwi", "Kiwi"), ("banana", "Banana")])
    db.commit()
    db.close()
    assert read_skus_table(tmp_path / "plain.sqlite") == {"kiwi", "banana"}
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(DataError, match="not a readable SQLite catalog"):
        read_skus_table(tmp_path / "junk.sqlite")


def test_malformed_manifest_is_a_one_line_user_error(tmp_path, data_cli):
    bad = tmp_path / "bad.csv"
    bad.write_text("path,sku\nx.jpg,kiwi,extra\n")
    with pytest.raises(DataError, match=r"bad.csv line 2: expected 2 columns"):
        data_cli("check", bad, "--out", tmp_path / "out", "--no-cache")


def test_checkout_entry_point_prints_one_line_error(tmp_path, capsys):
    from kiosk.cli import build_parser, main

    if "data" not in build_parser()._subparsers._group_actions[0].choices:
        pytest.skip("trainer.cli does not register the data commands")
    bad = tmp_path / "bad.csv"
    bad.write_text("path,sku\nx.jpg,Kiwi\n")
    assert main(["data", "check", str(bad), "--out", str(tmp_path / "out"), "--no-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.csv line 2, column 2 'sku': 'Kiwi'" in err[0]


def test_check_reads_and_decodes_photos_as_the_trainer_does(tmp_path, data_cli):
    """The header is read before a byte is decoded (a 20000x20000 JPEG header is refused, not decoded to 1.2 GB),
    libjpeg's warnings refuse a JPEG cut in its scan data that still ends in EOI (OpenCV alone passes it), and a
    device, a pipe or a folder named like a photo is refused without reading it (/dev/zero never ends)."""
    import os

    from tests.bad_frames import write_bad_frames
    from tests.trainer.synthetic import make_dataset

    train, _ = make_dataset(tmp_path / "data", per_class=4)
    photo = cv2.imread(str(read_manifest(train)[0].path))
    bad = write_bad_frames(tmp_path / "bad", cv2.resize(photo, (320, 320)))
    (tmp_path / "bad" / "folder.jpg").mkdir()
    os.mkfifo(tmp_path / "bad" / "pipe.jpg")
    paths = [*bad, tmp_path / "bad" / "folder.jpg", tmp_path / "bad" / "pipe.jpg", "/dev/zero"]
    append(train, *(ManifestRow(p, "red-disc") for p in paths))
    out = tmp_path / "check"
    assert data_cli("check", train, "--out", out, "--no-cache", "--workers", "1", "--no-progress",
                    "--min-per-sku", "1") == 0
    found = {r["path"].rsplit("/", 1)[-1]: (r["reason"], r["detail"]) for r in quarantine(out)
             if r["reason"] != "near-duplicate"}  # the synthetic shapes look alike
    assert found == {
        "bomb.jpg": ("undecodable", "jpeg header claims 20000x20000 = 400,000,000 pixels (at most 40,000,000 are "
                                    "decoded)"),
        "tall.png": ("undecodable", "png image is 1x20000: an aspect ratio above 8:1"),
        "truncated.jpg": ("undecodable", "Corrupt JPEG data: premature end of data segment"),
        "folder.jpg": ("undecodable", "not a file"), "pipe.jpg": ("undecodable", "not a file"),
        "zero": ("undecodable", "not a file")}


def test_a_manifest_with_a_nul_byte_or_endless_is_refused_in_one_line(tmp_path):
    """A NUL in a path made os.stat raise ValueError (a traceback); /dev/zero as a manifest filled the memory."""
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,sku\na\x00.jpg,kiwi\n")
    with pytest.raises(DataError, match=r"m.csv: not UTF-8 text \(a NUL byte at offset 10\), so not a manifest"):
        read_manifest(manifest)
    with pytest.raises(DataError, match=r"^/dev/zero: not UTF-8 text \(a NUL byte at offset 0\)"):
        read_manifest("/dev/zero")
