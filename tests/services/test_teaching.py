"""The checkout service with a real model and gallery: staff teach a product and the next placement suggests it (never
adding it by itself); an item the model does not know is answered "not recognised" and its photo is kept, marked
for staff. The model is the onboarding world's tiny_cnn (tests/onboarding_kit.py)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.bundles.active import ActiveModel
from kiosk.config import KioskConfig
from kiosk.recognition.recognizer import Recognizer
from kiosk.services import CheckoutService, open_catalog
from kiosk.services.errors import CheckoutError, StaffLocked
from kiosk.services.events import NOT_RECOGNISED, Notice, SuggestionsReady
from kiosk.services.teaching import open_gallery
from kiosk.store import SalesStore
from tests.onboarding_kit import SIZE, TRAINED, build_world, onboarding_catalog, tray
from tests.services.conftest import PIN, PIN_HASH, Clock


@pytest.fixture(scope="module")
def world():
    return build_world()


class Till:
    """A till on the onboarding world's model; ``clock``: one clock for the service and its store (else the store's
    own)."""

    def __init__(self, tmp_path: Path, world, clock: Clock | None = None, **kw) -> None:
        catalog = onboarding_catalog(tmp_path / "catalog.sqlite")
        self.config = KioskConfig(store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                                  catalog=str(catalog), gallery=str(tmp_path / "gallery"), staff_pin_hash=PIN_HASH,
                                  weight_check=False, weight_rerank=False, kiosk_id="K1", **kw)
        store = SalesStore.open(self.config.store, clock=clock or Clock())
        self.service = CheckoutService(self.config, catalog=open_catalog(catalog), store=store,
                                       recognizer_holder=ActiveModel(Recognizer.load(world.bundle, threads=1)),
                                       scale=None, gallery=open_gallery(self.config.gallery),
                                       **({"clock": clock} if clock is not None else {}))
        self.events: list = []
        self.service.add_listener(self.events.append)
        self.empty = tray()
        self.feed(self.empty, 8)  # the trigger learns the empty tray

    def feed(self, image, n: int) -> list:
        return [r for r in (self.service.process_frame(image.copy()) for _ in range(n)) if r is not None]

    def place(self, image) -> SuggestionsReady:
        fired = self.feed(image, 8)
        self.feed(self.empty, 5)
        assert len(fired) == 1, fired
        return fired[0]


@pytest.fixture
def till(tmp_path, world):
    t = Till(tmp_path, world)
    yield t
    t.service.close()


def test_staff_teach_a_product_and_the_next_placement_suggests_it(till, world):
    s = till.service
    probe = world.photos("blue-disc")
    assert "blue-disc" not in [v.sku for v in till.place(probe[0]).suggestions]
    frames = world.photos("blue-disc", world.new_train)[:10]
    with pytest.raises(StaffLocked):
        s.teaching.teach("blue-disc", frames)
    assert s.staff_unlock(PIN)
    assert s.teaching.lookup("blue-disc")[1] and "taught here" not in s.teaching.lookup("blue-disc")[0]
    result = s.teaching.teach("blue-disc", frames)
    assert result.usable == 10
    ready = till.place(probe[1])
    assert ready.suggestions[0].sku == "blue-disc" and not ready.not_recognised
    assert ready.auto_added_line_id is None  # a taught product is never added without a tap
    assert s.placement(ready.placement_id).enrolled == ("blue-disc",)
    assert s.choose("blue-disc", ready.placement_id) is not None
    assert "taught here" in s.teaching.lookup("blue-disc")[0]


def test_teaching_checks_frames_and_creates_the_catalog_row(till, world):
    s = till.service
    assert s.teaching.check_frame(till.empty).reason == "empty tray"  # the trigger learnt it
    assert s.teaching.check_frame(cv2.GaussianBlur(world.photos("blue-disc")[0], (0, 0), 4)).reason == "blurred"
    assert s.teaching.check_frame(world.photos("blue-disc")[0]).usable
    assert s.staff_unlock(PIN)
    fields = {"sku": "mango-new", "name": "Mango (new)", "price_paise": "12000", "sold_by": "weight",
              "gst_percent": "5", "hsn": "0804"}
    with pytest.raises(CheckoutError, match="hsn"):
        s.teaching.create_sku({**fields, "hsn": "12"})
    assert s.teaching.create_sku(fields) == "mango-new"
    with pytest.raises(CheckoutError, match="already in the catalog"):
        s.teaching.create_sku(fields)
    assert s.search("mango (new)")[0].sku == "mango-new"
    with pytest.raises(CheckoutError, match="1 usable photo"):
        s.teaching.teach("mango-new", [till.empty] * 9 + [world.photos("green-bar")[0]])


def test_an_unknown_item_is_not_recognised_and_its_photo_is_kept(till, world):
    s = till.service
    unknown = [till.place(p) for sku in ("red-ring", "yellow-box", "green-disc")
               for p in world.photos(sku, world.unknown)]
    rejected = [r for r in unknown if r.not_recognised]
    assert rejected, "no unknown item was rejected"
    for r in rejected:
        assert r.suggestions == [] and r.auto_added_line_id is None
        placement = s.placement(r.placement_id)
        assert placement.not_recognised and Path(placement.image_path).is_file()
        row = s.store.feedback(r.placement_id)
        assert row["chooser"] == "unknown" and row["image_path"] == placement.image_path
    assert any(isinstance(e, Notice) and e.message == NOT_RECOGNISED for e in till.events)
    known = [till.place(p) for p in world.photos(TRAINED[1], world.val)]
    assert sum(not r.not_recognised for r in known) >= len(known) - 1
    assert np.mean([r.not_recognised for r in rejected]) == 1.0 and SIZE


def test_what_staff_teach_reaches_head_offices_training_manifest(tmp_path, world):
    """Teach at the counter → the feedback round queues and uploads one enrollment batch → `feedback collect` at head
    office puts the ten photos in the training manifest as staff-labelled rows of the new SKU (source enrolled) → an
    incremental retrain on that manifest exports a bundle whose head has the new SKU."""
    from kiosk.feedback.settings import FeedbackSettings
    from trainer.data.manifest import read_manifest
    from trainer.fleet.collect import collect_feedback

    ho = tmp_path / "head-office"
    ho.mkdir()
    t = Till(tmp_path, world, store_id="BLR-7",
             feedback=FeedbackSettings(head_office=str(ho), outbox=str(tmp_path / "outbox"), settle_s=0))
    try:
        assert t.service.staff_unlock(PIN)
        t.service.teaching.teach("blue-disc", world.photos("blue-disc", world.new_train)[:10])
        status = t.service.feedback.run_once()
        assert status.queued == 0 and status.last_error is None
        assert t.service.feedback.run_once().queued == 0  # sent once
    finally:
        t.service.close()
    batches = sorted((ho / "enrollment" / "BLR-7" / "K1").glob("enrollment-*.tar"))
    assert len(batches) == 1
    report = collect_feedback(str(ho), tmp_path / "collected", progress=False)
    rows = [r for r in read_manifest(tmp_path / "collected" / "feedback.csv") if r.source == "enrolled"]
    assert report.enrollments == 1 and report.enrolled_photos == 10 and report.skipped == []
    assert len(rows) + len([d for d in report.duplicates if "enrolled" in d["path"]]) == 10
    assert {r.sku for r in rows} == {"blue-disc"} and all(r.extra["trust"] == "staff" for r in rows)
    assert all(r.path.suffix == ".png" and r.path.is_file() for r in rows)
    # ... head office sees the product with the catalog row the store gave it, ready for its own catalog ...
    from trainer.headoffice.taught import new_products, taught_report

    (taught,) = taught_report(str(ho)).skus
    assert (taught.sku, taught.stores, taught.photos) == ("blue-disc", ["BLR-7"], 10)
    assert taught.product["sku"] == "blue-disc" and taught.product["name"] and taught.product["price_paise"]
    assert [r["sku"] for r in new_products(taught_report(str(ho)))[0]] == ["blue-disc"]
    # ... and the next model knows it: an incremental retrain on the collected manifest grows the head for it
    from kiosk.cli import main as checkout

    bundle = tmp_path / "next-bundle"
    assert checkout(["train", "--incremental", "--from", str(world.bundle), "--add",
                     str(tmp_path / "collected" / "feedback.csv"), "--out", str(tmp_path / "next"), "--epochs", "1",
                     "--threads", "2", "--no-progress", "--cache-dir", str(world.root / "cache"),
                     "--min-new-photos", str(len(rows)),  # the drawn discs share a pHash: near copies count once
                     "--export", str(bundle)]) == 0
    record = json.loads((tmp_path / "next" / "incremental.json").read_text())
    assert record["new_skus"] == ["blue-disc"] and record["added_photos"] == len(rows)
    rec = Recognizer.load(bundle, threads=1)
    assert "blue-disc" in rec.labels
    rec.close()
    # ... or, the same hour, the base bundle's classifier alone refitted on its run's kept embeddings and these photos
    assert checkout(["train", "--incremental", "--head-only", "--from", str(world.bundle), "--add",
                     str(tmp_path / "collected" / "feedback.csv"), "--out", str(tmp_path / "refit"), "--no-progress",
                     "--cache-dir", str(world.root / "cache"), "--min-new-photos", str(len(rows)),
                     "--export", str(tmp_path / "refit-bundle")]) == 0
    record = json.loads((tmp_path / "refit" / "incremental.json").read_text())
    assert record["new_skus"] == ["blue-disc"] and record["images_processed"] == len(rows)
    rec = Recognizer.load(tmp_path / "refit-bundle", threads=1)
    assert "blue-disc" in rec.labels
    rec.close()
