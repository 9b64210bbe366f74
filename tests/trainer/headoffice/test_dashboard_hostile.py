"""What a stranger at the dashboard's port, a removed user or a damaged head-office file can do to it: bounded,
refused in one line, or shown as one row's problem — never a 500 or an unbounded table."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from kiosk.errors import UserError  # noqa: E402
from trainer.headoffice import users as users_module  # noqa: E402
from trainer.headoffice.dashboard import DashboardData  # noqa: E402
from trainer.headoffice.users import FREE_FAILURES, Users  # noqa: E402
from trainer.headoffice.web import create_app  # noqa: E402

PASSWORD = "correct horse battery"


def _client(seeded, users, *, root=None, keys=None, channel=None):
    data = DashboardData(str(root or seeded.root), str(keys or seeded.keys), str(channel or seeded.channel))
    return TestClient(create_app(data, users, secret="s" * 64), follow_redirects=False)


def _sign_in(client, name="meera", password=PASSWORD):
    return client.post("/login", data={"username": name, "password": password, "next": "/"})


def test_names_nobody_has_cannot_fill_the_servers_memory(tmp_path, monkeypatch):
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    assert users.sign_in("x" * 1_000_000, "guess") == (False, "wrong")  # not a name anyone can have: not kept
    assert users._failures == {} and users._by_name == {}
    monkeypatch.setattr(users_module, "MAX_REMEMBERED", 20)
    monkeypatch.setattr(users_module, "check_password", lambda password, stored: False)  # the bound, not scrypt
    for n in range(400):
        users.sign_in(f"stranger-{n}", "guess", f"10.0.{n // 256}.{n % 256}")
    assert len(users._failures) <= 20 and len(users._by_name) <= 20
    assert ("stranger-399", "10.0.1.143") in users._failures and "stranger-399" in users._by_name  # the newest kept


def test_wrong_passwords_sent_at_once_meet_the_same_wait(tmp_path, monkeypatch):
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    checked = []
    real = users_module.check_password

    def slow_check(password, stored):
        checked.append(password)
        time.sleep(0.05)  # every try in flight at once
        return real(password, stored)

    monkeypatch.setattr(users_module, "check_password", slow_check)
    results = []
    threads = [threading.Thread(target=lambda: results.append(users.sign_in("meera", "guess"))) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checked) == FREE_FAILURES
    assert sorted(why for _ok, why in results) == ["locked"] * (40 - FREE_FAILURES) + ["wrong"] * FREE_FAILURES


def test_a_removed_user_or_a_new_password_ends_the_session(seeded, tmp_path):
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    users.add("temp", PASSWORD)
    client = _client(seeded, users)
    assert _sign_in(client, "temp").status_code == 303 and client.get("/api/rollout").status_code == 200
    users.remove("temp")
    assert client.get("/api/rollout").status_code == 401
    assert client.get("/").headers["location"] == "/login?next=/"
    assert _sign_in(client).status_code == 303 and client.get("/").status_code == 200
    users.add("meera", "a new password, 2026")
    assert client.get("/").status_code == 303


def test_a_users_entry_without_a_hash_is_named_and_signs_nobody_in(seeded, tmp_path):
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": {"z": "nohash"}}))
    with pytest.raises(UserError, match=r"user 'z' has no password hash"):
        Users(path).names()
    r = _sign_in(_client(seeded, Users(path)), "z", "anything at all")
    assert r.status_code == 401 and "wrong user name or password" in r.text


def test_passwords_and_names_that_cannot_be_stored_are_one_line(tmp_path):
    users = Users(tmp_path / "users.json")
    with pytest.raises(UserError, match="not UTF-8 text"):
        users.add("bob", "abc\udcffdefghijk")  # a byte that is not UTF-8, as Python reads it from a pipe
    with pytest.raises(UserError, match="no spaces at either end"):
        users.add("  bob  ", PASSWORD)
    assert not (tmp_path / "users.json").exists()
    with pytest.raises(UserError, match=r"^/proc/users\.json: cannot write the users file"):
        Users("/proc/users.json").add("bob", PASSWORD)  # a folder nothing can be written in (even as root)


def test_one_bad_key_file_is_that_kiosks_problem_on_the_audit_page(seeded, tmp_path):
    keys = tmp_path / "keys"
    shutil.copytree(seeded.keys, keys)
    (keys / "BLR-0042" / "stray.key").write_text("junk\n")
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    client = _client(seeded, users, keys=keys)
    _sign_in(client)
    page = client.get("/audit")
    assert page.status_code == 200 and "its enrolled key cannot be used" in page.text
    stray = [k for k in client.get("/api/audit").json()["kiosks"] if k["kiosk"] == "stray"]
    assert stray and stray[0]["status"] == "broken"


@pytest.mark.parametrize("group", [{"archive": "bundles/v000003-x.tar", "rollout_percent": 50},
                                   {"model_version": 3, "rollout_percent": "fifty"}, "not a table"])
def test_a_channel_group_that_is_not_a_release_is_its_own_row(seeded, tmp_path, group):
    channel = tmp_path / "channel"
    shutil.copytree(seeded.channel, channel)
    index = json.loads((channel / "index.json").read_text())
    index["signed"]["groups"]["broken"] = group
    (channel / "index.json").write_text(json.dumps(index))
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    client = _client(seeded, users, channel=channel)
    _sign_in(client)
    rows = {r["group"]: r for r in client.get("/api/rollout").json()}
    assert "not a release" in rows["broken"]["error"] and rows["default"]["running"] == 2
    assert client.get("/rollout").status_code == 200


def test_the_cache_of_reports_per_store_stays_bounded(seeded, monkeypatch):
    from trainer.headoffice import dashboard

    monkeypatch.setattr(dashboard, "MAX_CACHED", 8)
    data = DashboardData(str(seeded.root))
    for n in range(30):
        data._cached(("quality", f"store-{n}", None), lambda: {})
    assert len(data._cache) <= 8 and ("quality", "store-29", None) in data._cache


def test_serve_checks_what_it_reads_before_it_listens(seeded, tmp_path, capsys):
    from kiosk.cli import main

    users = tmp_path / "users.json"
    Users(users).add("meera", PASSWORD)
    base = ["headoffice", "serve", str(seeded.root), "--users", str(users), "--port", "0"]
    (tmp_path / "short").write_text("a\n")
    cases = [(["--secret-file", str(tmp_path / "short")], "at least 32 are needed"),
             (["--keys", str(tmp_path / "no-keys")], "no such directory"),
             (["--catalog", str(tmp_path / "no.sqlite")], "catalog not found")]
    for extra, why in cases:
        assert main(base + extra) == 2
        err = capsys.readouterr().err
        assert why in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["headoffice", "serve", str(tmp_path / "nowhere"), "--users", str(users)]) == 2
    assert "no such head-office directory" in capsys.readouterr().err
    busy = socket.create_server(("127.0.0.1", 0))
    try:
        assert main(base[:-1] + [str(busy.getsockname()[1])]) == 2
        err = capsys.readouterr()
        assert "cannot serve on 127.0.0.1" in err.err and "dashboard on" not in err.out
    finally:
        busy.close()


def test_an_empty_head_office_location_is_refused(capsys):
    from kiosk.cli import main

    assert main(["report", "quality", ""]) == 2
    assert "the head-office location is empty" in capsys.readouterr().err


def test_charts_into_a_file_say_it_is_not_a_folder(seeded, tmp_path, capsys):
    from kiosk.cli import main

    (tmp_path / "afile").write_text("")
    assert main(["report", "quality", str(seeded.root), "--charts", str(tmp_path / "afile")]) == 2
    assert "--charts" in capsys.readouterr().err


@pytest.mark.parametrize(("paise", "shown"), [(-150, "-1.50"), ("-150", "-1.50"), (12000, "120.00"), ("5", "0.05"),
                                              ("12_000", "12_000"), (" 5", " 5"), ("٣", "٣"), (True, "True"),
                                              ("-0", "0.00")])
def test_rupees_take_whole_paise_of_ascii_digits_only(paise, shown):
    from trainer.fleet.status import rupees

    assert rupees(paise) == shown


def test_a_channel_archive_outside_the_channel_is_not_opened(seeded, tmp_path):
    from trainer.headoffice.taught import format_taught, taught_report

    channel = tmp_path / "channel"
    shutil.copytree(seeded.channel, channel)
    index = json.loads((channel / "index.json").read_text())
    index["signed"]["groups"]["default"]["archive"] = "../../../../etc/passwd"
    (channel / "index.json").write_text(json.dumps(index))
    report = taught_report(str(seeded.root), channel)
    assert any("outside the channel folder" in p for p in report.channel_problems)
    assert all(s.released_in is None for s in report.skus)  # unknown, not "not yet"
    assert "not yet" not in format_taught(report) and "unknown" in format_taught(report)
