"""Both training pipelines (decoded cache, streamed shards) are one TrainingData: same classes, same batch shapes,
a layout that splits the epoch, sample ids for the sample log, and a loss that ignores placeholder batches."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kiosk.cli import main as checkout
from kiosk.errors import DataError
from tests.trainer.synthetic import make_dataset
from trainer.options import get_args_parser
from trainer.presets import TrainPreset
from trainer.shards.stream import IGNORE
from trainer.train import specs_from_args
from trainer.training_data import TrainingData, TrainingSource, read_manifest_items


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("training-data")
    train, val = make_dataset(root / "img", per_class=6)  # 4 SKUs × (6 - 2 val) = 16 training photos
    assert checkout(["data", "shard", str(train), "--out", str(root / "sh"), "--shard-size", "40KB",
                     "--no-progress"]) == 0
    return root, train, val


def open_data(root, source_args: list[str], world: int = 1, rank: int = 0) -> TrainingData:
    args = get_args_parser().parse_args([*source_args, "--img-size", "32", "--train-resize", "36",
                                         "--batch-size", "3", "--workers", "0"])
    spec = specs_from_args(args)[0]
    return TrainingSource.from_args(args).open(args, rank, world, spec, TrainPreset(crop_size=32).build(),
                                               root / "cache", pin_memory=False, errors_path=root / "errors.jsonl")


@pytest.mark.parametrize("world", [1, 2])
def test_both_pipelines_are_one_training_data(data, world):
    root, train, _ = data
    cached = [open_data(root, ["--train", str(train)], world, rank) for rank in range(world)]
    sharded = [open_data(root, ["--shards", str(root / "sh")], world, rank) for rank in range(world)]
    for pipeline, source in ((cached, "manifest"), (sharded, "shards")):
        seen, steps = [], []
        for d in pipeline:
            assert isinstance(d, TrainingData)
            assert d.labels == ["blue-bar", "green-box", "red-disc", "yellow-disc"]
            assert d.groups == {"red-disc": "discs", "yellow-disc": "discs", "green-box": "boxes", "blue-bar": "bars"}
            assert d.skipped == [] and d.layout["world_size"] == world and d.layout["source"] == source
            assert d.layout["batch_size"] == 3
            d.set_epoch(1)
            batches = 0
            for images, targets in d:
                assert images.dtype == torch.uint8 and images.shape[1:] == (3, 32, 32)
                assert targets.dtype == torch.int64 and len(targets) == len(images) == len(d.last_ids)
                seen += d.last_ids
                batches += 1
            assert batches == len(d)
            steps.append(batches)
            d.set_epoch(1, start_batch=1)
            assert len(d) == batches - 1
        assert steps == [steps[0]] * world  # every rank runs the same number of steps
        # shards: every photo exactly once; the cache pads the epoch to world × batch with repeats
        assert sorted(seen) == list(range(16)) if source == "shards" else set(seen) == set(range(16))


def test_only_the_sharded_pipeline_sends_batches_to_ignore(data):
    root, train, _ = data
    logits, placeholder = torch.randn(1, 4, requires_grad=True), torch.tensor([IGNORE])
    plain = nn.CrossEntropyLoss()
    assert open_data(root, ["--train", str(train)]).criterion(plain) is plain
    loss = open_data(root, ["--shards", str(root / "sh")]).criterion(plain)(logits, placeholder)
    assert loss.item() == 0.0


def test_validation_skus_are_checked_against_the_training_classes(data):
    root, _, val = data
    rows = read_manifest_items(val)
    source = TrainingSource.from_args(get_args_parser().parse_args(["--shards", str(root / "sh")]))
    source.check_known(rows, val)
    with pytest.raises(DataError, match=rf"{val.name}: SKUs not in .*sh/index.json: purple-cube"):
        source.check_known([*rows, {**rows[0], "sku": "purple-cube"}], val)
