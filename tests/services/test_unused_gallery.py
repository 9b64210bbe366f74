"""Taught products under a model that cannot use them (probe-teach finding 5): an older bundle without gallery fusion
(e.g. after a rollback) suggested none of them, with no word. Now the log says so once when the model loads, staff
get a notice at the start and at each swap to such a model, and ``checkout doctor`` warns."""

from __future__ import annotations

import json
import logging
import shutil

import cv2
import numpy as np
import pytest

from kiosk.bundles.active import ActiveModel
from kiosk.config import KioskConfig
from kiosk.doctor.core import OK, WARN, Context
from kiosk.doctor.state import check_state
from kiosk.gallery import Gallery
from kiosk.recognition.recognizer import Recognizer
from kiosk.services.teaching import TeachDesk, attach_gallery, unused_gallery
from kiosk.ui.notices import notice_text
from tests.onboarding_kit import build_world, draw

MESSAGE = ("taught products are not suggested by model v1: it has no gallery fusion; teach them again under a newer "
           "model or roll forward")


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture(scope="module")
def nofuse(world, tmp_path_factory):
    """The world's bundle as an older export: an embedding, but no fusion calibration in its manifest."""
    bundle = tmp_path_factory.mktemp("nofuse") / "bundle"
    shutil.copytree(world.bundle, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["embedding"]["fusion"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    return bundle


@pytest.fixture
def taught(world, tmp_path):
    gallery = Gallery.open(tmp_path / "gallery")
    rec = Recognizer.load(world.bundle, threads=1)
    rng = np.random.default_rng(3)
    shots = [draw("blue-disc", rng) for _ in range(5)]
    gallery.add("blue-disc", [cv2.imencode(".png", p)[1].tobytes() for p in shots], rec.embed(shots), rec.feature_key)
    rec.close()
    yield gallery
    gallery.close()


def test_a_model_without_fusion_says_the_taught_products_are_not_suggested(world, nofuse, taught, tmp_path, caplog):
    old, new = Recognizer.load(nofuse, threads=1), Recognizer.load(world.bundle, threads=1)
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.services.teaching"):
            attach_gallery(old, taught)
            attach_gallery(new, taught)
        said = [r.getMessage() for r in caplog.records if "gallery fusion" in r.getMessage()]
        assert said == [f"gallery: {MESSAGE} (taught: blue-disc)"]  # once, for the model without fusion only
        assert unused_gallery(old, taught).message == MESSAGE and unused_gallery(new, taught) is None
        assert unused_gallery(old, Gallery.open(tmp_path / "empty")) is None  # nothing taught: nothing to say
        # staff hear it when a rollback swaps the older model in, not when a newer one comes back
        events = []
        model = ActiveModel(new)
        TeachDesk(gallery=taught, model=model, shelf=None, require_staff=lambda: "staff", emit=events.append)
        model.swap(old, close_old=False)
        model.swap(new, close_old=False)
        assert [e.message for e in events] == [MESSAGE]
        assert notice_text(MESSAGE).startswith("Taught products are not suggested by model v1")
    finally:
        old.close()
        new.close()


def test_the_doctor_warns_about_taught_products_the_model_cannot_suggest(world, nofuse, taught, tmp_path):
    def state(bundle):
        return check_state(Context(KioskConfig(bundle=str(bundle), gallery=str(taught.root),
                                               store=str(tmp_path / "sales.sqlite"))))

    warned = state(nofuse)
    assert warned.status == WARN and "not suggested by model v1: it has no gallery fusion (1 taught: blue-disc)" \
        in warned.found, warned
    assert state(world.bundle).status == OK
