"""An epoch's metrics are summed over ranks on the device the process group's backend needs: the CPU under gloo,
the model's GPU under NCCL (which refuses CPU tensors, so a CPU sum would fail every multi-GPU run at the end of
epoch 0). The CPU tests check the choice and that the epoch loop passes the model's device; the GPU test runs a
real epoch on two NCCL ranks."""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from torch import nn

from kiosk.bundle_format.preprocess import PreprocessSpec
from tests.trainer.synthetic import make_dataset
from trainer import checkpoint as ckpt
from trainer.distributed import all_reduce_sum, reduction_device

REPO = Path(__file__).resolve().parents[3]
GN_TRAIN = str(Path(__file__).with_name("gn_train.py"))
GPUS = torch.cuda.device_count()


def test_reduction_device_follows_the_backend():
    assert reduction_device("nccl", "cuda:1") == torch.device("cuda", 1)
    assert reduction_device("smddp", torch.device("cuda", 3)) == torch.device("cuda", 3)
    assert reduction_device("gloo", "cuda:0") == torch.device("cpu")  # gloo: no copy to the GPU and back
    assert reduction_device("gloo", "cpu") == torch.device("cpu")
    assert reduction_device("mpi", "cuda:2") == torch.device("cpu")


def test_all_reduce_sum_asks_the_process_group_where_to_reduce(tmp_path, monkeypatch):
    """Under gloo the sum runs on the CPU even for a model on a GPU (which this machine need not have)."""
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        devices, real = [], dist.all_reduce

        def spy(tensor, *a, **kw):
            devices.append(tensor.device)
            return real(tensor, *a, **kw)

        monkeypatch.setattr(dist, "all_reduce", spy)
        assert all_reduce_sum([1.5, 2.0, 3.0], device="cuda:0") == [1.5, 2.0, 3.0]
        assert devices == [torch.device("cpu")]
    finally:
        dist.destroy_process_group()


def test_train_one_epoch_reduces_for_the_models_device(monkeypatch):
    from trainer import train

    passed = []

    def spy(values, device=None):
        passed.append(device)
        return list(values)

    monkeypatch.setattr(train, "all_reduce_sum", spy)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    batches = [(torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8), torch.tensor([0, 1, 0, 1])) for _ in range(3)]
    stats = train.train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, scheduler, batches,
                                  PreprocessSpec(resize_size=8, crop_size=8), "cpu", 0,
                                  argparse.Namespace(channels_last=False, amp="none"), progress=False)
    assert passed == ["cpu"]  # the device the model and its batches are on
    assert stats["images"] == 12 and stats["step"] == 3 and 0.0 <= stats["acc"] <= 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_gn(launcher: list[str], out: Path, train: Path, batch: int, *extra: str, device: str = "cuda") -> dict:
    """One epoch of tiny_gn (GroupNorm, no dropout: see gn_train.py); the epoch's metrics record."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    cmd = [*launcher, GN_TRAIN, "--train", str(train), "--out", str(out), "--batch-size", str(batch), *extra,
           "--device", device, "--amp", "none", "--arch", "tiny_gn", "--img-size", "32", "--train-resize", "36",
           "--threads", "1", "--no-progress", "--epochs", "1", "--seed", "7", "--lr", "5e-3"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    [record] = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return record


@pytest.mark.gpu
@pytest.mark.skipif(GPUS < 2, reason=f"two NCCL ranks need two CUDA GPUs (NCCL refuses two ranks on one GPU); "
                                     f"{GPUS} visible")
def test_two_nccl_ranks_train_an_epoch_and_sum_its_metrics(tmp_path):
    train, _ = make_dataset(tmp_path / "img")  # 36 training photos
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
                "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{free_port()}"]
    two = train_gn(torchrun, tmp_path / "nccl", train, 4, "--dist-backend", "nccl")
    assert ckpt.load_checkpoint(tmp_path / "nccl")["world_size"] == 2
    one = train_gn([sys.executable], tmp_path / "one", train, 8)
    # 36 photos padded to 2 ranks × 5 batches × 4: both ranks' 20 images are counted, and each step trained on the
    # same 8 photos as the one-rank run's batch of 8, so the summed loss and accuracy are that run's
    assert two["train_images"] == one["train_images"] == 40
    correct = two["train_acc"] * 40
    assert abs(correct - round(correct)) < 1e-9
    assert math.isfinite(two["train_loss"]) and two["train_loss"] == pytest.approx(one["train_loss"], rel=2e-2)
    assert abs(two["train_acc"] - one["train_acc"]) <= 2 / 40
