"""What the tills could not recognise becomes the next model, end to end with the real parts: items no model knows
are placed at a till ("Not recognised", their crops kept) → the feedback round uploads them → `checkout feedback
collect` leaves them for review → `checkout feedback cluster` groups them by the bundle's embeddings → head office
labels each group at once (what the dashboard's Label page does, `trainer.fleet.labels.set_labels`) → the next collect
puts them in `feedback.csv` as staff-labelled rows → a head refit on that manifest exports a bundle that names them.
The world is tests/onboarding_kit.py's tiny_cnn (trained without :data:`UNKNOWN`)."""

from __future__ import annotations

import csv
import json
from collections import Counter

import numpy as np
import pytest

from kiosk.cli import main as checkout
from kiosk.recognition.recognizer import Recognizer
from tests.onboarding_kit import build_world, draw
from tests.services.test_teaching import Till

NEW_PRODUCTS = ["red-ring", "yellow-box"]


@pytest.fixture(scope="module")
def world():
    return build_world()


def _serve_unknown_items(tmp_path, world, head_office) -> dict[str, str]:
    """Each new product's photos placed at a till whose model never saw them; the shopper takes each item away
    unbilled. Returns placement id → the product it really was."""
    from kiosk.feedback.settings import FeedbackSettings

    till = Till(tmp_path, world, store_id="BLR-7", feedback=FeedbackSettings(
        head_office=str(head_office), outbox=str(tmp_path / "outbox"), settle_s=0))
    truth = {}
    try:
        for sku in NEW_PRODUCTS:
            for image in world.photos(sku, world.unknown):
                truth[till.place(image).placement_id] = sku
        status = till.service.feedback.run_once()
        assert status.last_error is None and status.queued == 0
    finally:
        till.service.close()
    return truth


def _label_groups(folder, truth: dict[str, str]) -> list[int]:
    """Head office looks at each group of clusters.csv and labels all of it at once (its crops are its product, as
    the person at the Label page sees); a crop alone is labelled on its own. Returns the groups' sizes."""
    from trainer.fleet.labels import set_labels

    with open(folder / "clusters.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    groups: dict[str, list[dict]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r["cluster"] if r["cluster"] != "-1" else f"alone-{i}", []).append(r)
    for members in groups.values():
        (sku, _n), = Counter(truth[m["placement_id"]] for m in members).most_common(1)
        set_labels(folder, [(m["store"], m["kiosk"], m["placement_id"]) for m in members], sku=sku, user="meera")
    return sorted((len(m) for m in groups.values()), reverse=True)


def test_items_the_tills_could_not_recognise_become_the_next_models_products(tmp_path, world):
    from trainer.data.manifest import read_manifest
    from trainer.fleet.clusters import cluster_unlabelled
    from trainer.fleet.collect import collect_feedback

    head_office, folder = tmp_path / "head-office", tmp_path / "collected"
    head_office.mkdir()
    truth = _serve_unknown_items(tmp_path / "till", world, head_office)
    assert len(truth) == 12
    collect_feedback(str(head_office), folder, progress=False)
    with open(folder / "unlabelled.csv", newline="") as fh:
        review = {r["placement_id"]: r for r in csv.DictReader(fh)}
    assert set(review) == set(truth) and all(r["path"] for r in review.values())

    report = cluster_unlabelled(folder, world.bundle)
    assert report.crops == 12
    sizes = _label_groups(folder, truth)
    assert sizes[0] >= 4 and sum(sizes) == 12 and len(sizes) <= 6  # groups, not a click per crop

    report = collect_feedback(str(head_office), folder, progress=False)
    rows = [r for r in read_manifest(folder / "feedback.csv") if r.source == "headoffice"]
    assert report.labelled_at_headoffice == len(rows) and len(rows) + len(report.duplicates) >= 12
    assert {r.sku for r in rows} == set(NEW_PRODUCTS) and all(r.extra["trust"] == "staff" for r in rows)
    assert all(r.sku == truth[r.extra["placement_id"]] for r in rows)

    bundle = tmp_path / "next-bundle"
    assert checkout(["train", "--incremental", "--head-only", "--from", str(world.bundle), "--add",
                     str(folder / "feedback.csv"), "--out", str(tmp_path / "refit"), "--no-progress", "--cache-dir",
                     str(world.root / "cache"), "--min-new-photos", "2", "--export", str(bundle)]) == 0
    assert sorted(json.loads((tmp_path / "refit" / "incremental.json").read_text())["new_skus"]) == NEW_PRODUCTS
    rec = Recognizer.load(bundle, threads=1)
    try:
        rng = np.random.default_rng(99)  # photos no one has seen
        for sku in NEW_PRODUCTS:
            seen = [rec.recognize(draw(sku, rng)) for _ in range(4)]
            assert sum(r.known and r.top.sku == sku for r in seen) >= 3, (sku, seen)
    finally:
        rec.close()
