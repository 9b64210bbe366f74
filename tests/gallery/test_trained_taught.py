"""A trained SKU taught again at the till (probe-teach finding 6): the head's answer and its calibrated score stand,
so its placements are not flagged as the gallery's and auto-add still works for it."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.gallery import Gallery
from tests.onboarding_kit import TRAINED, draw


def test_teaching_a_trained_sku_leaves_its_placements_to_the_head(world, recognizer, tmp_path):
    sku = TRAINED[0]
    probe = world.photos(sku, world.val)
    before = [recognizer.recognize(p) for p in probe]
    gallery = Gallery.open(tmp_path / "gallery")
    recognizer.attach_gallery(gallery)
    rng = np.random.default_rng(5)
    shots = [draw(sku, rng) for _ in range(8)]  # new photos of the trained SKU
    gallery.add(sku, [cv2.imencode(".png", p)[1].tobytes() for p in shots], recognizer.embed(shots),
                recognizer.feature_key)
    after = [recognizer.recognize(p) for p in probe]
    assert recognizer.fusion.gallery().skus == [sku]
    flagged = [r for r in after if sku in r.from_gallery]
    assert not flagged, f"{len(flagged)} of {len(after)} placements of trained {sku} flagged as the gallery's"
    # the head's answer and score, unchanged: what auto-add compares with its threshold
    assert [r.top.sku for r in after] == [r.top.sku for r in before]
    assert np.allclose([r.top.score for r in after], [r.top.score for r in before], atol=1e-6)
