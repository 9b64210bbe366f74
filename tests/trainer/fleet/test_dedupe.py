"""feedback collect's duplicates are one photo sent twice, not two photos whose grey pHash is alike.

Before: pHash within 4 bits was a duplicate. Two products of one shape and brightness in one place on a tray, one
product put down twice, two cartons of one shape with different labels -- five labelled photos -- came out as two
rows (the lime's, the second lemon's and the red carton's labels lost), and a label conflict on one photo was
settled without a word.
"""

from __future__ import annotations

import csv

from tests.trainer.fleet.stores import put_batch, record
from tests.trainer.tray_scenes import BLUE_LABEL, LEMON, LIME, RED_LABEL, carton, copy_of, fruit, jpeg, phash_distance
from trainer.data.manifest import read_manifest
from trainer.fleet.collect import collect_feedback

LEMON_JPG = jpeg(fruit(LEMON, seed=1))
LIME_JPG = jpeg(fruit(LIME, seed=2))
LEMON_AGAIN = jpeg(fruit(LEMON, seed=4, centre=(114, 98), angle=5))  # the lemon put down again, a little off
LIME_AT_K2 = jpeg(fruit(LIME, seed=3, centre=(114, 98), angle=5))  # a lime on another kiosk's tray
BLUE_MILK, RED_MILK = jpeg(carton(BLUE_LABEL, seed=1)), jpeg(carton(RED_LABEL, seed=2))
LATER = "2026-12-01T11:00:00+05:30"


def rows(out):
    return {(r.extra["kiosk"], r.extra["placement_id"]): r.sku for r in read_manifest(out / "feedback.csv")}


def test_photos_that_only_hash_alike_are_all_kept(tmp_path):
    # the premise: each pair is a near-duplicate to a pHash, as `checkout data check` measures it
    assert max(phash_distance(LEMON_JPG, LIME_JPG), phash_distance(LEMON_JPG, LEMON_AGAIN),
               phash_distance(BLUE_MILK, RED_MILK), phash_distance(LIME_JPG, LIME_AT_K2)) <= 4
    ho = tmp_path / "ho"
    put_batch(ho, "S", "K1", [record("p1", "lemon", "staff"), record("p2", "lime", "shopper"),
                              record("p3", "lemon", "auto"), record("m1", "arla-milk", "staff"),
                              record("m2", "valio-milk", "shopper")],
              {"p1": LEMON_JPG, "p2": LIME_JPG, "p3": LEMON_AGAIN, "m1": BLUE_MILK, "m2": RED_MILK})
    put_batch(ho, "S", "K2", [record("q1", "lime", "staff")], {"q1": LIME_AT_K2})
    report = collect_feedback(str(ho), tmp_path / "out", progress=False, workers=1)
    assert rows(tmp_path / "out") == {("K1", "p1"): "lemon", ("K1", "p2"): "lime", ("K1", "p3"): "lemon",
                                      ("K1", "m1"): "arla-milk", ("K1", "m2"): "valio-milk", ("K2", "q1"): "lime"}
    assert report.duplicates == [] and report.conflicts == []
    # one kiosk's placements are two photos unless their bytes are the same; K2's lime is no copy of K1's photos
    assert report.kept_as_two["one kiosk's two photos"] >= 4 and report.kept_as_two["pixels differ"] >= 2
    assert "0 duplicate(s) merged into one row" in report.summary()
    assert "kept as two photos (" in report.summary() and "pixels differ" in report.summary()


