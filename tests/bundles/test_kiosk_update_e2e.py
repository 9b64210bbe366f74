"""Acceptance: the RUNNING kiosk takes a new model from a channel without a restart, and refuses a bad one.

Head office publishes signed tiny bundles (tests.bundles.factory) to a channel served by ``http.server`` on
127.0.0.1. The kiosk is the real thing, built the way ``checkout kiosk`` builds it: ``KioskConfig`` →
``CheckoutService.from_config`` (real catalog with the tiny bundle's SKUs, real sales store, simulated scale,
the BundleStore in ``model_state`` bootstrapped from ``bundle``) → the real ``MainWindow`` offscreen. Items are
placed by feeding tray frames through ``process_frame`` (the recognition worker's path) and the cart is filled
through the service's intents; then the updater thread polls the channel while a frame loop keeps running.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import tarfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from trainer.release.keys import SigningKey
from trainer.release.publish import publish
from trainer.release.signing import sign_bundle

EMPTY = np.full((120, 160, 3), 170, np.uint8)


def item_frame(color) -> np.ndarray:
    img = EMPTY.copy()
    cv2.rectangle(img, (45, 30), (115, 90), color, -1)
    return img


# -- fixtures ---------------------------------------------------------------------------------------------------
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_channel(tmp_path):
    """(channel directory, its URL) served by http.server on 127.0.0.1 (ephemeral port) in a thread."""
    www = tmp_path / "www"
    (www / "channel").mkdir(parents=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, name="http-channel", daemon=True)
    thread.start()
    yield www / "channel", f"http://127.0.0.1:{server.server_address[1]}/channel"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def running_kiosk(qtbot, kiosk_config):
    """A kiosk as `checkout kiosk` builds it (config → service → window), v1 installed from `bundle` at start."""
    from kiosk.services.checkout import CheckoutService
    from kiosk.ui.app import build_window

    made = []

    def make(channel: str):
        config = kiosk_config(channel=channel, update_interval_s=0.2, store_id="BLR-0042", store_group="default")
        service = CheckoutService.from_config(config)
        window, _bridge = build_window(service, config, payment_ms=0, receipt_return_s=0)
        qtbot.addWidget(window)
        window.resize(1024, 768)
        window.show()
        service.announce()
        qtbot.waitUntil(lambda: window.status.model_label.text().startswith("Model v1"), timeout=5000)
        made.append((service, window, _bridge))
        return service, window

    yield make
    for service, window, bridge in made:
        bridge.detach()
        window.close()
        service.close()


def place(service, color) -> object:
    """Learn the empty tray, then hold an item still: returns the SuggestionsReady (recognised on this thread)."""
    fired = [r for r in (service.process_frame(EMPTY.copy()) for _ in range(8)) if r is not None]
    fired += [r for r in (service.process_frame(item_frame(color)) for _ in range(8)) if r is not None]
    assert len(fired) == 1, fired
    return fired[0]


def fill_cart(service) -> None:
    """Three lines, the way a shopper makes them: a recognised item (weighed), a tapped search hit, a unit item."""
    service.scale.set_weight(1250)
    service.poll_scale()
    ready = place(service, (40, 40, 220))
    assert ready.suggestions, "the tiny model suggested nothing the catalog sells"
    assert service.placement(ready.placement_id).model_version == 1
    assert service.choose(ready.suggestions[0].sku, ready.placement_id) is not None
    for grams in (0, 640):  # that item taken off (its load prices nothing else until the tray is empty), the next on
        service.scale.set_weight(grams)
        service.poll_scale()
    hits = service.search("tomato")
    assert [h.sku for h in hits] == ["tomato-hybrid"]
    assert service.choose("tomato-hybrid") is not None
    assert service.choose("milk-toned-500ml") is not None
    assert len(service.cart_view().lines) == 3


def ui_cart(window) -> tuple:
    m = window.cart_model
    rows = tuple(tuple(m.index(r, c).data() for c in range(m.columnCount())) for r in range(m.rowCount()))
    from PySide6.QtWidgets import QLabel

    totals = tuple(lbl.text() for lbl in window.totals.findChildren(QLabel) if lbl.isVisible())
    return rows, totals, window.pay_button.text()


def frame_loop(service, stop: threading.Event, errors: list) -> threading.Thread:
    """The recognition worker's stand-in: empty-tray frames through process_frame until ``stop``."""
    def run():
        while not stop.is_set():
            try:
                service.process_frame(EMPTY.copy())
            except Exception as exc:  # noqa: BLE001 - collected and asserted
                errors.append(exc)
            time.sleep(0.005)

    t = threading.Thread(target=run, name="frames", daemon=True)
    t.start()
    return t


