"""Someone who knows a head-office user's name cannot lock them out: wrong passwords are counted per name and
client address, so the guesser waits and the user does not; past a ceiling of wrong passwords for the name from all
clients every try on it is slowed, and the right password still signs the user in."""

from __future__ import annotations

import time

import pytest

from tests.trainer.headoffice.clock import Clock
from trainer.headoffice import users as users_module
from trainer.headoffice.users import FREE_FAILURES, NAME_CEILING, NAME_SLOW_S, Users

PASSWORD = "correct horse battery"


def test_a_guesser_elsewhere_never_locks_the_user_out(tmp_path, monkeypatch):
    """The probe's attack: one wrong guess a minute for a day, from one address. The user, from theirs, signs in with
    the right password every time; the guesser still gets only a few guesses checked."""
    monkeypatch.setattr(users_module, "check_password", lambda pw, stored: pw == PASSWORD)  # the counting, not scrypt
    clock = Clock()
    users = Users(tmp_path / "users.json", clock=clock)
    users.add("meera", PASSWORD)
    checked = 0
    for minute in range(24 * 60):
        checked += users.sign_in("meera", f"guess {minute}", "203.0.113.66")[1] == "wrong"
        if minute % 180 == 0:
            assert users.sign_in("meera", PASSWORD, "10.1.2.3") == (True, ""), f"locked out at minute {minute}"
        clock.now += 60
    assert checked < 120  # the guesser's own waits grew to 15 minutes
    assert users.wait_s("meera", "203.0.113.66") > 0 and users.wait_s("meera", "10.1.2.3") == 0
    assert users.sign_in("meera", PASSWORD, "203.0.113.66") == (False, "locked")  # the guesser's address waits


def test_wrong_passwords_from_many_addresses_slow_the_name_but_never_refuse_it(tmp_path, monkeypatch):
    monkeypatch.setattr(users_module, "check_password", lambda pw, stored: pw == PASSWORD)
    clock = Clock()
    users = Users(tmp_path / "users.json", clock=clock)
    users.add("meera", PASSWORD)
    for n in range(NAME_CEILING - 1):
        users.sign_in("meera", "guess", f"198.51.100.{n}")
    assert users.slow_s("meera") == 0
    users.sign_in("meera", "guess", "198.51.100.250")
    assert users.slow_s("meera") == NAME_SLOW_S and users.slow_s("someone-else") == 0
    assert users.sign_in("meera", PASSWORD, "10.1.2.3") == (True, "")  # slowed (by the web page), not refused
    clock.now += 25 * 3600
    assert users.slow_s("meera") == 0  # a quiet day forgets them


def test_the_sign_in_page_slows_a_name_under_attack_and_lets_the_user_in(tmp_path, monkeypatch):
    pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")
    from fastapi.testclient import TestClient

    from trainer.headoffice.dashboard import DashboardData
    from trainer.headoffice.web import create_app

    monkeypatch.setattr(users_module, "check_password", lambda pw, stored: pw == PASSWORD)
    monkeypatch.setattr(users_module, "NAME_CEILING", 3)
    monkeypatch.setattr(users_module, "NAME_SLOW_S", 0.3)
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    app = create_app(DashboardData(str(tmp_path)), users, secret="s" * 64)

    def client(address: str) -> TestClient:
        return TestClient(app, follow_redirects=False, client=(address, 40000))

    form = {"username": "meera", "password": "guess", "next": "/"}
    guesser = client("203.0.113.66")
    for _ in range(FREE_FAILURES + 2):
        guesser.post("/login", data=form)
    r = guesser.post("/login", data={**form, "password": PASSWORD})
    assert r.status_code == 401 and "wait a little" in r.text  # the guesser's own address waits
    started = time.monotonic()
    r = client("10.1.2.3").post("/login", data={**form, "password": PASSWORD})
    assert r.status_code == 303  # the user, from their own address: in, after the name's slow-down
    assert time.monotonic() - started >= 0.3
