"""The dashboard's pages and sign-in, through FastAPI's test client (the browser test drives the same pages)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from trainer.headoffice.dashboard import DashboardData  # noqa: E402
from trainer.headoffice.users import Users  # noqa: E402
from trainer.headoffice.web import create_app  # noqa: E402


@pytest.fixture
def client(seeded, tmp_path):
    users = Users(tmp_path / "users.json")
    users.add("meera", seeded.password)
    app = create_app(DashboardData(str(seeded.root), str(seeded.keys), str(seeded.channel)), users, secret="s" * 64)
    return TestClient(app, follow_redirects=False)


def sign_in(client, seeded, password=None):
    form = {"username": "meera", "password": password or seeded.password, "next": "/quality"}
    return client.post("/login", data=form)


def test_every_page_needs_a_signed_in_user(client):
    for path in ("/", "/quality", "/rollout", "/audit"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    assert client.get("/api/quality").status_code == 401
    assert client.get("/quality/chart/drift-cusum.png").status_code == 401


def test_wrong_passwords_are_refused_then_slowed_down(client, seeded, tmp_path):
    for _ in range(5):
        assert sign_in(client, seeded, "not the password").status_code == 401
    r = sign_in(client, seeded)  # even the right one, while the wait runs
    assert r.status_code == 401 and "wait a little" in r.text
    client.app.state.login_log.close()  # as at shutdown: the repeats counted so far
    log = (tmp_path / "headoffice-logins.jsonl").read_text()
    entries = [json.loads(line) for line in log.splitlines()]
    assert [(e["reason"], e.get("repeats", 0)) for e in entries] == [("wrong", 0), ("locked", 0), ("wrong", 4)]
    assert seeded.password not in log


def test_pages_show_the_seeded_fleet(client, seeded):
    r = sign_in(client, seeded)
    assert r.status_code == 303 and r.headers["location"] == "/quality"
    fleet = client.get("/").text
    assert "BLR-0042" in fleet and "MYS-0003" in fleet and "stale" in fleet and "head office unreachable" in fleet
    assert "37 · ₹12346.00" in fleet  # the kiosk's sales so far on its day
    assert 'id="store-sales"' in fleet and "₹22220.50" in fleet and "2 of 2" in fleet  # BLR-0042's two kiosks
    quality = client.get("/quality").text
    assert 'id="drift-alarms"' in quality and "oatly-oat-milk" in quality and "BLR-0042" in quality
    assert "ALARM since" in client.get("/quality?store=BLR-0042").text
    assert 'id="no-alarms"' in client.get("/quality?store=MYS-0003").text
    rollout = client.get("/rollout").text
    assert "v3" in rollout and "BLR-0107/K1 (v2)" in rollout
    audit = client.get("/audit").text
    assert "refused batches" in audit and "began again at row 1" in audit and "MAC is not this kiosk" in audit
    png = client.get("/quality/chart/drift-cusum.png?store=BLR-0042")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    assert client.get("/api/rollout").json()[0]["running"] == 2
    assert client.get("/logout").status_code == 303 and client.get("/").status_code == 303
