"""End to end: head office publishes to a channel served over HTTP on 127.0.0.1; a running kiosk (frame loop +
updater thread, no restart) picks the new model up between frames and the open cart is untouched."""

from __future__ import annotations

import functools
import http.server
import os
import threading
import time

import pytest

from kiosk.bundle_format.trust import TrustStore
from kiosk.domain.cart import Cart
from tests.bundles.conftest import make_kiosk
from trainer.release.publish import publish


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that honours ``Range: bytes=N-`` (as nginx or any CDN does) and logs requests."""

    log: list[tuple[str, str | None]] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        RangeHandler.log.append((self.path, self.headers.get("Range")))
        rng = self.headers.get("Range")
        path = self.translate_path(self.path)
        if not rng or not os.path.isfile(path):
            return super().do_GET()
        start = int(rng.removeprefix("bytes=").split("-")[0])
        size = os.path.getsize(path)
        if start >= size:
            self.send_error(416)
            return
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read()
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def http_channel(tmp_path):
    root = tmp_path / "www" / "channel"
    root.mkdir(parents=True)
    RangeHandler.log = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(RangeHandler, directory=str(tmp_path / "www")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/channel"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_running_kiosk_picks_up_new_model_over_http(kiosk_v1, bundles_dir, head_office_key, http_channel):
    channel_dir, url = http_channel
    k = kiosk_v1
    publish(bundles_dir / "v1", channel_dir, head_office_key)
    k.updater.channel = url
    cart = Cart()
    cart.add_unit("milk-toned-500ml", "Toned milk 500 ml", 2800, 500)
    cart.add_weighed("banana-robusta", "Banana Robusta", 6000, 0, 1250)
    total_before, lines_before = cart.total, cart.lines

    versions_seen: list[int] = []
    states: list[str] = []
    swaps: list[int] = []
    k.updater.add_listener(lambda s: states.append(s.state))
    k.active.subscribe(lambda rec: swaps.append(rec.model_version))
    stop = threading.Event()
    frame = k.frame()

    def frame_loop():  # the kiosk's recognition loop keeps running through the update
        while not stop.is_set():
            versions_seen.append(k.active.recognize(frame).model_version)
            time.sleep(0.002)

    loop = threading.Thread(target=frame_loop)
    loop.start()
    k.updater.start(interval_s=0.1)
    try:
        time.sleep(0.3)
        assert k.active.version == 1  # channel has v1 only: up to date
        publish(bundles_dir / "v2", channel_dir, head_office_key)  # head office pushes v2
        deadline = time.monotonic() + 20
        while k.active.version != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
    finally:
        k.updater.stop()
        stop.set()
        loop.join(5)
    assert k.active.version == 2 and swaps == [2]
    assert versions_seen[0] == 1 and versions_seen[-1] == 2
    first2 = versions_seen.index(2)
    assert set(versions_seen[:first2]) == {1} and set(versions_seen[first2:]) == {2}  # switched between frames
    assert cart.total == total_before and cart.lines == lines_before  # the cart did not notice
    assert {"checking", "downloading", "verifying", "activating", "idle"} <= set(states)
    status = k.updater.status
    assert status.active_version == 2 and status.last_error is None and status.last_check
    assert any(p.endswith(".tar") for p, _ in RangeHandler.log)


def test_http_download_resumes_with_range(kiosk_v1, bundles_dir, head_office_key, http_channel):
    channel_dir, url = http_channel
    entry = publish(bundles_dir / "v2", channel_dir, head_office_key)
    data = (channel_dir / entry["archive"]).read_bytes()
    part = kiosk_v1.store.staging_dir / f"download-{entry['sha256'][:32]}.part"
    part.write_bytes(data[: len(data) // 2])  # an earlier download was cut off half way
    kiosk_v1.updater.channel = url
    result = kiosk_v1.updater.check_once()
    assert result.outcome == "activated", result
    ranges = [r for p, r in RangeHandler.log if p.endswith(".tar")]
    assert ranges == [f"bytes={len(data) // 2}-"]
    assert not part.exists()


def test_rotated_key_via_channel(kiosk_v1, bundles_dir, head_office_key, tmp_path, http_channel):
    """Head office rotates to a new key: the index (signed by the new key) carries the rotation signed by the old
    key; the kiosk learns the new key, persists it, and accepts bundles signed by it."""
    import shutil

    from trainer.release.keys import SigningKey, make_rotation
    from trainer.release.signing import sign_bundle

    channel_dir, url = http_channel
    new = SigningKey.generate("head-office-2027")
    rotation = make_rotation(head_office_key, new.public, revoke_old=True)
    b2 = tmp_path / "v2-newkey"
    shutil.copytree(bundles_dir / "v2", b2)
    sign_bundle(b2, new)
    publish(b2, channel_dir, new, rotations=[rotation], trust=TrustStore.from_keys(new.public))
    kiosk_v1.updater.channel = url
    result = kiosk_v1.updater.check_once()
    assert result.outcome == "activated", result
    assert new.keyid in kiosk_v1.trust.trusted and head_office_key.keyid in kiosk_v1.trust.retired
    assert (kiosk_v1.store.keys_dir / "rotations" / f"{new.keyid}.json").is_file()
    # after a restart the kiosk still trusts the new key, and v1 (signed by the retired key) still opens
    restarted = make_kiosk(kiosk_v1.store.root, TrustStore.from_keys(head_office_key.public), channel=url)
    assert new.keyid in restarted.trust.trusted and restarted.active.version == 2
    bundle, _ = restarted.store.open_active(restarted.trust)
    assert bundle.manifest.model_version == 2
