"""The trainer's side of onboarding: replay exemplars, the exported embedding and prototypes, incremental
retraining (grown head, imprinted rows, replay sized by the new data, a normal bundle out), and the evaluation
protocol's split and report. The trained world is tests/onboarding_kit.py's tiny_cnn."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kiosk.cli import main as checkout
from tests.onboarding_kit import NEW, SKUS, TRAINED, UNKNOWN, build_world, make_photos, write_manifest


@pytest.fixture(scope="module")
def world():
    return build_world()


def test_herding_picks_the_photos_whose_mean_is_the_skus_mean():
    from trainer.exemplars import herding

    rng = np.random.default_rng(0)
    v = rng.normal(size=(30, 5))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    order = herding(v, 30)
    assert sorted(order) == list(range(30))
    assert order[0] == int(np.argmin(np.linalg.norm(v - v.mean(0), axis=1)))
    mean_err = [np.linalg.norm(v[order[:k]].mean(0) - v.mean(0)) for k in (1, 5, 15)]
    random_err = [np.linalg.norm(v[:k].mean(0) - v.mean(0)) for k in (1, 5, 15)]
    assert all(a <= b + 1e-9 for a, b in zip(mean_err, random_err))
    assert herding(v[:3], 10) and len(herding(v[:3], 10)) == 3


def test_every_run_keeps_exemplars_and_the_bundle_its_embedding(world):
    import onnxruntime as ort
    import torch
    from safetensors.torch import load_file

    from kiosk.bundle_format.bundle import load_bundle
    from kiosk.bundle_format.openset import embedding_info, load_exemplars, load_prototypes, open_set_rule
    from trainer.data.manifest import read_manifest
    from trainer.models import WithEmbedding, build_model
    from trainer.openset_views import BANK_VIEWS, SHIFT_COPIES, THRESHOLD_STRENGTH

    rows = read_manifest(world.run / "exemplars.csv")
    assert {r.sku for r in rows} == set(TRAINED) and max(sum(r.sku == s for r in rows) for s in TRAINED) == 12
    assert [r.extra["exemplar_rank"] for r in rows if r.sku == TRAINED[0]] == [str(i) for i in range(12)]
    bundle = load_bundle(world.bundle)
    info, rule = embedding_info(bundle.manifest), open_set_rule(bundle.manifest)
    assert info.dim == 64 and info.fusion is not None and rule.score == "combined"
    assert info.fusion.form == "relative" and info.fusion.similarity == "max"
    assert info.fusion.details["pretend"] == min(10, len(TRAINED) // 2)
    assert set(rule.thresholds) == {"msp", "energy", "prototype", "combined", "knn"}
    protos = load_prototypes(bundle, info)
    assert protos.shape == (len(TRAINED), 64) and np.allclose(np.linalg.norm(protos, axis=1), 1, atol=1e-3)
    bank = load_exemplars(bundle, info)  # every exemplar's embedding: the knn score's bank, the prototypes' photos
    assert bank.shape[1] == 64 and len(bank) >= len(TRAINED) and np.allclose(np.linalg.norm(bank, axis=1), 1, atol=1e-3)
    # ... under every bank view (mirrored, centre-cropped), and the fusion fitted on session-shifted copies too
    assert info.details["exemplar_views"] == list(BANK_VIEWS) and len(bank) == len(BANK_VIEWS) * len(rows)
    assert info.fusion.details["n"] == (1 + SHIFT_COPIES) * rule.details["n"]
    assert info.fusion.details["shifted_copies"] == SHIFT_COPIES
    assert rule.details["shift_strength"] == THRESHOLD_STRENGTH == 0 and rule.details["target_false_rejection"] == 0.01
    assert rule.details["set_on"] == "the held-back photos"
    assert len({tuple(np.round(v, 3)) for v in bank}) == len(bank)  # the views are other photos, not copies
    session = ort.InferenceSession(str(world.bundle / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["logits", "embedding"]
    x = np.random.default_rng(1).normal(size=(3, 3, 64, 64)).astype(np.float32)
    logits, emb = session.run(None, {"input": x})
    model = build_model("tiny_cnn", len(TRAINED))
    model.load_state_dict(load_file(str(world.bundle / "model.safetensors")))
    with torch.no_grad():
        ref_logits, ref_emb = WithEmbedding(model.eval())(torch.from_numpy(x))
    assert np.allclose(logits, ref_logits.numpy(), atol=1e-4) and np.allclose(emb, ref_emb.numpy(), atol=1e-4)


def test_thresholds_can_be_set_on_session_shifted_copies_of_the_held_back_photos(world, tmp_path):
    """``threshold_strength``: the open-set thresholds refuse their share of session-shifted copies of the held-back
    photos (which sit further from the exemplars, as another session's photos do) rather than of the photos."""
    import onnxruntime as ort

    from kiosk.bundle_format.bundle import load_bundle
    from trainer.data.manifest import read_manifest
    from trainer.openset_fit import class_photos, open_set_sections

    bundle = load_bundle(world.bundle)
    labels, spec = bundle.manifest.labels, bundle.manifest.preprocess
    session = ort.InferenceSession(str(world.bundle / "model.onnx"), providers=["CPUExecutionProvider"])
    photos = class_photos(world.run, world.train, labels, 20)
    val_rows = [(r.path, r.sku) for r in read_manifest(world.val)]
    sections = {}
    for strength in (0.0, 1.0):
        folder = tmp_path / str(strength)
        folder.mkdir()
        sections[strength] = open_set_sections(session, labels, spec, photos, val_rows, folder, backbone="b",
                                               threshold_strength=strength)["open_set"]
    plain, shifted = sections[0.0], sections[1.0]
    assert plain["set_on"] == "the held-back photos" and plain["n"] == len(val_rows)
    assert shifted["set_on"] == "session-shifted copies of the held-back photos" and shifted["shift_strength"] == 1.0
    assert shifted["n"] == 2 * len(val_rows) and shifted["standardise"] == plain["standardise"]
    assert shifted["thresholds"]["prototype"] < plain["thresholds"]["prototype"]  # copies sit further away


def test_imprinted_rows_sit_on_the_old_rows_scale():
    from trainer.incremental import imprint_rows

    rng = np.random.default_rng(0)
    feats = rng.normal(size=(40, 6))
    logits = rng.normal(size=(40, 4))
    targets = rng.integers(0, 4, 40)
    new = rng.normal(loc=2.0, size=(8, 6))
    (w, b), = imprint_rows({"x": new}, feats, logits, targets).values()
    own = logits[np.arange(40), targets].mean()
    off = logits[np.ones((40, 4), bool) & (np.arange(4)[None] != targets[:, None])].mean()
    assert w @ new.mean(0) + b == pytest.approx(own, abs=1e-4)
    assert w @ feats.mean(0) + b == pytest.approx(off, abs=1e-4)


def test_incremental_retrain_grows_the_head_and_exports_a_normal_bundle(world, tmp_path, capsys):
    from kiosk.bundle_format.bundle import load_bundle
    from kiosk.recognition.recognizer import Recognizer

    out, bundle = tmp_path / "inc", tmp_path / "inc-bundle"
    assert checkout(["train", "--incremental", "--from", str(world.bundle), "--add", str(world.new_train), "--out",
                     str(out), "--epochs", "1", "--threads", "2", "--no-progress", "--cache-dir",
                     str(world.root / "cache"), "--export", str(bundle)]) == 0
    text = capsys.readouterr().out
    record = json.loads((out / "incremental.json").read_text())
    assert record["new_skus"] == sorted(NEW) and record["base_kind"] == "bundle"
    assert record["added_photos"] == 36 and record["replay_per_sku"] == 8 == record["replay_photos"] / len(TRAINED)
    assert record["photos_per_epoch"] == 36 + 80 and "116 photos an epoch, 1 epoch(s)" in text
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    # what went through the network: the epoch padded to whole batches of 16 (116 photos → 8 batches)
    assert record["images_processed"] == sum(m["train_images"] for m in metrics) == 128
    labels = json.loads((out / "labels.json").read_text())["labels"]
    assert labels == sorted(TRAINED + NEW)
    assert {line.split(",")[1] for line in (out / "exemplars.csv").read_text().splitlines()[1:]} == set(labels)
    m = load_bundle(bundle).manifest
    assert m.labels == labels and "embedding" in m.extra and "open_set" in m.extra
    rec = Recognizer.load(bundle)
    assert rec.recognize(world.photos(NEW[0])[0]).suggestions and rec.labels == labels
    rec.close()


def test_grown_head_keeps_old_logits_exactly(world, tmp_path):
    import torch
    from safetensors.torch import load_file

    from trainer.incremental import grow_head
    from trainer.models import build_model

    base = build_model("tiny_cnn", len(TRAINED))
    base.load_state_dict(load_file(str(world.run / "best.safetensors")))
    labels = sorted(TRAINED + NEW)
    rows = {s: (np.full(64, 0.01, np.float32), -3.0) for s in NEW}
    grown = grow_head(build_model("tiny_cnn", len(labels)), TRAINED_SORTED(), labels, base.state_dict(), rows)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        a, b = base.eval()(x), grown.eval()(x)
    idx = [labels.index(s) for s in TRAINED_SORTED()]
    assert torch.allclose(a, b[:, idx], atol=1e-5)
    assert torch.allclose(grown.classifier[-1].bias[labels.index(NEW[0])], torch.tensor(-3.0))


def TRAINED_SORTED() -> list[str]:  # noqa: N802 - the base run's label order
    return sorted(TRAINED)


def test_incremental_refuses_a_base_without_exemplars(world, tmp_path):
    import shutil

    from kiosk.errors import UserError
    from trainer.incremental import prepare
    from trainer.options import get_args_parser

    run = tmp_path / "old-run"
    shutil.copytree(world.run, run, ignore=shutil.ignore_patterns("exemplars.*", "tb", "checkpoint.pt"))
    args = get_args_parser().parse_args(["--incremental", "--from", str(run), "--add", str(world.new_train),
                                         "--out", str(tmp_path / "x")])
    with pytest.raises(UserError, match="no replay exemplars"):
        prepare(args)


def test_the_protocols_split_keeps_evaluation_photos_out_of_everything(tmp_path):
    from trainer.data.manifest import read_manifest
    from trainer.onboarding import choose_split

    rows = make_photos(tmp_path, SKUS, 10, seed=3)
    manifest = write_manifest(tmp_path / "all.csv", rows)
    data = read_manifest(manifest)
    train, val = [r for i, r in enumerate(data) if i % 5], [r for i, r in enumerate(data) if not i % 5]
    s = choose_split(train, val, 4, 3, 4, seed=1)
    assert len(s.new) == 4 and len(s.unknown) == 3 and len(s.old) == len(SKUS) - 7
    assert not set(s.new) & set(s.unknown) and not set(s.old) & set(s.new + s.unknown)
    paths = lambda rows: {r.path for r in rows}  # noqa: E731
    assert all(paths(v) <= paths(s.add) for v in s.shots.values())
    assert not paths(s.new_eval) & (paths(s.add) | paths(s.base_train) | paths(s.base_val))
    assert {r.sku for r in s.unknown_rows} == set(s.unknown) and len(s.unknown_rows) == 30
    assert {r.sku for r in s.base_train} == set(s.old) and {r.sku for r in s.add} == set(s.new)
    # the export's held-back photos: a tenth of each old SKU's training photos, trained on by nobody, and the photo
    # shot either side of them (the guard) in no set
    assert {r.sku for r in s.calibration} == set(s.old) and not paths(s.calibration) & paths(s.base_train)
    assert not paths(s.guard) & (paths(s.base_train) | paths(s.calibration)) and len(s.guard) >= len(s.old)
    assert len(s.calibration) == len(s.old) and paths(s.calibration) | paths(s.guard) | paths(s.base_train) == paths(
        [r for r in train if r.sku in s.old])
    from trainer.data.sequences import sequence_key

    for sku in s.old:  # no training photo is shot right next to a held-back one
        held = {sequence_key(r.path)[2] for r in s.calibration if r.sku == sku}
        trained = sorted(sequence_key(r.path)[2] for r in s.base_train if r.sku == sku)
        everything = sorted(sequence_key(r.path)[2] for r in train if r.sku == sku)
        rank = {n: i for i, n in enumerate(everything)}
        assert all(abs(rank[t] - rank[h]) > 1 for t in trained for h in held), (sku, held, trained)
    assert paths(s.new_val) <= paths(s.new_eval) and paths(s.new_val) <= paths(val)
    assert choose_split(train, val, 4, 3, 4, seed=1).new == s.new != choose_split(train, val, 4, 3, 4, seed=2).new


def test_format_report_states_each_acceptance_figure():
    from trainer.onboarding import format_report

    r = {"data": "d.csv", "shots": 10, "epochs": 10, "enrolled_skus": 10, "enrolled_top1": 0.9, "enrolled_top3": 0.97,
         "enrolled_n": 170, "old_top1_before": 0.9, "old_top1_after": 0.895, "old_n": 230,
         "split": {"old_skus": 61, "new_skus": ["a"] * 10, "unknown_skus": ["b"] * 10},
         "open_set": {"score": "combined", "auroc": {"msp": 0.8, "combined": 0.91}, "thresholds": {"combined": -1.5},
                      "false_rejection": {"combined": 0.05}, "unknown_accepted": {"combined": 0.4}, "known_n": 400,
                      "unknown_n": 360, "target_false_rejection": 0.01,
                      "false_rejection_by_photos": {"held_back_training_sessions": {"rate": 0.004, "n": 250},
                                                    "other_sessions": {"rate": 0.03, "n": 300},
                                                    "held_back_nothing_enrolled": {"rate": 0.012, "n": 250},
                                                    "other_sessions_old_skus_nothing_enrolled": {"rate": 0.08,
                                                                                                 "n": 230}}},
         "enroll_to_suggestion": {"sku": "a", "seconds_to_suggestion": 3.2, "enroll_seconds": 2.9},
         "incremental": {"images": 2500, "seconds": 300, "all_top1": 0.88, "new_top1": 0.8, "old_top1": 0.9, "n": 400},
         "head_refit": {"images": 190, "seconds": 6, "all_top1": 0.9, "new_top1": 0.85, "old_top1": 0.93, "n": 400},
         "full": {"images": 21500, "seconds": 2700, "all_top1": 0.89, "new_top1": 0.85, "old_top1": 0.9, "n": 400}}
    text = format_report(r)
    for want in ("top-1 90.0 %, top-3 97.0 %", "90.0 % before enrollment, 89.5 % after", "combined AUROC 0.910",
                 "false rejections 5.0 % of known items", "3.20 s", "incremental vs full: 8.6x fewer images, top-1 "
                 "-1.0 points", "head refit (--head-only) retrain: 190 images processed, 0.1 min wall; top-1 90.0 % on "
                 "all SKUs (400 photos), new SKUs 85.0 %, old 93.0 %",
                 "head refit (--head-only) vs full: 113.2x fewer images, top-1 +1.0 points",
                 "enrolled vs full on the new SKUs: +5.0 points",
                 "with the new SKUs enrolled: held back training sessions 0.4 % of 250, other sessions 3.0 % of 300\n",
                 "with nothing enrolled: held back 1.2 % of 250, other sessions old skus 8.0 % of 230 (threshold set "
                 "for 1.0 % on the held-back photos)"):
        assert want in text, (want, text)


@pytest.mark.slow
def test_evaluate_onboarding_end_to_end(tmp_path, capsys):
    """The whole protocol on the synthetic products with tiny_cnn (minutes): every figure reported."""
    rows = make_photos(tmp_path / "data", SKUS, 14, seed=5)
    write_manifest(tmp_path / "data" / "train.csv", [r for i, r in enumerate(rows) if i % 7])
    write_manifest(tmp_path / "data" / "val.csv", [r for i, r in enumerate(rows) if not i % 7])
    assert checkout(["evaluate", "onboarding", "--data", str(tmp_path / "data" / "train.csv"), "--holdout-skus", "3",
                     "--unknown-skus", str(len(UNKNOWN)), "--shots", "6", "--work", str(tmp_path / "w"),
                     "--cache-dir", str(tmp_path / "cache"), "--json", "--recipe",
                     "--arch tiny_cnn --img-size 64 --train-resize 72 --eval-size 64 --batch-size 16 --threads 2 "
                     "--epochs 6 --lr 1e-2 --exemplars 12"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["enrolled_skus"] == 3 and 0 <= r["enrolled_top1"] <= 1 and r["old_n"] > 0
    assert set(r["open_set"]["auroc"]) == {"msp", "energy", "prototype", "combined", "knn"}
    assert r["enroll_to_suggestion"]["seconds_to_suggestion"] < 60
    assert r["full"]["images"] > r["incremental"]["images"] > r["head_refit"]["images"] > 0
    assert r["head_refit"]["images"] == r["head_refit"]["incremental"]["added_photos"]
    assert 0 <= r["head_refit"]["all_top1"] <= 1
    assert Path(tmp_path / "w" / "onboarding.json").is_file()


def test_the_default_recipe_is_make_models():
    """`evaluate onboarding` without --recipe trains what `make model` trains (the Makefile's MODEL_TRAIN)."""
    import re

    from trainer.onboarding import RECIPE

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    block = re.search(r"^MODEL_TRAIN :=(.*?)(?<!\\)\n", makefile, re.M | re.S).group(1).replace("\\\n", " ")
    arch = re.search(r"^MODEL_ARCH\s*:=\s*(\S+)", makefile, re.M).group(1)
    train = block.replace("$(MODEL_ARCH)", arch).split()
    pairs = {a: b for a, b in zip(train, train[1:]) if a.startswith("--") and not b.startswith("--")}
    recipe = dict(zip(RECIPE[::2], RECIPE[1::2]))
    pairs.pop("--cache-dir", None)  # where it runs: the protocol passes its own
    assert recipe == pairs, f"RECIPE {recipe} vs the Makefile's MODEL_TRAIN {pairs}"


def _fake_trainings(monkeypatch) -> list:
    """``checkout train`` replaced by one that writes a metrics line of 8 images; returns the argv list it fills."""
    import kiosk.cli

    calls = []

    def fake_train(argv):
        calls.append(argv)
        out = Path(argv[argv.index("--out") + 1])
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.jsonl").write_text(json.dumps({"epoch": 0, "train_images": 8}) + "\n")
        return 0

    monkeypatch.setattr(kiosk.cli, "main", fake_train)
    return calls


def test_a_rerun_retrains_the_incremental_run_when_the_codes_defaults_changed(tmp_path, monkeypatch):
    """The protocol reuses a finished run with the same command; an incremental run's learning rate, class balance
    and replay come from trainer/incremental.py, so a change there retrains it instead of reporting the old run."""

    import trainer.incremental as inc
    from trainer.onboarding import _train

    calls = _fake_trainings(monkeypatch)
    run = tmp_path / "incremental"
    argv = ["--incremental", "--from", "b", "--add", "a.csv", "--out", str(run)]
    assert _train("incremental", argv, run)["defaults"]["lr_factor"] == inc.LR_FACTOR
    _train("incremental", argv, run)
    assert len(calls) == 1  # same command, same defaults: reused
    monkeypatch.setattr(inc, "LR_FACTOR", inc.LR_FACTOR / 3)
    _train("incremental", argv, run)
    assert len(calls) == 2  # the code's rate changed: trained again
    full = ["--train", "t.csv", "--out", str(tmp_path / "full")]
    assert _train("full", full, tmp_path / "full")["defaults"] == {}


def test_a_rerun_refits_the_head_when_the_refits_settings_changed(tmp_path, monkeypatch):
    """The head refit's steps and rate come from trainer/head_refit.py: a change there refits, not reuses."""
    import trainer.head_refit as refit
    from trainer.onboarding import _train

    calls = _fake_trainings(monkeypatch)
    run = tmp_path / "head-refit"
    argv = ["--incremental", "--head-only", "--from", "b", "--add", "a.csv", "--out", str(run)]
    assert _train("head refit", argv, run)["defaults"] == {"steps": refit.STEPS, "lr": refit.LR,
                                                           "weight_decay": refit.WEIGHT_DECAY, "batch": refit.BATCH}
    _train("head refit", argv, run)
    assert len(calls) == 1
    monkeypatch.setattr(refit, "STEPS", refit.STEPS * 2)
    assert _train("head refit", argv, run)["images"] == 8 and len(calls) == 2


def test_a_rerun_re_exports_a_bundle_fitted_before_the_exporters_views_changed(tmp_path, monkeypatch):
    """A bundle newer than its run is reused, unless its open-set fit used other bank views, session-shifted copies
    or fusion similarity than the exporter gives today (a rerun then measures the fit the code would ship)."""
    import json

    import trainer.export
    import trainer.openset_views as views
    from trainer.onboarding import _export
    from trainer.openset_fit import DEFAULT_FRR, DEFAULT_SIMILARITY

    run, out = tmp_path / "run", tmp_path / "bundle"
    run.mkdir()
    (run / "best.safetensors").write_bytes(b"w")
    calls = []

    def fake_export(run_, out_, **kwargs):
        calls.append(out_)
        out_.mkdir(exist_ok=True)
        fusion = {"shifted_copies": views.SHIFT_COPIES, "shift_strength": views.SHIFT_STRENGTH,
                  "similarity": DEFAULT_SIMILARITY}
        open_set = {"shift_strength": views.THRESHOLD_STRENGTH, "target_false_rejection": DEFAULT_FRR}
        (out_ / "manifest.json").write_text(json.dumps({"embedding": {"exemplar_views": list(views.BANK_VIEWS),
                                                                      "fusion": fusion}, "open_set": open_set}))
        return out_

    monkeypatch.setattr(trainer.export, "export_bundle", fake_export)
    _export(run, out, tmp_path / "cal.csv")
    _export(run, out, tmp_path / "cal.csv")
    assert len(calls) == 1  # same fit: reused
    monkeypatch.setattr(views, "SHIFT_STRENGTH", views.SHIFT_STRENGTH + 0.5)
    _export(run, out, tmp_path / "cal.csv")
    assert len(calls) == 2  # the exporter's defaults changed: exported again
    monkeypatch.setattr(views, "THRESHOLD_STRENGTH", 1.0)
    _export(run, out, tmp_path / "cal.csv")
    assert len(calls) == 3  # so did the thresholds'
    _export(run, out, tmp_path / "cal.csv")
    assert len(calls) == 3
    (out / "manifest.json").write_text(json.dumps({"embedding": {"fusion": {}}}))  # a bundle from before the views
    _export(run, out, tmp_path / "cal.csv")
    assert len(calls) == 4


def test_the_protocols_staff_confirm_a_look_alike_is_a_different_product(tmp_path, monkeypatch):
    """Refused as looking like a trained product, a held-out SKU (a product of its own by construction) is taught
    again with --different-from as staff would; the first refusal is kept; any other refusal stands."""
    import subprocess

    import trainer.onboarding as onboarding

    calls = []
    refusal = ("checkout: error: alpro-shelf: 0 usable photo(s) of 10, at least 5 needed (refused: 10 another "
               "product); photo 1, 2 look like Alpro Fresh (trained, 1.00); if it is a different product, teach it "
               "as one: --different-from alpro-fresh")

    def fake_kiosk(*argv):
        calls.append(argv)
        if "--different-from" in argv:
            out = json.dumps({"photos": [{"path": "a.jpg", "usable": True, "reason": ""}]})
            return subprocess.CompletedProcess(argv, 0, out + "\n", "")
        return subprocess.CompletedProcess(argv, 2, "", refusal + "\n")

    monkeypatch.setattr(onboarding, "_kiosk", fake_kiosk)
    got = onboarding._enroll_one("alpro-shelf", tmp_path, tmp_path / "g", tmp_path / "b", tmp_path / "c")
    assert got["enrolled"] and got["photos"] == ["a.jpg"] and got["different_from"] == ["alpro-fresh"]
    assert got["refused_first"] == refusal and calls[1][-2:] == ("--different-from", "alpro-fresh")
    calls.clear()
    refusal = "checkout: error: x: 2 usable photo(s) of 10, at least 5 needed (refused: 8 blurred)"
    got = onboarding._enroll_one("x", tmp_path, tmp_path / "g", tmp_path / "b", tmp_path / "c")
    assert not got["enrolled"] and got["reason"] == refusal and len(calls) == 1
