"""Calibrated scores and a certified auto-add threshold: the statistics, the temperature folded into the classifier,
and ``checkout bundle export --calibration`` / ``checkout evaluate`` on a tiny trained model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from kiosk.bundle_format.bundle import load_bundle
from kiosk.bundle_format.preprocess import read_image
from kiosk.cli import main as checkout
from kiosk.recognition.recognizer import Recognizer
from tests.trainer.synthetic import make_dataset
from trainer.calibration import (
    NEVER,
    at_threshold,
    certified_threshold,
    clean_items_needed,
    clopper_pearson_lower,
    errors_allowed,
    fit_temperature,
    nll,
    softmax,
)


def test_clopper_pearson_lower_bound_known_values():
    assert clopper_pearson_lower(9, 10, 0.975) == pytest.approx(0.554984, abs=1e-6)  # two-sided 95 % interval
    assert clopper_pearson_lower(95, 100, 0.95) == pytest.approx(0.897747, abs=1e-6)
    assert clopper_pearson_lower(299, 299, 0.95) == pytest.approx(0.05 ** (1 / 299))
    assert clopper_pearson_lower(299, 299, 0.95) > 0.99 > clopper_pearson_lower(298, 298, 0.95)
    assert clopper_pearson_lower(0, 10) == 0.0
    bounds = [clopper_pearson_lower(s, 50) for s in range(51)]
    assert bounds == sorted(bounds)


@pytest.mark.parametrize("true_t", [0.5, 2.5])
def test_fit_temperature_recovers_the_temperature_labels_were_drawn_with(true_t):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (20000, 8))
    p = softmax(logits, true_t)
    targets = (p.cumsum(1) > rng.random((len(p), 1))).argmax(1)
    t = fit_temperature(logits, targets)
    assert t == pytest.approx(true_t, rel=0.05)
    assert nll(logits, targets, t) <= min(nll(logits, targets, t * 1.2), nll(logits, targets, t / 1.2))


def _scored(correct: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Two-class scores falling with the index; item i is right when correct[i]."""
    n = len(correct)
    top = np.linspace(0.999, 0.6, n)
    probs = np.stack([top, 1 - top], axis=1)
    return probs, np.array([0 if c else 1 for c in correct])


def test_certified_threshold_holds_the_bound_and_stops_at_the_first_failure():
    correct = [True] * 400 + [False] + [True] * 100 + [False] * 20 + [True] * 500
    probs, targets = _scored(correct)
    got = certified_threshold(probs, targets, 0.99, 0.95)
    # 299 clean items are the least that can certify 99 % at 95 %, with one error 473: the scan, which started at
    # 299, fails at the 401st item and stops there, although 500 items with one error would pass again
    assert got["accepted"] == 400 and got["errors"] == 0 and got["threshold"] == pytest.approx(probs[399, 0])
    assert got["lower_bound"] == pytest.approx(0.05 ** (1 / 400)) and got["lower_bound"] >= 0.99
    assert got["coverage"] == pytest.approx(400 / len(correct))
    assert at_threshold(probs, targets, got["threshold"]) == {k: got[k] for k in
                                                              ("threshold", "n", "coverage", "precision", "accepted",
                                                               "errors")}
    # an error among the first 299 fails the first test: no threshold, every item needs a tap
    early = certified_threshold(*_scored([True] * 10 + [False] + [True] * 900), 0.99, 0.95)
    assert early["threshold"] == NEVER and early["accepted"] == 0 and early["lower_bound"] is None
    # lower confidence certifies with fewer items (230 at 90 %)
    assert certified_threshold(*_scored([True] * 250 + [False] * 50), 0.99, 0.90)["accepted"] == 250
    assert certified_threshold(*_scored([True] * 250 + [False] * 50), 0.99, 0.95)["threshold"] == NEVER


def test_what_a_held_back_set_can_certify():
    # the structural limit of the stored rule: 99 % at 95 % needs 299 error-free accepted items, so ~560 pooled
    # held-back photos certify half of them only when all ~280 most confident ones are right
    assert clean_items_needed(0.99, 0.95) == 299 and clean_items_needed(0.99, 0.5) == 69
    assert errors_allowed(280, 0.99, 0.95) == -1 and errors_allowed(299, 0.99, 0.95) == 0
    assert errors_allowed(280, 0.99, 0.5) == 2 and errors_allowed(168, 0.99, 0.5) == 1
    for n, conf in ((280, 0.5), (400, 0.8), (1000, 0.95)):  # the largest count of errors that still passes
        k = errors_allowed(n, 0.99, conf)
        assert clopper_pearson_lower(n - k, n, conf) >= 0.99 > clopper_pearson_lower(n - k - 1, n, conf)


