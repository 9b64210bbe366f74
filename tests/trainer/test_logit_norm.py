"""LogitNorm (``--logit-norm TAU``): the loss sees the logits at norm 1/TAU, so it no longer pays the network to grow
its logits' norm (the open-set scores read that norm), and an incremental retrain keeps its base's setting."""

from __future__ import annotations

import argparse

import pytest
import torch
from torch import nn

from trainer.incremental import Base, run_options
from trainer.logit_norm import LogitNorm, with_logit_norm
from trainer.options import get_args_parser


def _logits(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(8, 5, generator=g) * 3, torch.arange(8) % 5


def test_the_loss_is_cross_entropy_of_the_normalised_logits():
    logits, targets = _logits()
    plain = nn.CrossEntropyLoss(label_smoothing=0.1)
    expected = plain(logits / (0.04 * logits.norm(dim=1, keepdim=True)), targets)
    assert torch.allclose(LogitNorm(plain, 0.04)(logits, targets), expected)


def test_growing_the_logits_norm_earns_nothing():
    """Plain cross-entropy falls as the (right) logits grow; LogitNorm's does not move, and its gradient has no part
    along the logits themselves."""
    logits, targets = _logits(1)
    logits[torch.arange(8), targets] = logits.max(dim=1).values + 2.0  # every photo classified right
    plain, normed = nn.CrossEntropyLoss(), LogitNorm(nn.CrossEntropyLoss(), 0.04)
    assert plain(3 * logits, targets) < plain(logits, targets) - 0.1
    assert torch.allclose(normed(3 * logits, targets), normed(logits, targets), atol=1e-5)
    z = logits.clone().requires_grad_(True)
    normed(z, targets).backward()
    along = (z.grad * z.detach()).sum(dim=1)
    assert along.abs().max() < 1e-5


def test_all_zero_logits_stay_finite_and_off_is_the_plain_loss():
    loss = LogitNorm(nn.CrossEntropyLoss(), 0.04)(torch.zeros(2, 3), torch.tensor([0, 1]))
    assert torch.isfinite(loss)
    plain = nn.CrossEntropyLoss()
    assert with_logit_norm(plain, 0.0) is plain and isinstance(with_logit_norm(plain, 0.1), LogitNorm)


def test_the_option_parses_and_bad_values_are_one_line_errors(capsys):
    parse = get_args_parser().parse_args
    assert parse(["--logit-norm", "0.04"]).logit_norm == 0.04 and parse([]).logit_norm == 0.0
    with pytest.raises(SystemExit) as refused:
        parse(["--logit-norm", "-1"])
    assert refused.value.code == 2 and "argument --logit-norm: -1: must be at least 0" in capsys.readouterr().err


def test_an_incremental_retrain_keeps_its_bases_logit_norm(tmp_path):
    base = Base(tmp_path, "run", {"arch": "tiny_cnn", "logit_norm": 0.04, "lr": 1e-3}, ["a"], {}, tmp_path / "w")
    args = argparse.Namespace(**{**vars(get_args_parser().parse_args([])), "logit_norm": 0.0})
    assert run_options(args, base).logit_norm == 0.04
