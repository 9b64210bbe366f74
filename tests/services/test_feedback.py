"""The checkout's side of feedback: the tray crop is what is recognised and the only thing kept (privacy), each
placement's record follows what the shopper and staff did, and a full disk costs photos, never lines."""

from __future__ import annotations

from collections import namedtuple

import cv2
import numpy as np

from kiosk.config import KioskConfig
from kiosk.feedback.settings import FeedbackSettings
from kiosk.store import SalesStore
from tests.services.conftest import EMPTY, PIN, PIN_HASH, feed, item_frame, place

REGION = (0.25, 0.2, 0.75, 0.8)  # of a 160x120 frame: x 40..120, y 24..96
UNIT = [("arla-standard-milk", 0.5), ("bravo-apple-juice", 0.3), ("banana", 0.1)]


def config(tmp_path, catalog, **kw) -> KioskConfig:
    return KioskConfig(store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"), catalog=str(catalog),
                       staff_pin_hash=PIN_HASH, kiosk_id="T1", tray_region=REGION,
                       feedback=FeedbackSettings(outbox=str(tmp_path / "outbox")), **kw)


def marked_frame() -> np.ndarray:
    """An item on the tray, and a bright magenta 'face' outside the tray region in every corner."""
    frame = item_frame()
    for x, y in ((0, 0), (140, 0), (0, 100), (140, 100)):
        frame[y:y + 20, x:x + 20] = (255, 0, 255)
    return frame


def place_marked(service):
    background = EMPTY.copy()
    for x, y in ((0, 0), (140, 0), (0, 100), (140, 100)):
        background[y:y + 20, x:x + 20] = (255, 0, 255)
    feed(service, background, 6)
    fired = feed(service, marked_frame(), 6)
    assert len(fired) == 1
    return fired[0]


def test_the_stored_crop_holds_the_tray_region_only_and_is_what_was_recognised(kit, tmp_path, demo_catalog_db):
    k = kit(UNIT, config=config(tmp_path, demo_catalog_db))
    ready = place_marked(k.service)
    p = k.service.placement(ready.placement_id)
    saved = cv2.imread(p.image_path)
    assert saved.shape[:2] == (72, 80)  # (0.8-0.2)*120 x (0.75-0.25)*160: the tray region, nothing else
    magenta = (saved[:, :, 0] > 200) & (saved[:, :, 1] < 60) & (saved[:, :, 2] > 200)
    assert not magenta.any()  # none of what the camera saw outside the tray
    seen = k.recognizer.images[-1]
    assert seen.shape == saved.shape and np.array_equal(seen, marked_frame()[24:96, 40:120])
    assert abs(saved.astype(int) - seen.astype(int)).mean() < 8  # the same crop, as JPEG
    row = SalesStore.open(k.config.store).feedback(ready.placement_id)
    assert row["image_path"] == p.image_path and row["image_bytes"] > 0


def test_without_a_region_the_whole_frame_is_the_tray(kit):
    k = kit(UNIT)
    feed(k.service, item_frame(), 6)
    assert k.recognizer.images[-1].shape == (120, 160, 3)


def test_the_record_follows_the_shopper_and_staff(kit, tmp_path, demo_catalog_db):
    k = kit(UNIT, config=config(tmp_path, demo_catalog_db))
    ready = place_marked(k.service)
    line_id = k.service.choose("bravo-apple-juice", ready.placement_id)  # suggestion 2
    store = SalesStore.open(k.config.store)
    row = store.feedback(ready.placement_id)
    assert (row["chooser"], row["suggestion_rank"], row["label_sku"], row["trust"]) == \
        ("shopper", 2, "bravo-apple-juice", "shopper")
    assert k.service.staff_unlock(PIN, staff_id="asha")
    k.service.staff_correct(line_id, "arla-natural-yoghurt")
    row = store.feedback(ready.placement_id)
    assert (row["chooser"], row["label_sku"], row["trust"]) == ("staff", "arla-natural-yoghurt", "staff")
    assert row["revision"] == 3


Usage = namedtuple("Usage", "total used free")


def test_a_full_disk_costs_the_oldest_photos_then_the_new_one_never_a_line(kit, tmp_path, demo_catalog_db):
    k = kit(UNIT, threshold=0.4, config=config(tmp_path, demo_catalog_db, min_free_mb=100))
    relay = k.service.feedback
    first = place(k.service)
    old_photo = k.service.placement(first.placement_id).image_path
    assert first.auto_added_line_id and cv2.imread(old_photo) is not None
    relay.loop.retention._disk_usage = lambda _p: Usage(1 << 40, 0, 50 << 20)  # 50 MiB free, 100 wanted
    second = place(k.service, color=(200, 40, 40))
    p = k.service.placement(second.placement_id)
    assert p.image_path == "" and k.service.captures.skipped_for_room == 1  # no room: no photo …
    assert not SalesStore.open(k.config.store).feedback(first.placement_id)["image_path"]  # oldest purged first
    import os

    assert not os.path.exists(old_photo)
    assert [line.sku for line in k.service.cart_view().lines] == ["arla-standard-milk"] * 2  # … every line kept


def test_checkout_never_waits_for_a_head_office_that_does_not_answer(kit, tmp_path, demo_catalog_db):
    """A head office that accepts the connection and then says nothing: the feedback thread waits out its
    timeout; placements, choices and the payment go on meanwhile, and the status says why nothing left."""
    import socket
    import threading
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    settings = FeedbackSettings(head_office=f"http://127.0.0.1:{silent.getsockname()[1]}/ho",
                                outbox=str(tmp_path / "outbox"), timeout_s=3, settle_s=0)
    k = kit(UNIT, config=config(tmp_path, demo_catalog_db).replace(feedback=settings, store_id="S1"))
    first = place(k.service)
    k.service.choose("arla-standard-milk", first.placement_id)
    k.service.pay("card")  # the sale's placement is ready: the next round packs and tries to send it
    k.service.feedback.start()
    time.sleep(0.3)  # the round is now stuck in the upload
    t0 = time.monotonic()
    second = place(k.service, color=(200, 40, 40))
    k.service.choose("bravo-apple-juice", second.placement_id)
    k.service.pay("cash")
    assert time.monotonic() - t0 < 2.5  # well inside the 3 s the upload waits
    deadline = time.monotonic() + 10
    while k.service.feedback.event is None or k.service.feedback.event.queued < 1:
        assert time.monotonic() < deadline, "no outbox status"
        time.sleep(0.05)
    event = k.service.feedback.event
    assert "unreachable" in (event.last_error or "") and event.level == "warn"
    k.service.feedback.stop()
    silent.close()
