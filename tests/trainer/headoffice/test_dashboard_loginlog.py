"""The sign-in log cannot be grown without limit: tries on a locked name were a line each (903 in 10 s, 0.9 GB a
day from one client); now one line per name, client and outcome a minute, the rest counted in one line."""

from __future__ import annotations

import json

import pytest

from tests.trainer.headoffice.clock import Clock
from trainer.headoffice import users as users_module

PASSWORD = "correct horse battery"


def _entries(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_flood_of_tries_on_a_locked_name_is_a_few_lines(tmp_path, monkeypatch):
    pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")
    from fastapi.testclient import TestClient

    from trainer.headoffice.dashboard import DashboardData
    from trainer.headoffice.users import Users
    from trainer.headoffice.web import create_app

    monkeypatch.setattr(users_module, "check_password", lambda pw, stored: pw == PASSWORD)  # the log, not scrypt
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    clock = Clock()
    with TestClient(create_app(DashboardData(str(tmp_path)), users, secret="s" * 64, clock=clock),
                    follow_redirects=False) as client:
        for _ in range(30):
            client.post("/login", data={"username": "meera", "password": "guess", "next": "/"})
        log = tmp_path / "headoffice-logins.jsonl"
        assert [(e["reason"], e.get("repeats")) for e in _entries(log)] == [("wrong", None), ("locked", None)]
        clock.now += 61
        client.post("/login", data={"username": "meera", "password": "guess", "next": "/"})
        after_a_minute = _entries(log)
        assert len(after_a_minute) == 5  # + the two minutes' counts + the new minute's first try
        assert sum(e.get("repeats", 1) for e in after_a_minute) == 31  # every try counted
        client.post("/login", data={"username": "meera", "password": "guess", "next": "/"})
    assert _entries(log)[-1]["repeats"] == 1  # written at shutdown
    assert log.stat().st_size < 1500


def test_many_names_from_one_client_are_counted_under_one(tmp_path):
    from trainer.headoffice import web

    clock = Clock()
    log = web.LoginLog(tmp_path / "log.jsonl", clock=clock)
    for n in range(500):
        log.record(f"name-{n}", False, "wrong", "203.0.113.66")
    log.record("meera", False, "wrong", "10.1.2.3")  # another client: its own line
    entries = _entries(tmp_path / "log.jsonl")
    assert len(entries) == web.LOG_NAMES_PER_CLIENT + 2 and entries[-2]["user"] == "*"
    log.close()
    last = _entries(tmp_path / "log.jsonl")[-1]
    assert (last["user"], last["client"], last["repeats"]) == ("*", "203.0.113.66", 500 - 21)


def test_the_minutes_counted_at_once_are_bounded(tmp_path, monkeypatch):
    from trainer.headoffice import web

    monkeypatch.setattr(web, "LOG_MAX_OPEN", 10)
    log = web.LoginLog(tmp_path / "log.jsonl", clock=Clock())
    for n in range(50):
        for _ in range(3):
            log.record("meera", False, "locked", f"198.51.100.{n}")
    assert len(log._open) == 10 and sum(log._names.values()) == 10
    log.close()
    entries = _entries(tmp_path / "log.jsonl")
    assert sum(e.get("repeats", 1) for e in entries) == 150 and len(entries) == 100
