"""Several training manifests with sample weights, shopper/auto labels down-weighted or left out, and a weighted run
that resumes exactly."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest
import torch

from kiosk.cli import main as checkout
from kiosk.errors import DataError
from tests.trainer.synthetic import make_dataset
from trainer.cached_data import WeightedLoss
from trainer.checkpoint import load_checkpoint
from trainer.options import get_args_parser
from trainer.train_sources import parse_weighted, training_rows

FAST = ["--arch", "tiny_cnn", "--img-size", "32", "--train-resize", "36", "--eval-size", "32", "--batch-size", "4",
        "--threads", "1", "--no-progress", "--rotation", "0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    train, val = make_dataset(root / "img", per_class=4, size=48)
    with open(train, newline="") as fh:
        rows = list(csv.DictReader(fh))
    feedback = root / "feedback.csv"  # the same photos again, as a store's feedback with its labels' trust
    with open(feedback, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "sku", "source", "trust"])
        for i, r in enumerate(rows):
            w.writerow([str((train.parent / r["path"]).resolve()), r["sku"], "feedback",
                        ("staff", "shopper", "auto")[i % 3]])
    return train, val, feedback


def test_parse_weighted():
    assert parse_weighted("base.csv") == (Path("base.csv"), 1.0)
    assert parse_weighted("fb.csv:2.5") == (Path("fb.csv"), 2.5)
    assert parse_weighted("/data/x:y.csv") == (Path("/data/x:y.csv"), 1.0)  # not a number: part of the path
    with pytest.raises(argparse.ArgumentTypeError):
        parse_weighted("fb.csv:0")


def test_repeated_train_keeps_the_first_as_args_train():
    args = get_args_parser().parse_args(["--train", "base.csv", "--train", "fb.csv:2"])
    assert args.train == Path("base.csv") and args.train_sources == [["base.csv", 1.0], ["fb.csv", 2.0]]
    args = get_args_parser().parse_args([])
    assert args.train is None and args.train_sources is None and args.shopper_weight == 1.0


def test_rows_carry_their_weight_and_shopper_labels_can_be_left_out(data):
    train, _val, feedback = data
    args = get_args_parser().parse_args(["--train", str(train), "--train", f"{feedback}:2", "--shopper-weight",
                                         "0.5", "--auto-weight", "0"])
    rows = training_rows(args)
    base = [r for r in rows if r["manifest"] == str(train)]
    fb = [r for r in rows if r["manifest"] == str(feedback)]
    assert len(base) == 12 and {r["weight"] for r in base} == {1.0}
    assert len(fb) == 8 and sorted({r["weight"] for r in fb}) == [1.0, 2.0]  # shopper 2 × 0.5, staff 2; auto out
    args = get_args_parser().parse_args(["--train", str(feedback), "--shopper-weight", "0", "--auto-weight", "0",
                                         "--train", str(feedback)])
    assert len(training_rows(args)) == 8
    with pytest.raises(DataError, match="no training rows"):
        training_rows(_only_auto(data))


def _only_auto(data):
    _train, _val, feedback = data
    auto = feedback.with_name("auto.csv")
    lines = feedback.read_text().splitlines()
    auto.write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.endswith(",auto")]) + "\n")
    return get_args_parser().parse_args(["--train", str(auto), "--auto-weight", "0"])


def test_the_weighted_loss_is_the_weighted_mean_and_plain_with_equal_weights():
    class Data:
        weights = torch.tensor([1.0, 2.0, 0.5, 1.0])
        last_ids = [1, 2, 3]

    plain = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    logits, targets = torch.randn(3, 5), torch.tensor([0, 3, 1])
    per = torch.nn.CrossEntropyLoss(reduction="none", label_smoothing=0.1)(logits, targets)
    got = WeightedLoss(plain, Data())(logits, targets)
    assert torch.allclose(got, (per * torch.tensor([2.0, 0.5, 1.0])).sum() / 3.5)
    Data.weights = torch.full((4,), 3.0)
    assert torch.allclose(WeightedLoss(plain, Data())(logits, targets), plain(logits, targets))


def test_a_weighted_run_resumes_exactly(data, tmp_path):
    train, val, feedback = data
    args = ["--train", str(train), "--train", f"{feedback}:2", "--shopper-weight", "0.5", "--val", str(val),
            "--epochs", "2", "--lr", "1e-2", *FAST]
    assert checkout(["train", *args, "--out", str(tmp_path / "ref")]) == 0
    assert checkout(["train", *args, "--out", str(tmp_path / "cut"), "--max-steps", "3"]) == 0
    saved = json.loads((tmp_path / "cut" / "args.json").read_text())
    assert saved["train_sources"] == [[str(train), 1.0], [str(feedback), 2.0]] and saved["shopper_weight"] == 0.5
    assert checkout(["train", "--resume", str(tmp_path / "cut"), "--no-progress", "--max-steps", "1000"]) == 0

    def losses(run):
        out = {}
        for line in (run / "metrics.jsonl").read_text().splitlines():
            r = json.loads(line)
            out[r["epoch"]] = r["train_loss"]
        return out

    assert losses(tmp_path / "cut")[1] == losses(tmp_path / "ref")[1]  # the epoch after the resume, bit for bit
    ref, cut = load_checkpoint(tmp_path / "ref")["model"], load_checkpoint(tmp_path / "cut")["model"]
    assert ref.keys() == cut.keys() and all(torch.equal(ref[k], cut[k]) for k in ref)
    # the weights changed the run: the same data unweighted trains differently
    plain = ["--train", str(train), "--train", str(feedback), "--val", str(val), "--epochs", "2", "--lr", "1e-2",
             *FAST]
    assert checkout(["train", *plain, "--out", str(tmp_path / "plain")]) == 0
    assert losses(tmp_path / "plain")[1] != losses(tmp_path / "ref")[1]


def test_class_balance_makes_every_sku_weigh_the_same_and_keeps_the_mean_weight():
    from trainer.train_sources import balance_classes

    rows = ([{"sku": "new", "weight": 1.0}] * 19 + [{"sku": "old-a", "weight": 1.0}] * 7
            + [{"sku": "old-b", "weight": 2.0}] * 7)
    out = balance_classes(rows)
    per_sku = {}
    for r in out:
        per_sku[r["sku"]] = per_sku.get(r["sku"], 0.0) + r["weight"]
    assert len(set(round(v, 9) for v in per_sku.values())) == 1  # each SKU sums to the same weight
    assert sum(r["weight"] for r in out) == pytest.approx(sum(r["weight"] for r in rows))
    assert out[0]["weight"] < 1.0 < out[19]["weight"]  # the crowded SKU's rows count less, the replayed ones more
    assert [r["weight"] for r in rows[:1]] == [1.0]  # the input rows are not changed


def test_class_balance_is_off_for_plain_training_and_reaches_the_rows_when_asked(data):
    train, _val, _feedback = data
    plain = training_rows(get_args_parser().parse_args(["--train", str(train)]))
    assert {r["weight"] for r in plain} == {1.0}
    args = get_args_parser().parse_args(["--train", str(train), "--class-balance"])
    assert args.class_balance is True and get_args_parser().parse_args([]).class_balance is None
    assert [r["weight"] for r in training_rows(args)] == pytest.approx([r["weight"] for r in plain])  # balanced already


def test_class_balance_with_shards_is_refused_in_one_line():
    from kiosk.errors import UserError
    from trainer.train import resolve_args

    with pytest.raises(UserError, match=r"--class-balance: weighs --train manifests' rows"):
        resolve_args(get_args_parser().parse_args(["--shards", "s/", "--out", "run", "--class-balance"]))
