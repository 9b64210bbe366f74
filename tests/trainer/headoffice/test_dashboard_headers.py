"""Every response of the dashboard carries its security headers (no caching of sales figures, a strict
Content-Security-Policy the pages keep to, no framing, no sniffing), and an enrollment "photo" is served only when its
bytes are a PNG or JPEG image."""

from __future__ import annotations

import hashlib
import re

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from trainer.headoffice.dashboard import DashboardData, image_type  # noqa: E402
from trainer.headoffice.users import Users  # noqa: E402
from trainer.headoffice.web import create_app  # noqa: E402

PASSWORD = "correct horse battery"


def _client(root, tmp_path, **kw) -> TestClient:
    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    return TestClient(create_app(DashboardData(str(root)), users, secret="s" * 64, **kw), follow_redirects=False)


def _sign_in(client) -> None:
    assert client.post("/login", data={"username": "meera", "password": PASSWORD, "next": "/"}).status_code == 303


def _hardened(r) -> bool:
    csp = r.headers.get("content-security-policy", "")
    return (r.headers.get("cache-control") == "no-store" and "frame-ancestors 'none'" in csp
            and "default-src 'none'" in csp and "unsafe" not in csp and r.headers.get("x-frame-options") == "DENY"
            and r.headers.get("x-content-type-options") == "nosniff"
            and r.headers.get("referrer-policy") == "same-origin")


def test_every_response_carries_the_security_headers(seeded, tmp_path):
    client = _client(seeded.root, tmp_path)
    before = [client.get("/login"), client.get("/"), client.get("/api/fleet"), client.get("/dashboard.css"),
              client.post("/login", data={"username": "meera", "password": "wrong", "next": "/"})]
    _sign_in(client)
    after = [client.get(p) for p in ("/", "/quality", "/taught", "/rollout", "/audit", "/api/fleet", "/api/rollout",
                                     "/quality/chart/no-such-chart.png", "/api/nothing", "/no-such-page")]
    for r in before + after:
        assert _hardened(r), (r.request.url, r.status_code, dict(r.headers))
    assert "strict-transport-security" not in after[0].headers


def test_https_only_adds_strict_transport_security(tmp_path):
    client = _client(tmp_path, tmp_path, https_only=True)
    assert client.get("/login", headers={}).headers["strict-transport-security"].startswith("max-age=")


def test_the_pages_keep_to_the_policy_no_inline_style_or_script(seeded, tmp_path):
    client = _client(seeded.root, tmp_path)
    pages = [client.get("/login").text]
    _sign_in(client)
    pages += [client.get(p).text for p in ("/", "/quality", "/taught", "/rollout", "/audit")]
    for page in pages:
        assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=|javascript:", page, re.I)
        assert '<link rel="stylesheet" href="/dashboard.css">' in page
    css = client.get("/dashboard.css")
    assert css.headers["content-type"].startswith("text/css") and ".alarms" in css.text


def _enrollment(root, photos: list[bytes]) -> str:
    """One enrollment batch with these "photos", as a kiosk of BLR-0042 would upload it: its batch name."""
    from kiosk.exchange import batch_key, write_batch
    from kiosk.exchange.enrollment import KIND, photo_member

    records, files = [], {}
    for data in photos:
        sha = hashlib.sha256(data).hexdigest()
        files[photo_member(7, sha)] = data
        records.append({"image": photo_member(7, sha), "sha256": sha, "sharpness": 1.0})
    meta = {"kiosk_id": "K1", "store_id": "BLR-0042", "enrollment_id": 7, "sku": "kiwi",
            "created_at": "2026-12-01T10:00:00+05:30", "staff": "101", "source": "teach-screen", "refused": 0,
            "withdrawn_at": None}
    name, blob = write_batch(KIND, meta, records, files)
    path = root / batch_key(KIND, "BLR-0042", "K1", name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return name


def test_an_enrollment_photo_is_served_only_when_it_is_a_png_or_jpeg(tmp_path):
    import cv2
    import numpy as np

    image = np.full((40, 40, 3), 120, np.uint8)
    png, jpeg = cv2.imencode(".png", image)[1].tobytes(), cv2.imencode(".jpg", image)[1].tobytes()
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    fake_png = b"\x89PNG\r\n\x1a\n" + html  # the magic bytes, then no image
    root = tmp_path / "head-office"
    batch = _enrollment(root, [html, png, jpeg, fake_png])  # the four the Taught page shows
    client = _client(root, tmp_path)
    _sign_in(client)
    got = [client.get(f"/taught/photo/{batch}/{n}.png") for n in range(4)]
    assert [r.status_code for r in got] == [404, 200, 200, 404]
    assert got[1].headers["content-type"] == "image/png" and got[1].content == png
    assert got[2].headers["content-type"] == "image/jpeg" and got[2].content == jpeg
    assert all(_hardened(r) for r in got)
    big = cv2.imencode(".png", np.zeros((5000, 2, 3), np.uint8))[1].tobytes()
    assert image_type(png) == "image/png" and image_type(big) is None and image_type(b"") is None
    assert image_type(png[: len(png) // 2]) is None and image_type(jpeg[:20]) is None  # cut short
