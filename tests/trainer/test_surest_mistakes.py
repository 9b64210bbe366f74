"""``checkout evaluate`` names the wrong answers the model was surest of, by manifest line and photo: the photos to
look at first (a wrong label, or a look-alike the till would add without a tap)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from kiosk.cli import main as checkout
from tests.trainer.synthetic import make_dataset
from trainer.metrics import surest_mistakes

FAST = ["--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--eval-size", "64",
        "--batch-size", "8", "--threads", "2", "--no-progress", "--rotation", "10", "--exemplars", "0"]


def test_the_wrong_answers_surest_first_and_no_more_than_asked():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.05, 0.95]])
    targets = np.array([1, 1, 0, 1, 0])  # wrong: rows 0 (0.9), 2 (0.7), 3 (0.6), 4 (0.95)
    found = surest_mistakes(probs, targets, ["a", "b"], k=3)
    assert [(m["index"], m["true"], m["predicted"]) for m in found] == [(4, "a", "b"), (0, "b", "a"), (2, "a", "b")]
    assert found[0]["score"] == pytest.approx(0.95)
    assert surest_mistakes(probs, probs.argmax(1), ["a", "b"]) == []


def test_evaluate_names_a_mislabelled_photo_by_its_line_past_skipped_rows(tmp_path, capsys):
    train, val = make_dataset(tmp_path / "data")
    run, bundle = tmp_path / "run", tmp_path / "bundle"
    assert checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run), "--epochs", "5",
                     "--lr", "1e-2", *FAST]) == 0
    assert checkout(["bundle", "export", str(run), "--out", str(bundle), "--model-version", "1"]) == 0
    rows = list(csv.reader(val.open()))
    header, body = rows[0], rows[1:]
    relabelled = body[5]  # a green box labelled as a red disc: the model is sure of its box
    assert relabelled[1] == "green-box"
    body[5] = [relabelled[0], "red-disc", "discs"]
    body.insert(1, ["red-disc/gone.jpg", "red-disc", "discs"])  # unreadable: skipped
    body.insert(2, ["red-disc/000.jpg", "purple-star", "stars"])  # unknown to the model: skipped
    probe = val.parent / "probe.csv"
    with probe.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, *body])
    line = 2 + body.index([relabelled[0], "red-disc", "discs"])
    capsys.readouterr()

    assert checkout(["evaluate", str(bundle), "--manifest", str(probe), "--json", "--out", str(tmp_path / "e")]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    first = report["surest_mistakes"][0]
    assert (first["line"], first["true"], first["predicted"]) == (line, "red-disc", "green-box")
    assert first["path"].endswith(relabelled[0]) and first["score"] > 0.5
    assert checkout(["evaluate", str(bundle), "--manifest", str(probe), "--out", str(tmp_path / "e")]) == 0
    text = capsys.readouterr().out
    assert "surest mistakes (score, manifest line: true → predicted):" in text
    assert f"  {first['score']:.3f}  line {line}: red-disc → green-box  " in text


def test_a_mistake_at_or_above_the_bundles_threshold_is_marked_as_added_without_a_tap():
    from trainer.evaluate import _mistake_lines

    found = [{"score": 0.995, "line": 7, "true": "a", "predicted": "b", "path": "p7.jpg"},
             {"score": 0.95, "line": 3, "true": "b", "predicted": "a", "path": "p3.jpg"}]
    lines = _mistake_lines({"surest_mistakes": found, "stored_threshold": {"threshold": 0.99}})
    assert lines[1] == "  0.995  line 7: a → b  p7.jpg  (added without a tap at the bundle's threshold)"
    assert lines[2] == "  0.950  line 3: b → a  p3.jpg"
    assert _mistake_lines({"surest_mistakes": found[1:]})[1] == "  0.950  line 3: b → a  p3.jpg"  # a run: no threshold
    assert _mistake_lines({"surest_mistakes": []}) == []
