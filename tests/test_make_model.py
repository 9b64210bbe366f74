"""``make model`` (the measured chain behind the README's till-model figures): every command it would run is a valid
``checkout`` command line, in the recorded order, and ``make test`` does not depend on it."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from kiosk.cli import build_parser
from trainer.weights import KNOWN

REPO = Path(__file__).resolve().parents[1]


def _dry_run(target: str) -> list[str]:
    done = subprocess.run(["make", "-n", "--no-print-directory", target], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _checkout_commands(lines: list[str]) -> list[list[str]]:
    out = []
    for line in lines:
        if line.split()[:1] and line.split()[0].endswith("bin/checkout"):
            out.append(shlex.split(line)[1:])
    return out


def test_make_model_chain_is_valid_checkout_commands_in_order():
    commands = _checkout_commands(_dry_run("model-chain"))
    parser = build_parser()
    parsed = []
    for argv in commands:
        try:
            parsed.append(parser.parse_args(argv))
        except SystemExit:
            pytest.fail(f"make model runs an invalid command line: checkout {shlex.join(argv)}")
    steps = [" ".join(a[:2]) if a[0] in ("data", "bundle", "weights") else a[0] for a in commands]
    assert steps == ["data import-grocery-store", "data check", "data split", "weights fetch", "train",
                     "bundle export", "evaluate", "evaluate"]
    _, check, split, fetch, train, export, eval_val, eval_test = parsed
    # the own test split comes from the cleansed training photos; the official val only selects/calibrates
    assert Path(split.manifest) == Path(check.out) / "train.clean.csv" and split.test > 0
    own = Path(split.out)
    assert Path(train.train) == own / "train.csv" and Path(train.val) == Path(check.out) / "val.clean.csv"
    assert train.keep == "last"  # val picks no epoch, so it may calibrate the scores
    assert Path(train.weights).name == KNOWN[fetch.arch].filename and train.arch == fetch.arch
    assert Path(train.weights).parent == Path(fetch.out)
    assert own / "test.csv" not in [Path(m) for m in export.calibration]  # never calibrated on the own test
    # calibrated on the official val only: photos split at random from the training folder sit next to training
    # photos of the same item and session, so an own val would make the threshold look safer than it is
    assert [Path(m) for m in export.calibration] == [Path(train.val)] and split.val == 0
    assert export.confidence == 0.5  # a 95 % bound on 99 % needs 299 error-free items: more than val has
    assert Path(export.run) == Path(train.out) and Path(eval_val.model) == Path(eval_test.model) == Path(export.out)
    assert (Path(eval_val.manifest), Path(eval_test.manifest)) == (Path(train.val), own / "test.csv")


def test_make_model_prints_its_wall_time_and_make_test_does_not_run_it():
    model = "\n".join(_dry_run("model"))
    assert "make model:" in model and "s wall" in model
    chain = _checkout_commands(_dry_run("model-chain"))
    assert not [c for c in _checkout_commands(_dry_run("test")) if c in chain]
