"""The dashboard's smaller edges: a sign-in form posted from another site is refused (sign-in CSRF), `serve` on an
address beyond this machine without --https-only warns loudly, HEAD is answered where GET is, and the Taught page
never shows "₹" before a price that is not whole paise."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from trainer.headoffice.dashboard import DashboardData  # noqa: E402
from trainer.headoffice.users import Users  # noqa: E402
from trainer.headoffice.web import create_app  # noqa: E402

PASSWORD = "correct horse battery"
FORM = {"username": "meera", "password": PASSWORD, "next": "/"}


@pytest.fixture
def client(tmp_path):
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    return TestClient(create_app(DashboardData(str(tmp_path)), users, secret="s" * 64), follow_redirects=False)


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://testserver.evil.example"},
                                     {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "http://evil.example", "X-Forwarded-Host": "ho.example"}])
def test_a_sign_in_posted_from_another_site_is_refused(client, tmp_path, headers):
    r = client.post("/login", data=FORM, headers=headers)
    assert r.status_code == 403 and "checkout_ho" not in r.headers.get("set-cookie", "")
    assert "sign in on the dashboard" in r.text and client.get("/api/rollout").status_code == 401
    assert not (tmp_path / "headoffice-logins.jsonl").exists()  # refused before the password or the log


@pytest.mark.parametrize("headers", [{}, {"Origin": "http://testserver"}, {"Sec-Fetch-Site": "same-origin"},
                                     {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
                                     {"Origin": "https://ho.example", "X-Forwarded-Host": "ho.example"}])
def test_a_sign_in_from_the_dashboards_own_page_goes_through(client, headers):
    assert client.post("/login", data=FORM, headers=headers).status_code == 303


@pytest.mark.parametrize(("extra", "warned"), [(["--host", "0.0.0.0"], True), (["--host", "127.0.0.1"], False),
                                               (["--host", "0.0.0.0", "--https-only"], False)])
def test_serving_plain_http_beyond_this_machine_warns_loudly(tmp_path, monkeypatch, capsys, extra, warned):
    from kiosk.cli import main
    from trainer.headoffice import serving

    class NotServed:
        def run(self, sockets) -> None:
            sockets[0].close()

    monkeypatch.setattr(serving, "server", lambda app, limits: NotServed())
    users = tmp_path / "users.json"
    Users(users).add("meera", PASSWORD)
    (tmp_path / "head-office").mkdir()
    assert main(["headoffice", "serve", str(tmp_path / "head-office"), "--users", str(users), "--port", "0",
                 *extra]) == 0
    err = capsys.readouterr().err
    assert ("WARNING: plain HTTP on 0.0.0.0" in err and "--https-only" in err) is warned


def test_head_is_answered_where_get_is(client):
    for path, status in (("/login", 200), ("/dashboard.css", 200), ("/", 303), ("/api/fleet", 401),
                         ("/no-such-page", 404)):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == status and head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type")
        assert head.headers["cache-control"] == "no-store"
    client.post("/login", data=FORM)
    head = client.head("/api/rollout")
    assert head.status_code == 200 and head.headers["content-type"] == "application/json" and not head.content
    assert client.post("/logout").status_code == 405  # other methods are still refused


@pytest.mark.parametrize(("price", "sold_by", "shown"), [("6950", "unit", "₹69.50"), ("12000", "weight", "₹120.00/kg"),
                                                         ("120.00", "unit", "price &#39;120.00&#39;: not whole paise"),
                                                         ("12_000", "unit", "not whole paise")])
def test_the_taught_page_shows_rupees_only_for_whole_paise(tmp_path, price, sold_by, shown):
    from tests.trainer.headoffice.test_taught import put_enrollment

    root = tmp_path / "head-office"
    product = {"sku": "kiwi", "name": "Kiwi", "group": "fruit", "sold_by": sold_by, "price_paise": price,
               "gst_percent": "0", "hsn": "0810", "active": "1"}
    put_enrollment(root, "K1", 1, "kiwi", "2026-12-01T10:00:00+05:30", product)
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    client = TestClient(create_app(DashboardData(str(root)), users, secret="s" * 64), follow_redirects=False)
    client.post("/login", data=FORM)
    row = client.get("/taught").text.split('id="taught-kiwi"')[1].split("</tr>")[0]
    assert shown in row and ("₹" in row) is shown.startswith("₹")
