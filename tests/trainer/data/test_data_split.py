import random
import shutil
from collections import Counter

import cv2
import pytest

from kiosk.errors import DataError
from trainer.data.manifest import ManifestRow, read_manifest, write_manifest
from trainer.data.split import assign_groups, split_manifest

FOLDERS = {"Fruit/Kiwi": "kiwi", "Fruit/Banana": "banana", "Fruit/Apple/Granny-Smith": "granny-smith",
           "Vegetables/Leek": "leek"}


@pytest.fixture
def pool(grocery_root, tmp_path):
    """A manifest of 20 real photos per SKU (4 SKUs) plus, per SKU, a group of 3: a photo, its exact copy and
    a 300x300 re-encoded copy. Returns (manifest, {copy path: original path})."""
    rows, copies = [], {}
    for folder, sku in FOLDERS.items():
        photos = sorted((grocery_root / "train" / folder).glob("*.jpg"))[:20]
        rows += [ManifestRow(p, sku) for p in photos]
        original = photos[7]
        exact = tmp_path / "copies" / sku / "exact.jpg"
        exact.parent.mkdir(parents=True)
        shutil.copyfile(original, exact)
        small = exact.with_name("small.jpg")
        cv2.imwrite(str(small), cv2.resize(cv2.imread(str(original)), (300, 300), interpolation=cv2.INTER_AREA),
                    [cv2.IMWRITE_JPEG_QUALITY, 80])
        rows += [ManifestRow(exact, sku), ManifestRow(small, sku)]
        copies[exact] = copies[small] = original
    return write_manifest(rows, tmp_path / "all.csv"), copies


def split_of(out):
    return {r.path: s for s in ("train", "val", "test") if (out / f"{s}.csv").exists()
            for r in read_manifest(out / f"{s}.csv")}


def test_split_is_stratified_grouped_and_reproducible(pool, tmp_path, data_cli, capsys):
    manifest, copies = pool
    assert data_cli("split", manifest, "--val", "0.1", "--test", "0.1", "--seed", "7", "--out", tmp_path / "a",
                    "--no-cache", "--workers", "1", "--no-progress") == 0
    printed = capsys.readouterr().out
    assert "train" in printed and "val" in printed and "test" in printed
    where = split_of(tmp_path / "a")
    rows = read_manifest(manifest)
    assert set(where) == {r.path for r in rows}  # every photo exactly once
    # group integrity: a photo and its copies share a split
    for copy, original in copies.items():
        assert where[copy] == where[original], copy
    # stratification: 22 photos per SKU -> round(2.2) = 2 val and 2 test each (the 3-photo group fits nowhere else)
    per = Counter((r.sku, where[r.path]) for r in rows)
    for sku in FOLDERS.values():
        assert per[(sku, "val")] == 2 and per[(sku, "test")] == 2 and per[(sku, "train")] == 18, per
    for s in ("train", "val", "test"):
        assert all(r.split == s for r in read_manifest(tmp_path / "a" / f"{s}.csv"))
    # same seed, shuffled input lines -> byte-identical files
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    write_manifest(shuffled, tmp_path / "shuffled.csv")
    split_manifest(tmp_path / "shuffled.csv", tmp_path / "b", seed=7, workers=1, progress=False)
    for s in ("train", "val", "test"):
        a = (tmp_path / "a" / f"{s}.csv").read_text().replace("../", "")
        b = (tmp_path / "b" / f"{s}.csv").read_text().replace("../", "")
        assert a == b
    # another seed gives another split
    split_manifest(manifest, tmp_path / "c", seed=8, workers=1, progress=False)
    assert split_of(tmp_path / "c") != where


def test_without_grouping_copies_would_leak(pool, tmp_path):
    """The group test above can fail: with exact-only grouping the resized copies scatter over splits."""
    manifest, copies = pool
    leaks = 0
    for seed in range(6):
        split_manifest(manifest, tmp_path / str(seed), seed=seed, phash_threshold=-1, workers=1, progress=False)
        where = split_of(tmp_path / str(seed))
        leaks += sum(where[c] != where[o] for c, o in copies.items())
    assert leaks > 0


def test_assign_groups_rules():
    def sizes(assignment, groups):
        out = Counter()
        for ident, _, size in groups:
            out[assignment[ident]] += size
        return out

    fractions = {"val": 0.1, "test": 0.1}
    # 3 photos: one each; 2 photos: nothing spare for two holdouts -> train only
    three = [(f"a{i}", "a", 1) for i in range(3)]
    two = [(f"b{i}", "b", 1) for i in range(2)]
    result = assign_groups(three + two, fractions, seed=0)
    assert sizes(result, three) == {"train": 1, "val": 1, "test": 1}
    assert sizes(result, two) == {"train": 2}
    # a big group never swallows the holdout; holdouts still get a small group
    groups = [("big", "c", 30)] + [(f"c{i}", "c", 1) for i in range(10)]
    assert sizes(assign_groups(groups, fractions, seed=3), groups) == {"train": 32, "val": 4, "test": 4}
    # order independence and seed dependence
    many = [(f"d{i}", "d", 1) for i in range(50)]
    first = assign_groups(many, fractions, seed=1)
    assert assign_groups(list(reversed(many)), fractions, seed=1) == first
    assert assign_groups(many, fractions, seed=2) != first
    # test share 0 -> no test split at all
    assert set(assign_groups(many, {"val": 0.2, "test": 0}, seed=1).values()) == {"train", "val"}


def test_split_errors(tmp_path):
    m = tmp_path / "m.csv"
    m.write_text("path,sku\n")
    with pytest.raises(DataError, match="no rows"):
        split_manifest(m, tmp_path / "o")
    with pytest.raises(DataError, match="leave nothing for train"):
        split_manifest(m, tmp_path / "o", val=0.5, test=0.5)
    with pytest.raises(DataError, match="--val 1.5"):
        split_manifest(m, tmp_path / "o", val=1.5)
