"""Refused in one line before any process is spawned or any rendezvous waited on: ``bench ddp`` options the
spawned processes would fail on, a rank environment without MASTER_ADDR/MASTER_PORT; and one shard-error report per
rank (never several ranks appending to one file)."""

from __future__ import annotations

import pytest

from kiosk.cli import main as checkout
from kiosk.errors import UserError
from trainer.distributed import init_distributed


@pytest.mark.parametrize("bad, says", [(["--arch", "nosuch"], "unknown architecture 'nosuch'"),
                                       (["--freeze", "1000"], "--freeze 1000: tiny_cnn has"),
                                       (["--backend", "nccl"], "--backend nccl: reduces tensors on CUDA GPUs only")])
def test_bench_ddp_refuses_before_spawning(bad, says, capsys, monkeypatch):
    import torch.multiprocessing as mp

    def no_spawn(*a, **k):
        raise AssertionError("spawned processes for options the parent can refuse")

    monkeypatch.setattr(mp, "spawn", no_spawn)
    args = ["bench", "ddp", "--arch", "tiny_cnn", "--nproc", "2", "--device", "cpu", "--steps", "1", *bad]
    assert checkout(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("checkout: error: ") and says in err and err.count("\n") == 1, err


def test_rank_environment_without_master_address_says_so(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(UserError, match="MASTER_ADDR and MASTER_PORT are not set"):
        init_distributed("cpu", rdzv_timeout_s=1)


def test_each_rank_reports_shard_errors_to_its_own_file(tmp_path):
    from trainer.train import shard_errors_path

    paths = [shard_errors_path(tmp_path, r) for r in range(3)]
    assert paths[0].name == "shard-errors.jsonl" and len(set(paths)) == 3
