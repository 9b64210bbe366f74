"""checkout fleet status: three kiosks' heartbeats → versions, staleness and correction rates, text and JSON."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from kiosk.cli import main as checkout
from tests.trainer.fleet.stores import AGO, NOW, put_heartbeat
from trainer.fleet.status import fleet_status, format_table


def three_kiosks(ho, now=NOW):
    put_heartbeat(ho, "BLR-0042", "K1", at=now - AGO(minutes=3), version=12, placements=800, labelled=780,
                  corrected=39, corrections=6)
    put_heartbeat(ho, "BLR-0042", "K2", at=now - AGO(minutes=4), version=11, placements=400, labelled=400,
                  corrected=80, corrections=25, state="downloading", available=12)
    put_heartbeat(ho, "MUM-0007", "K1", at=now - AGO(hours=26), version=10, placements=0, labelled=0, corrected=0,
                  state="failed", queued=14, error="https://ho.example/feedback: unreachable (timed out)")


def test_three_kiosks_versions_staleness_and_correction_rates(tmp_path):
    ho = tmp_path / "ho"
    three_kiosks(ho)
    (ho / "heartbeats" / "MUM-0007" / "K3.json").write_text("{not json")
    rows, problems = fleet_status(str(ho), now=NOW, stale_after_s=1800)
    assert [(r.store, r.kiosk, r.model_version, r.stale) for r in rows] == [
        ("BLR-0042", "K1", 12, False), ("BLR-0042", "K2", 11, False), ("MUM-0007", "K1", 10, True)]
    assert [r.correction_rate for r in rows] == [0.05, 0.2, None]
    assert problems == [{"heartbeat": "heartbeats/MUM-0007/K3.json", "reason": problems[0]["reason"]}]
    text = format_table(rows, problems)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["STORE", "KIOSK", "MODEL", "UPDATE"]
    assert "v11" in lines[2] and "downloading (v12 offered)" in lines[2] and "20.0%" in lines[2]
    assert "5.0%" in lines[1] and "3 min ago" in lines[1] and "STALE" not in lines[1]
    assert "26.0 h ago STALE" in lines[3] and "14 waiting" in lines[3] and "unreachable" in lines[3]
    assert "3 kiosk(s), 1 stale" in text and "unreadable heartbeat heartbeats/MUM-0007/K3.json" in text


def test_the_command_text_and_json(tmp_path, capsys):
    ho = tmp_path / "ho"
    three_kiosks(ho, datetime.now(timezone.utc))
    assert checkout(["fleet", "status", str(ho), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(k["kiosk"], k["stale"]) for k in doc["kiosks"]] == [("K1", False), ("K2", False), ("K1", True)]
    assert doc["kiosks"][1]["correction_rate"] == 0.2 and doc["unreadable"] == []
    assert checkout(["fleet", "status", str(ho), "--stale-after", str(60 * 48)]) == 0
    out = capsys.readouterr().out
    assert "3 kiosk(s), 0 stale" in out and "BLR-0042" in out


def test_a_stores_sales_are_its_kiosks_on_the_newest_day(tmp_path):
    """Sales per store add up the kiosks reporting the newest day; a kiosk still on yesterday (switched off last
    night) or one that sends no sales is counted as not reporting, never added in."""
    from trainer.fleet.status import store_sales

    ho = tmp_path / "ho"
    for kiosk, at, sales in (("K1", AGO(minutes=3), ("2026-12-01", 37, 1234600)),
                             ("K2", AGO(minutes=4), ("2026-12-01", 29, 987450)),
                             ("K3", AGO(hours=14), ("2026-11-30", 80, 5000000)), ("K4", AGO(minutes=1), None)):
        put_heartbeat(ho, "BLR-0042", kiosk, at=NOW - at, version=3, placements=1, labelled=1, corrected=0,
                      sales=sales)
    put_heartbeat(ho, "MUM-0007", "K1", at=NOW, version=3, placements=1, labelled=1, corrected=0)
    rows, _problems = fleet_status(str(ho), now=NOW)
    assert store_sales(rows) == [{"store": "BLR-0042", "day": "2026-12-01", "sales": 66, "paise": 2222050,
                                  "kiosks": 2, "of": 4}]
    assert "store BLR-0042: 66 sale(s), ₹22220.50 on 2026-12-01 (2 of 4 kiosk(s) report it)" in format_table(rows, [])
