"""Staff label today's items nobody labelled (kiosk.services.not_recognised): the list, the label, the refusals, and
the label's way to head office as a staff-trusted row of the next training manifest."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from kiosk.services.errors import CheckoutError, StaffLocked
from tests.onboarding_kit import build_world
from tests.services import test_teaching as teaching
from tests.services.conftest import PIN, Clock


@pytest.fixture(scope="module")
def world():
    return build_world()


class Till(teaching.Till):
    """tests/services/test_teaching.py's till, with one clock for the service and its store (today is the store's
    day of the placements), a minute on between placements."""

    def __init__(self, tmp_path: Path, world, **kw) -> None:
        self.clock = Clock()
        super().__init__(tmp_path, world, clock=self.clock, **kw)

    def place(self, image):
        fired = super().place(image)
        self.clock.advance(60)
        return fired


@pytest.fixture
def till(tmp_path, world):
    t = Till(tmp_path, world)
    yield t
    t.service.close()


def _unknown(till, world, n: int = 3) -> list[str]:
    """``n`` not-recognised placements (the shopper takes each away): their ids, oldest first."""
    photos = [p for sku in ("red-ring", "yellow-box", "green-disc") for p in world.photos(sku, world.unknown)]
    ids = [r.placement_id for r in map(till.place, photos) if r.not_recognised]
    assert len(ids) >= n
    return ids[:n]


def test_staff_see_todays_unlabelled_items_newest_first_and_label_one(till, world):
    s = till.service
    ids = _unknown(till, world)
    with pytest.raises(StaffLocked):
        s.staff_not_recognised_today()
    with pytest.raises(StaffLocked):
        s.staff_label_placement(ids[0], "red-ring")
    assert s.store.feedback(ids[0])["label_sku"] is None
    assert s.staff_unlock(PIN)
    listed = s.staff_not_recognised_today()
    assert [v.placement_id for v in listed if v.placement_id in ids] == ids[::-1]  # newest first
    assert [v.time for v in listed] == sorted((v.time for v in listed), reverse=True)
    assert all(Path(v.image_path).is_file() and len(v.time) == 5 for v in listed)
    revision = s.store.feedback(ids[0])["revision"]
    assert s.staff_label_placement(ids[0], "red-ring") == "red-ring"
    row = s.store.feedback(ids[0])
    assert (row["label_sku"], row["chooser"], row["trust"], row["line_id"]) == ("red-ring", "staff:staff", "staff",
                                                                               None)
    assert row["revision"] == revision + 1
    assert ids[0] not in [v.placement_id for v in s.staff_not_recognised_today()]
    (audit,) = [r for r in s.store.audit_rows() if r["kind"] == "staff.label_placement"]
    assert audit["actor"] == "staff" and audit["detail"]["placement_id"] == ids[0]
    with pytest.raises(CheckoutError, match="not one nobody labelled"):  # labelled already
        s.staff_label_placement(ids[0], "yellow-box")
    assert s.cart_view().lines == () or not s.cart_view().lines  # no bill line, no price effect
    from kiosk.cli import main as checkout

    assert checkout(["audit", "verify", "--store", till.config.store]) == 0


def test_an_unknown_or_inactive_sku_is_refused_in_one_line(till, world):
    s = till.service
    (pid,) = _unknown(till, world, 1)
    assert s.staff_unlock(PIN)
    with pytest.raises(CheckoutError) as unknown:
        s.staff_label_placement(pid, "no-such-thing")
    s.catalog.upsert(dataclasses.replace(s.catalog.find("yellow-box"), active=False))
    with pytest.raises(CheckoutError) as inactive:
        s.staff_label_placement(pid, "yellow-box")
    for exc in (unknown.value, inactive.value):
        assert "\n" not in str(exc)
    assert "not in the catalog" in str(unknown.value) and "not on sale" in str(inactive.value)
    row = s.store.feedback(pid)
    assert row["chooser"] == "unknown" and row["label_sku"] is None
    assert [r for r in s.store.audit_rows() if r["kind"] == "staff.label_placement"] == []


def test_staff_labels_reach_head_offices_training_manifest_as_staff_rows(tmp_path, world):
    """The unlabelled rows are sent first (no label); staff label one and call another not a product; the next
    feedback round sends both again with a higher revision; `feedback collect` puts the label in feedback.csv with
    trust staff and leaves the not-a-product out of training and of review."""
    import csv

    from kiosk.feedback.settings import FeedbackSettings
    from trainer.data.manifest import read_manifest
    from trainer.fleet.collect import collect_feedback

    ho = tmp_path / "head-office"
    ho.mkdir()
    t = Till(tmp_path, world, store_id="BLR-7",
             feedback=FeedbackSettings(head_office=str(ho), outbox=str(tmp_path / "outbox"), settle_s=0))
    try:
        s = t.service
        ids = _unknown(t, world, 3)
        assert s.feedback.run_once().last_error is None  # sent, unlabelled
        assert all(s.store.feedback(p)["sent_revision"] == s.store.feedback(p)["revision"] for p in ids)
        assert s.staff_unlock(PIN)
        s.staff_label_placement(ids[0], "red-ring")
        s.staff_not_a_product(ids[1])
        assert s.store.feedback(ids[1])["chooser"] == "not-a-product:staff"
        assert {v.placement_id for v in s.staff_not_recognised_today()} & set(ids) == {ids[2]}
        t.clock.advance(5)
        status = s.feedback.run_once()
        assert status.last_error is None and status.queued == 0
        assert all(s.store.feedback(p)["sent_revision"] == s.store.feedback(p)["revision"] for p in ids)
    finally:
        t.service.close()
    assert len(list((ho / "feedback" / "BLR-7" / "K1").glob("feedback-*.tar"))) == 2
    report = collect_feedback(str(ho), tmp_path / "collected", progress=False)
    assert report.skipped == [] and report.not_a_product == 1
    rows = [r for r in read_manifest(tmp_path / "collected" / "feedback.csv") if r.extra["placement_id"] == ids[0]]
    assert [(r.sku, r.extra["trust"], r.extra["chooser"]) for r in rows] == [("red-ring", "staff", "staff:staff")]
    with open(tmp_path / "collected" / "unlabelled.csv", newline="") as fh:
        review = {r["placement_id"] for r in csv.DictReader(fh)}
    assert ids[2] in review and ids[0] not in review and ids[1] not in review
    assert json.loads((tmp_path / "collected" / "report.json").read_text())["not_a_product"] == 1
