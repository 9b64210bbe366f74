"""The dashboard's sessions live on the server: signing out ends them for every copy of the cookie, they end after
30 minutes without a request and 8 hours after the sign-in, and at most so many are kept."""

from __future__ import annotations

import base64
import json

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from tests.trainer.headoffice.clock import Clock
from trainer.headoffice.dashboard import DashboardData  # noqa: E402
from trainer.headoffice.users import Users  # noqa: E402
from trainer.headoffice.web import Sessions, create_app  # noqa: E402

PASSWORD = "correct horse battery"


@pytest.fixture
def users(tmp_path):
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    return users


def _app(tmp_path, users, **kw):
    return create_app(DashboardData(str(tmp_path)), users, secret="s" * 64, **kw)


def _sign_in(client) -> None:
    r = client.post("/login", data={"username": "meera", "password": PASSWORD, "next": "/"})
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(tmp_path, users):
    app = _app(tmp_path, users)
    client = TestClient(app, follow_redirects=False)
    _sign_in(client)
    cookie = client.cookies["checkout_ho"]
    assert client.get("/api/rollout").status_code == 200
    payload = json.loads(base64.b64decode(cookie.split(".")[0] + "=="))
    assert set(payload) == {"sid"} and "meera" not in cookie  # the cookie names a session, not a user
    assert client.get("/logout").status_code == 303
    copy = TestClient(app, follow_redirects=False, cookies={"checkout_ho": cookie})  # kept before signing out
    assert copy.get("/api/rollout").status_code == 401
    assert copy.get("/").headers["location"] == "/login?next=/"


def test_a_session_ends_after_idle_time_and_eight_hours_after_the_sign_in(tmp_path, users):
    clock = Clock()
    client = TestClient(_app(tmp_path, users, clock=clock), follow_redirects=False)
    _sign_in(client)
    clock.now += 29 * 60
    assert client.get("/api/rollout").status_code == 200  # in use: still signed in, its idle time begins again
    clock.now += 29 * 60
    assert client.get("/api/rollout").status_code == 200
    clock.now += 30 * 60
    assert client.get("/api/rollout").status_code == 401  # half an hour untouched
    _sign_in(client)
    for _ in range(8 * 3):
        assert client.get("/api/rollout").status_code == 200
        clock.now += 20 * 60
    assert client.get("/api/rollout").status_code == 401  # 8 hours after the sign-in, however busy


def test_the_idle_timeout_is_a_setting(tmp_path, users):
    clock = Clock()
    client = TestClient(_app(tmp_path, users, clock=clock, idle_timeout_s=60), follow_redirects=False)
    _sign_in(client)
    clock.now += 61
    assert client.get("/api/rollout").status_code == 401


def test_sessions_kept_at_once_are_bounded_the_longest_idle_ending_first():
    clock = Clock()
    sessions = Sessions(most=3, clock=clock)
    ids = []
    for n in range(5):
        ids.append(sessions.start(f"user{n}", "stamp"))
        clock.now += 1
    assert sessions.get(ids[2]) == ("user2", "stamp")  # touched: now the most recently used
    ids.append(sessions.start("user5", "stamp"))
    assert len(sessions) == 3
    assert [sessions.get(i) is not None for i in ids] == [False, False, True, False, True, True]
    assert sessions.get(None) is None and sessions.get(["x"]) is None  # whatever a cookie holds
