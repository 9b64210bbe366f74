"""Every numeric option of ``checkout train`` refuses a value the training cannot use in argparse's one line naming
the option. Before, ``--batch-size 0`` and ``--img-size 0`` were ZeroDivisionError tracebacks, ``--label-smoothing
2``, ``--ema 1.5``, ``--hue 5``, ``--seed -1``, ``--threads -1`` or ``--workers -1`` tracebacks from torch or
torchvision, ``--threads 100000`` a MemoryError, ``--batch-size 100000`` a machine thrashing past any timeout, and
``--epochs 0``, ``--lr nan`` or ``--img-size 1`` "trained" and exited 0."""

from __future__ import annotations

import pytest

from trainer.options import get_args_parser

BASE = ["--train", "t.csv", "--out", "run"]


@pytest.mark.parametrize("option, value, words", [
    ("--epochs", "0", "must be at least 1"), ("--epochs", "-1", "must be at least 1"),
    ("--lr", "nan", "is not a finite number"), ("--lr", "inf", "is not a finite number"),
    ("--lr", "0", "must be more than 0"), ("--batch-size", "0", "must be at least 1"),
    ("--batch-size", "100000", "must be at most 4096"), ("--img-size", "1", "must be at least 16"),
    ("--img-size", "100000", "must be at most 4096"), ("--eval-size", "8", "must be at least 16"),
    ("--label-smoothing", "2", "must be less than 1"), ("--ema", "1.5", "must be less than 1"),
    ("--mix-prob", "2", "must be at most 1"), ("--scale-min", "0", "must be more than 0"),
    ("--rotation", "nan", "is not a finite number"), ("--color-jitter", "-1", "must be at least 0"),
    ("--hue", "5", "must be at most 0.5"), ("--seed", "-1", "must be at least 0"),
    ("--seed", "99999999999999999999", "must be at most 4294967295"), ("--threads", "-1", "must be at least 1"),
    ("--threads", "100000", "must be at most 1024"), ("--workers", "-1", "must be at least 0"),
    ("--max-steps", "0", "must be at least 1"), ("--freeze", "-1", "must be at least 0"),
    ("--swa-lr-factor", "0", "must be more than 0"), ("--epochs", "1.5", "is not a whole number"),
    ("--rdzv-timeout", "inf", "is not a finite number"),
])
def test_a_value_training_cannot_use_is_argparses_one_line(option, value, words, capsys):
    with pytest.raises(SystemExit) as refused:
        get_args_parser().parse_args([*BASE, option, value])
    err = capsys.readouterr().err
    assert refused.value.code == 2 and f"argument {option}: " in err and words in err, err


def test_the_recorded_recipe_and_the_defaults_still_parse():
    from pathlib import Path

    makefile = Path(__file__).resolve().parents[2] / "Makefile"
    lines = makefile.read_text().replace("\\\n", " ").splitlines()
    recipe = next(line for line in lines if line.startswith("MODEL_TRAIN"))
    args = recipe.split("=", 1)[1].replace("$(MODEL_ARCH)", "mobilenet_v2").split()
    parsed = get_args_parser().parse_args([*BASE, *args])
    assert parsed.epochs == 14 and parsed.img_size == 288 and parsed.color_jitter == 0.1
    defaults = get_args_parser().parse_args(BASE)
    assert (defaults.epochs, defaults.lr, defaults.seed, defaults.ema, defaults.threads) == (12, 2e-3, 0, 0.0, None)
