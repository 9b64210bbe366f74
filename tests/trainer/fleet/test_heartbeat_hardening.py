"""checkout fleet status against heartbeats that are wrong, hostile or not files at all: each is named with its path
and reason (never dropped, never a traceback), the table keeps one row per kiosk, the clock ahead is not fresh."""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from kiosk.cli import main as checkout
from kiosk.errors import DataError
from kiosk.exchange.heartbeat import read_heartbeat
from tests.trainer.fleet.stores import AGO, NOW, put_heartbeat
from trainer.fleet.status import fleet_status, format_table

K1 = "heartbeats/BLR-0042/K1.json"


def two_kiosks(ho: Path) -> None:
    put_heartbeat(ho, "BLR-0042", "K1", at=NOW - AGO(minutes=3), version=12, placements=800, labelled=780,
                  corrected=39, corrections=6)
    put_heartbeat(ho, "MYS-0003", "K1", at=NOW - AGO(minutes=4), version=11, placements=400, labelled=400,
                  corrected=80)


def mangle(ho: Path, change, key: str = K1) -> None:
    """Rewrite ``key``'s heartbeat: ``change(doc)`` edits it in place, or returns the JSON text to write."""
    path = ho / key
    doc = json.loads(path.read_text())
    text = change(doc)
    path.write_text(text if isinstance(text, str) else json.dumps(doc))


def put(section: str, key: str, value):
    def change(doc):
        (doc[section] if section else doc)[key] = value
    return change


def raw(section: str, key: str, text: str):
    return lambda doc: json.dumps(put(section, key, "@@")(doc) or doc).replace('"@@"', text)


def status(ho: Path):
    rows, problems = fleet_status(str(ho), now=NOW)
    format_table(rows, problems)  # never a traceback either
    return [f"{r.store}/{r.kiosk}" for r in rows], {p["heartbeat"]: p["reason"] for p in problems}


