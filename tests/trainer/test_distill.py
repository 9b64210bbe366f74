"""An incremental retrain's less-forget term (``--distill``, trainer/distill.py): ``weight · mean(1 − cos(f, f_base))``
on each training batch, the teacher a frozen copy of the network as the run starts (the base), its gradient turning the
student's embeddings back to the base's; refused without a base; recorded with the run."""

from __future__ import annotations

import json

import pytest
import torch

from kiosk.cli import main as checkout
from kiosk.errors import UserError
from tests.onboarding_kit import build_world
from trainer.distill import FeatureDistillation, with_distillation
from trainer.models import build_model, head


def _embedding(model, images):
    seen = []
    hook = head(model, "tiny_cnn").register_forward_pre_hook(lambda _m, a: seen.append(a[0]))
    try:
        with torch.no_grad():
            model(images)
    finally:
        hook.remove()
    return torch.flatten(seen[-1], 1)


def test_the_term_is_the_weighted_cosine_distance_to_the_base_and_its_gradient_restores_the_base():
    torch.manual_seed(0)
    model = build_model("tiny_cnn", 4, head="cosine")
    images = torch.rand(8, 3, 64, 64)
    distill = FeatureDistillation(model, "tiny_cnn", weight=3.0)
    teacher_before = {k: v.clone() for k, v in distill.teacher.state_dict().items()}
    with torch.no_grad():  # the fine-tune has moved the network away from the base
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    model.train()
    for m in model.modules():  # running statistics: the student's embedding is the same function the teacher's is
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    model(images)
    term = distill.term()
    assert distill.term() is term  # once per batch, whatever the criterion's calls
    expected = 3.0 * (1 - torch.nn.functional.cosine_similarity(_embedding(model, images),
                                                                _embedding(distill.teacher, images))).mean()
    assert term.item() == pytest.approx(expected.item(), rel=1e-5) and term.item() > 0.01
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    start = term.item()
    for _ in range(30):
        model(images)
        loss = distill.term()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model(images)
    assert distill.term().item() < 0.5 * start
    for k, v in distill.teacher.state_dict().items():  # the teacher is a copy, never trained
        assert torch.equal(v, teacher_before[k]), k
    assert not any(p.requires_grad for p in distill.teacher.parameters())


def test_the_criterion_adds_the_term_and_an_evaluation_pass_keeps_nothing():
    torch.manual_seed(1)
    model = build_model("tiny_cnn", 4, head="cosine")
    distill = FeatureDistillation(model, "tiny_cnn", weight=2.0)
    ce = torch.nn.CrossEntropyLoss()
    criterion = with_distillation(ce, distill)
    assert with_distillation(ce, None) is ce
    model.eval()
    with torch.no_grad():
        model(torch.rand(2, 3, 64, 64))
    with pytest.raises(RuntimeError, match="no training forward pass"):
        distill.term()
    model.train()
    images, targets = torch.rand(4, 3, 64, 64), torch.tensor([0, 1, 2, 3])
    logits = model(images)
    assert criterion(logits, targets).item() == pytest.approx((ce(logits, targets) + distill.term()).item())
    with pytest.raises(ValueError, match="must be > 0"):
        FeatureDistillation(model, "tiny_cnn", weight=0.0)


def test_distill_without_a_base_is_refused_in_one_line(tmp_path):
    from trainer.options import get_args_parser
    from trainer.train import resolve_args

    world = build_world()
    args = get_args_parser().parse_args(["--train", str(world.train), "--out", str(tmp_path / "run"),
                                         "--distill", "1"])
    with pytest.raises(UserError, match=r"--distill 1: only with --incremental"):
        resolve_args(args)
    assert not (tmp_path / "run").exists()


def test_an_incremental_retrain_distils_with_the_given_weight_and_records_it(tmp_path):
    world = build_world()
    out = tmp_path / "inc"
    assert checkout(["train", "--incremental", "--from", str(world.run), "--add", str(world.new_train), "--out",
                     str(out), "--epochs", "1", "--threads", "2", "--no-progress", "--distill", "2.5",
                     "--cache-dir", str(world.root / "cache")]) == 0
    assert json.loads((out / "args.json").read_text())["distill"] == 2.5
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert metrics and all(m["train_loss"] > 0 for m in metrics)


def test_an_incremental_retrain_balances_its_classes_unless_told_not_to(tmp_path):
    """The new SKUs' photos outnumber each old SKU's few replayed exemplars: by default every SKU weighs the same
    (trainer/incremental.py BALANCE); --no-class-balance trains on the plain mean."""
    from trainer.incremental import BALANCE, read_base, run_options
    from trainer.options import get_args_parser

    world = build_world()
    base = read_base(world.run)
    parser = get_args_parser()
    common = ["--incremental", "--from", str(world.run), "--add", str(world.new_train), "--out", str(tmp_path / "x")]
    assert BALANCE is True and run_options(parser.parse_args(common), base).class_balance is True
    assert run_options(parser.parse_args([*common, "--no-class-balance"]), base).class_balance is False
