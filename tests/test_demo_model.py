"""The demo model ``make demo`` runs (trainer/demo.py, MobileNetV2 on assets/demo/train) reads the demo basket.

``make test`` builds ``var/demo/bundle`` first (the very bundle ``make demo`` opens); run alone, pytest builds the same
recipe into ``.cache/test-demo-bundle``. The ImageNet weights are fetched by ``make test`` (``make weights``).
"""

from __future__ import annotations

import csv
import json

import pytest

from tests.services.demo_bundle import DEMO, MOBILENET_WEIGHTS, TRAIN_MANIFEST, basket_rows, build_demo_bundle


@pytest.fixture(scope="module")
def real_demo_bundle():
    assert MOBILENET_WEIGHTS.is_file(), f"{MOBILENET_WEIGHTS} missing: run `make weights` (make test does)"
    assert TRAIN_MANIFEST.is_file(), f"{TRAIN_MANIFEST} missing from the checkout"
    return build_demo_bundle(kind="mobilenet_v2")


def test_demo_model_is_the_mobilenet_recipe_and_measured(real_demo_bundle):
    manifest = json.loads((real_demo_bundle / "manifest.json").read_text())
    assert manifest["architecture"] == "mobilenet_v2"
    with open(TRAIN_MANIFEST.with_name("val.csv"), newline="") as fh:
        skus = {row["sku"] for row in csv.DictReader(fh)}
    assert set(manifest["labels"]) == skus
    val = manifest["metrics"]["val"]
    assert val["n"] == 72 and val["top1"] >= 0.9, (
        f"demo model val top-1 {val['top1']:.3f} on its {val['n']} held-out photos")


def test_every_basket_photo_is_recognised_as_its_sku_with_the_right_top3(real_demo_bundle):
    from kiosk.bundle_format.preprocess import read_image
    from kiosk.recognition.recognizer import Recognizer

    rec = Recognizer.load(real_demo_bundle)
    try:
        for row in basket_rows():
            result = rec.recognize(read_image(DEMO / "camera" / row["frame"]))
            got = [s.sku for s in result.suggestions]
            assert got[0] == row["sku"], f"{row['frame']}: top-3 {got}"
            assert len(set(got)) == 3
            assert result.suggestions[0].score > result.suggestions[1].score
    finally:
        rec.close()
