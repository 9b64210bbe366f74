"""Placeholder samples (the one ignored sample standing in for a batch whose shard members were all unreadable)
are no trained photos: left out of the epoch's image count, accuracy and loss; an epoch without one real photo
fails loudly instead of keeping an untrained model's weights."""

from __future__ import annotations

import argparse

import pytest
import torch
from torch import nn

from kiosk.bundle_format.preprocess import PreprocessSpec
from kiosk.errors import UserError
from trainer import train
from trainer.shards.stream import IGNORE, IgnoreEmptyLoss


def epoch(batches: list[tuple[torch.Tensor, torch.Tensor]]) -> dict:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return train.train_one_epoch(model, IgnoreEmptyLoss(nn.CrossEntropyLoss()), optimizer, scheduler, batches,
                                 PreprocessSpec(resize_size=8, crop_size=8), "cpu", 3,
                                 argparse.Namespace(channels_last=False, amp="none"), progress=False)


def images(n: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8)


def test_the_stream_and_the_trainer_agree_on_the_placeholder_target():
    assert train.IGNORE_TARGET == IGNORE


def test_placeholders_are_not_counted_as_trained_photos():
    stats = epoch([(images(2), torch.tensor([0, 1])), (images(1), torch.tensor([IGNORE])),
                   (images(3), torch.tensor([1, IGNORE, 0]))])
    assert stats["images"] == 4 and stats["step"] == 3
    assert 0.0 <= stats["acc"] <= 1.0 and stats["acc"] * 4 == round(stats["acc"] * 4)


def test_an_epoch_of_placeholders_only_fails_loudly():
    with pytest.raises(UserError, match="epoch 3: 2 batches but not one readable photo"):
        epoch([(images(1), torch.tensor([IGNORE])), (images(1), torch.tensor([IGNORE]))])
