"""Shooting sequences in ``checkout data split``: held-out photos come in runs of consecutive shots, the leak left at
the runs' edges is printed, and ``--guard`` removes it."""

from collections import Counter
from pathlib import Path

import pytest

from trainer.data.manifest import ManifestRow, read_manifest, write_manifest
from trainer.data.sequences import (
    block_size,
    guard_band,
    neighbours_across,
    sequence_blocks,
    sequence_key,
    sequences,
)
from trainer.data.split import split_manifest

FOLDERS = {"Fruit/Kiwi": "kiwi", "Fruit/Banana": "banana", "Vegetables/Leek": "leek"}


def test_sequence_key_reads_trailing_numbers():
    assert sequence_key(Path("/a/Golden-Delicious_007.jpg")) == ("/a", "Golden-Delicious_", 7)
    assert sequence_key(Path("/b/IMG0042.JPG")) == ("/b", "IMG", 42)
    assert sequence_key(Path("/c/shelf.jpg")) is None


def test_sequences_order_by_number_and_separate_folders_and_skus():
    paths = [Path(p) for p in ("/a/x_10.jpg", "/a/x_2.jpg", "/a/x_3.jpg", "/b/x_1.jpg", "/a/extra.jpg", "/a/x_4.jpg")]
    skus = ["s", "s", "s", "s", "s", "t"]
    assert sequences(paths, skus) == [[1, 2, 0], [5], [3]]


def test_blocks_neighbours_and_guard():
    seq = [[0, 1, 2, 3, 4, 5, 6, 7, 8]]
    assert sequence_blocks(seq, [3]) == [(0, 1), (1, 2), (3, 4), (4, 5), (6, 7), (7, 8)]
    assert sequence_blocks(seq, [1]) == []
    assert block_size(32, 0.1) == 3 and block_size(10, 0.1) == 2 and block_size(10, 0) == 1
    split_of = ["train"] * 3 + ["test"] * 3 + ["train"] * 3
    assert neighbours_across(seq, split_of, "test") == (2, 3)  # the run's two edge photos touch train
    assert guard_band(seq, split_of, 1) == {2, 6}
    assert guard_band(seq, split_of, 2) == {1, 2, 6, 7}
    assert guard_band(seq, split_of, 0) == set()


def _numbered_pool(grocery_root, tmp_path, per_sku=30):
    rows = []
    for folder, sku in FOLDERS.items():
        rows += [ManifestRow(p, sku) for p in sorted((grocery_root / "train" / folder).glob("*.jpg"))[:per_sku]]
    return write_manifest(rows, tmp_path / "all.csv")


def _positions(out: Path, split: str) -> dict[str, list[int]]:
    by_sku: dict[str, list[int]] = {}
    for r in read_manifest(out / f"{split}.csv"):
        by_sku.setdefault(r.sku, []).append(sequence_key(r.path)[2])
    return {k: sorted(v) for k, v in by_sku.items()}


def _runs(numbers: list[int], all_numbers: list[int]) -> int:
    """How many runs of consecutive shots (by rank among ``all_numbers``) ``numbers`` form."""
    rank = {n: i for i, n in enumerate(sorted(all_numbers))}
    ranks = sorted(rank[n] for n in numbers)
    return 1 + sum(b != a + 1 for a, b in zip(ranks, ranks[1:]))


def test_split_holds_out_whole_runs_and_guard_removes_the_leak(grocery_root, tmp_path, capsys):
    manifest = _numbered_pool(grocery_root, tmp_path)
    rows = read_manifest(manifest)
    every = {sku: [sequence_key(r.path)[2] for r in rows if r.sku == sku] for sku in FOLDERS.values()}
    plain = split_manifest(manifest, tmp_path / "plain", val=0, test=0.1, seed=0, keep_sequences=False,
                           workers=1, progress=False)
    kept = split_manifest(manifest, tmp_path / "kept", val=0, test=0.1, seed=0, workers=1, progress=False)
    for sku, numbers in _positions(tmp_path / "kept", "test").items():
        assert len(numbers) == round(len(every[sku]) * 0.1) and _runs(numbers, every[sku]) == 1, (sku, numbers)
    touching_plain, n_plain = plain.neighbours["test"]
    touching, n = kept.neighbours["test"]
    assert touching / n < touching_plain / n_plain  # photo-by-photo scatters test frames between training frames
    assert "photos have a training photo shot next to them" in kept.table()

    guarded = split_manifest(manifest, tmp_path / "guarded", val=0, test=0.1, seed=0, guard=1, workers=1,
                             progress=False)
    assert guarded.neighbours["test"][0] == 0
    left_out = read_manifest(tmp_path / "guarded" / "guard.csv")
    assert len(left_out) == len(guarded.guarded) > 0 and {r.split for r in left_out} == {"guard"}
    counts = Counter(len(r) for r in guarded.rows.values())
    assert sum(len(r) for r in guarded.rows.values()) + len(left_out) == sum(map(len, every.values())), counts
    train = {r.path for r in guarded.rows["train"]}
    assert not train & {r.path for r in left_out}
    # a later split without a guard removes the stale guard.csv
    split_manifest(manifest, tmp_path / "guarded", val=0, test=0.1, seed=0, workers=1, progress=False)
    assert not (tmp_path / "guarded" / "guard.csv").exists()


def test_cli_guard_option(grocery_root, tmp_path, data_cli, capsys):
    manifest = _numbered_pool(grocery_root, tmp_path, per_sku=20)
    assert data_cli("split", manifest, "--val", "0", "--test", "0.1", "--guard", "1", "--out", tmp_path / "o",
                    "--no-cache", "--workers", "1", "--no-progress") == 0
    printed = capsys.readouterr().out
    assert "test: 0 of 6 photos have a training photo shot next to them" in printed
    assert "left out (guard.csv)" in printed
    with pytest.raises(SystemExit):  # argparse's own one line
        data_cli("split", manifest, "--guard", "-1", "--out", tmp_path / "p", "--no-cache", "--workers", "1",
                 "--no-progress")
    assert "argument --guard: -1: must be at least 0" in capsys.readouterr().err
