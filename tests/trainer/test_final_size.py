"""``--final-size``: the last ``--final-epochs`` train on larger crops, taken from a cache with room for them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from kiosk.errors import UserError
from trainer.options import get_args_parser
from trainer.train import resolve_args, specs_from_args, use_final_size


def _args(*extra: str):
    return get_args_parser().parse_args(["--train", "t.csv", "--out", "run", "--arch", "efficientnet_lite0",
                                         "--img-size", "192", "--eval-size", "256", "--epochs", "5", *extra])


def test_last_epochs_train_on_final_size_crops_from_a_cache_with_room_for_them():
    args = _args("--final-size", "256", "--final-epochs", "2")
    train_spec, eval_spec = specs_from_args(args)
    assert train_spec.resize_size == round(256 / 0.875) and train_spec.crop_size == 192
    t = SimpleNamespace(args=args, data=SimpleNamespace(dataset=SimpleNamespace(transform="epoch-0 transform")))
    image = torch.zeros(3, train_spec.resize_size, train_spec.resize_size, dtype=torch.uint8)
    for epoch in range(3):
        use_final_size(t, epoch)
        assert t.data.dataset.transform == "epoch-0 transform"
    for epoch in (3, 4):
        use_final_size(t, epoch)
        assert t.data.dataset.transform(image).shape == (3, 256, 256)
    plain = _args()
    assert specs_from_args(plain)[0].resize_size == round(192 / 0.875)
    use_final_size(SimpleNamespace(args=plain, data=None), 4)  # no --final-size: nothing to change


def test_final_size_needs_the_decoded_cache():
    with pytest.raises(UserError, match="--final-size"):
        resolve_args(get_args_parser().parse_args(["--shards", "s/", "--out", "run", "--final-size", "256"]))
