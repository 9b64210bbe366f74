"""Held-out photos that are training photos, found by the photos, not the manifest's file name
(:mod:`trainer.data.overlap`): ``train --val``, ``bundle export --calibration`` and ``bundle quantize --val`` refuse a
copy, a superset or a manifest elsewhere reaching the same files (one line: held-out file and line, training file and
line, how many); ``evaluate`` warns. ``data check`` refuses to write over an input manifest.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from kiosk.cli import main as checkout
from kiosk.errors import DataError, UserError
from tests.hardening.errors import one_error
from tests.trainer.synthetic import make_dataset
from trainer.data.overlap import find_overlap, training_manifests

FAST = ["--arch", "tiny_cnn", "--img-size", "64", "--eval-size", "64", "--batch-size", "8", "--threads", "1",
        "--no-progress", "--epochs", "1"]


def _error(capsys) -> str:
    return one_error(capsys, allow_warnings=False)


@pytest.fixture
def data(tmp_path):
    train, val = make_dataset(tmp_path / "data", per_class=4, size=64)
    return train, val


def _elsewhere(train: Path, folder: Path, extra: Path | None = None) -> Path:
    """The training rows (and ``extra``'s after them) in a manifest in another folder, paths relative to it."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = train.read_text().splitlines()
    rows = [f"../{train.parent.name}/{line}" for line in lines[1:]]
    if extra is not None:
        rows = [f"../{extra.parent.name}/{line}" for line in extra.read_text().splitlines()[1:]] + rows
    out = folder / "superset.csv"
    out.write_text("\n".join([lines[0], *rows]) + "\n")
    return out


def test_train_refuses_a_val_that_is_a_copy_of_its_training_photos(data, tmp_path, capsys):
    train, val = data
    copy = train.parent / "train_copy.csv"  # beside it: the same relative paths reach the same photos
    shutil.copy(train, copy)
    assert checkout(["train", "--train", str(train), "--val", str(copy), "--out", str(tmp_path / "r"), *FAST]) == 2
    line = _error(capsys)
    n = len(train.read_text().splitlines()) - 1
    assert f"--val {copy} line 2: " in line and f"is the same photo as --train {train} line 2 ({n} of its {n} " \
                                                 "photos overlap); validation on the training photos" in line
    assert not (tmp_path / "r").exists()


def test_export_refuses_calibration_on_a_superset_of_the_training_photos_elsewhere(data, tmp_path):
    from trainer.export import _refuse_selection_data

    train, val = data
    superset = _elsewhere(train, tmp_path / "other", extra=val)
    run = SimpleNamespace(args={"train_sources": [[str(train), 1.0]], "val": str(val), "keep": "last"})
    first_val = len(val.read_text().splitlines())  # the val rows come first: the first training photo after them
    with pytest.raises(UserError, match=rf"--calibration {superset} line {first_val + 1}: \.\./data/.* is the same "
                                        rf"photo as this run's training manifest {train} line 2 \("):
        _refuse_selection_data(run, [val, superset])
    _refuse_selection_data(run, [val])  # held back, and --keep last: val picked nothing
    with pytest.raises(UserError, match="picked its epoch"):  # a copy of the val that picked the epoch
        shutil.copy(val, val.parent / "val_copy.csv")
        _refuse_selection_data(SimpleNamespace(args={**run.args, "keep": "best"}), [val.parent / "val_copy.csv"])


def test_a_copied_photo_is_found_by_its_content_hash_where_data_check_has_it(data, tmp_path, monkeypatch):
    from trainer.data import hashing

    train, _ = data
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    copies = tmp_path / "copies"
    copies.mkdir()
    first = train.read_text().splitlines()[1].split(",")
    shutil.copy(train.parent / first[0], copies / "photo.jpg")
    held = copies / "held.csv"
    held.write_text(f"path,sku\nphoto.jpg,{first[1]}\n")
    assert find_overlap(held, [train]) is None  # not hashed here: no cache, no sha256 column
    cache = hashing.HashCache(hashing.default_cache_path())  # what `data check` leaves behind
    photos = [train.parent / line.split(",")[0] for line in train.read_text().splitlines()[1:]] + [copies / "photo.jpg"]
    cache.put_many(hashing.inspect_images(photos, workers=0, progress=False).values())
    cache.close()
    found = find_overlap(held, [train])
    assert (found.held_line, found.train, found.train_line, found.count) == (2, train, 2, 1)
    sha = hashlib.sha256((copies / "photo.jpg").read_bytes()).hexdigest()  # or the manifest's own sha256 column
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache"))
    held.write_text(f"path,sku,sha256\nphoto.jpg,{first[1]},{sha}\n")
    assert find_overlap(held, [train]) is None  # the training side's hash is not known
    both = tmp_path / "t.csv"
    both.write_text(f"path,sku,sha256\n{train.parent / first[0]},{first[1]},{sha}\n")
    assert find_overlap(held, [both]).train_line == 2


def test_training_manifests_reads_only_what_a_run_names_and_is_there(data, tmp_path):
    train, val = data
    assert training_manifests({"train": str(train)}) == [train]
    assert training_manifests({"train_sources": [[str(train), 1.0], [str(tmp_path / "gone.csv"), 2.0]]}) == [train]
    assert training_manifests({"train_sources": "x"}) == training_manifests({"train_sources": [[3]]}) == []
    assert find_overlap(val, [train]) is None


def test_quantize_refuses_to_check_int8_on_its_own_calibration_photos(tmp_path, capsys):
    from tests.recognition.int8_bundle import build_two_conv_bundle, photo_manifest

    bundle = build_two_conv_bundle(tmp_path / "bundle")
    train = photo_manifest(bundle, tmp_path / "train", 8, seed=11)
    copy = tmp_path / "copy.csv"
    copy.write_text("\n".join(line if i == 0 else f"train/{line}"
                              for i, line in enumerate(train.read_text().splitlines())) + "\n")
    before = {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()}
    assert checkout(["bundle", "quantize", str(bundle), "--calibration", str(train), "--val", str(copy)]) == 2
    line = _error(capsys)
    assert f"--val {copy} line 2: " in line and f"is the same photo as --calibration {train} line 2 (8 of its 8" in line
    assert {p.name: p.read_bytes() for p in bundle.iterdir() if p.is_file()} == before


def test_data_check_refuses_to_write_over_an_input_manifest(data, tmp_path, capsys):
    train, _ = data
    out = tmp_path / "qc"
    out.mkdir()
    mine = out / "quarantine.csv"
    mine.write_text("path,sku,reason\n" + "".join(f"../data/{line.rsplit(',', 1)[0]},fixed by hand\n"
                                                  for line in train.read_text().splitlines()[1:3]))
    before = mine.read_bytes()
    assert checkout(["data", "check", str(mine), "--out", str(out), "--no-cache", "--no-progress",
                     "--workers", "1"]) == 2
    assert f"--out {out}: quarantine.csv there would replace the input manifest {mine}" in _error(capsys)
    assert mine.read_bytes() == before and sorted(p.name for p in out.iterdir()) == ["quarantine.csv"]
    (out / "report.md").mkdir()  # an output that is a folder: refused before any work, too
    with pytest.raises(DataError, match="report.md is a folder"):
        from trainer.data.check import run_check

        run_check([train], out)