# -- the acceptance tests ---------------------------------------------------------------------------------------
def test_running_kiosk_takes_v2_from_http_channel_cart_untouched(running_kiosk, http_channel, kiosk_bundles,
                                                                head_office_key, qtbot):
    from kiosk.services.events import ModelChanged, UpdateStatusChanged

    channel_dir, url = http_channel
    publish(kiosk_bundles["v1"], channel_dir, head_office_key)
    service, window = running_kiosk(url)
    assert service.model.version == 1 and service.updater.store.active_version() == 1  # installed from `bundle`
    events: list = []
    service.add_listener(events.append)
    fill_cart(service)
    cart_before = service.cart_view()
    qtbot.waitUntil(lambda: window.pay_button.text() == f"Pay {cart_before.bill.total_text}", timeout=5000)
    qtbot.wait(50)  # widgets of the earlier renders are deleted
    ui_before = ui_cart(window)
    assert len(ui_before[0]) == 3 and cart_before.bill.total_text in ui_before[1]

    stop, errors = threading.Event(), []
    frames = frame_loop(service, stop, errors)
    service.start_updates()  # the updater thread polls every 0.2 s from now on
    try:
        status = window.status.update_label
        qtbot.waitUntil(lambda: "v1 up to date" in status.text(), timeout=10000)  # the staff-mode field
        assert service.model.version == 1  # the channel has nothing newer yet
        frames_before = service.frames_processed
        publish(kiosk_bundles["v2"], channel_dir, head_office_key)  # head office pushes v2
        qtbot.waitUntil(lambda: window.status.model_label.text().startswith("Model v2"), timeout=20000)
        qtbot.waitUntil(lambda: "v2 up to date" in status.text(), timeout=10000)
        assert service.frames_processed > frames_before  # frames kept flowing through the update
    finally:
        service.stop_updates()
        stop.set()
        frames.join(5)
    assert not errors

    # status bar: the new version and the update state
    assert window.status.model_label.text().startswith("Model v2 · tiny-conv-test")
    assert not status.isVisible() and status.property("level") == "ok"  # technical: shown in staff mode only
    assert status.text().startswith("Update: v2 up to date")
    seen_states = [e.state for e in events if isinstance(e, UpdateStatusChanged)]
    assert {"checking", "downloading", "verifying", "activating", "idle"} <= set(seen_states)
    assert service.update_status.state == "idle" and service.update_status.version == 2
    assert [e.version for e in events if isinstance(e, ModelChanged)] == [2]  # one swap, announced once

    # the cart is exactly as before: service view (lines, amounts, tax, totals) and what the window shows
    assert service.cart_view() == cart_before
    qtbot.wait(50)
    assert ui_cart(window) == ui_before
    for line in cart_before.lines[:1]:
        assert service.line_capture(line.line_id)["model_version"] == 1  # its placement was recognised by v1

    # recognition now runs v2
    ready = place(service, (200, 60, 30))
    assert service.placement(ready.placement_id).model_version == 2
    report = json.loads(service.updater.store.status_path.read_text())
    assert report["active_version"] == 2 and report["last_error"] is None and report["store_id"] == "BLR-0042"
    assert [a["event"] for a in service.updater.store.read_audit()] == ["activate", "activate"]


def _flip_archive_byte(channel_dir: Path) -> str:
    index = json.loads((channel_dir / "index.json").read_text())
    archive = channel_dir / index["signed"]["groups"]["default"]["archive"]
    # flip one byte inside model.onnx's data in the tar (the archive stays a valid tar: a CDN-side tamper)
    with tarfile.open(archive) as tar:
        member = tar.getmember("model.onnx")
    data = bytearray(archive.read_bytes())
    data[member.offset_data + member.size // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    return "download"


def _resign_with_attacker_key(channel_dir: Path, bundle: Path, tmp: Path) -> str:
    attacker = SigningKey.generate("attacker")
    evil = tmp / "evil-v2"
    shutil.copytree(bundle, evil)
    sign_bundle(evil, attacker)
    (channel_dir / "index.json").unlink()
    publish(evil, channel_dir, attacker)
    return "index"


@pytest.mark.parametrize("attack", ["archive-byte-flipped", "resigned-by-untrusted-key", "made-for-another-catalog"])
def test_running_kiosk_refuses_bad_v2_and_keeps_v1(attack, running_kiosk, http_channel, kiosk_bundles,
                                                   head_office_key, qtbot, tmp_path):
    channel_dir, url = http_channel
    publish(kiosk_bundles["v1"], channel_dir, head_office_key)
    service, window = running_kiosk(url)
    fill_cart(service)
    cart_before = service.cart_view()
    assert service.check_for_update().outcome == "up-to-date"
    if attack == "archive-byte-flipped":
        publish(kiosk_bundles["v2"], channel_dir, head_office_key)
        reason = _flip_archive_byte(channel_dir)
    elif attack == "resigned-by-untrusted-key":
        reason = _resign_with_attacker_key(channel_dir, kiosk_bundles["v2"], tmp_path)
    else:  # properly signed by head office, but it predicts a SKU this store's catalog does not sell
        publish(kiosk_bundles["v2-other-catalog"], channel_dir, head_office_key)
        reason = "catalog"

    result = service.check_for_update()  # what the polling thread does every update_interval_s
    assert result.outcome == "refused" and result.reason == reason, result
    label = window.status.update_label
    qtbot.waitUntil(lambda: f"refused ({reason})" in label.text(), timeout=5000)
    window.status.set_technical(True)  # staff mode opened
    assert label.isVisible()
    assert label.text() == f"Update refused ({reason}): v1 keeps running"
    assert label.property("level") == "error"
    assert f"refused ({reason})" in label.toolTip()  # the full message, naming the file and why
    if reason == "catalog":
        assert "dragon-fruit" in label.toolTip()
    assert window.status.model_label.text().startswith("Model v1")

    # the kiosk keeps recognising with v1 and the cart is untouched
    assert service.model.version == 1 and service.updater.store.active_version() == 1
    assert service.cart_view() == cart_before
    ready = place(service, (200, 60, 30))
    assert service.placement(ready.placement_id).model_version == 1
    report = json.loads(service.updater.store.status_path.read_text())
    assert report["active_version"] == 1 and report["last_error_reason"] == reason
    assert reason in report["last_error"]
    assert service.updater.store.read_audit()[-1]["event"] == "refused"
