"""``checkout evaluate onboarding --recipe '…'``: the recipe is parsed by ``checkout train``'s own parser before
anything is written to ``--work``; a bad quote, an unknown option, or an option the protocol sets itself (its
manifests, run folders, cache: a recipe's ``--out /etc`` trained the base into /etc, its ``--train`` leaked held-out
SKUs into the base) is one line naming it, exit 2, nothing written."""

from __future__ import annotations

import pytest

from kiosk.cli import main as checkout
from tests.hardening.errors import one_error
from tests.trainer.synthetic import make_dataset


def _error(capsys) -> str:
    return one_error(capsys)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("synthetic"), per_class=3, size=32)


def _onboarding(data, work, recipe: str) -> int:
    train, val = data
    return checkout(["evaluate", "onboarding", "--data", str(train), "--val", str(val), "--holdout-skus", "1",
                     "--unknown-skus", "1", "--shots", "1", "--work", str(work), "--no-full", "--no-timing",
                     "--epochs", "1", "--cache-dir", str(work.parent / "cache"), "--recipe", recipe])


@pytest.mark.parametrize("recipe, named", [
    ('--arch tiny_cnn "y', "No closing quotation"),
    ("--arch tiny_cnn --nope 3", "unrecognized arguments: --nope"),
    ("--epochs zero", "--epochs"),
])
def test_a_recipe_that_does_not_parse_is_one_line_and_writes_nothing(data, tmp_path, capsys, recipe, named):
    work = tmp_path / "w"
    assert _onboarding(data, work, recipe) == 2
    line = _error(capsys)
    assert "--recipe" in line and named in line, line
    assert not work.exists()


@pytest.mark.parametrize("recipe, option", [
    ("--out {t}/etc", "--out"), ("--ou={t}/etc", "--out"), ("--train {m}", "--train"), ("--val {m}", "--val"),
    ("--resume {t}/r", "--resume"), ("--incremental", "--incremental"), ("--from {t}/r", "--from"),
    ("--add {m}", "--add"), ("--export {t}/b", "--export"), ("--cache-dir {t}/c", "--cache-dir"),
    ("--shards {t}/s", "--shards"),
])
def test_options_the_protocol_sets_itself_are_refused_in_the_recipe(data, tmp_path, capsys, recipe, option):
    work = tmp_path / "w"
    recipe = "--arch tiny_cnn --img-size 64 " + recipe.format(t=tmp_path, m=data[0])
    assert _onboarding(data, work, recipe) == 2
    line = _error(capsys)
    assert f"--recipe: {option} is the onboarding protocol's own" in line, line
    assert not work.exists() and not (tmp_path / "etc").exists()


def test_a_recipe_of_train_options_and_epochs_passes(tmp_path):
    import argparse

    from trainer.onboarding import _protocol_argv, _recipe, _recipe_args

    args = argparse.Namespace(recipe="--arch tiny_cnn --epochs 3 --lr=1e-2", work=tmp_path / "w",
                              cache_dir=tmp_path / "c")
    assert _recipe_args(args) == ["--arch", "tiny_cnn", "--epochs", "3", "--lr=1e-2"]
    assert _recipe(args, 2) == ["--arch", "tiny_cnn", "--lr=1e-2", "--epochs", "2"]
    base = _protocol_argv(args, _recipe(args, 2))["base"]
    assert base[base.index("--out") + 1] == str(tmp_path / "w" / "base") and base.count("--out") == 1
    assert _recipe_args(argparse.Namespace(recipe=None, work=tmp_path, cache_dir=tmp_path))[:2] == ["--arch",
                                                                                                     "mobilenet_v2"]
