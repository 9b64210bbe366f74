"""``checkout bench allocator``: both sides run in child processes of their own and are printed with their kernel
share and the ratio; a side that fails is one line naming it."""

from __future__ import annotations

import re

from kiosk.cli import main as checkout


def test_both_sides_run_and_the_ratio_is_theirs(capsys):
    assert checkout(["bench", "allocator", "--arch", "tiny_cnn", "--img-size", "32", "--batch-size", "4", "--steps",
                     "2", "--rounds", "1", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "tiny_cnn, batch 4, 32 px, 0 frozen stages, 1 threads, 1 interleaved rounds of 2 timed" in out
    p50 = {side: float(m) for side, m in re.findall(r"(default|kept)\b.*step p50\s+(\d+) ms", out)}
    assert set(p50) == {"default", "kept"}
    assert all(re.search(r"kernel\s+\d+% of its CPU", line) for line in out.splitlines() if "step p50" in line)
    ratio = float(re.search(r"default / kept: ([\d.]+)x", out).group(1))
    if min(p50.values()) >= 1:  # whole milliseconds: the ratio is theirs within rounding
        assert abs(ratio - p50["default"] / p50["kept"]) <= 0.5 * ratio


def test_a_side_that_fails_is_one_line_naming_it(capsys):
    assert checkout(["bench", "allocator", "--arch", "no-such-net", "--steps", "1", "--rounds", "1"]) == 2
    err = capsys.readouterr().err
    assert "the default side failed (exit 2): unknown architecture 'no-such-net'" in err
    assert "Traceback" not in err
