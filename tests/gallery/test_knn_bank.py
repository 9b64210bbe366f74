"""The till's side of the ``knn`` open-set score and the relative gallery fusion (kiosk.recognition.fusion): the bank
is the trained SKUs' exemplars plus the gallery's rows, joined once per gallery snapshot, and an enrolled product is
suggested against the trained SKUs' own prototypes. The world is tests/onboarding_kit.py's tiny_cnn."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from kiosk.gallery import Gallery, enroll


class Row:
    def __init__(self, sku: str) -> None:
        self.sku, self.name, self.active = sku, sku.title(), True




def test_knn_bank_holds_the_exemplars_and_the_gallery(world, recognizer, tmp_path):
    fusion = recognizer.fusion
    assert fusion.info.fusion.form == "relative" and fusion.exemplars is not None
    assert "knn" not in recognizer.recognize(world.photos("blue-disc")[0]).open_set  # not the rule's: not computed
    fusion.rule = dataclasses.replace(fusion.rule, score="knn")  # a bundle exported with open_set score "knn"
    probe = world.photos("blue-disc")[0]
    query = recognizer.embed([probe])[0]
    query = query / np.linalg.norm(query)
    bare = recognizer.recognize(probe)
    assert bare.open_set["knn"] == pytest.approx(float((fusion.exemplars @ query).max()), abs=1e-4)
    gallery = Gallery.open(tmp_path / "gallery")
    recognizer.attach_gallery(gallery)
    enroll(gallery, recognizer, "blue-disc", Row("blue-disc"), world.photos("blue-disc", world.new_train)[:10])
    taught = recognizer.recognize(probe)
    snap = fusion.gallery()
    bank = fusion._neighbours(snap)
    np.testing.assert_array_equal(bank, np.concatenate([fusion.exemplars, snap.vectors]))
    assert taught.open_set["knn"] == pytest.approx(float((bank @ query).max()), abs=1e-4)
    assert taught.open_set["knn"] >= bare.open_set["knn"]  # its own gallery rows are near it now
    assert taught.top.sku == "blue-disc" and "blue-disc" in taught.from_gallery
    recognizer.recognize(probe)
    assert fusion._neighbours(fusion.gallery()) is bank  # the same snapshot: not joined again


def test_bench_kiosk_times_the_recogniser_with_a_kiosks_gallery(world, recognizer, tmp_path, capsys):
    """``checkout bench kiosk --gallery DIR``: the taught products are fused on every frame, as at that till, and
    the report says what the gallery held; a folder without a gallery is one line."""
    import json

    from kiosk.cli import main

    gallery = Gallery.open(tmp_path / "gallery")
    enroll(gallery, recognizer, "blue-disc", Row("blue-disc"), world.photos("blue-disc", world.new_train)[:10])
    gallery.close()
    camera = f"folder:{Path(__file__).resolve().parents[2] / 'assets' / 'demo' / 'camera'}?hold=1"
    assert main(["bench", "kiosk", "--bundle", str(world.bundle), "--camera", camera, "--frames", "6", "--warmup",
                 "1", "--gallery", str(tmp_path / "gallery"), "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["gallery"] == {"path": str(tmp_path / "gallery"), "skus": 1, "photos": 10,
                                 "exemplar_rows": len(recognizer.fusion.exemplars), "similarity": "max"}
    assert report["frames"] == 6 and report["stages_ms"]["postprocess"]["p50"] > 0
    assert main(["bench", "kiosk", "--bundle", str(world.bundle), "--camera", camera, "--frames", "2",
                 "--no-progress"]) == 0
    assert "gallery" not in capsys.readouterr().out  # without one: no gallery line
    assert main(["bench", "kiosk", "--bundle", str(world.bundle), "--camera", camera, "--frames", "2",
                 "--gallery", str(tmp_path / "none"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no gallery" in err and len(err.splitlines()) == 1 and "Traceback" not in err, err
