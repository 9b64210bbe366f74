"""checkout feedback collect: all stores' batches into one manifest; broken batches named and skipped whole."""

from __future__ import annotations

import csv
import json

from kiosk.cli import main as checkout
from tests.trainer.fleet.stores import crop, put_batch, record
from trainer.data.manifest import read_manifest
from trainer.fleet.collect import collect_feedback, parse_since


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_stores_batches_become_one_manifest_with_provenance(tmp_path):
    ho = tmp_path / "ho"
    put_batch(ho, "BLR-1", "K1", [record("p1", "lemon", "shopper", rank=2), record("p2", "banana", "auto"),
                                  record("p3", None, "none")], {"p1": crop(1), "p2": crop(2), "p3": crop(3)})
    put_batch(ho, "BLR-2", "K9", [record("p1", "granny-smith", "staff")], {"p1": crop(4)})  # same id, other kiosk
    # p2 corrected by staff after the kiosk first sent it: the newer revision wins
    put_batch(ho, "BLR-1", "K1", [record("p2", "lemon", "staff", revision=3)], {"p2": crop(2)})
    report = collect_feedback(str(ho), tmp_path / "out", progress=False)
    assert report.batches == 3 and report.skipped == [] and report.records == 4 and report.superseded == 1
    rows = {(r.extra["store"], r.extra["placement_id"]): r for r in read_manifest(tmp_path / "out" / "feedback.csv")}
    assert sorted(rows) == [("BLR-1", "p1"), ("BLR-1", "p2"), ("BLR-2", "p1")]
    p1 = rows[("BLR-1", "p1")]
    assert (p1.sku, p1.source, p1.extra["trust"], p1.extra["suggestion_rank"], p1.extra["predicted"],
            p1.extra["bundle_version"], p1.extra["grams"], p1.extra["chooser"], p1.extra["kiosk"]) == \
        ("lemon", "feedback", "shopper", "2", "banana", "7", "500", "shopper", "K1")
    assert p1.path.read_bytes() == crop(1) and p1.path.parent.name == "K1"
    assert rows[("BLR-1", "p2")].sku == "lemon" and rows[("BLR-1", "p2")].extra["trust"] == "staff"
    (unlabelled,) = read_rows(tmp_path / "out" / "unlabelled.csv")
    assert (unlabelled["placement_id"], unlabelled["chooser"]) == ("p3", "removed")
    assert report.by_trust == {"shopper": 1, "staff": 2}
    again = collect_feedback(str(ho), tmp_path / "out", progress=False)  # idempotent
    assert again.rows == 3 and (tmp_path / "out" / "feedback.csv").read_text().count("\n") == 4


def test_a_corrupt_or_partial_batch_is_named_and_never_merged_half(tmp_path):
    ho = tmp_path / "ho"
    good = put_batch(ho, "S", "K1", [record("a", "lemon", "staff")], {"a": crop(1)})
    partial = put_batch(ho, "S", "K1", [record("b", "banana", "staff"), record("c", "lemon", "staff")],
                        {"b": crop(2), "c": crop(3)})
    partial.write_bytes(partial.read_bytes()[:-4000])  # cut short on the way
    corrupt = put_batch(ho, "S", "K2", [record("d", "lemon", "staff")], {"d": crop(4)})
    data = bytearray(corrupt.read_bytes())
    data[600] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    (ho / "feedback" / "S" / "K1" / ".feedback-upload.tar.1234.tmp").write_bytes(b"half")  # an upload in progress
    report = collect_feedback(str(ho), tmp_path / "out", progress=False)
    skipped = {s["batch"]: s["reason"] for s in report.skipped}
    assert set(skipped) == {partial.relative_to(ho).as_posix(), corrupt.relative_to(ho).as_posix()}
    assert all("does not match its name" in r for r in skipped.values())
    assert [r.extra["placement_id"] for r in read_manifest(tmp_path / "out" / "feedback.csv")] == ["a"]
    assert good.relative_to(ho).as_posix() not in skipped and "skipped feedback/S/K1/" in report.summary()


def test_unknown_skus_are_named_with_their_batch(tmp_path, demo_catalog_db):
    ho = tmp_path / "ho"
    batch = put_batch(ho, "S", "K1", [record("a", "lemon", "staff"), record("b", "dragonfruit-xl", "shopper")],
                      {"a": crop(1), "b": crop(2)})
    report = collect_feedback(str(ho), tmp_path / "out", catalog=demo_catalog_db, progress=False)
    assert report.unknown_skus == {batch.relative_to(ho).as_posix(): ["dragonfruit-xl"]}
    assert [r.sku for r in read_manifest(tmp_path / "out" / "feedback.csv")] == ["lemon"]
    assert "unknown SKUs in feedback/S/K1/" in report.summary() and "dragonfruit-xl" in report.summary()


def test_duplicates_within_the_feedback_and_against_the_training_manifest(tmp_path):
    ho = tmp_path / "ho"
    put_batch(ho, "S", "K1", [record("a", "lemon", "shopper"), record("b", "banana", "staff"),
                              record("c", "lemon", "auto"), record("d", "banana", "staff")],
              {"a": crop(1), "b": crop(1), "c": crop(5), "d": crop(6)})  # a and b: the same crop
    base = tmp_path / "base"
    base.mkdir()
    (base / "x.jpg").write_bytes(crop(5))  # c is a photo head office already trains on
    (base / "train.csv").write_text("path,sku\nx.jpg,lemon\n")
    report = collect_feedback(str(ho), tmp_path / "out", against=[base / "train.csv"], progress=False)
    kept = {r.extra["placement_id"]: r.sku for r in read_manifest(tmp_path / "out" / "feedback.csv")}
    assert kept == {"b": "banana", "d": "banana"}  # of a/b the staff label stays; c was trained on already
    kinds = sorted(d["kind"] for d in report.duplicates)
    assert kinds == ["against", "within"]


def test_since_and_the_command_line(tmp_path, capsys):
    ho = tmp_path / "ho"
    put_batch(ho, "S", "K1", [record("old", "lemon", "staff", when="2026-11-01T10:00:00+05:30"),
                              record("new", "banana", "staff", when="2026-12-01T10:00:00+05:30")],
              {"old": crop(1), "new": crop(2)})
    assert parse_since("2026-11-15").year == 2026
    assert checkout(["feedback", "collect", str(ho), "--out", str(tmp_path / "out"), "--since", "2026-11-15",
                     "--no-cache", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["before_since"] == 1 and report["rows"] == 1
    assert checkout(["feedback", "collect", str(ho), "--out", str(tmp_path / "o2"), "--since", "yesterday"]) == 2
