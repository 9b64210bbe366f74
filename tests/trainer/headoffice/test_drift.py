"""The drift alarm fires on a planted rise in a seeded history and stays quiet on 1,000 seeded histories of noise
(the false-alarm count is printed)."""

from __future__ import annotations

import random

from kiosk.cli import main
from trainer.headoffice.drift import DriftSettings, cusum, detect, simulate


def test_a_planted_rise_fires_soon_after_it_starts():
    rng = random.Random(2024)
    history = [int(rng.random() < 0.05) for _ in range(400)] + [int(rng.random() < 0.20) for _ in range(300)]
    result = detect(history, [f"t{i}" for i in range(len(history))])
    assert result.alarm and 400 <= result.alarm_index < 400 + 300
    assert result.alarm_at == f"t{result.alarm_index}" and result.baseline_rate < 0.1 and result.recent_rate > 0.1


def test_the_same_history_without_the_rise_does_not_fire():
    rng = random.Random(2024)
    history = [int(rng.random() < 0.05) for _ in range(2000)]
    result = detect(history)
    assert not result.alarm and result.peak < result.threshold


def test_no_test_before_the_baseline_is_reached():
    assert detect([1] * 50).p0 is None and not detect([1] * 50).alarm


def test_cusum_is_the_textbook_recursion():
    path, first = cusum([1, 1, 0, 1], 0.1, 0.2, threshold=1.0)
    up, down = 0.6931471805599453, -0.11778303565638346  # log(0.2/0.1), log(0.8/0.9)
    expected = [up, 2 * up, 2 * up + down, 3 * up + down]
    assert [round(x, 9) for x in path] == [round(x, 9) for x in expected] and first == 1


def test_a_thousand_noise_histories_raise_no_alarm_and_planted_rises_are_caught(capsys):
    result = simulate(1000, seed=17)
    with capsys.disabled():
        print(f"\ndrift alarm: {result['false_alarms']} false alarm(s) on {result['histories']} seeded noise "
              f"histories; planted rises caught {result['detected']}/{result['planted']}, median delay "
              f"{result['median_delay']} placements")
    assert result["false_alarms"] == 0
    assert result["detected"] >= 0.8 * result["planted"] and result["median_delay"] < 200


def test_a_lower_threshold_buys_speed_with_false_alarms():
    """The threshold is the false-alarm budget: set too low, noise alone fires (so the test can fail)."""
    assert simulate(200, seed=17, settings=DriftSettings(threshold=2.0))["false_alarms"] > 20


def test_bench_drift_prints_the_counts(capsys):
    assert main(["bench", "drift", "--histories", "50", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "false alarm(s)" in out and "50 seeded noise histories" in out