BAD = {
    "placements-negative": (put("counts", "placements", -5), "counts.placements -5 is not a count"),
    "corrected-negative": (put("counts", "corrected", -50), "counts.corrected -50 is not a count"),
    "corrected-over-labelled": (put("counts", "corrected", 10**6), "counts.corrected (1000000) is more than"),
    "corrected-400-digits": (raw("counts", "corrected", "1" + "0" * 400), "beyond ±2**53"),
    "window-days-string": (put("counts", "window_days", "7"), "counts.window_days \"7\" is not a count"),
    "queued-float": (put("outbox", "queued", 2.5), "outbox.queued 2.5 is not a count"),
    "dropped-bool": (put("outbox", "dropped", True), "outbox.dropped true is not a count"),
    "last-error-dict": (put("", "last_error", {"code": 5}), "last_error is dict, not text"),
    "last-error-list": (put("", "last_error", ["a"]), "last_error is list, not text"),
    "last-error-number": (put("", "last_error", 5), "last_error is int, not text"),
    "outbox-error-number": (put("outbox", "last_error", 5), "outbox.last_error is int, not text"),
    "state-number": (put("update", "state", 5), "update.state is int, not text"),
    "state-list": (put("update", "state", ["idle"]), "update.state is list, not text"),
    "version-text": (put("model", "version", "three"), "model.version \"three\" is not a version"),
    "offered-dict": (put("update", "available_version", {"v": 4}), "update.available_version {\"v\": 4} is not"),
    "at-words": (put("", "at", "yesterday"), "at 'yesterday' is not an ISO-8601 time"),
    "at-no-zone": (put("", "at", "2026-12-01T10:00:00"), "has no time zone"),
    "at-out-of-range": (put("", "at", "9999-12-31T23:59:59-12:00"), "is out of range"),
    "kiosk-id-newline": (put("", "kiosk_id", "K1\nMYS-0003  K9  v9"), "kiosk_id 'K1\\nMYS-0003"),
    "store-id-space": (put("", "store_id", "BLR 0042"), "store_id 'BLR 0042' is not an id"),
    "sales-list": (put("", "sales", [37]), "sales is not a table"),
    "sales-count-negative": (put("", "sales", {"day": "2026-12-01", "count": -1, "total_paise": 0}),
                             "sales.count -1 is not a count"),
    "sales-total-float": (put("", "sales", {"day": "2026-12-01", "count": 1, "total_paise": 1.5}),
                          "sales.total_paise 1.5 is not a count"),
    "sales-day-words": (put("", "sales", {"day": "today", "count": 1, "total_paise": 100}),
                        "sales.day 'today' is not a date"),
    "sales-day-time": (put("", "sales", {"day": "2026-12-01T10:00", "count": 1, "total_paise": 100}),
                       "is not a date"),
    "sales-day-number": (put("", "sales", {"day": 5, "count": 1, "total_paise": 100}), "sales.day is int, not text"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_field_status_relies_on_that_is_wrong_is_named(tmp_path, case):
    ho = tmp_path / "ho"
    two_kiosks(ho)
    change, reason = BAD[case]
    mangle(ho, change)
    listed, problems = status(ho)
    assert listed == ["MYS-0003/K1"] and list(problems) == [K1]
    assert reason in problems[K1]
    with pytest.raises(DataError, match="^x.json: "):
        read_heartbeat((ho / K1).read_bytes(), "x.json")


def test_a_heartbeat_under_another_kiosks_path(tmp_path):
    ho = tmp_path / "ho"
    two_kiosks(ho)
    mangle(ho, put("", "store_id", "MYS-0003"))
    listed, problems = status(ho)
    assert listed == ["MYS-0003/K1"]  # once, and BLR-0042/K1 is named, not gone
    assert "names kiosk MYS-0003/K1 (whose heartbeat is heartbeats/MYS-0003/K1.json)" in problems[K1]


def test_an_empty_store_id_and_nulls_the_format_allows(tmp_path):
    ho = tmp_path / "ho"
    put_heartbeat(ho, "", "K1", at=NOW - AGO(minutes=1), version=1, placements=0, labelled=0, corrected=0)
    mangle(ho, lambda d: d["counts"].update(placements=None) or d["model"].update(version=None),
           "heartbeats/-/K1.json")
    rows, problems = fleet_status(str(ho), now=NOW)
    assert problems == [] and [(r.store, r.kiosk, r.placements, r.model_version) for r in rows] == [("", "K1", 0, None)]


def test_a_clock_ahead_is_shown_and_not_fresh(tmp_path):
    ho = tmp_path / "ho"
    two_kiosks(ho)
    mangle(ho, put("", "at", "2099-01-01T00:00:00Z"))
    put_heartbeat(ho, "BLR-0042", "K2", at=NOW + AGO(seconds=30), version=12, placements=1, labelled=1, corrected=0)
    rows, problems = fleet_status(str(ho), now=NOW)
    assert [(r.kiosk, r.stale, r.clock_ahead) for r in rows] == [("K1", True, True), ("K2", False, False),
                                                                  ("K1", False, False)]
    lines = format_table(rows, problems).splitlines()
    assert "clock ahead by" in lines[1] and "STALE" in lines[1] and "0 s ago" in lines[2]
    assert "3 kiosk(s), 1 stale (1 with the clock ahead)" in lines[4]


def test_any_accepted_text_stays_on_its_kiosks_row(tmp_path):
    ho = tmp_path / "ho"
    two_kiosks(ho)
    mangle(ho, lambda d: d.update(last_error="line 1\nMYS-0003  K9  v9\r\u2028\u202eevil\x1b[31m",
                                  update={**d["update"], "state": "idle\nK9"}))
    (ho / "heartbeats" / "MYS-0003" / "K\udcff\n.json").write_text("{}")  # a file name that is not UTF-8
    rows, problems = fleet_status(str(ho), now=NOW)
    text = format_table(rows, problems)
    text.encode("utf-8")  # printable
    lines = text.splitlines()
    assert len(lines) == 5 and lines[0].startswith("STORE") and lines[3].startswith("2 kiosk(s)")
    assert "idle\\u000aK9" in lines[1]  # the one shared escape (kiosk.exchange.display): JSON's \\uXXXX
    assert "line 1\\u000aMYS-0003  K9  v9\\u000d\\u2028\\u202eevil\\u001b[31m" in lines[1]
    assert lines[4].startswith("unreadable heartbeat heartbeats/MYS-0003/K\\udcff\\u000a.json: ")
    json.dumps(problems).encode("utf-8")


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, /dev/zero")
def test_what_is_not_a_heartbeat_file_is_reported_not_read(tmp_path):
    ho = tmp_path / "ho"
    two_kiosks(ho)
    folder = ho / "heartbeats" / "BLR-0042"
    (folder / "K1.json").unlink()
    (folder / "K1.json").mkdir()
    os.mkfifo(folder / "K2.json")
    (folder / "K3.json").symlink_to("/dev/zero")
    (folder / "K4.json").symlink_to(ho / "heartbeats" / "MYS-0003" / "K1.json")
    (folder / "K5.JSON").write_text("{}")
    (ho / "heartbeats" / "K6.json").write_text("{}")
    (folder / ".K7.json.abc.tmp").write_text("{")  # an upload in progress: not a problem
    signal.alarm(20)  # a FIFO opened would block for ever
    try:
        listed, problems = status(ho)
    finally:
        signal.alarm(0)
    assert listed == ["MYS-0003/K1"]
    assert problems == {K1: "a folder, not a heartbeat file (not read)",
                        "heartbeats/BLR-0042/K2.json": "a named pipe (FIFO), not a heartbeat file (not read)",
                        "heartbeats/BLR-0042/K3.json": "a symbolic link, not a heartbeat file (not read)",
                        "heartbeats/BLR-0042/K4.json": "a symbolic link, not a heartbeat file (not read)",
                        "heartbeats/BLR-0042/K5.JSON": "not named <kiosk>.json (not read)",
                        "heartbeats/K6.json": "a file, not a store folder (not read)"}


def test_heartbeats_not_a_folder_is_one_line(tmp_path, capsys):
    ho = tmp_path / "ho"
    ho.mkdir()
    (ho / "heartbeats").write_text("x")
    assert fleet_status(str(ho), now=NOW) == ([], [{"heartbeat": "heartbeats", "reason": "not a folder "
                                                   "(heartbeats/<store>/<kiosk>.json expected)"}])
    for extra in ([], ["--json"]):
        assert checkout(["fleet", "status", str(ho), *extra]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and err.startswith(f"checkout: error: {ho}/heartbeats: not a folder")


def test_the_command_never_a_traceback(tmp_path, capsys):
    ho = tmp_path / "ho"
    two_kiosks(ho)
    mangle(ho, put("", "last_error", {"code": 5}))
    assert checkout(["fleet", "status", str(ho)]) == 0
    assert f"unreadable heartbeat {K1}: last_error is dict" in capsys.readouterr().out
    assert checkout(["fleet", "status", str(ho), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [k["store"] for k in doc["kiosks"]] == ["MYS-0003"] and doc["unreadable"][0]["heartbeat"] == K1


def test_the_dashboard_shows_what_it_cannot_read(tmp_path):
    pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")
    from fastapi.testclient import TestClient

    from trainer.headoffice.dashboard import DashboardData
    from trainer.headoffice.users import Users
    from trainer.headoffice.web import create_app

    ho = tmp_path / "ho"
    two_kiosks(ho)
    mangle(ho, put("update", "state", ["idle"]))
    ahead = (datetime.now(timezone.utc) + timedelta(days=3650)).strftime("%Y-%m-%dT%H:%M:%SZ")  # the page's real clock
    mangle(ho, put("", "at", ahead), "heartbeats/MYS-0003/K1.json")
    os.mkfifo(ho / "heartbeats" / "MYS-0003" / "K2.json")
    users = Users(tmp_path / "users.json")
    users.add("meera", "a long enough password 1")
    client = TestClient(create_app(DashboardData(str(ho)), users, secret="s" * 64), follow_redirects=False)
    assert client.post("/login", data={"username": "meera", "password": "a long enough password 1",
                                       "next": "/"}).status_code == 303
    page = client.get("/")
    assert page.status_code == 200 and "update.state is list" in page.text and "named pipe" in page.text
    assert client.get("/api/fleet").json()["kiosks"][0]["clock_ahead"] is True