def test_export_refuses_to_calibrate_on_the_val_that_picked_the_epoch(tmp_path):
    from types import SimpleNamespace

    from kiosk.errors import UserError
    from trainer.export import _power_note, _refuse_selection_data

    val = tmp_path / "val.csv"
    with pytest.raises(UserError, match="picked its epoch"):
        _refuse_selection_data(SimpleNamespace(args={"val": str(val), "keep": "best"}), [tmp_path / "other.csv", val])
    _refuse_selection_data(SimpleNamespace(args={"val": str(val), "keep": "last"}), [val])  # val picked nothing
    _refuse_selection_data(SimpleNamespace(args={"val": str(val), "keep": "best"}), [tmp_path / "held.csv"])
    assert "557 held-back photos: a 95% bound reaches 99.0% from 299 error-free items (54% of them); at half of " \
           "them auto-added it allows no errors — too few" in _power_note(557, 0.99, 0.95)
    assert _power_note(557, 0.99, 0.5).endswith("allows 2 errors")


def test_scale_logits_divides_the_networks_logits():
    from trainer.models import build_model, scale_logits

    for arch in ("mobilenet_v2", "efficientnet_lite0", "resnet18"):
        model = build_model(arch, 5).eval()
        x = torch.randn(2, 3, 64, 64)
        with torch.inference_mode():
            before = model(x)
        scale_logits(model, arch, 1 / 2.5)
        with torch.inference_mode():
            torch.testing.assert_close(model(x), before / 2.5, rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    train, val = make_dataset(tmp_path_factory.mktemp("synthetic"), per_class=16)
    run = tmp_path_factory.mktemp("runs") / "tiny"
    assert checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run), "--epochs", "4",
                     "--lr", "1e-2", "--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72",
                     "--batch-size", "8", "--threads", "2", "--no-progress", "--keep", "last"]) == 0
    return run, train, val


def test_export_calibrates_on_held_back_photos_and_evaluate_reports_the_stored_threshold(tiny_run, tmp_path,
                                                                                         capsys):
    run, train, val = tiny_run
    best = json.loads((run / "best.json").read_text())
    assert best["epoch"] == 3  # --keep last: val picked nothing
    bundle = tmp_path / "bundle"
    held_back, _ = make_dataset(tmp_path / "held-back", per_class=16, seed=1)  # not the training manifest: refused
    assert checkout(["bundle", "export", str(run), "--out", str(bundle), "--calibration", str(val), str(held_back),
                     "--confidence", "0.5", "--target-precision", "0.9"]) == 0
    assert "calibration on 64 held-back photos: temperature" in capsys.readouterr().out
    m = load_bundle(bundle).manifest
    t = m.metrics["calibration"]["temperature"]
    a = m.metrics["auto_add"]
    assert m.auto_add_threshold == a["threshold"] <= 1 and a["lower_bound"] >= 0.9 and a["confidence"] == 0.5
    assert m.metrics["calibration"]["nll_after"] <= m.metrics["calibration"]["nll_before"]
    # the kiosk's scores are the run's logits divided by the temperature (folded into the classifier)
    from trainer.export import TrainingRun

    raw = TrainingRun.read(run).load_model()
    image = read_image(bundle / m.selftest[0].image)
    from kiosk.bundle_format.preprocess import preprocess

    with torch.inference_mode():
        logits = raw(torch.from_numpy(preprocess(image, m.preprocess)[None])).numpy()
    rec = Recognizer.load(bundle)
    assert np.allclose(rec.probabilities([image]), softmax(logits, t), atol=1e-5)
    # evaluate prints coverage and precision at the bundle's own threshold
    assert checkout(["evaluate", str(bundle), "--manifest", str(val), "--out", str(tmp_path / "ev")]) == 0
    out = capsys.readouterr().out
    assert f"auto-add  at the bundle's threshold {m.auto_add_threshold:.3f}: coverage" in out
    assert checkout(["evaluate", str(bundle), "--manifest", str(val), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["stored_threshold"]["threshold"] == m.auto_add_threshold and report["stored_threshold"]["n"] == 16


def test_no_threshold_says_how_many_of_the_surest_photos_were_wrong_and_where_to_look():
    from trainer.export import _no_threshold_note

    n = 200
    probs = np.full((n, 2), 0.0)
    probs[:, 0] = np.linspace(0.999, 0.6, n)
    probs[:, 1] = 1 - probs[:, 0]
    targets = np.zeros(n, np.int64)
    targets[[3, 40]] = 1  # two confident wrong answers among the surest 69 (99 % at a 50 % bound)
    got = certified_threshold(probs, targets, 0.99, 0.5)
    assert got["threshold"] == NEVER
    note = _no_threshold_note(probs, targets, 0.99, 0.5, [Path("val.csv")])
    assert note.startswith("no auto-add: the 69 surest held-back photos hold 2 wrong answer(s)")
    assert "`checkout evaluate BUNDLE --manifest val.csv` names the surest mistakes" in note
    assert _no_threshold_note(probs[:30], np.zeros(30, np.int64), 0.99, 0.5, [Path("val.csv")]) == (
        "no auto-add: 30 held-back photos cannot certify 0.99 (every item needs a tap)")
