"""MixUp/CutMix (``--mixup``, ``--cutmix``): the mixed loss is the soft-target cross-entropy torchvision's transforms
would train with, CutMix's λ is the share of the picture left, and the last ``--mix-off-epochs`` train unmixed."""

from __future__ import annotations

import argparse

import pytest
import torch
from torch import nn

from kiosk.bundle_format.preprocess import PreprocessSpec
from trainer import mixing, train
from trainer.options import get_args_parser


def _batch(n: int = 6, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 16, 20, generator=g), torch.arange(n) % 4


def test_mixup_loss_equals_the_soft_target_cross_entropy():
    torch.manual_seed(1)
    images, targets = _batch()
    mixed = mixing.BatchMix(mixup=0.4)(images, targets)
    assert 0.0 < mixed.lam < 1.0
    assert torch.allclose(mixed.images, mixed.lam * images + (1 - mixed.lam) * images.roll(1, 0))
    logits = torch.randn(6, 4)
    soft = mixed.lam * nn.functional.one_hot(targets, 4) + (1 - mixed.lam) * nn.functional.one_hot(mixed.other, 4)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    assert torch.allclose(mixed.loss(criterion, logits, targets), criterion(logits, soft.float()), atol=1e-6)


def test_cutmix_pastes_one_box_and_lambda_is_the_share_left():
    for seed in range(20):
        torch.manual_seed(seed)
        images, targets = _batch(seed=seed)
        mixed = mixing.BatchMix(cutmix=1.0)(images, targets)
        changed = (mixed.images != images).any(dim=(0, 1))  # (H, W): where the box went
        ys, xs = changed.nonzero(as_tuple=True)
        if len(ys):
            box = changed[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
            assert box.all()  # one rectangle
        assert mixed.lam == pytest.approx(1 - changed.float().mean().item())
        assert torch.equal(mixed.images[:, :, changed], images.roll(1, 0)[:, :, changed])
        assert torch.equal(mixed.other, targets.roll(1, 0))


def test_nothing_is_mixed_when_off_undrawn_or_alone():
    images, targets = _batch()
    for mix, x in [(mixing.BatchMix(), images), (mixing.BatchMix(cutmix=1.0, prob=0.0), images),
                   (mixing.BatchMix(mixup=1.0), images[:1])]:
        out = mix(x, targets[: len(x)])
        assert out.lam == 1.0 and out.images is x


def _args(*extra: str):
    return get_args_parser().parse_args(["--train", "t.csv", "--out", "run", "--epochs", "5", *extra])


def test_the_last_mix_off_epochs_train_on_clean_images():
    args = _args("--cutmix", "1.0", "--mix-prob", "0.5", "--mix-off-epochs", "2")
    assert [mixing.from_args(args, e) is not None for e in range(5)] == [True, True, True, False, False]
    assert mixing.from_args(args, 0) == mixing.BatchMix(0.0, 1.0, 0.5)
    assert mixing.from_args(_args(), 0) is None


@pytest.mark.parametrize("extra, words", [(["--cutmix", "-1"], "argument --cutmix: -1: must be at least 0"),
                                          (["--mixup", "0.2", "--mix-prob", "1.5"],
                                           "argument --mix-prob: 1.5: must be at most 1")])
def test_bad_mixing_options_are_one_line_errors(extra, words, capsys):
    with pytest.raises(SystemExit) as refused:
        _args(*extra)
    assert refused.value.code == 2 and words in capsys.readouterr().err


def test_an_epoch_trains_with_cutmix_and_mixup():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    batches = [(torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8), torch.tensor([0, 1, 0, 1])) for _ in range(3)]
    args = argparse.Namespace(channels_last=False, amp="none", cutmix=1.0, mixup=0.2, mix_prob=1.0, mix_off_epochs=0,
                              epochs=1)
    before = [p.detach().clone() for p in model.parameters()]
    stats = train.train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, scheduler, batches,
                                  PreprocessSpec(resize_size=8, crop_size=8), "cpu", 0, args, progress=False)
    assert stats["images"] == 12 and torch.isfinite(torch.tensor(stats["loss"]))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
