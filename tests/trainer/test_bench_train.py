"""``checkout bench train``: the pipelines run interleaved, the like-for-like line and the breakdown are printed."""

from __future__ import annotations

import re

from kiosk.cli import main
from tests.trainer.synthetic import make_dataset


def test_bench_train_interleaves_the_pipelines_and_breaks_a_batch_down(tmp_path, capsys):
    train, _ = make_dataset(tmp_path / "data", per_class=6, size=48)
    assert main(["bench", "train", "--data", str(train), "--arch", "tiny_cnn", "--freeze", "1", "--batch-size", "4",
                 "--img-size", "32", "--steps", "2", "--rounds", "2", "--breakdown-steps", "1", "--workers", "0",
                 "--threads", "1", "--cache-dir", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert "2 interleaved rounds of 2 timed steps each" in out
    rates = dict(re.findall(r"^  (naive ImageFolder, all layers trained|naive ImageFolder, same 1 frozen stages|"
                            r"trainer \(cache, uint8 aug, channels-last, recipe\)) +([0-9.]+) img/s", out, re.M))
    assert len(rates) == 3 and all(float(v) > 0 for v in rates.values())
    like = float(re.search(r"like for like \(trainer / naive with the same frozen stages\): ([0-9.]+)x", out)[1])
    assert abs(like - float(rates["trainer (cache, uint8 aug, channels-last, recipe)"])
               / float(rates["naive ImageFolder, same 1 frozen stages"])) < 0.02
    assert len(re.findall(r"step alone +\d+ ms/batch", out)) == 3
    assert len(re.findall(r"one core +\d+ ms/batch", out)) == 2
