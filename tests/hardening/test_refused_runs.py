"""A refused ``checkout train`` (weights that are not the architecture's, ``--incremental`` refused after it began
writing) leaves nothing in ``--out`` (never removing what was there before), so the corrected command runs; a folder
without ``args.json`` or a checkpoint is not a run. An ``--incremental`` option that contradicts the base's network
or recipe is refused naming both values (it used to train the base's architecture without a word)."""

from __future__ import annotations

import argparse
import csv

import pytest

from kiosk.cli import main as checkout
from tests.hardening.errors import one_error
from tests.trainer.synthetic import make_dataset

FAST = ["--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--eval-size", "64", "--batch-size", "8",
        "--threads", "2", "--no-progress", "--exemplars", "2"]


def _error(capsys) -> str:
    return one_error(capsys)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("synthetic"), per_class=4, size=72)


@pytest.fixture(scope="module")
def base(data, tmp_path_factory):
    train, val = data
    run = tmp_path_factory.mktemp("runs") / "base"
    assert checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run), "--epochs", "1",
                     *FAST]) == 0
    return run


def test_refused_weights_leave_nothing_and_the_corrected_command_trains(data, tmp_path, capsys):
    train, _ = data
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"just some text\n")
    out = tmp_path / "r"
    assert checkout(["train", "--train", str(train), "--out", str(out), "--weights", str(bad), "--epochs", "1",
                     *FAST]) == 2
    assert f"{bad}: not a torch state dict" in _error(capsys)
    assert not out.exists()  # no .run.lock, labels.json, quarantine.json
    assert checkout(["train", "--train", str(train), "--out", str(out), "--epochs", "1", "--max-steps", "1",
                     *FAST]) == 0
    assert (out / "best.safetensors").is_file()


def test_a_refusal_keeps_what_the_folder_held_before(data, tmp_path, capsys):
    train, _ = data
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"just some text\n")
    out = tmp_path / "r"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "why.txt").write_text("mine")
    (out / "labels.json").write_text('{"labels": ["left by an older refusal"]}')
    assert checkout(["train", "--train", str(train), "--out", str(out), "--weights", str(bad), *FAST]) == 2
    _error(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["labels.json", "notes"]
    assert (out / "notes" / "why.txt").read_text() == "mine"  # labels.json alone is no run: the training replaced it


def test_a_folder_without_args_json_or_a_checkpoint_is_not_a_run(data, tmp_path):
    from trainer.run_files import holds_run

    out = tmp_path / "left"
    out.mkdir()
    for name in (".run.lock", "labels.json", "quarantine.json"):  # what a refused run used to leave
        (out / name).write_text("{}")
    assert holds_run(out) is None
    (out / "args.json").write_text("{}")
    assert holds_run(out) == "args.json"


def test_incremental_refused_after_it_began_writing_leaves_nothing(base, data, tmp_path, capsys):
    train, val = data
    rows = list(csv.DictReader(val.open()))
    bad_val = tmp_path / "val.csv"
    with bad_val.open("w", newline="") as fh:  # a SKU neither the base nor --add has: refused in the training itself
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerow({**rows[0], "path": str(val.parent / rows[0]["path"]), "sku": "zz-nobody"})
    out = tmp_path / "inc"
    assert checkout(["train", "--incremental", "--from", str(base), "--add", str(train), "--val", str(bad_val),
                     "--out", str(out), "--threads", "2", "--no-progress"]) == 2
    assert "zz-nobody" in _error(capsys)
    assert not out.exists()  # no incremental-train.csv, init.safetensors, incremental.json


@pytest.mark.parametrize("given, named", [(["--arch", "resnet18"], "--arch resnet18"),
                                          (["--img-size", "96"], "--img-size 96"),
                                          (["--color-jitter", "0.3"], "--color-jitter 0.3")])
def test_incremental_options_that_contradict_the_base_are_refused(base, data, tmp_path, capsys, given, named):
    train, _ = data
    out = tmp_path / "inc"
    assert checkout(["train", "--incremental", "--from", str(base), "--add", str(train), "--out", str(out),
                     "--threads", "2", "--no-progress", *given]) == 2
    line = _error(capsys)
    kept = {"--arch": "tiny_cnn", "--img-size": "64", "--color-jitter": "0.2"}[given[0]]
    assert named in line and f"trained with {given[0]} {kept}" in line, line
    assert not out.exists()


def test_incremental_takes_the_bases_own_values_and_freeze(base):
    from trainer.incremental import read_base, refuse_conflicts
    from trainer.options import get_args_parser

    parser = get_args_parser()
    b = read_base(base)
    for argv in (["--arch", "tiny_cnn", "--img-size", "64"], ["--freeze", "0"], ["--epochs", "2", "--lr", "1e-3"]):
        refuse_conflicts(parser.parse_args(argv), b)
    assert isinstance(parser.parse_args([]), argparse.Namespace)
