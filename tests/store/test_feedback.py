"""Feedback rows in the kiosk's SQLite: one per placement, kept up to date in the same transaction as its line."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.domain.cart import CartLine
from kiosk.store import LineProvenance, SalesStore

IST = timezone(timedelta(hours=5, minutes=30))


class Clock:
    def __init__(self):
        self.t = datetime(2026, 12, 1, 10, 0, tzinfo=IST)

    def __call__(self):
        self.t += timedelta(seconds=1)
        return self.t


@pytest.fixture
def store(tmp_path):
    s = SalesStore.open(tmp_path / "sales.sqlite", kiosk_id="K7", clock=Clock())
    yield s
    s.close()


def placement(pid="p1", chooser="", shown=("oatly-oat-milk", "arla-standard-milk", "banana")):
    return LineProvenance(pid, f"/captures/{pid}.jpg", "oatly-oat-milk",
                          (("oatly-oat-milk", 0.55), ("arla-standard-milk", 0.3)), 3, 1059, chooser, shown)


def milk(sku="arla-standard-milk"):
    return CartLine.unit(sku, sku.replace("-", " "), 7200, 0)


def test_a_placement_is_recorded_unlabelled_then_labelled_by_the_line_it_becomes(store):
    store.record_placement(placement())
    row = store.feedback("p1")
    assert row["trust"] == "none" and row["label_sku"] is None and row["revision"] == 1
    assert json.loads(row["shown"]) == ["oatly-oat-milk", "arla-standard-milk", "banana"]
    line = store.add_line(milk(), placement(chooser="shopper"))
    row = store.feedback("p1")
    assert (row["line_id"], row["label_sku"], row["trust"], row["chooser"], row["suggestion_rank"],
            row["revision"]) == (line.line_id, "arla-standard-milk", "shopper", "shopper", 2, 2)
    store.record_placement(placement())  # again: nothing changes
    assert store.feedback("p1")["revision"] == 2


def test_a_staff_correction_makes_the_label_staff_confirmed_and_a_removal_untrusted(store):
    store.record_placement(placement())
    first = store.add_line(milk("oatly-oat-milk"), placement(chooser="auto"))
    assert store.feedback("p1")["trust"] == "auto"
    second = store.add_line(milk(), placement(chooser="staff"))  # CartKeeper.replace: the new line first …
    store.void_line(first.line_id, by="ann")  # … then the old one voided: the record stays with the new line
    row = store.feedback("p1")
    assert (row["label_sku"], row["trust"], row["line_id"], row["suggestion_rank"]) == \
        ("arla-standard-milk", "staff", second.line_id, None)
    store.remove_line(second.line_id, by="shopper")
    row = store.feedback("p1")
    assert (row["trust"], row["chooser"], row["line_id"]) == ("none", "removed", None)
    assert store.set_placement_outcome("p1", "unknown") and store.feedback("p1")["chooser"] == "unknown"


def test_the_feedback_row_goes_with_its_line_or_not_at_all(store, monkeypatch):
    store.record_placement(placement())

    def broken(*a, **kw):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(store, "_feedback_line", broken)
    with pytest.raises(RuntimeError):
        store.add_line(milk(), placement(chooser="shopper"))
    assert not store.open_cart().lines  # the line went with it
    assert store.feedback("p1")["trust"] == "none"


def test_a_line_without_a_recorded_placement_still_gets_its_row(store, tmp_path):
    photo = tmp_path / "p9.jpg"
    photo.write_bytes(b"x" * 1234)
    store.add_line(milk(), LineProvenance("p9", str(photo), "banana", (("banana", 0.9),), 3, None, "search"))
    row = store.feedback("p9")
    assert (row["trust"], row["label_sku"], row["image_bytes"], row["suggestion_rank"]) == \
        ("shopper", "arla-standard-milk", 1234, None)


def test_ready_rows_are_packed_once_and_sent_again_only_when_they_change(store):
    store.record_placement(placement("p1"))
    store.add_line(milk(), placement("p1", chooser="shopper"))
    store.record_placement(placement("p2"))
    now = int(store._clock().timestamp())
    assert store.ready_feedback(now - 3600) == []  # an open cart's rows wait to settle
    ready = store.ready_feedback(now + 10)
    assert [r["placement_id"] for r in ready] == ["p1", "p2"]
    p1 = ready[0]
    assert (p1["label"], p1["trust"], p1["suggestion_rank"], p1["paid"], p1["image"]) == \
        ("arla-standard-milk", "shopper", 2, False, "images/p1.jpg")
    assert ready[1]["label"] is None and ready[1]["trust"] == "none"
    seq = store.begin_pack(ready)
    assert store.ready_feedback(now + 10) == [] and store.open_packs() == [(seq, json.loads(json.dumps(ready)))]
    store.finish_pack(seq)
    assert store.open_packs() == []
    cart = store.open_cart()
    store.pay(cart.cart_id)  # a closed sale's rows are ready at once; p1 changed? no: nothing to send
    assert store.ready_feedback(0) == []
    store.set_placement_outcome("p2", "unknown")  # p2 changed after it was sent: its new revision goes
    (again,) = store.ready_feedback(now + 10)
    assert (again["placement_id"], again["revision"], again["chooser"]) == ("p2", 2, "unknown")


def test_counts_for_the_heartbeat(store):
    store.record_placement(placement("p1"))
    store.add_line(milk(), placement("p1", chooser="shopper"))  # corrected: label != top-1
    store.record_placement(placement("p2"))
    store.add_line(milk("oatly-oat-milk"), placement("p2", chooser="auto"))
    store.record_placement(placement("p3"))
    store.record_correction("oatly-oat-milk", "arla-standard-milk", "", "ann")
    counts = store.feedback_counts(0)
    assert counts == {"staff": 0, "barcode": 0, "shopper": 1, "auto": 1, "unlabelled": 1, "placements": 3,
                      "labelled": 2, "corrected": 1, "corrections": 1}
