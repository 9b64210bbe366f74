"""checkout feedback collect takes up head office's labels (DIR/labels.csv): a SKU label joins feedback.csv as staff
trust and leaves unlabelled.csv, not-a-product leaves it and is counted; labels.csv is never written by collect."""

from __future__ import annotations

import csv

import pytest

from kiosk.cli import main as checkout
from kiosk.errors import DataError
from tests.trainer.fleet.stores import crop, put_batch, record
from trainer.data.manifest import read_manifest
from trainer.fleet import labels as ho_labels
from trainer.fleet.collect import collect_feedback


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def unlabelled(out) -> list[str]:
    return [r["placement_id"] for r in read_rows(out / "unlabelled.csv")]


def stores(tmp_path):
    """Head office after one collect: p2, p3 (with crops) and p4 (none) not recognised, for review."""
    ho, out = tmp_path / "ho", tmp_path / "out"
    put_batch(ho, "S", "K1", [record("p1", "lemon", "staff"), record("p2", None, "none", predicted="lemon"),
                              record("p3", None, "none"), record("p4", None, "none", image=False)],
              {"p1": crop(1), "p2": crop(2), "p3": crop(3)})
    collect_feedback(str(ho), out, progress=False, workers=1)
    assert unlabelled(out) == ["p2", "p3", "p4"]
    return ho, out


def test_a_head_office_label_joins_the_manifest_as_staff_trust_and_leaves_review(tmp_path, capsys):
    ho, out = stores(tmp_path)
    ho_labels.set_label(out, "S", "K1", "p2", sku="avocado", user="Meera Iyer")
    ho_labels.set_label(out, "S", "K1", "p3", verdict="not-a-product", user="ravi")
    labels = (out / "labels.csv").read_bytes()
    assert checkout(["feedback", "collect", str(ho), "--out", str(out), "--no-cache", "--workers", "1"]) == 0
    assert "1 labelled at head office (source headoffice, trust staff); 1 not a product, left out" in \
        capsys.readouterr().out
    rows = {r.extra["placement_id"]: r for r in read_manifest(out / "feedback.csv")}
    p2 = rows["p2"]
    assert sorted(rows) == ["p1", "p2"] and (p2.sku, p2.source, p2.extra["trust"], p2.extra["chooser"],
                                             p2.extra["predicted"]) == ("avocado", "headoffice", "staff",
                                                                        "staff:Meera-Iyer", "lemon")
    assert p2.path.read_bytes() == crop(2)
    assert unlabelled(out) == ["p4"]
    files = {n: (out / n).read_bytes() for n in ("feedback.csv", "unlabelled.csv", "report.json")}
    again = collect_feedback(str(ho), out, progress=False, workers=1)  # a re-collect: labels.csv kept, same output
    assert (again.labelled_at_headoffice, again.not_a_product, again.by_trust) == (1, 1, {"staff": 2})
    assert {n: (out / n).read_bytes() for n in files} == files and (out / "labels.csv").read_bytes() == labels


def test_a_label_the_catalog_lacks_stays_for_review(tmp_path, demo_catalog_db):
    ho, out = stores(tmp_path)
    ho_labels.set_label(out, "S", "K1", "p2", sku="dragonfruit-xl", user="meera")  # no catalog given: taken
    report = collect_feedback(str(ho), out, progress=False, workers=1, catalog=demo_catalog_db)
    assert report.labelled_at_headoffice == 0 and unlabelled(out) == ["p2", "p3", "p4"]
    (p2,) = [r for r in read_rows(out / "unlabelled.csv") if r["placement_id"] == "p2"]
    assert p2["reason"] == "no label; head office's label dragonfruit-xl is not in the catalog"


def test_a_damaged_labels_file_stops_collect_before_it_writes(tmp_path):
    ho, out = stores(tmp_path)
    (out / "labels.csv").write_text("store,kiosk,placement_id\n")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(DataError, match=r"labels.csv line 1: the header is not"):
        collect_feedback(str(ho), out, progress=False, workers=1)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
