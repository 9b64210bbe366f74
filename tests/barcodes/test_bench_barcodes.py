"""``checkout bench barcodes``: random labels drawn by ``--seed``, the rule before confirmation and the kiosk's
measured on the same frames, wrong reads counted per seed; ``--fixed`` keeps the earlier fixed set."""

from __future__ import annotations

import json
import random

from kiosk import bench_counter
from kiosk.barcodes.synth import KINDS, random_label
from kiosk.bench_counter import format_barcode_report, random_cases
from kiosk.cli import main


def test_a_seed_draws_the_same_labels_and_another_seed_others():
    def labels(seed):
        rng = random.Random(seed)
        return [random_label(rng) for _ in range(30)]

    assert labels(5) == labels(5) and labels(5) != labels(6)
    drawn = labels(5) + labels(6)
    assert {x.kind for x in drawn} <= set(KINDS) and len({x.kind for x in drawn}) >= 5
    assert len({x.offset for x in drawn}) > 50  # anywhere on the tray, not only in the middle
    assert all(x.want is None for x in drawn if x.kind == "wrong check digit")
    kind, want, image = next(random_cases(5, 1))
    assert (kind, want) == (labels(5)[0].kind, labels(5)[0].want) and image.shape == (720, 1280, 3)


def test_the_bench_measures_both_rules_on_the_same_seeded_frames(capsys):
    assert main(["bench", "barcodes", "--seed", "3", "4", "--frames", "2", "--decoders", "zxing-then-opencv",
                 "zxing+opencv", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["seeds"], report["frames_per_seed"], report["cases"], report["fixed"]) == ([3, 4], 2, 4, False)
    for name in ("zxing-then-opencv", "zxing+opencv"):
        d = report["decoders"][name]
        assert set(d["wrong_by_seed"]) == {"3", "4"} and d["wrong_reads"] == len(d["wrong"])
        assert sum(n for _, n in d["by_label"].values()) == 4 and 0 <= d["read"] <= d["of"] <= 4
        assert 0 < d["ms_p50"] <= d["ms_p95"]
    text = format_barcode_report(report)
    assert "4 random labels (2 per seed, seeds 3, 4" in text
    assert "frames with a wrong code per seed (3, 4): zxing-then-opencv" in text


def test_fixed_keeps_the_earlier_six_codes(monkeypatch, capsys):
    asked = {}

    def run(decoders, progress, **kw):
        asked.update(kw, decoders=decoders)
        return {"cases": 0, "resolution": "1280x720", "fixed": True, "seeds": [], "frames_per_seed": None,
                "decoders": {}}

    monkeypatch.setattr(bench_counter, "run_barcode_bench", run)
    assert main(["bench", "barcodes", "--fixed", "--no-progress"]) == 0
    assert asked["fixed"] is True and asked["decoders"] == ("zxing", "opencv", "zxing-then-opencv", "zxing+opencv")
    assert "the fixed set" in capsys.readouterr().out
    assert len({code for _, code, _ in bench_counter._codes()}) == 6
