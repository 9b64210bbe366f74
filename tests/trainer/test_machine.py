"""A run records the machine it trained on (``RUN/machine.json``), a resume elsewhere says so in one line, and the
exported bundle carries the record in its provenance (trainer/machine.py)."""

from __future__ import annotations

import json

import pytest
import torch

from kiosk.bundle_format.bundle import read_manifest
from kiosk.cli import main as checkout
from tests.trainer.synthetic import make_dataset
from trainer import machine
from trainer.train import write_json

FAST = ["--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--eval-size", "64",
        "--batch-size", "8", "--threads", "2", "--no-progress", "--lr", "1e-2", "--keep", "last", "--exemplars", "0"]


def test_describe_names_this_cpu_and_the_build_that_does_the_arithmetic():
    now = machine.describe("cpu")
    assert now["torch"] == torch.__version__ and now["threads"] == torch.get_num_threads()
    assert now["cpu_capability"] == torch.backends.cpu.get_cpu_capability() and now["device"] == "cpu"
    assert isinstance(now["cpu"], str) and now["cpu"] and set(now["isa"]) <= set(machine.ISA_FLAGS)
    assert now["onednn"] is None or now["onednn"][0].isdigit()
    json.dumps(now)  # it goes into JSON files as it is


def test_record_appends_one_entry_per_start_and_names_what_changed(tmp_path, monkeypatch):
    assert machine.record(tmp_path, "cpu", 0, write_json) == []
    assert machine.record(tmp_path, "cpu", 3, write_json) == []  # the same machine: nothing to say
    real = machine.describe
    monkeypatch.setattr(machine, "describe", lambda device: {**real(device), "cpu": "Other CPU", "threads": 16})
    changed = machine.record(tmp_path, "cpu", 5, write_json)
    assert changed == [f"cpu: {real('cpu')['cpu']} → Other CPU", f"threads: {real('cpu')['threads']} → 16"]
    history = json.loads((tmp_path / machine.MACHINE_FILE).read_text())
    assert [h["from_epoch"] for h in history] == [0, 3, 5] and history[-1]["cpu"] == "Other CPU"


def test_a_damaged_record_is_one_line_naming_it(tmp_path):
    from kiosk.errors import UserError

    (tmp_path / machine.MACHINE_FILE).write_text("{cut")
    with pytest.raises(UserError, match=r"machine\.json: not valid JSON"):
        machine.record(tmp_path, "cpu", 0, write_json)


def test_a_run_records_its_machine_a_resume_elsewhere_says_so_and_the_bundle_carries_it(tmp_path, monkeypatch,
                                                                                        capsys):
    train, val = make_dataset(tmp_path / "data", per_class=6)
    run, bundle = tmp_path / "run", tmp_path / "bundle"
    args = ["train", "--train", str(train), "--val", str(val), "--epochs", "2", "--out", str(run), *FAST]
    assert checkout([*args, "--max-steps", "3"]) == 0
    first = json.loads((run / machine.MACHINE_FILE).read_text())
    assert len(first) == 1 and first[0]["from_epoch"] == 0 and first[0]["cpu"] == machine.describe("cpu")["cpu"]
    capsys.readouterr()

    real = machine.describe
    monkeypatch.setattr(machine, "describe", lambda device: {**real(device), "cpu_capability": "AVX2"})
    assert checkout(["train", "--resume", str(run), "--no-progress", "--max-steps", "1000"]) == 0
    out = capsys.readouterr().out
    assert f"note: {run} resumes on another machine than it ran on (cpu_capability: " in out
    assert "→ AVX2); from epoch 1 its numbers will not match" in out  # 2 steps an epoch: resumed in epoch 1
    history = json.loads((run / machine.MACHINE_FILE).read_text())
    assert [(h["from_epoch"], h["cpu_capability"]) for h in history] == [(0, first[0]["cpu_capability"]), (1, "AVX2")]

    assert checkout(["bundle", "export", str(run), "--out", str(bundle), "--model-version", "1"]) == 0
    assert read_manifest(bundle).trainer["machine"] == history
