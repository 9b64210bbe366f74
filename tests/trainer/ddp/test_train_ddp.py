"""The trainer's multi-node plumbing in one process: shard input, mid-epoch checkpoints that resume bit-exactly,
layout changes refused, the rendezvous failure message, SageMaker's variables, the torchrun command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.cli import main as checkout
from kiosk.errors import UserError
from tests.trainer.synthetic import make_dataset
from trainer import checkpoint as ckpt

FAST = ["--arch", "tiny_cnn", "--img-size", "32", "--train-resize", "36", "--eval-size", "32", "--batch-size", "4",
        "--threads", "1", "--no-progress", "--rotation", "10", "--epochs", "2"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp-train")
    train, val = make_dataset(root / "img")  # 36 train, 12 val photos
    assert checkout(["data", "shard", str(train), "--out", str(root / "sh"), "--shard-size", "40KB",
                     "--no-progress"]) == 0
    return root, train, val


def weights(run: Path) -> dict:
    return ckpt.load_checkpoint(run)["model"]


def max_diff(a: dict, b: dict) -> float:
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


@pytest.mark.parametrize("source", ["shards", "manifest"])
def test_mid_epoch_checkpoint_resumes_bit_exactly(data, tmp_path, source):
    """Stop after 5 of 9 steps (checkpoint holds epoch 0, batch 5), resume: same weights as never stopping."""
    root, train, _ = data
    inp = ["--shards", str(root / "sh"), "--workers", "2"] if source == "shards" else ["--train", str(train)]
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    assert checkout(["train", *inp, "--out", str(ref), *FAST, "--sample-log"]) == 0
    assert checkout(["train", *inp, "--out", str(cut), *FAST, "--sample-log", "--max-steps", "5"]) == 0
    state = ckpt.load_checkpoint(cut)
    assert state["data"]["epoch"] == 0 and state["data"]["batch"] == 5 and state["step"] == 5
    assert checkout(["train", "--resume", str(cut), "--no-progress", "--max-steps", "1000"]) == 0
    diff = max_diff(weights(ref), weights(cut))
    print(f"{source}: max abs weight difference, resumed mid-epoch vs uninterrupted: {diff:.3g}")
    assert diff == 0.0
    from trainer.sample_log import read_sample_logs

    for run in (ref, cut):
        seen = read_sample_logs(run)
        assert sorted(seen) == [0, 1]
        for ids in seen.values():
            assert sorted(ids) == list(range(36))


def test_checkpoint_every_n_steps_records_the_position(data, tmp_path):
    root, _, _ = data
    run = tmp_path / "every"
    saved = []
    real_save = ckpt.save_checkpoint

    def spy(state, run_dir):
        saved.append((state["step"], state["data"]["epoch"], state["data"]["batch"]))
        return real_save(state, run_dir)

    ckpt.save_checkpoint = spy
    try:
        assert checkout(["train", "--shards", str(root / "sh"), "--out", str(run), *FAST,
                         "--checkpoint-every", "4"]) == 0
    finally:
        ckpt.save_checkpoint = real_save
    # 9 steps per epoch: mid-epoch at steps 4, 8 (epoch 0) and 12, 16 (epoch 1); epoch ends at 9 and 18
    assert saved == [(4, 0, 4), (8, 0, 8), (9, 1, 0), (12, 1, 3), (16, 1, 7), (18, 2, 0)]


def test_other_world_size_mid_epoch_is_refused_then_resharded(data, tmp_path):
    root, _, _ = data
    run = tmp_path / "layout"
    assert checkout(["train", "--shards", str(root / "sh"), "--out", str(run), *FAST, "--max-steps", "3"]) == 0
    state = ckpt.load_checkpoint(run)
    state["data"]["world_size"] = state["world_size"] = 2  # as if two ranks had written it
    ckpt.save_checkpoint(state, run)
    with pytest.raises(UserError, match=r"stopped inside epoch 0 \(batch 3\) with another data layout "
                                        r"\(world_size 2 → 1\).*--reshard"):
        from trainer.options import get_args_parser
        from trainer.train import main

        main(get_args_parser().parse_args(["--resume", str(run), "--no-progress", "--max-steps", "100"]))
    assert checkout(["train", "--resume", str(run), "--no-progress", "--max-steps", "100", "--reshard"]) == 0
    state = ckpt.load_checkpoint(run)
    assert state["data"] == {"epoch": 2, "batch": 0, "world_size": 1, "workers": 1, "batch_size": 4,
                             "source": "shards"}
    assert state["step"] == 18  # epoch 0 restarted at its first batch: 2 epochs × 9 steps on the new layout


def test_checkpoint_of_another_architecture_is_refused(data, tmp_path):
    root, _, _ = data
    run = tmp_path / "arch"
    assert checkout(["train", "--shards", str(root / "sh"), "--out", str(run), *FAST, "--max-steps", "2"]) == 0
    args = json.loads((run / "args.json").read_text())
    args["arch"] = "mobilenet_v2"
    (run / "args.json").write_text(json.dumps(args))
    from trainer.options import get_args_parser
    from trainer.train import main

    with pytest.raises(UserError, match="args.json: arch 'mobilenet_v2', but the checkpoint is a tiny_cnn"):
        main(get_args_parser().parse_args(["--resume", str(run), "--no-progress"]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_rendezvous_names_host_and_port(data, tmp_path):
    root, train, _ = data
    port = free_port()  # nobody listens there
    env = {**os.environ, "RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(port)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "trainer", "--train", str(train), "--out", str(tmp_path / "r"),
                           *FAST, "--rdzv-timeout", "2"], env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = [x for x in proc.stderr.splitlines() if x.startswith("checkout: error:")]
    assert line and f"cannot reach the rendezvous at 127.0.0.1:{port} within 2s" in line[0], proc.stderr[-2000:]
    assert elapsed < 60


def test_sagemaker_variables_fill_the_options(data, tmp_path):
    from trainer.options import get_args_parser
    from trainer.sagemaker.env import apply_sagemaker_env, layout_from_env, publish_outputs

    root, train, val = data
    val_channel = tmp_path / "val"
    val_channel.mkdir()
    (val_channel / "val.csv").write_text(val.read_text().replace("\n", "\n", 1))
    env = {"SM_HOSTS": '["algo-2","algo-1"]', "SM_CURRENT_HOST": "algo-2", "SM_NUM_GPUS": "8",
           "SM_CHANNEL_TRAIN": str(root / "sh"), "SM_CHANNEL_VAL": str(val_channel),
           "SM_MODEL_DIR": str(tmp_path / "model"), "SM_OUTPUT_DATA_DIR": str(tmp_path / "output")}
    args = get_args_parser().parse_args(["--epochs", "3"])
    assert apply_sagemaker_env(args, env, checkpoint_dir=tmp_path / "no-checkpoints")
    assert args.shards == str(root / "sh") and args.train is None
    assert args.val == val_channel / "val.csv"
    assert args.out == tmp_path / "model" / "run" and args.auto_resume and args.epochs == 3
    ckdir = tmp_path / "checkpoints"
    ckdir.mkdir()
    args = get_args_parser().parse_args(["--train", str(train), "--out", str(tmp_path / "mine")])
    apply_sagemaker_env(args, env, checkpoint_dir=ckdir)
    assert args.train == train and args.shards is None and args.out == tmp_path / "mine"  # given options win
    args = get_args_parser().parse_args([])
    apply_sagemaker_env(args, {**env, "SM_CHANNEL_TRAIN": str(train.parent)}, checkpoint_dir=ckdir)
    assert args.train == train and args.out == ckdir / "run"  # a manifest channel; spot checkpoints synced
    assert not apply_sagemaker_env(get_args_parser().parse_args([]), {})
    lay = layout_from_env(env)
    assert (lay.nnodes, lay.node_rank, lay.nproc_per_node, lay.master_addr) == (2, 1, 8, "algo-1")
    run = tmp_path / "run"
    run.mkdir()
    for name in ("best.safetensors", "labels.json", "metrics.jsonl", "checkpoint.pt", "shard-errors.rank1.jsonl"):
        (run / name).write_text("x")
    args.sagemaker_model_dir, args.sagemaker_output_dir = str(tmp_path / "m2"), str(tmp_path / "o2")
    photo = tmp_path / "photos" / "a.jpg"
    for name in ("exemplars.csv", "embeddings.csv"):
        (run / name).write_text("path,sku\n../photos/a.jpg,apple\n")
    (run / "embeddings.safetensors").write_text("x")
    publish_outputs(args, run)
    assert sorted(p.name for p in (tmp_path / "m2").iterdir()) == ["best.safetensors", "embeddings.csv",
                                                                     "embeddings.safetensors", "exemplars.csv",
                                                                     "labels.json"]
    from trainer.data.manifest import read_manifest

    for name in ("exemplars.csv", "embeddings.csv"):  # the model folder's manifests still name the run's photos
        assert [(r.path, r.sku) for r in read_manifest(tmp_path / "m2" / name)] == [(photo, "apple")]
    assert sorted(p.name for p in (tmp_path / "o2").iterdir()) == ["metrics.jsonl", "shard-errors.rank1.jsonl"]


def test_torchrun_command_lines():
    from trainer.launch import torchrun_command, train_argv

    assert train_argv(["-v", "train", "--train", "a.csv", "--nproc-per-node", "4", "--epochs", "2"]) == \
        ["--train", "a.csv", "--epochs", "2"]
    assert train_argv(["train", "--nproc-per-node=2", "--out", "r"]) == ["--out", "r"]
    cmd = torchrun_command(["--out", "r"], 8, rdzv_id="job1")
    assert cmd[1:] == ["-m", "torch.distributed.run", "--nproc-per-node", "8", "--nnodes", "1", "--rdzv-backend",
                       "c10d", "--rdzv-endpoint", "127.0.0.1:0", "--rdzv-id", "job1", "-m", "trainer", "--out", "r"]
    cmd = torchrun_command(["--out", "r"], 8, nnodes=2, node_rank=1, master_addr="10.0.0.1", master_port=29500,
                           max_restarts=3)
    assert cmd[3:] == ["--nproc-per-node", "8", "--nnodes", "2", "--node-rank", "1", "--master-addr", "10.0.0.1",
                       "--master-port", "29500", "--rdzv-conf", "timeout=300,join_timeout=300", "--max-restarts", "3",
                       "-m", "trainer", "--out", "r"]


def test_sagemaker_launcher_and_entry_without_the_sdk():
    from trainer.options import get_args_parser
    from trainer.sagemaker import entry, launch

    base = ["--image-uri", "acct.dkr.ecr.eu-west-1.amazonaws.com/checkout-train:1", "--role", "arn:aws:iam::1:role/r",
            "--train", "s3://b/shards/", "--checkpoints", "s3://b/ck/", "--spot"]
    a = launch.parser().parse_args([*base, "--", "--arch", "resnet152", "--static-graph", "--epochs", "12",
                                    "--no-channels-last"])
    kw = launch.estimator_kwargs(a)
    assert "sagemaker" not in sys.modules  # the SDK is imported only when submitting
    assert kw["distribution"] == {"torch_distributed": {"enabled": True}} and kw["instance_count"] == 2
    assert kw["use_spot_instances"] and kw["checkpoint_s3_uri"] == "s3://b/ck/" and kw["input_mode"] == "FastFile"
    assert kw["hyperparameters"] == {"arch": "resnet152", "static-graph": "True", "epochs": "12",
                                     "no-channels-last": "True"}
    assert launch.channels(a) == {"train": "s3://b/shards/"}
    # what SageMaker hands the entry point ("--name value" pairs) parses as the same `checkout train` options
    argv = [x for k, v in kw["hyperparameters"].items() for x in (f"--{k}", v)] + ["--channels-last", "False"]
    norm = entry.normalise_hyperparameters(argv)
    assert norm == ["--arch", "resnet152", "--static-graph", "--epochs", "12", "--no-channels-last",
                    "--no-channels-last"]
    parsed = get_args_parser().parse_args(norm)
    assert parsed.static_graph and parsed.channels_last is False and parsed.epochs == 12
    a = launch.parser().parse_args([*base, "--distribution", "smddp"])
    kw = launch.estimator_kwargs(a)
    assert kw["distribution"] == {"smdistributed": {"dataparallel": {"enabled": True}}}
    assert kw["hyperparameters"] == {"dist-backend": "smddp"}
    env = {"OMPI_COMM_WORLD_RANK": "9", "OMPI_COMM_WORLD_SIZE": "16", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
           "SM_HOSTS": '["algo-2","algo-1"]'}
    assert entry.map_mpi_env(env) == {"RANK": "9", "WORLD_SIZE": "16", "LOCAL_RANK": "1", "MASTER_ADDR": "algo-1",
                                      "MASTER_PORT": "29500"}
    assert entry.map_mpi_env({**env, "RANK": "9"}) == {}
