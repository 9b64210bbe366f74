"""train → export → evaluate → kiosk recognizer on a tiny synthetic dataset, and the trainer's failure modes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from kiosk.bundle_format.preprocess import preprocess, read_image
from kiosk.cli import main as checkout
from kiosk.errors import UserError
from kiosk.recognition.recognizer import Recognizer
from tests.trainer.synthetic import make_dataset

FAST = ["--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--eval-size", "64",
        "--batch-size", "8", "--threads", "2", "--no-progress", "--rotation", "10"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("synthetic"))


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    train, val = data
    run = tmp_path_factory.mktemp("runs") / "tiny"
    t0 = time.process_time()
    assert checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run), "--epochs", "5",
                     "--lr", "1e-2", *FAST]) == 0
    return run, time.process_time() - t0


def test_train_export_evaluate_recognize_under_a_minute(trained, data, tmp_path, capsys):
    run, train_cpu_s = trained
    _, val = data
    t0 = time.process_time()
    bundle = tmp_path / "bundle"
    assert checkout(["bundle", "export", str(run), "--out", str(bundle), "--model-version", "7"]) == 0
    out = capsys.readouterr().out
    assert "ONNX vs torch: max abs logit difference" in out
    assert checkout(["evaluate", str(bundle), "--manifest", str(val), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("top1", "top3", "coarse_top1", "n", "per_sku"):
        assert key in report
    assert report["n"] == 12
    assert report["top1"] >= 0.75, report  # four easy classes: a broken pipeline sits near 0.25
    assert (tmp_path / "bundle.eval-val" / "confusion.png").stat().st_size > 1000
    # the bundle's safetensors through torch score as its ONNX model does
    assert checkout(["evaluate", str(bundle), "--manifest", str(val), "--json", "--backend", "torch",
                     "--out", str(tmp_path / "eval-torch")]) == 0
    report_t = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report_t["n"] == 12 and abs(report_t["top1"] - report["top1"]) <= 1 / 12

    rec = Recognizer.load(bundle, backend="onnxruntime")
    assert rec.model_version == 7
    for case in rec.bundle.manifest.selftest:
        r = rec.recognize(read_image(bundle / case.image))
        assert [s.sku for s in r.suggestions] == case.top_labels
        assert np.allclose([s.score for s in r.suggestions], case.top_scores, atol=1e-4)
    # the torch backend agrees with ONNX Runtime
    rec_t = Recognizer.load(bundle, backend="torch")
    im = read_image(bundle / rec.bundle.manifest.selftest[0].image)
    assert rec_t.recognize(im).top.sku == rec.recognize(im).top.sku
    # CPU seconds of this process (2 threads), not wall time: other load on the machine cannot make it flaky.
    # 120 CPU-s on 2 cores = 60 s of wall time on an idle 2-core machine.
    cpu_s = train_cpu_s + time.process_time() - t0
    print(f"train → export → evaluate → recognise: {cpu_s:.1f} CPU-s")
    assert cpu_s < 120, f"pipeline used {cpu_s:.0f} CPU-s (> 60 s wall on 2 cores)"


def test_eval_preset_matches_kiosk_preprocessing(trained, data):
    """The trainer's validation tensors are the kiosk's preprocess() output."""
    from kiosk.bundle_format.preprocess import PreprocessSpec
    from trainer.imagecache import build_cache
    from trainer.presets import normalize_batch

    run, _ = trained
    spec = PreprocessSpec.from_json(json.loads((run / "best.json").read_text())["preprocess"])
    _, val = data
    paths = sorted(Path(val).parent.glob("*/*.jpg"))[:5]
    cache = build_cache([(p, 0) for p in paths], run / "cache-check", "eval", spec)
    trainer_x = normalize_batch(torch.from_numpy(np.array(cache.images)).permute(0, 3, 1, 2), spec).numpy()
    kiosk_x = np.stack([preprocess(read_image(p), spec) for p in paths])
    assert np.abs(trainer_x - kiosk_x).max() < 1e-5


def test_resume_after_kill_gives_identical_losses(data, tmp_path):
    """kill -9 mid-run, then --resume: the following epochs' losses equal an uninterrupted run's."""
    train, val = data
    args = ["--train", str(train), "--val", str(val), "--epochs", "3", "--lr", "1e-2", *FAST]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    ref = tmp_path / "ref"
    subprocess.run([sys.executable, "-m", "kiosk", "train", *args, "--out", str(ref)], check=True, env=env,
                   capture_output=True, timeout=300)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "train", *args, "--out", str(killed)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    # wait for the first epoch's record (printed after its checkpoint is written), then kill -9 mid-epoch 2
    line = proc.stdout.readline()
    assert '"epoch": 0' in line, line
    proc.send_signal(signal.SIGKILL)  # at once: an epoch of this tiny run takes about a second on an idle machine
    proc.wait()
    records = [json.loads(x) for x in (killed / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["epoch"] in (0, 1)
    subprocess.run([sys.executable, "-m", "kiosk", "train", "--resume", str(killed), "--no-progress"], check=True,
                   env=env, capture_output=True, timeout=300)
    ref_losses = [json.loads(x)["train_loss"] for x in (ref / "metrics.jsonl").read_text().splitlines()]
    got = {}
    for x in (killed / "metrics.jsonl").read_text().splitlines():
        r = json.loads(x)
        got[r["epoch"]] = r["train_loss"]  # a re-run epoch overwrites the one cut short
    assert sorted(got) == [0, 1, 2]
    assert [got[e] for e in range(3)] == ref_losses  # bit-identical on CPU


RESNETS = [
    # resnet18: the same resnet code path (build, --weights, freeze, train, export, load) in seconds
    pytest.param("resnet18", True, 1, id="resnet18-weights-file"),
    # the recipe's default network: ~30-45 s each on 2 cores, so in `make test-slow`
    pytest.param("resnet152", False, 2, id="random-init", marks=pytest.mark.slow),
    pytest.param("resnet152", True, 2, id="weights-file", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("arch, with_weights, freeze", RESNETS)
def test_resnet_trains_a_few_steps_and_exports(data, tmp_path, arch, with_weights, freeze):
    from safetensors.torch import save_file
    from torchvision import models as tvm

    train, val = data
    extra = []
    if with_weights:
        weights = tmp_path / f"{arch}-imagenet.safetensors"
        save_file({k: v.contiguous() for k, v in getattr(tvm, arch)(weights=None).state_dict().items()}, str(weights))
        extra = ["--weights", str(weights)]
    run = tmp_path / arch
    assert checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run), "--arch", arch,
                     "--img-size", "32", "--train-resize", "36", "--batch-size", "4", "--epochs", "1",
                     "--max-steps", "2", "--threads", "2", "--no-progress", *extra]) == 0
    args = json.loads((run / "args.json").read_text())
    assert args["freeze"] == freeze  # the recipe's frozen stem and first stage(s)
    assert checkout(["bundle", "export", str(run), "--out", str(tmp_path / "b"), "--selftest-count", "1"]) == 0
    assert Recognizer.load(tmp_path / "b").bundle.manifest.architecture == arch


def test_weights_of_wrong_architecture_are_refused(data, tmp_path):
    from trainer.models import build_model

    wrong = tmp_path / "mobilenet.pth"
    torch.save(build_model("mobilenet_v2", 10).state_dict(), wrong)
    with pytest.raises(UserError, match=r"mobilenet.pth: weights do not fit architecture 'resnet50'"):
        build_model("resnet50", 4, pretrained=wrong)
    with pytest.raises(UserError, match="weights file not found"):
        build_model("resnet50", 4, pretrained=tmp_path / "nope.pth")


def test_corrupt_rows_are_quarantined_not_fatal(data, tmp_path):
    train, val = data
    bad = tmp_path / "bad.csv"
    text = train.read_text().splitlines()
    (train.parent / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    text.append("corrupt.jpg,red-disc,discs")
    text.append("missing.jpg,red-disc,discs")
    bad.write_text("\n".join(text) + "\n")
    bad = bad.rename(train.parent / "bad.csv")
    run = tmp_path / "q"
    assert checkout(["train", "--train", str(bad), "--out", str(run), "--epochs", "1", "--max-steps", "1", *FAST]) == 0
    q = json.loads((run / "quarantine.json").read_text())
    assert {Path(x["path"]).name for x in q} == {"corrupt.jpg", "missing.jpg"}
    assert all(x["line"] > 1 for x in q)


def test_loader_workers_see_each_epochs_augmentation_seed(data):
    """With DataLoader workers, epoch 1 must not replay epoch 0's augmentations."""
    from kiosk.bundle_format.preprocess import PreprocessSpec
    from trainer.cached_data import CachedDataset, RankSampler, make_loader
    from trainer.data.manifest import read_manifest
    from trainer.imagecache import build_cache
    from trainer.presets import TrainPreset

    train, _ = data
    rows = read_manifest(train)[:8]
    spec = PreprocessSpec(resize_size=72, crop_size=64)
    cache = build_cache([(r.path, 0) for r in rows], train.parent / ".cache-workers", "train", spec)
    ds = CachedDataset(cache, TrainPreset(crop_size=64).build(), seed=0)
    sampler = RankSampler(len(ds), 0, 1, 4, seed=0, shuffle=False)
    loader = make_loader(ds, sampler, batch_size=4, workers=1)
    epochs = []
    for epoch in range(2):  # what the epoch loop of train.main does
        ds.epoch = epoch
        loader.set_epoch(epoch)
        epochs.append(torch.cat([x for x, _ in loader]))
    assert not torch.equal(epochs[0], epochs[1])
