"""A cosine margin (``--margin M`` with ``--head cosine``, CosFace): the loss sees the true SKU's logit lowered by
scale · M, so a photo keeps paying until its own row beats the others by the margin; the network is unchanged."""

from __future__ import annotations

import argparse

import pytest
import torch
from torch import nn

from kiosk.errors import UserError
from trainer.incremental import Base, run_options
from trainer.margin import CosineMargin, head_scale, with_margin
from trainer.models import CosineLinear
from trainer.options import get_args_parser
from trainer.train import resolve_args


def test_the_true_logit_is_lowered_by_scale_times_margin_and_nothing_else():
    logits, targets = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    seen = {}

    def spy(z, t):
        seen["z"] = z
        return z.sum()

    CosineMargin(spy, 0.25, 16.0)(logits, targets)
    shift = torch.zeros_like(logits)
    shift[torch.arange(6), targets] = -4.0
    assert torch.allclose(seen["z"], logits + shift)


def test_a_photo_right_by_less_than_the_margin_still_pays():
    logits, targets = torch.tensor([[3.0, 2.0, -5.0]]), torch.tensor([0])
    plain = nn.CrossEntropyLoss()
    assert CosineMargin(plain, 0.2, 16.0)(logits, targets) > plain(logits, targets) + 1.0
    z = logits.clone().requires_grad_(True)
    CosineMargin(plain, 0.2, 16.0)(z, targets).backward()
    assert z.grad[0, 0] < -0.5  # pushed up hard although already the top logit


def test_off_is_the_plain_loss_and_the_scale_is_the_heads_own():
    plain = nn.CrossEntropyLoss()
    model = nn.Sequential(nn.Flatten(), CosineLinear(8, 3, scale=9.5))
    assert with_margin(plain, 0.0, model) is plain
    assert head_scale(model) == 9.5 and with_margin(plain, 0.2, model).shift == pytest.approx(1.9)
    with pytest.raises(ValueError, match="cosine head"):
        with_margin(plain, 0.2, nn.Sequential(nn.Linear(8, 3)))
    with pytest.raises(ValueError, match="margin"):
        CosineMargin(plain, 1.5, 16.0)


def test_the_option_parses_bad_values_are_one_line_errors_and_a_linear_head_is_refused(capsys, tmp_path):
    parse = get_args_parser().parse_args
    assert parse(["--margin", "0.2"]).margin == 0.2 and parse([]).margin == 0.0
    with pytest.raises(SystemExit) as refused:
        parse(["--margin", "1"])
    assert refused.value.code == 2 and "argument --margin" in capsys.readouterr().err
    train = tmp_path / "t.csv"
    train.write_text("path,sku\n")
    with pytest.raises(UserError, match=r"--margin 0.2: only with --head cosine"):
        resolve_args(parse(["--train", str(train), "--out", str(tmp_path / "run"), "--margin", "0.2"]))


def test_an_incremental_retrain_keeps_its_bases_margin(tmp_path):
    base = Base(tmp_path, "run", {"arch": "tiny_cnn", "head": "cosine", "margin": 0.2}, ["a"], {}, tmp_path / "w")
    args = argparse.Namespace(**{**vars(get_args_parser().parse_args([])), "margin": 0.0})
    assert run_options(args, base).margin == 0.2


def test_a_training_with_a_margin_runs_records_it_and_moves_the_loss(tmp_path):
    """Two one-epoch trainings of one seed, with and without ``--margin``: both finish, args.json keeps the margin,
    and the margin's loss is the higher (the true logit is lowered in the loss only)."""
    import json

    from kiosk.cli import main as checkout
    from tests.onboarding_kit import TRAIN_ARGS, build_world

    world = build_world()
    losses = {}
    for margin in ("0", "0.3"):
        run = tmp_path / f"m{margin}"
        assert checkout(["train", "--train", str(world.train), "--out", str(run), "--cache-dir",
                         str(world.root / "cache"), *TRAIN_ARGS, "--head", "cosine", "--margin", margin,
                         "--epochs", "1"]) == 0
        assert json.loads((run / "args.json").read_text())["margin"] == float(margin)
        lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
        losses[margin] = [x["train_loss"] for x in lines if "train_loss" in x][-1]
    assert losses["0.3"] > losses["0"]


def test_a_head_refit_fits_with_its_bases_margin():
    """``fit_head`` with the base's margin: photos right by less than the margin keep pulling their rows, so the
    refitted head's true-class cosine margins end wider than without it."""
    import numpy as np

    from trainer.head_refit import fit_head

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16))
    targets = np.repeat(np.arange(3), 20)
    vectors = (centres[targets] + 0.8 * rng.normal(size=(60, 16))).astype(np.float32)
    gaps = {}
    for margin in (0.0, 0.3):
        torch.manual_seed(0)
        fc = CosineLinear(16, 3)
        fit_head(fc, vectors, targets, np.ones(60, np.float32), smoothing=0.0, steps=200, margin=margin)
        with torch.no_grad():
            cos = fc(torch.from_numpy(vectors)) - fc.bias
        true = cos[torch.arange(60), torch.from_numpy(targets)]
        other = cos.scatter(1, torch.from_numpy(targets)[:, None], -1e9).max(dim=1).values
        gaps[margin] = float((true - other).median())
    assert gaps[0.3] > gaps[0.0]