def test_one_photo_sent_twice_is_one_row_and_a_label_conflict_is_settled_by_the_rule_and_named(tmp_path):
    ho = tmp_path / "ho"
    # the till guessed banana for the lemon at K1; a copy of that photo reached K2 where staff labelled it lemon
    put_batch(ho, "S", "K1", [record("p1", "banana", "auto"), record("m1", "arla-milk", "staff"),
                              record("r1", "valio-milk", "shopper")],
              {"p1": LEMON_JPG, "m1": BLUE_MILK, "r1": RED_MILK})
    put_batch(ho, "S", "K2", [record("q1", "lemon", "staff", when=LATER),
                              record("n1", "valio-milk", "staff", when=LATER),  # a later staff correction
                              record("r1", "valio-milk", "shopper")],  # the very same bytes, the same label
              {"q1": copy_of(LEMON_JPG), "n1": copy_of(BLUE_MILK), "r1": RED_MILK})
    report = collect_feedback(str(ho), tmp_path / "out", progress=False, workers=1)
    assert rows(tmp_path / "out") == {("K2", "q1"): "lemon", ("K2", "n1"): "valio-milk", ("K1", "r1"): "valio-milk"}
    why = {d["path"].rsplit("/images/", 1)[1]: d["why"] for d in report.duplicates}
    assert why["S/K2/r1.jpg"] == "same bytes (sha256)"
    assert why["S/K1/p1.jpg"].startswith("one photo re-encoded: pHash distance")
    assert why["S/K1/m1.jpg"].startswith("one photo re-encoded: pHash distance")
    assert sorted((c["kept"], tuple(c["labels"])) for c in report.conflicts) == [
        ("lemon", ("banana", "lemon")), ("valio-milk", ("arla-milk", "valio-milk"))]
    text = report.summary()
    assert "3 duplicate(s) merged into one row (1 same bytes, 2 one photo re-encoded)" in text
    assert "conflicting labels: one photo: kept lemon (staff, 2026-12-01T11:00:00+05:30, S/K2/q1) over banana " \
           "(auto, 2026-12-01T10:00:00+05:30, S/K1/p1) (most trusted label, then the latest (updated_at))" in text
    assert "kept valio-milk (staff, 2026-12-01T11:00:00+05:30, S/K2/n1) over arla-milk (staff" in text


def test_one_photo_with_two_labels_of_equal_trust_and_time_is_left_for_review(tmp_path):
    ho = tmp_path / "ho"
    put_batch(ho, "S", "K1", [record("p1", "lime", "staff")], {"p1": LIME_JPG})
    put_batch(ho, "S", "K3", [record("s1", "lemon", "staff")], {"s1": copy_of(LIME_JPG)})
    report = collect_feedback(str(ho), tmp_path / "out", progress=False, workers=1)
    assert rows(tmp_path / "out") == {} and report.unlabelled == 2
    (conflict,) = report.conflicts
    assert conflict["kept"] is None and "equal trust at the same time" in conflict["reason"]
    with open(tmp_path / "out" / "unlabelled.csv", newline="") as fh:
        review = {(r["kiosk"], r["label"]): r["reason"] for r in csv.DictReader(fh)}
    assert set(review) == {("K1", "lime"), ("K3", "lemon")}
    assert all(r.startswith("one photo with labels of equal trust at the same time") for r in review.values())


def test_a_copy_of_a_photo_already_trained_on_is_left_out_and_a_different_label_is_named(tmp_path):
    ho, base = tmp_path / "ho", tmp_path / "base"
    base.mkdir()
    (base / "milk.jpg").write_bytes(copy_of(BLUE_MILK, (160, 160), 80))
    (base / "lime.jpg").write_bytes(LIME_JPG)  # near the lemon below in pHash, another product
    (base / "train.csv").write_text("path,sku\nmilk.jpg,valio-milk\nlime.jpg,lime\n")
    put_batch(ho, "S", "K1", [record("m1", "arla-milk", "staff"), record("p1", "lemon", "staff")],
              {"m1": BLUE_MILK, "p1": LEMON_JPG})
    report = collect_feedback(str(ho), tmp_path / "out", against=[base / "train.csv"], progress=False, workers=1)
    assert rows(tmp_path / "out") == {("K1", "p1"): "lemon"}
    (dup,) = report.duplicates
    assert (dup["kind"], dup["label"], dup["of_label"]) == ("against", "arla-milk", "valio-milk")
    (conflict,) = report.conflicts
    assert conflict["kind"] == "against" and "already trained on as valio-milk" in conflict["reason"]
    assert report.kept_as_two == {"pixels differ": 1}
    assert "1 already trained on (--against) left out" in report.summary()
