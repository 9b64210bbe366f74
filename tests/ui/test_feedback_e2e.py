"""End to end, offscreen: what a store sees reaches head office and the next model learns from it.

The real window on the real service and the demo bundle: a shopper picks suggestion 2 for one item, staff corrects
another item's line, the sale is paid; the feedback loop sends the sale's batch and the heartbeat to head office —
a ``file:`` directory, and an HTTP server on 127.0.0.1 taking PUTs; ``checkout feedback collect`` turns what arrived
into a manifest with those rows (tray crops, the right labels, their provenance), and a short ``checkout train``
learns from it alongside a base manifest."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.cli import main as checkout
from tests.feedback.head_office import HeadOfficeServer
from tests.ui.helpers import tap, tap_cell, tap_list_row, type_keys
from tests.ui.test_integration import CAMERA, place
from trainer.data.manifest import read_manifest, write_manifest

REPO = Path(__file__).resolve().parents[2]
REGION = (0.1, 0.05, 0.9, 0.95)


@pytest.fixture(params=["file", "http"])
def kiosk(request, tmp_path, qtbot, demo_bundle, demo_catalog_db):
    from kiosk.config import KioskConfig, hash_pin
    from kiosk.feedback.settings import FeedbackSettings
    from kiosk.recognition.recognizer import Recognizer
    from kiosk.scale.simulated import SimulatedScale
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.store import SalesStore
    from kiosk.ui.app import build_window

    ho = tmp_path / "ho"
    ho.mkdir()
    server = HeadOfficeServer(ho).__enter__() if request.param == "http" else None
    config = KioskConfig(catalog=str(demo_catalog_db), store=str(tmp_path / "sales.sqlite"),
                         captures=str(tmp_path / "captures"), staff_pin_hash=hash_pin("2468"), kiosk_id="K5",
                         store_id="BLR-0042", tray_region=REGION, weight_check=False, weight_rerank=False,
                         feedback=FeedbackSettings(head_office=server.url if server else ho.as_uri(),
                                                   outbox=str(tmp_path / "outbox")))
    scale = SimulatedScale(0)
    store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, store_info=config.store_info)
    service = CheckoutService(config, catalog=open_catalog(demo_catalog_db), store=store,
                              recognizer_holder=Recognizer.load(demo_bundle), scale=scale)
    window, _ = build_window(service, config, payment_ms=0, receipt_return_s=0)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    service.announce()
    yield service, window, scale, ho, server
    window.close()
    service.close()
    if server is not None:
        server.__exit__(None, None, None)


def shows_suggestions(window) -> bool:
    return len(window.suggestions.visible_skus()) >= 2


def base_manifest(tmp_path: Path) -> Path:
    """Two photos of each SKU of the demo's training photos: the manifest head office already trains on."""
    rows, seen = [], {}
    for r in read_manifest(REPO / "assets" / "demo" / "train" / "train.csv"):
        if seen.get(r.sku, 0) < 2:
            seen[r.sku] = seen.get(r.sku, 0) + 1
            rows.append(r)
    return write_manifest(rows, tmp_path / "base" / "train.csv")


