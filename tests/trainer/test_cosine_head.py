"""A cosine classifier head (``checkout train --head cosine``): ``16 · cos(embedding, row) + bias``, its temperature
folded into its scale, named by its weights file, exported, run by every backend and grown by an incremental
retrain. The world is tests/onboarding_kit.py's tiny_cnn."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from kiosk.cli import main as checkout
from tests.onboarding_kit import NEW, TRAIN_ARGS, build_world
from trainer.models import CosineLinear, build_model, head_of, last_linear, scale_logits


def test_the_head_is_scaled_cosine_plus_bias_and_folds_a_temperature_into_its_scale():
    torch.manual_seed(0)
    model = build_model("tiny_cnn", 5, head="cosine").eval()
    fc = last_linear(model)
    assert isinstance(fc, CosineLinear) and float(fc.scale) == 16.0 and not fc.bias.any()
    with torch.no_grad():
        fc.bias.copy_(torch.arange(5.0) / 10)
    x = torch.randn(3, 64)
    cos = torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(fc.weight, dim=1).T
    torch.testing.assert_close(fc(x), 16 * cos + fc.bias)
    torch.testing.assert_close(fc(7 * x), fc(x))  # the embedding's norm does not count
    images = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        before = model(images)
    scale_logits(model, "tiny_cnn", 1 / 2.5)  # what export does with a fitted temperature of 2.5
    with torch.inference_mode():
        torch.testing.assert_close(model(images), before / 2.5, rtol=1e-5, atol=1e-5)
    assert head_of(model.state_dict()) == "cosine" and head_of(build_model("tiny_cnn", 5).state_dict()) == "linear"


def test_an_unknown_head_is_one_line(capsys):
    from trainer.options import get_args_parser

    with pytest.raises(SystemExit) as refused:
        get_args_parser().parse_args(["--head", "arc"])
    assert refused.value.code == 2 and "argument --head: invalid choice: 'arc'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def cosine_world(tmp_path_factory):
    world = build_world()  # its photos; the network trained here with a cosine head
    root = tmp_path_factory.mktemp("cosine")
    run, bundle = root / "run", root / "bundle"
    assert checkout(["train", "--train", str(world.train), "--val", str(world.val), "--out", str(run), "--cache-dir",
                     str(world.root / "cache"), *TRAIN_ARGS, "--head", "cosine", "--keep", "last",
                     "--epochs", "2"]) == 0  # the head's shape and export are the point, not its accuracy
    assert checkout(["bundle", "export", str(run), "--out", str(bundle), "--model-version", "1", "--calibration",
                     str(world.val)]) == 0
    return world, run, bundle


def test_a_cosine_run_exports_and_every_backend_gives_the_runs_calibrated_logits(cosine_world):
    from kiosk.bundle_format.bundle import load_bundle
    from kiosk.recognition.recognizer import Recognizer

    world, run, bundle = cosine_world
    assert json.loads((run / "args.json").read_text())["head"] == "cosine"
    with safe_open(str(bundle / "model.safetensors"), framework="pt") as f:
        assert head_of(f.keys()) == "cosine"
    m = load_bundle(bundle).manifest
    assert m.metrics["calibration"]["temperature"] > 0 and "embedding" in m.extra
    photos = world.photos(NEW[0], world.new_test)[:3] + world.photos(world_sku(world), world.val)[:3]
    ort, tch = Recognizer.load(bundle), Recognizer.load(bundle, backend="torch")
    try:
        assert np.allclose(ort.probabilities(photos), tch.probabilities(photos), atol=1e-4)
        assert tch.recognize(photos[-1]).suggestions
    finally:
        ort.close()
        tch.close()
    assert checkout(["evaluate", str(bundle), "--manifest", str(world.val), "--backend", "torch"]) == 0


def world_sku(world) -> str:
    with open(world.val) as fh:
        return fh.read().splitlines()[1].split(",")[1]


def test_an_incremental_retrain_keeps_the_cosine_head_and_imprints_its_new_rows(cosine_world, tmp_path):
    from trainer.incremental import cosine_rows

    world, run, _bundle = cosine_world
    out = tmp_path / "inc"
    assert checkout(["train", "--incremental", "--from", str(run), "--add", str(world.new_train), "--out", str(out),
                     "--epochs", "1", "--threads", "2", "--no-progress", "--cache-dir", str(world.root / "cache")]) == 0
    assert json.loads((out / "args.json").read_text())["head"] == "cosine"
    with safe_open(str(out / "init.safetensors"), framework="pt") as f:
        assert head_of(f.keys()) == "cosine"
    rng = np.random.default_rng(0)
    old_w, old_b = rng.normal(size=(4, 6)) * 3, rng.normal(size=4)
    replay, new = np.abs(rng.normal(size=(40, 6))), np.abs(rng.normal(loc=2.0, size=(8, 6)))
    (w, b), = cosine_rows({"x": new}, replay, old_w, old_b).values()
    d = new.mean(0) - replay.mean(0)
    assert np.allclose(w / np.linalg.norm(w), d / np.linalg.norm(d), atol=1e-6)
    assert np.linalg.norm(w) == pytest.approx(np.linalg.norm(old_w, axis=1).mean(), rel=1e-5)
    assert b == pytest.approx(old_b.mean())
