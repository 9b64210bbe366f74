"""Ranks of one job that would train apart are refused right after joining, on every rank, in one line:
another manifest on one node (other SKUs, or the same SKUs in another meaning), or a node that does not see the
checkpoint rank 0 resumes from (``--auto-resume`` with per-node run folders)."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.trainer.synthetic import make_dataset

REPO = Path(__file__).resolve().parents[3]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
FAST = ["--arch", "tiny_cnn", "--img-size", "32", "--train-resize", "36", "--batch-size", "4", "--threads", "1",
        "--no-progress", "--workers", "0", "--exemplars", "0"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_nodes(per_node: list[list[str]], timeout: int = 120) -> list[tuple[int, str]]:
    """Two torchrun launches, ``--nnodes 2 --node-rank 0/1``, one rank each: (exit code, output) per node."""
    port = free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--node-rank",
                               str(node), "--nproc-per-node", "1", "--master-addr", "127.0.0.1", "--master-port",
                               str(port), "-m", "trainer", *args], env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for node, args in enumerate(per_node)]
    try:
        return [(p.wait(timeout=timeout), p.stdout.read()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("agree")
    train, _ = make_dataset(root / "img", per_class=2, size=40)  # 8 photos, 4 SKUs
    rows = list(csv.DictReader(train.open()))
    swapped = root / "train_swap.csv"  # the same photos, but yellow-disc's are called banana
    with swapped.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({**r, "sku": "banana" if r["sku"] == "yellow-disc" else r["sku"]} for r in rows)
    return root, train, swapped


def test_nodes_with_different_manifests_are_refused(data, tmp_path):
    root, train, swapped = data
    out = [tmp_path / "n0", tmp_path / "n1"]
    results = two_nodes([["--train", str(train), "--out", str(out[0]), *FAST, "--epochs", "1"],
                         ["--train", str(swapped), "--out", str(out[1]), *FAST, "--epochs", "1"]])
    for rc, text in results:
        assert rc != 0, text[-3000:]
        assert "disagree on what they train" in text and "SKUs" in text and "banana" in text, text[-3000:]
        assert "rank 1 (node 1" in text and str(swapped) in text, text[-3000:]
    assert not (out[0] / "best.safetensors").exists()


@pytest.fixture(scope="module")
def one_epoch(data, tmp_path_factory):
    """A two-node job of one epoch, node 1 with its own run folder: (exit code, output) per node and the folders.
    Trained once for this module (a two-node launch is ~5-10 s): the summary test reads its output, the resume test
    goes on from its folders."""
    _, train, _ = data
    root = tmp_path_factory.mktemp("one-epoch")
    out = [root / "n0", root / "n1"]
    results = two_nodes([["--train", str(train), "--out", str(o), *FAST, "--epochs", "1"] for o in out])
    return results, out


def test_a_node_without_the_checkpoint_rank_0_resumes_is_refused(data, one_epoch):
    _, train, _ = data
    results, out = one_epoch
    assert [rc for rc, _ in results] == [0, 0], "\n".join(t[-2000:] for _, t in results)
    shutil.rmtree(out[1], ignore_errors=True)  # node 1's run folder is its own (rank 0 wrote the checkpoint)
    results = two_nodes([["--train", str(train), "--out", str(o), *FAST, "--epochs", "2", "--auto-resume"]
                         for o in out])
    for rc, text in results:
        assert rc != 0, text[-3000:]
        assert "resumes from: nothing (starts at epoch 0) (rank 0: a checkpoint at epoch 1" in text, text[-3000:]
    assert "resumed" not in results[0][1].split("disagree")[0].splitlines()[-1]


def test_only_rank_0_prints_the_summary(one_epoch):
    results, _ = one_epoch
    assert [rc for rc, _ in results] == [0, 0], "\n".join(t[-2000:] for _, t in results)
    summaries = [line for _, text in results for line in text.splitlines() if line.startswith("best val top-1")]
    assert len(summaries) == 1 and "at epoch 0" in summaries[0], summaries
    assert "best val top-1" in results[0][1]