def test_store_feedback_reaches_head_office_and_the_next_model(qtbot, kiosk, tmp_path, demo_catalog_db):
    service, window, scale, ho, server = kiosk
    scale.set_weight(1059)
    service.poll_scale()

    # a shopper picks suggestion 2
    place(service, "07_arla-standard-milk.jpg")
    qtbot.waitUntil(lambda: shows_suggestions(window), timeout=10000)
    first = window.suggestions.placement_id
    picked = window.suggestions.buttons[1].suggestion.sku
    tap(qtbot, window.suggestions.buttons[1])
    qtbot.waitUntil(lambda: [line.sku for line in service.cart_view().lines] == [picked], timeout=5000)

    # another item (the scale grows by its weight: a picture that adds nothing is the first item moved);
    # whatever the till made of it, staff corrects it to an avocado
    scale.set_weight(1059 + 1062)
    service.poll_scale()
    place(service, "03_oatly-oat-milk.jpg")
    qtbot.waitUntil(lambda: shows_suggestions(window) and window.suggestions.placement_id != first, timeout=10000)
    second = window.suggestions.placement_id
    if not window.suggestions.buttons[0].added:
        tap(qtbot, window.suggestions.buttons[0])
    qtbot.waitUntil(lambda: len(service.cart_view().lines) == 2, timeout=5000)
    line_id = service.placement(second).line_id
    tap(qtbot, window.staff_button)
    type_keys(qtbot, window.pin.keypad, "2468")
    tap(qtbot, window.pin.ok_button)
    qtbot.waitUntil(lambda: window.page == "staff" and window.staff.model.row_of(line_id) >= 0)
    tap_cell(qtbot, window.staff.table, window.staff.model.row_of(line_id), 0)
    tap(qtbot, window.staff.correct_button)
    type_keys(qtbot, window.search.keyboard, "avo")
    tap_list_row(qtbot, window.search.list, 0)
    qtbot.waitUntil(lambda: sorted(line.sku for line in service.cart_view().lines) == sorted([picked, "avocado"]))
    tap(qtbot, window.staff.done_button)

    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt", timeout=3000)

    # the feedback loop's round (the thread does the same every upload_interval_s)
    status = service.feedback.run_once()
    assert status.sent >= 1 and (status.queued, status.last_error) == (0, None)  # other kinds may share the outbox
    (batch,) = (ho / "feedback" / "BLR-0042" / "K5").glob("feedback-*.tar")
    heartbeat = json.loads((ho / "heartbeats" / "BLR-0042" / "K5.json").read_text())
    assert heartbeat["counts"]["placements"] == 2 and heartbeat["counts"]["corrections"] == 1
    if server is not None:
        assert server.stored == status.sent + 1  # every batch and the heartbeat, over HTTP

    out = tmp_path / "collected"
    assert checkout(["feedback", "collect", str(ho), "--out", str(out), "--catalog", str(demo_catalog_db),
                     "--no-cache"]) == 0
    rows = {r.extra["placement_id"]: r for r in read_manifest(out / "feedback.csv")}
    assert set(rows) == {first, second}
    a, b = rows[first], rows[second]
    assert (a.sku, a.extra["chooser"], a.extra["trust"], a.extra["suggestion_rank"], a.extra["paid"]) == \
        (picked, "shopper", "shopper", "2", "yes")
    assert (b.sku, b.extra["chooser"], b.extra["trust"]) == ("avocado", "staff", "staff")
    for row, photo in ((a, "07_arla-standard-milk.jpg"), (b, "03_oatly-oat-milk.jpg")):
        assert row.source == "feedback" and row.extra["store"] == "BLR-0042" and row.extra["kiosk"] == "K5"
        assert row.extra["bundle_version"] == str(service.model_info()[0]) and float(row.extra["score"]) > 0
        frame = cv2.imread(str(CAMERA / photo))
        h, w = frame.shape[:2]
        tray = frame[math.floor(0.05 * h):math.ceil(0.95 * h), math.floor(0.1 * w):math.ceil(0.9 * w)]  # outward
        crop = cv2.imread(str(row.path))
        assert crop.shape == tray.shape  # the tray crop, never the full frame
        assert np.abs(crop.astype(int) - tray.astype(int)).mean() < 6

    base = base_manifest(tmp_path)
    run = tmp_path / "run"
    assert checkout(["train", "--train", str(base), "--train", f"{out / 'feedback.csv'}:2.0", "--out", str(run),
                     "--arch", "tiny_cnn", "--img-size", "32", "--train-resize", "36", "--batch-size", "8",
                     "--epochs", "1", "--max-steps", "3", "--threads", "1", "--no-progress"]) == 0
    labels = json.loads((run / "labels.json").read_text())["labels"]
    assert "avocado" in labels and picked in labels
    assert json.loads((run / "args.json").read_text())["train_sources"][1] == [str(out / "feedback.csv"), 2.0]
