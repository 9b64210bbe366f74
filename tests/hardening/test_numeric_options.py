"""Every numeric option of every ``checkout`` command is range-checked by argparse (``kiosk.subcommands.bounded``):
a plain ``type=int`` or ``type=float`` let nan, inf, 0 or -1 through to a traceback deep in a library (a zero batch
size, ``--label-smoothing 2``, ``--seed -1``), or into a run that "worked" on nonsense (``--epochs 0``)."""

from __future__ import annotations

import pytest

from kiosk.cli import build_parser, main
from tests.hardening.test_cli_sweep import _leaves  # every leaf command and its parser

NUMERIC = [(" ".join(words), a) for words, p in _leaves(build_parser(), []) for a in p._actions
           if a.option_strings and getattr(a.type, "__name__", "") in ("int", "float", "a number", "a whole number")]


def test_no_numeric_option_takes_a_plain_int_or_float():
    plain = [f"checkout {cmd} {a.option_strings[0]}" for cmd, a in NUMERIC if a.type in (int, float)]
    assert len(NUMERIC) > 100 and plain == []


@pytest.mark.parametrize("cmd, action", NUMERIC, ids=[f"{c} {a.option_strings[0]}" for c, a in NUMERIC])
def test_nan_and_a_trillion_are_argparses_one_line(cmd, action, capsys):
    option = action.option_strings[0]
    for value in ("nan", "1e12" if action.type.__name__ == "a number" else "1000000000000"):
        assert main([*cmd.split(), option, value]) == 2
        err = capsys.readouterr().err
        assert f"argument {option}" in err and "Traceback" not in err, err
