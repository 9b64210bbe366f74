"""The trainer's model commands against reused, shared, damaged and half-written run folders: ``checkout train``
(``--resume``, ``--incremental``), ``bundle export``, ``bundle quantize``, ``evaluate RUN``, ``weights fetch``.

Each fault is one line on stderr (``checkout: error: …``, exit 2) naming what is wrong, with nothing already written
lost; never a bundle whose labels do not match its model."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from kiosk.cli import main as checkout
from tests.hardening.errors import one_error
from tests.trainer.synthetic import make_dataset

FAST = ["--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--eval-size", "64", "--batch-size", "8",
        "--threads", "2", "--no-progress", "--rotation", "10", "--exemplars", "2"]


def _no_nan(text: str):
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in strict JSON"))


def _error(capsys) -> str:
    return one_error(capsys)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("synthetic"), per_class=6)


@pytest.fixture(scope="module")
def run_a(data, tmp_path_factory):
    """A finished 1-epoch run (with val and exemplars)."""
    train, val = data
    run = tmp_path_factory.mktemp("runs") / "A"
    assert checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run), "--epochs", "1",
                     "--lr", "1e-2", *FAST]) == 0
    return run


@pytest.fixture(scope="module")
def cut(data, tmp_path_factory):
    """A 2-epoch run without val cut short by --max-steps 1, on its own copy of the training manifest."""
    train, _ = data
    root = tmp_path_factory.mktemp("cut")
    own = root / "train.csv"  # the photos beside the original manifest, by absolute path
    own.write_text("\n".join(line if i == 0 else f"{train.parent}/{line}"
                             for i, line in enumerate(train.read_text().splitlines())) + "\n")
    run = root / "cut"
    assert checkout(["train", "--train", str(own), "--out", str(run), "--epochs", "2", "--max-steps", "1",
                     *FAST]) == 0
    return run, own


def _copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


# -- 1, 2: a reused or shared --out ------------------------------------------------------------------------------------
def test_a_new_training_into_a_folder_holding_a_run_is_refused(run_a, data, tmp_path, capsys):
    train, val = data
    k = _copy(run_a, tmp_path / "K")
    before = {p.name: p.read_bytes() for p in k.iterdir() if p.is_file()}
    assert checkout(["train", "--train", str(val), "--out", str(k), "--epochs", "1", *FAST]) == 2
    assert "already holds a training run" in _error(capsys)
    assert {p.name: p.read_bytes() for p in k.iterdir() if p.is_file() and p.name in before} == before


def test_export_refuses_labels_that_are_not_the_weights(run_a, tmp_path, capsys):
    """A folder mixing two trainings (labels.json of one, best.* of the other) never becomes a bundle."""
    k = _copy(run_a, tmp_path / "K")
    doc = json.loads((k / "labels.json").read_text())
    doc["labels"] = doc["labels"][::-1]  # same count: the weights load, the labels are wrong
    (k / "labels.json").write_text(json.dumps(doc))
    assert checkout(["bundle", "export", str(k), "--out", str(tmp_path / "b")]) == 2
    assert "labels.json" in _error(capsys) and not (tmp_path / "b").exists()
    assert checkout(["evaluate", str(k), "--manifest", str(Path(json.loads((k / "args.json").read_text())["val"]))]) \
        == 2
    assert "mixes two trainings" in _error(capsys)


def test_a_second_writer_of_one_run_folder_is_refused(data, tmp_path, capsys):
    from trainer.run_files import run_lock

    train, val = data
    run = tmp_path / "shared"
    with run_lock(run):  # another process's training holds it (flock: per open file, so this process too)
        import subprocess
        import sys

        p = subprocess.run([sys.executable, "-m", "kiosk", "train", "--train", str(train), "--out", str(run),
                            "--epochs", "1", *FAST], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "another training is writing this run folder" in p.stderr, p.stderr
    assert not (run / "labels.json").exists()


# -- 3, 4: incremental ------------------------------------------------------------------------------------------------
def test_incremental_refuses_its_base_or_another_run_as_out(run_a, data, tmp_path, capsys):
    train, _ = data
    base = _copy(run_a, tmp_path / "base")
    stamp = (base / "best.safetensors").read_bytes(), (base / "metrics.jsonl").read_bytes()
    for out in (base, _copy(run_a, tmp_path / "other")):
        assert checkout(["train", "--incremental", "--from", str(base), "--add", str(train), "--out", str(out),
                         *FAST]) == 2
        assert f"--out {out}" in _error(capsys)
    assert ((base / "best.safetensors").read_bytes(), (base / "metrics.jsonl").read_bytes()) == stamp


def test_metrics_cut_mid_line_next_record_on_a_fresh_line_and_read_tolerantly(tmp_path, capsys):
    from trainer.incremental import images_processed
    from trainer.run_files import append_record

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 0, "train_images": 16}\n{"epoch": 1, "train_ima')  # killed mid-line
    append_record(path, {"epoch": 1, "train_images": 16})
    assert path.read_text().splitlines()[-1] == '{"epoch": 1, "train_images": 16}'
    assert images_processed(tmp_path) == 32
    assert "metrics.jsonl line 2: not a JSON record" in capsys.readouterr().err


# -- 5-8: --resume ----------------------------------------------------------------------------------------------------
def test_resume_without_a_checkpoint_is_refused(run_a, tmp_path, capsys):
    r = _copy(run_a, tmp_path / "r")
    (r / "checkpoint.pt").unlink()
    before = (r / "best.safetensors").read_bytes(), (r / "metrics.jsonl").read_bytes()
    assert checkout(["train", "--resume", str(r), "--no-progress"]) == 2
    assert "no checkpoint to resume from" in _error(capsys)
    assert ((r / "best.safetensors").read_bytes(), (r / "metrics.jsonl").read_bytes()) == before


def test_resume_refuses_a_changed_manifest_naming_it(cut, tmp_path, capsys):
    run, own = cut
    r = _copy(run, tmp_path / "r")
    saved = own.read_text()
    try:
        own.write_text("\n".join(saved.splitlines()[:-2]) + "\n")  # two photos fewer
        assert checkout(["train", "--resume", str(r), "--no-progress"]) == 2
        assert f"{own}: the train manifest of {r} has changed" in _error(capsys)
    finally:
        own.write_text(saved)


def test_resume_refuses_other_options_and_a_saved_max_steps_does_not_stop_it(cut, run_a, tmp_path, capsys):
    assert checkout(["train", "--resume", str(_copy(run_a, tmp_path / "a")), "--epochs", "3", "--img-size", "96",
                     "--no-progress"]) == 2
    line = _error(capsys)
    assert "--epochs 3 (run: 1)" in line and "--img-size 96 (run: 64)" in line
    run, _ = cut
    r = _copy(run, tmp_path / "r")
    assert checkout(["train", "--resume", str(r), "--no-progress"]) == 0  # the saved --max-steps 1 was reached
    records = [json.loads(x) for x in (r / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["epoch"] == 1 and all(x["train_images"] > 0 for x in records), records
    assert checkout(["train", "--resume", str(_copy(run, tmp_path / "r2")), "--max-steps", "1",
                     "--no-progress"]) == 2
    assert "already at step 1" in _error(capsys)


def test_resume_label_mismatch_names_the_skus(tmp_path):
    from kiosk.errors import UserError
    from trainer.train import check_resumed_labels_against

    with pytest.raises(UserError, match="no longer in the data: b; new in the data: d"):
        check_resumed_labels_against(tmp_path, ["a", "b", "c"], ["a", "c", "d"])


# -- 9: damaged run files ---------------------------------------------------------------------------------------------
def _damage(run: Path, how: str) -> str:
    """Damage one file; returns the file's name the error must name."""
    if how == "label added":
        doc = json.loads((run / "labels.json").read_text())
        doc["labels"].append("zz-new")
        (run / "labels.json").write_text(json.dumps(doc))
        return "labels.json"
    if how == "old run, label added":  # a run from before best.json recorded its labels
        best = json.loads((run / "best.json").read_text())
        best.pop("labels_sha256")
        (run / "best.json").write_text(json.dumps(best))
        _damage(run, "label added")
        return "best.safetensors"
    if how == "arch edited":
        best = json.loads((run / "best.json").read_text())
        best["arch"] = "mobilenet_v2"
        (run / "best.json").write_text(json.dumps(best))
        return "best.json|best.safetensors"  # against args.json's arch, or (evaluate) against the weights
    if how == "weights cut":
        data = (run / "best.safetensors").read_bytes()
        (run / "best.safetensors").write_bytes(data[: len(data) // 2])
        return "best.safetensors"
    if how == "pickle as weights":
        (run / "best.safetensors").write_bytes(pickle.dumps({"a": 1}))
        return "best.safetensors"
    name = {"best.json cut": "best.json", "args.json cut": "args.json"}[how]
    text = (run / name).read_text()
    (run / name).write_text(text[: len(text) // 2])
    return name


@pytest.mark.parametrize("how", ["label added", "old run, label added", "arch edited", "weights cut",
                                 "pickle as weights", "best.json cut", "args.json cut"])
def test_damaged_run_files_are_one_line_naming_the_file(run_a, data, tmp_path, capsys, how):
    _, val = data
    r = _copy(run_a, tmp_path / "r")
    names = [str(r / name) for name in _damage(r, how).split("|")]

    def named(line: str) -> bool:
        return any(f"error: {n}:" in line for n in names)

    assert checkout(["bundle", "export", str(r), "--out", str(tmp_path / "b")]) == 2
    assert named(_error(capsys))
    assert not (tmp_path / "b").exists()
    if how != "args.json cut":  # evaluate RUN reads no args.json
        assert checkout(["evaluate", str(r), "--manifest", str(val)]) == 2
        assert named(_error(capsys))
    assert checkout(["train", "--incremental", "--from", str(r), "--add", str(val), "--out",
                     str(tmp_path / "inc"), *FAST]) == 2
    line = _error(capsys)  # an old run's added label: no exemplars of it, said first
    assert named(line) or how == "old run, label added"
    if how == "args.json cut":
        assert checkout(["train", "--resume", str(r), "--no-progress"]) == 2
        assert named(_error(capsys))


# -- 10, 11: bundles ---------------------------------------------------------------------------------------------------
def test_export_refuses_to_replace_a_signed_bundle_and_sweeps_what_a_killed_export_left(run_a, tmp_path, capsys):
    out = tmp_path / "b"
    assert checkout(["bundle", "export", str(run_a), "--out", str(out), "--model-version", "1"]) == 0
    (out / "manifest.sig").write_text("signed")
    capsys.readouterr()
    assert checkout(["bundle", "export", str(run_a), "--out", str(out), "--model-version", "2"]) == 2
    assert "signed bundle" in _error(capsys) and (out / "manifest.sig").exists()
    stale = tmp_path / ".b.999999999.abcd"  # a killed export's temporary (no such process)
    stale.mkdir()
    assert checkout(["bundle", "export", str(run_a), "--out", str(out), "--model-version", "2", "--force"]) == 0
    assert not (out / "manifest.sig").exists() and not stale.exists()
    assert json.loads((out / "manifest.json").read_text())["model_version"] == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b.")] == []
    # killed between "old away" and "new in": the next export puts the old bundle back before anything else
    out.rename(tmp_path / ".b.old")
    from trainer.export import sweep_stale

    sweep_stale(out)
    assert (out / "manifest.json").is_file()


def test_quantize_counts_photos_not_rows_and_refuses_none_readable(tmp_path, capsys):
    import cv2
    import numpy as np

    from kiosk.errors import UserError
    from trainer.quantize import calibration_rows

    cv2.imwrite(str(tmp_path / "good.jpg"), np.full((80, 80, 3), 120, np.uint8))
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    manifest = tmp_path / "cal.csv"
    manifest.write_text("path,sku\nbad.jpg,a\ngood.jpg,a\nbad.jpg,b\n")
    assert [r.path.name for r in calibration_rows(manifest, ["a", "b"], 5, size=72)] == ["good.jpg"]
    manifest.write_text("path,sku\nbad.jpg,a\nbad.jpg,b\n")
    with pytest.raises(UserError, match="none of its 2 photos of the model's SKUs can be read"):
        calibration_rows(manifest, ["a", "b"], 5, size=72)


# -- 12: weights that are not weights ----------------------------------------------------------------------------------
class _Bomb:
    def __reduce__(self):
        return (print, ("unpickled!",))


@pytest.mark.parametrize("content", [pickle.dumps({"model": _Bomb()}), b"just some text\n"], ids=["bomb", "text"])
def test_weights_that_are_not_a_state_dict_are_one_line(data, tmp_path, capsys, content):
    import warnings

    train, _ = data
    bad = tmp_path / "w.pth"
    bad.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert checkout(["train", "--train", str(train), "--out", str(tmp_path / "r"), "--weights", str(bad),
                         *FAST]) == 2
    out, err = capsys.readouterr()
    assert "unpickled!" not in out
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and f"{bad}: not a torch state dict" in lines[0] and "weights_only=False" not in err, err


# -- the small ones ---------------------------------------------------------------------------------------------------
def test_a_run_without_val_writes_strict_json(cut, tmp_path):
    run, _ = cut
    best = _no_nan((run / "best.json").read_text())
    assert best["top1"] is None
    out = tmp_path / "b"
    assert checkout(["bundle", "export", str(run), "--out", str(out)]) == 0
    assert _no_nan((out / "manifest.json").read_text())["metrics"]["train_val_top1"] is None


def test_val_equal_to_train_header_only_val_and_calibration_on_train_are_refused(run_a, data, tmp_path, capsys):
    train, _ = data
    assert checkout(["train", "--train", str(train), "--val", str(train), "--out", str(tmp_path / "r"), *FAST]) == 2
    assert f"--val {train}: is --train {train} itself; validation on the training photos" in _error(capsys)
    empty = tmp_path / "empty.csv"
    empty.write_text("path,sku\n")
    assert checkout(["train", "--train", str(train), "--val", str(empty), "--out", str(tmp_path / "r2"), *FAST]) == 2
    assert "no photos" in _error(capsys)
    assert checkout(["bundle", "export", str(run_a), "--out", str(tmp_path / "b"), "--calibration",
                     str(train)]) == 2
    assert f"--calibration {train}: is this run's training manifest {train} itself" in _error(capsys)


def test_evaluate_on_the_training_photos_warns_and_scores(run_a, data, tmp_path, capsys):
    train, val = data
    copy = train.parent / "train-copy.csv"
    shutil.copy(train, copy)
    assert checkout(["evaluate", str(run_a), "--manifest", str(copy), "--out", str(tmp_path / "e1")]) == 0
    err = capsys.readouterr().err
    warned = [x for x in err.splitlines() if x.startswith("warning: --manifest")]
    assert len(warned) == 1 and f"{copy} line 2: " in warned[0] and f"same photo as the model's training manifest " \
        f"{train} line 2" in warned[0] and "these figures overstate" in warned[0], err
    assert checkout(["evaluate", str(run_a), "--manifest", str(val), "--out", str(tmp_path / "e2")]) == 0
    assert "warning: --manifest" not in capsys.readouterr().err


def test_weights_fetch_out_a_file(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert checkout(["weights", "fetch", "mobilenet_v2", "--out", str(f)]) == 2
    assert "a file, not a folder" in _error(capsys)
