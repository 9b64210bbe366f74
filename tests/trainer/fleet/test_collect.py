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


def _rename_to_its_hash(path):
    """A batch altered inside and renamed after its new bytes: the name check passes, the member check must not."""
    import hashlib

    data = bytearray(path.read_bytes())
    data[data.find(b"\xff\xd8") + 300] ^= 0xFF  # a byte of its photo
    path.unlink()
    renamed = path.parent / f"feedback-{hashlib.sha256(bytes(data)).hexdigest()}.tar"
    renamed.write_bytes(bytes(data))
    return renamed


def test_bad_input_is_one_line_each_and_nothing_collected_is_lost(tmp_path, demo_catalog_db, capsys):
    from trainer.headoffice.audit_status import enroll_key

    ho, out, keys = tmp_path / "ho", tmp_path / "out", tmp_path / "keys"
    for kiosk in ("K1", "K2"):
        enroll_key(keys, "S", kiosk, "ab" * 32)
    first = [record("a", "lemon", "staff"), record("b", "banana", "shopper")]
    put_batch(ho, "S", "K1", first, {"a": crop(1), "b": crop(2)})
    argv = ["feedback", "collect", str(ho), "--out", str(out), "--catalog", str(demo_catalog_db), "--kiosks",
            str(keys), "--no-cache", "--workers", "1"]
    assert checkout(argv) == 0 and len(read_manifest(out / "feedback.csv")) == 2
    capsys.readouterr()
    bad_hash = _rename_to_its_hash(put_batch(ho, "S", "K1", [record("x", "lemon", "staff")], {"x": crop(3)}))
    cut = put_batch(ho, "S", "K2", [record("t", "lemon", "staff"), record("u", "dragonfruit-xl", "staff")],
                    {"t": crop(4)[:-400], "u": crop(5)})  # a crop cut short before the kiosk packed it
    rogue = put_batch(ho, "S", "K9", [record("r", "lemon", "staff")], {"r": crop(6)})  # no K9 enrolled
    put_batch(ho, "S", "K1", [*first, record("c", "lime", "staff")], {"a": crop(1), "b": crop(2), "c": crop(7)})
    assert checkout(argv) == 0
    text = capsys.readouterr().out
    assert {(r.extra["kiosk"], r.extra["placement_id"], r.sku) for r in read_manifest(out / "feedback.csv")} == {
        ("K1", "a", "lemon"), ("K1", "b", "banana"), ("K1", "c", "lime")}  # what was collected is all there
    lines = text.splitlines()

    def line(start):
        (found,) = [x for x in lines if x.startswith(start)]
        return found

    assert line(f"  skipped {bad_hash.relative_to(ho).as_posix()}: ").endswith(
        "images/x.jpg does not match its hash in batch.json")
    assert line(f"  skipped {rogue.relative_to(ho).as_posix()}: ").endswith(
        "kiosk S/K9 is not enrolled (no S/K9.key in --kiosks): not read")
    assert line(f"  unknown SKUs in {cut.relative_to(ho).as_posix()}: ") == \
        f"  unknown SKUs in {cut.relative_to(ho).as_posix()}: dragonfruit-xl"
    assert line("  unreadable images/S/K2/t.jpg ").startswith(
        f"  unreadable images/S/K2/t.jpg (batch {cut.relative_to(ho).as_posix()}): JPEG without end-of-image marker")
    assert "2 sent again" in lines[0] and lines[0].startswith("5 batch(es) read")
    assert not any("not checked" in x for x in lines)  # catalog and kiosks were both checked
    with open(out / "unlabelled.csv", newline="") as fh:
        review = {r["placement_id"]: r["reason"] for r in csv.DictReader(fh)}
    assert review["u"] == "SKU dragonfruit-xl is not in the catalog"
    assert review["t"].startswith("unreadable crop: JPEG without end-of-image marker") and set(review) == {"t", "u"}
    written = {n: (out / n).read_bytes() for n in ("feedback.csv", "unlabelled.csv", "report.json")}
    assert checkout(argv) == 0  # collected again: the same output, byte for byte
    assert {n: (out / n).read_bytes() for n in written} == written


def test_kiosks_folder_that_is_not_a_registry_is_one_line(tmp_path, capsys):
    ho = tmp_path / "ho"
    put_batch(ho, "S", "K1", [record("a", "lemon", "staff")], {"a": crop(1)})
    (tmp_path / "empty").mkdir()
    for folder, says in ((tmp_path / "nowhere", "no such folder"), (tmp_path / "empty", "no enrolled kiosk there")):
        assert checkout(["feedback", "collect", str(ho), "--out", str(tmp_path / "out"), "--kiosks", str(folder),
                         "--no-cache"]) == 2
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_one_placement_sent_twice_at_one_revision_with_two_labels_is_settled_or_left_for_review(tmp_path):
    ho = tmp_path / "ho"
    put_batch(ho, "S", "K3", [record("x", "lemon", "staff"), record("y", "banana", "auto")],
              {"x": crop(1), "y": crop(2)})
    put_batch(ho, "S", "K3", [record("x", "banana", "staff"), record("y", "lime", "staff")],
              {"x": crop(1), "y": crop(2)})
    report = collect_feedback(str(ho), tmp_path / "out", progress=False, workers=1)
    assert [(r.extra["placement_id"], r.sku) for r in read_manifest(tmp_path / "out" / "feedback.csv")] == [
        ("y", "lime")]  # of one revision and time the most trusted label
    assert report.records == 2 and report.superseded == 0 and report.unlabelled == 1
    kept = {c["placement"][2]: c["kept"] for c in report.conflicts}
    assert kept == {"x": None, "y": "lime"}
    (row,) = read_rows(tmp_path / "out" / "unlabelled.csv")
    assert row["placement_id"] == "x" and "labels of equal trust at the same time" in row["reason"]
    assert "conflicting labels: S/K3/x revision 1 sent with labels of equal trust" in report.summary()
