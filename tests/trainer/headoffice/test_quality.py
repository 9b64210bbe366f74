"""checkout report quality: per SKU recognitions, auto-add rate, top-1/top-3 of the final choice, corrections, time to
select, the most confused pairs and the drift alarm — from the feedback batches kiosks sent; table, --json, PNGs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.cli import main
from kiosk.exchange import batch_key, write_batch
from trainer.headoffice.quality import quality_report

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def rec(pid: str, label: str, top: list[str], chooser: str, took_s: float = 0.0, revision: int = 2, day: int = 0):
    placed = T0 + timedelta(days=day)
    return {"placement_id": pid, "revision": revision, "placed_at": placed.isoformat(),
            "updated_at": (placed + timedelta(seconds=took_s)).isoformat(), "image": "",
            "top_k": [[s, 0.5] for s in top], "recognised_sku": top[0], "model_version": 3, "grams": None,
            "chooser": chooser, "suggestion_rank": None, "label": label,
            "trust": {"search": "shopper"}.get(chooser, chooser), "line_id": None, "paid": True}


def put(root, store, kiosk, records):
    name, data = write_batch("feedback", {"kiosk_id": kiosk, "store_id": store}, records)
    path = root / batch_key("feedback", store, kiosk, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def small(tmp_path):
    put(tmp_path, "S1", "K1", [
        rec("p1", "banana", ["banana", "lemon"], "auto"),
        rec("p2", "banana", ["banana", "lemon"], "shopper", 4.0),
        rec("p3", "banana", ["lemon", "banana", "carrots"], "shopper", 8.0),  # suggestion 2
        rec("p4", "banana", ["lemon", "carrots", "cucumber"], "search", 20.0),  # not in the top 3
        rec("p5", "lemon", ["banana", "lemon"], "staff", 30.0, day=3),  # staff corrected
    ])
    put(tmp_path, "S2", "K1", [rec("q1", "lemon", ["lemon"], "auto", day=5),
                               rec("q2", "lemon", ["lemon"], "auto", revision=1, day=5)])
    # a later revision of p2 (the shopper changed their mind: another SKU) and a broken batch
    put(tmp_path, "S1", "K1", [rec("p2", "carrots", ["banana", "lemon", "carrots"], "shopper", 9.0, revision=3)])
    bad = put(tmp_path, "S1", "K1", [rec("z", "banana", ["banana"], "auto")])
    bad.write_bytes(bad.read_bytes()[:-10])
    return tmp_path


def test_the_figures_per_sku(small):
    report = quality_report(str(small)).to_dict()
    skus = {s["sku"]: s for s in report["skus"]}
    banana = skus["banana"]
    assert (banana["placements"], banana["auto_added"], banana["top1"], banana["top3"], banana["corrected"]) == (
        3, 1, 1, 2, 2)
    assert banana["select_s"] == 14.0  # median of 8 s (a tap) and 20 s (a search); auto and staff do not count
    assert skus["carrots"]["placements"] == 1 and skus["carrots"]["top3"] == 1  # p2's newest revision
    assert skus["lemon"]["placements"] == 3 and skus["lemon"]["corrected"] == 1
    assert skus["banana"]["recognised"] == 3 and skus["lemon"]["recognised"] == 4  # the model's top-1, any item
    assert report["totals"]["placements"] == 7 and round(report["totals"]["correction_rate"], 3) == round(4 / 7, 3)
    assert report["per_store"]["S2"]["placements"] == 2
    assert {(p["item"], p["model_said"], p["count"]) for p in report["confused_pairs"]} == {
        ("banana", "lemon", 2), ("carrots", "banana", 1), ("lemon", "banana", 1)}
    assert len(report["skipped"]) == 1 and "cut short or altered" in report["skipped"][0]["reason"]


def test_since_and_store_narrow_it(small):
    assert quality_report(str(small), since=T0 + timedelta(days=2)).totals["placements"] == 3
    assert quality_report(str(small), stores=["S2"]).totals["placements"] == 2


def test_the_drift_alarm_names_the_store_and_sku_that_drifted(seeded, tmp_path, capsys):
    assert main(["report", "quality", str(seeded.root), "--since", "2026-11-24", "--json",
                 "--charts", str(tmp_path / "charts")]) == 0
    doc = json.loads(capsys.readouterr().out)
    # the fleet's oat milk rose too (3.6 % -> 22 % corrections: half its placements are BLR-0042's); the store's alarm
    # says where
    assert [(a["store"], a["sku"]) for a in doc["alarms"]] == [("", "oatly-oat-milk"), ("BLR-0042", "oatly-oat-milk")]
    assert doc["confused_pairs"][0]["item"] == "oatly-oat-milk"
    pngs = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert pngs == ["confused-pairs.png", "correction-rate.png", "drift-cusum.png", "time-to-select.png"]
    assert all((tmp_path / "charts" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert main(["report", "quality", str(seeded.root), "--store", "MYS-0003"]) == 0
    out = capsys.readouterr().out
    assert "drift alarms: 0" in out and "oatly-oat-milk" in out
    assert main(["report", "quality", str(seeded.root), "--store", "BLR-0042"]) == 0
    assert "ALARM since" in capsys.readouterr().out
