"""Outlier exposure on blends (``--blend-outliers W``): the first half of a batch blended with the batch rolled by
one where the SKUs differ, trained towards the uniform softmax; the network and its export are unchanged."""

from __future__ import annotations

import argparse
import json
import math

import pytest
import torch

from trainer.blend_outliers import HIGH, LOW, blended, uniform_loss
from trainer.incremental import Base, run_options
from trainer.options import get_args_parser


def test_blends_pair_the_first_half_with_the_rolled_batch_and_skip_one_skus_pairs():
    images = torch.stack([torch.full((3, 2, 2), float(v)) for v in (0, 10, 20, 30, 40, 50)])
    targets = torch.tensor([0, 0, 1, 2, 2, 2])  # rolled: [2, 0, 0, 1, 2, 2]; pair 1 is (0, 0): skipped
    out = blended(images, targets)
    assert out.shape == (2, 3, 2, 2)
    for got, (a, b) in zip(out, ((0, 50), (20, 10))):
        lam = (float(got[0, 0, 0]) - b) / (a - b)
        assert LOW <= lam <= HIGH and torch.all(got == got[0, 0, 0])
    assert blended(images, torch.zeros(6, dtype=torch.long)).shape[0] == 0
    assert blended(images[:1], targets[:1]).shape[0] == 0


def test_the_share_sets_how_much_of_the_batch_is_blended():
    images = torch.randn(8, 3, 2, 2)
    targets = torch.arange(8)  # every pair differs
    assert [blended(images, targets, share).shape[0] for share in (0.25, 0.5, 1.0)] == [2, 4, 8]
    assert blended(images[:3], targets[:3], 0.25).shape[0] == 0


def test_the_loss_is_the_cross_entropy_to_uniform():
    assert float(uniform_loss(torch.zeros(4, 7))) == pytest.approx(math.log(7))
    sure = torch.tensor([[12.0, 0.0, 0.0]])
    assert float(uniform_loss(sure)) > float(uniform_loss(torch.zeros(1, 3))) + 3
    z = sure.clone().requires_grad_(True)
    uniform_loss(z).backward()
    assert z.grad[0, 0] > 0  # pulls the sure logit down
    empty = torch.zeros(0, 3, requires_grad=True)
    assert uniform_loss(empty).item() == 0.0


def test_the_option_parses_and_refuses_a_negative_weight(capsys):
    parse = get_args_parser().parse_args
    assert parse(["--blend-outliers", "0.5"]).blend_outliers == 0.5 and parse([]).blend_outliers == 0.0
    with pytest.raises(SystemExit) as refused:
        parse(["--blend-outliers", "-1"])
    assert refused.value.code == 2 and "argument --blend-outliers" in capsys.readouterr().err
    assert parse(["--blend-share", "0.25"]).blend_share == 0.25 and parse([]).blend_share == 0.5
    for bad in ("0", "1.5"):
        with pytest.raises(SystemExit):
            parse(["--blend-share", bad])
        assert "argument --blend-share" in capsys.readouterr().err


def test_an_incremental_retrain_keeps_its_bases_weight(tmp_path):
    base = Base(tmp_path, "run", {"arch": "tiny_cnn", "blend_outliers": 0.5, "blend_share": 0.25}, ["a"], {},
                tmp_path / "w")
    args = argparse.Namespace(**{**vars(get_args_parser().parse_args([])), "blend_outliers": 0.0})
    kept = run_options(args, base)
    assert (kept.blend_outliers, kept.blend_share) == (0.5, 0.25)


def test_a_training_with_blended_outliers_runs_records_it_and_adds_to_the_loss(tmp_path):
    """Two one-epoch trainings of one seed: both finish, args.json keeps the weight, and the training loss with the
    outlier term is the higher (the term is a cross-entropy to uniform, ≥ 0, and a trained head is far from it)."""
    from kiosk.cli import main as checkout
    from tests.onboarding_kit import TRAIN_ARGS, build_world

    world = build_world()
    losses = {}
    for weight in ("0", "1"):
        run = tmp_path / f"b{weight}"
        assert checkout(["train", "--train", str(world.train), "--out", str(run), "--cache-dir",
                         str(world.root / "cache"), *TRAIN_ARGS, "--blend-outliers", weight, "--epochs", "1"]) == 0
        assert json.loads((run / "args.json").read_text())["blend_outliers"] == float(weight)
        lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
        losses[weight] = [x["train_loss"] for x in lines if "train_loss" in x][-1]
    assert losses["1"] > losses["0"]
