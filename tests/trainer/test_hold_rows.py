"""An incremental retrain's ``--hold-old-rows``: the old SKUs' classifier rows stay the base's (their gradients are
zeroed, trainer/models.py ``hold_rows``) while the new SKUs' rows and the network learn; refused without a base;
recorded with the run (``hold_rows`` in args.json, ``held_rows`` in incremental.json)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from kiosk.cli import main as checkout
from kiosk.errors import UserError
from tests.onboarding_kit import NEW, build_world
from trainer.models import build_model, hold_rows, last_linear


def test_held_rows_do_not_move_and_the_others_do():
    torch.manual_seed(0)
    model = build_model("tiny_cnn", 5, head="cosine")
    fc = last_linear(model)
    before_w, before_b = fc.weight.detach().clone(), fc.bias.detach().clone()
    hold_rows(model, [0, 2, 3])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    images, targets = torch.rand(8, 3, 64, 64), torch.tensor([0, 1, 2, 3, 4, 1, 4, 0])
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(model(images), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for row in (0, 2, 3):
        assert torch.equal(fc.weight[row], before_w[row]) and fc.bias[row] == before_b[row]
    for row in (1, 4):
        assert not torch.equal(fc.weight[row], before_w[row])


def test_hold_old_rows_without_a_base_is_refused_in_one_line(tmp_path):
    from trainer.options import get_args_parser
    from trainer.train import resolve_args

    world = build_world()
    args = get_args_parser().parse_args(["--train", str(world.train), "--out", str(tmp_path / "run"),
                                         "--hold-old-rows"])
    with pytest.raises(UserError, match=r"--hold-old-rows: only with --incremental"):
        resolve_args(args)
    assert not (tmp_path / "run").exists()


def _rows(path, labels):
    state = load_file(str(path))
    weight = next(v for k, v in state.items() if k.endswith("weight") and v.ndim == 2 and v.shape[0] == len(labels))
    return weight


def test_an_incremental_retrain_holding_the_old_rows_keeps_them_and_records_it(tmp_path):
    world = build_world()
    out = tmp_path / "inc"
    assert checkout(["train", "--incremental", "--from", str(world.run), "--add", str(world.new_train), "--out",
                     str(out), "--epochs", "2", "--threads", "2", "--no-progress", "--hold-old-rows",
                     "--cache-dir", str(world.root / "cache")]) == 0
    labels = json.loads((out / "labels.json").read_text())["labels"]
    old = [i for i, s in enumerate(labels) if s not in NEW]
    assert json.loads((out / "args.json").read_text())["hold_rows"] == old
    assert json.loads((out / "incremental.json").read_text())["held_rows"] == len(old) == len(labels) - len(NEW)
    start, end = _rows(out / "init.safetensors", labels), _rows(out / "best.safetensors", labels)
    for i in range(len(labels)):
        if i in old:  # only AdamW's decoupled decay touches them: a scale within a percent, the direction kept
            cosine = torch.nn.functional.cosine_similarity(start[i], end[i], dim=0)
            assert cosine > 1 - 1e-6 and torch.allclose(end[i], start[i], rtol=1e-2, atol=1e-6), labels[i]
        else:
            assert not torch.allclose(end[i], start[i], rtol=1e-2), labels[i]


def test_by_default_an_incremental_retrain_trains_every_row(tmp_path):
    from trainer.incremental import HOLD_OLD_ROWS, read_base, run_options
    from trainer.options import get_args_parser

    world = build_world()
    base = read_base(world.run)
    parser = get_args_parser()
    common = ["--incremental", "--from", str(world.run), "--add", str(world.new_train), "--out", str(tmp_path / "x")]
    assert run_options(parser.parse_args(common), base).hold_old_rows is HOLD_OLD_ROWS
    assert run_options(parser.parse_args([*common, "--no-hold-old-rows"]), base).hold_old_rows is False
    assert run_options(parser.parse_args([*common, "--hold-old-rows"]), base).hold_old_rows is True
