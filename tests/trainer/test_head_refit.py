"""``checkout train --incremental --head-only``: the classifier alone refitted on the embeddings the base run kept of
every training photo (trainer/embeddings.py, trainer/head_refit.py): it processes only --add's photos, keeps the
backbone bit for bit, learns the new SKUs, exports a normal bundle, and passes its embeddings on to next month's
refit; a run trained before runs kept embeddings has them made once; embeddings of another network are refused."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from kiosk.cli import main as checkout
from tests.onboarding_kit import NEW, TRAINED, build_world, make_photos, write_manifest
from trainer.data.manifest import read_manifest
from trainer.embeddings import EMBEDDINGS_FILE, ROWS_FILE, backbone_sha256, read_embeddings


@pytest.fixture(scope="module")
def world():
    return build_world()


def _refit(world, base, out, *extra) -> int:
    return checkout(["train", "--incremental", "--head-only", "--from", str(base), "--add", str(world.new_train),
                     "--out", str(out), "--cache-dir", str(world.root / "cache"), "--no-progress", *extra])


def _refit_from(world, add, out, *extra) -> int:
    return checkout(["train", "--incremental", "--head-only", "--from", str(world.run), "--add", str(add), "--out",
                     str(out), "--cache-dir", str(world.root / "cache"), "--no-progress", *extra])


@pytest.fixture(scope="module")
def refitted(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("refit") / "run"
    assert _refit(world, world.run, out) == 0
    return out


def _model(run):
    from trainer.run_files import read_run

    return read_run(run).load_model()


def test_a_run_keeps_the_embeddings_of_its_training_photos_under_its_backbone(world):
    stored = read_embeddings(world.run, backbone_sha256(_model(world.run)))
    assert stored is not None
    assert sorted(str(r.path) for r in stored.rows) == sorted(str(r.path) for r in read_manifest(world.train))
    assert stored.vectors.shape == (len(stored.rows), 64) and np.isfinite(stored.vectors).all()


def test_the_refit_processes_only_the_new_photos_and_keeps_the_backbone(world, refitted):
    record = json.loads((refitted / "incremental.json").read_text())
    added = read_manifest(world.new_train)
    assert record["head_only"] and record["images_processed"] == len(added) == record["added_photos"]
    assert record["base_photos_embedded"] == 0 and record["kept_embeddings"] == len(read_manifest(world.train))
    assert sorted(record["new_skus"]) == sorted(NEW)
    before, after = load_file(str(world.run / "best.safetensors")), load_file(str(refitted / "best.safetensors"))
    backbone = [k for k in before if before[k].shape == after[k].shape and "classifier" not in k and "fc" not in k]
    assert len(backbone) >= len(before) - 3
    assert all(np.array_equal(before[k].numpy(), after[k].numpy()) for k in backbone)
    assert backbone_sha256(_model(refitted)) == backbone_sha256(_model(world.run))


def test_the_refitted_run_tells_new_and_old_skus_apart_and_exports(world, refitted, tmp_path, capsys):
    labels = json.loads((refitted / "labels.json").read_text())["labels"]
    assert sorted(labels) == sorted(TRAINED + NEW)
    bundle = tmp_path / "bundle"
    assert checkout(["bundle", "export", str(refitted), "--out", str(bundle), "--model-version", "2"]) == 0
    from kiosk.bundle_format.bundle import load_bundle

    assert sorted(load_bundle(bundle).manifest.labels) == sorted(labels)
    capsys.readouterr()
    assert checkout(["evaluate", str(refitted), "--manifest", str(world.new_test), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["top1"] >= 0.8
    best = json.loads((refitted / "best.json").read_text())
    assert best["top1"] >= 0.8 and best["n"] == len(read_manifest(world.val))


def test_new_skus_get_exemplars_and_the_embeddings_carry_on(world, refitted):
    exemplars = read_manifest(refitted / "exemplars.csv")
    assert {r.sku for r in exemplars} == set(TRAINED + NEW)
    stored = read_embeddings(refitted, backbone_sha256(_model(refitted)))
    assert len(stored) == len(read_manifest(world.train)) + len(read_manifest(world.new_train))
    assert {r.sku for r in stored.rows} == set(TRAINED + NEW)


def test_next_months_refit_costs_next_months_photos(world, refitted, tmp_path):
    more = make_photos(world.root / "data", ["red-ring"], 8, seed=9, prefix="m")
    add = write_manifest(tmp_path / "more.csv", [(str(world.root / "data" / p), s) for p, s in more])
    out = tmp_path / "next"
    assert checkout(["train", "--incremental", "--head-only", "--from", str(refitted), "--add", str(add), "--out",
                     str(out), "--cache-dir", str(world.root / "cache"), "--no-progress"]) == 0  # from the refit
    record = json.loads((out / "incremental.json").read_text())
    assert record["images_processed"] == 8 and record["base_photos_embedded"] == 0
    assert record["new_skus"] == ["red-ring"]


def test_a_base_without_kept_embeddings_has_them_made_once(world, tmp_path, capsys):
    base = tmp_path / "old-run"
    shutil.copytree(world.run, base)
    (base / EMBEDDINGS_FILE).unlink()
    (base / ROWS_FILE).unlink()
    assert _refit(world, base, tmp_path / "a") == 0
    assert "keeps no embeddings of its training photos" in capsys.readouterr().out
    assert json.loads((tmp_path / "a" / "incremental.json").read_text())["base_photos_embedded"] == len(
        read_manifest(world.train))
    assert (base / EMBEDDINGS_FILE).is_file()
    assert _refit(world, base, tmp_path / "b") == 0
    assert json.loads((tmp_path / "b" / "incremental.json").read_text())["base_photos_embedded"] == 0


def test_embeddings_of_another_network_are_refused_in_one_line(world, tmp_path, capsys):
    base = tmp_path / "mixed"
    shutil.copytree(world.run, base)
    other = load_file(str(base / "best.safetensors"))
    first = next(k for k, v in other.items() if v.ndim == 4)
    other[first] = other[first] + 0.01
    save_file(other, str(base / "best.safetensors"))
    capsys.readouterr()
    assert _refit(world, base, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert re.search(r"embeddings\.safetensors: made by another network than .*best\.safetensors", err)
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_head_only_is_refused_without_incremental_and_with_replay_options(world, tmp_path, capsys):
    capsys.readouterr()
    assert checkout(["train", "--train", str(world.train), "--out", str(tmp_path / "r"), "--head-only",
                     "--arch", "tiny_cnn"]) == 2
    assert "--head-only: only with --incremental" in capsys.readouterr().err
    for extra in (["--replay", "3"], ["--distill", "5"], ["--hold-old-rows"], ["--epochs", "3"], ["--lr", "0.1"],
                  ["--freeze", "5"]):
        assert _refit(world, world.run, tmp_path / "x", *extra) == 2
        assert f"{extra[0]}: not with --head-only" in capsys.readouterr().err
        assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("damage", ["cut", "pickle", "rows_missing", "rows_short", "a_folder"])
def test_damaged_kept_embeddings_are_one_line_naming_the_file(world, tmp_path, capsys, damage):
    base = tmp_path / "damaged"
    shutil.copytree(world.run, base)
    data, rows = base / EMBEDDINGS_FILE, base / ROWS_FILE
    if damage == "cut":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif damage == "pickle":
        import pickle

        data.write_bytes(pickle.dumps({"embeddings": [1.0]}))
    elif damage == "rows_missing":
        rows.unlink()
    elif damage == "a_folder":
        data.unlink()
        data.mkdir()
    else:
        rows.write_text("\n".join(rows.read_text().splitlines()[:-3]) + "\n")
    capsys.readouterr()
    assert _refit(world, base, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert (ROWS_FILE if damage == "rows_missing" else EMBEDDINGS_FILE) in err, err
    assert not (tmp_path / "out").exists()


def test_trust_weights_count_as_in_a_training_and_zero_leaves_rows_out(world, tmp_path):
    from trainer.data.manifest import write_manifest as write_rows

    rows = read_manifest(world.new_train)
    auto = NEW[0]
    add = write_rows([r.with_(extra={"trust": "auto" if r.sku == auto else "staff"}) for r in rows], tmp_path / "a.csv")
    out = tmp_path / "out"
    assert _refit_from(world, add, out, "--auto-weight", "0") == 0
    record = json.loads((out / "incremental.json").read_text())
    left = sum(r.sku == auto for r in rows)
    assert record["left_out_by_trust"] == left and record["images_processed"] == len(rows) - left
    assert auto not in json.loads((out / "labels.json").read_text())["labels"]
    assert sorted(record["new_skus"]) == sorted(s for s in NEW if s != auto)


def test_row_weights_take_trust_then_balance_the_skus():
    from types import SimpleNamespace

    from trainer.data.manifest import ManifestRow
    from trainer.head_refit import _row_weights

    rows = [ManifestRow("a.jpg", "a"), ManifestRow("b.jpg", "a", extra={"trust": "shopper"}),
            ManifestRow("c.jpg", "b"), ManifestRow("d.jpg", "c", extra={"trust": "auto"})]
    opts = SimpleNamespace(shopper_weight=0.5, auto_weight=0.0, class_balance=False)
    assert _row_weights(rows, opts).tolist() == [1.0, 0.5, 1.0, 0.0]
    balanced = _row_weights(rows, SimpleNamespace(**{**vars(opts), "class_balance": True}))
    assert balanced[0] + balanced[1] == pytest.approx(balanced[2]) and balanced[1] == pytest.approx(balanced[0] / 2)
    assert balanced[3] == 0.0 and balanced.sum() == pytest.approx(2.5)  # the total weight kept


def test_a_base_without_kept_embeddings_or_its_photos_is_one_line(world, tmp_path, capsys):
    base = tmp_path / "elsewhere"
    shutil.copytree(world.run, base)
    (base / EMBEDDINGS_FILE).unlink()
    args = json.loads((base / "args.json").read_text())
    args["train"], args["train_sources"] = str(tmp_path / "gone.csv"), None
    (base / "args.json").write_text(json.dumps(args))
    capsys.readouterr()
    assert _refit(world, base, tmp_path / "out") == 2
    err = capsys.readouterr().err.strip()
    assert "keeps no embeddings of its training photos" in err and "gone.csv" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_an_option_of_the_bases_network_that_differs_is_refused_as_in_a_fine_tune(world, tmp_path, capsys):
    capsys.readouterr()
    assert _refit(world, world.run, tmp_path / "out", "--img-size", "96") == 2
    err = capsys.readouterr().err
    assert "--img-size 96: the base" in err and "was trained with --img-size 64" in err
    assert not (tmp_path / "out").exists()


def test_a_model_sagemaker_published_is_a_refit_base_without_its_run_folder(world, tmp_path):
    """SageMaker's model folder (``publish_outputs``) carries the kept embeddings and the exemplars: the refit reads
    them there and embeds only the new photos, as from the run itself."""
    import argparse

    from trainer.sagemaker.env import publish_outputs

    model = tmp_path / "model"
    publish_outputs(argparse.Namespace(sagemaker_model_dir=str(model), sagemaker_output_dir=None), world.run)
    out = tmp_path / "run"
    assert _refit(world, model, out) == 0
    record = json.loads((out / "incremental.json").read_text())
    assert record["base_photos_embedded"] == 0 and record["images_processed"] == len(read_manifest(world.new_train))
    assert record["kept_embeddings"] == len(read_manifest(world.train))
