"""The window on the real service with a real model (the onboarding world's tiny_cnn, tests/onboarding_kit.py):
staff teach a product from 10 camera frames on the Teach page — its catalog row made on the same page — and the
shopper's next placement suggests it; an item the model does not know shows "Not recognised" and its photo is kept."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import cv2
import pytest
from PySide6.QtWidgets import QLabel

from tests.onboarding_kit import build_world, onboarding_catalog, tray
from tests.ui.helpers import tap

PIN = "2468"


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture
def real(tmp_path, qtbot, world):
    from catalog.repository import Catalog
    from kiosk.bundles.active import ActiveModel
    from kiosk.config import KioskConfig, hash_pin
    from kiosk.recognition.recognizer import Recognizer
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.services.teaching import open_gallery
    from kiosk.store import SalesStore
    from kiosk.ui.app import build_window

    db = onboarding_catalog(tmp_path / "catalog.sqlite")
    with Catalog.open(db) as cat:  # the product to teach is new to the catalog too
        cat.db.execute("DELETE FROM skus WHERE sku = 'blue-disc'")
    config = KioskConfig(catalog=str(db), store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                         gallery=str(tmp_path / "gallery"), staff_pin_hash=hash_pin(PIN), weight_check=False,
                         weight_rerank=False)
    store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, store_info=config.store_info)
    service = CheckoutService(config, catalog=open_catalog(db), store=store, scale=None,
                              recognizer_holder=ActiveModel(Recognizer.load(world.bundle, threads=1)),
                              gallery=open_gallery(config.gallery))
    camera = Camera(service)
    window, _ = build_window(service, config, payment_ms=0, receipt_return_s=0)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    service.announce()
    camera.show([tray()] * 8)  # the trigger learns the empty tray
    yield service, window, camera
    window.close()
    service.close()


class Camera:
    """What the kiosk's camera sees: frames go through ``service.process_frame`` on a worker thread, as in live mode,
    and the newest one is what the window's live view (and the Teach page) takes."""

    def __init__(self, service) -> None:
        self.service, self.current = service, None
        service.latest_frame = lambda: self.current  # live mode's last frame

    def show(self, frames) -> list:
        """Show ``frames`` one after another; returns what the kiosk recognised meanwhile (SuggestionsReady)."""
        fired = []

        def feed():
            for image in frames:
                self.current = image
                ready = self.service.process_frame(image)
                if ready is not None:
                    fired.append(ready)

        t = threading.Thread(target=feed)
        t.start()
        t.join(60)
        return fired


def shown_text(window, text: str) -> bool:
    return any(w.isVisible() and w.text() == text for w in window.findChildren(QLabel))


def test_staff_teach_a_new_product_from_ten_frames_and_the_next_placement_suggests_it(real, qtbot, world):
    service, window, camera = real
    turning = world.photos("blue-disc", world.new_train)[:10]
    assert service.staff_unlock(PIN)
    window.show_page("staff")
    tap(qtbot, window.findChild(type(window.staff_button), "staffTeach"))
    assert window.page == "teach"
    panel = window.teach.panel
    qtbot.keyClicks(panel.sku_edit, "blue-disc")
    assert "not in the catalog" in panel.found.text() and panel.form.isVisible()
    qtbot.keyClicks(panel.name_edit, "Blue disc")
    qtbot.keyClicks(panel.price_edit, "45.50")
    panel.gst.setCurrentText("12")
    qtbot.keyClicks(panel.hsn_edit, "0808")
    tap(qtbot, panel.create_button)
    assert "added to the catalog" in panel.message.text(), panel.message.text()
    assert not panel.form.isVisible() and "Blue disc, ₹45.50" in panel.found.text()

    camera.current = tray()  # nothing on the tray yet: refused
    tap(qtbot, panel.take_button)
    assert "refused 1: 1 empty tray" in panel.count.text()
    tap(qtbot, panel.clear_button)
    frames = itertools.cycle(turning)  # staff turns the item on the tray while the page takes ten photos
    window.teach._frames = lambda: next(frames)
    tap(qtbot, panel.burst_button)
    qtbot.waitUntil(lambda: panel.count.text().startswith("10 good photo(s)"), timeout=10_000)
    tap(qtbot, panel.teach_button)
    assert panel.message.text().startswith("Taught: blue-disc: enrolled 10 photo(s)"), panel.message.text()
    tap(qtbot, panel.done_button)
    service.staff_lock()
    window.show_page("checkout")

    camera.show([world.photos("blue-disc")[0]] * 8)  # the shopper's next placement
    qtbot.waitUntil(lambda: window.suggestions.visible_skus()[:1] == ["blue-disc"], timeout=10_000)
    assert service.cart_view().empty  # suggested, not added by itself


def test_an_unknown_item_shows_not_recognised_and_its_photo_is_kept(real, qtbot, world):
    from kiosk.services.events import NOT_RECOGNISED

    service, window, camera = real
    for photo in world.photos("red-ring", world.unknown) + world.photos("yellow-box", world.unknown):
        (ready,) = camera.show([photo] * 8)
        if ready.not_recognised:  # left on the tray: the screen keeps saying so
            placement = service.placement(ready.placement_id)
            break
        camera.show([tray()] * 5)
    else:
        pytest.fail("no unknown item was rejected")
    qtbot.waitUntil(lambda: shown_text(window, NOT_RECOGNISED), timeout=10_000)
    assert window.suggestions.visible_skus() == [] or not window.suggestions.isVisible()
    assert Path(placement.image_path).is_file()
    assert cv2.imread(placement.image_path) is not None
    assert service.store.feedback(placement.placement_id)["chooser"] == "unknown"


def test_staff_teach_a_look_alike_of_a_trained_product_as_a_different_product(real, qtbot, world):
    """A new pack of a trained product: the till takes its photos for the trained one and Teach is refused, naming
    it; "It is not …: teach it as a different product" teaches it, audited with what staff confirmed; new photos
    withdraw the offer."""
    from kiosk.gallery import EnrollPolicy

    service, window, camera = real
    service.teaching.policy = EnrollPolicy(other_product=0.7)  # the tiny model is far less sure than a real one
    assert service.staff_unlock(PIN)
    window.show_page("staff")
    tap(qtbot, window.findChild(type(window.staff_button), "staffTeach"))
    panel = window.teach.panel
    qtbot.keyClicks(panel.sku_edit, "green-bar")
    frames = itertools.cycle(world.photos("green-box", world.train)[:10])
    window.teach._frames = lambda: next(frames)
    tap(qtbot, panel.burst_button)
    qtbot.waitUntil(lambda: panel.count.text().startswith("10 good photo(s)"), timeout=10_000)
    assert not panel.different_button.isVisible()
    tap(qtbot, panel.teach_button)
    assert panel.message.text() == ("green-bar: the till takes these photos for Green Box, so they were not taught. "
                                    "If it is a different product, say so below.")
    assert panel.different_button.isVisible()
    assert panel.different_button.text() == "It is not Green Box: teach it as a different product"
    tap(qtbot, panel.take_button)  # another photo: the offer was for the photos refused
    assert not panel.different_button.isVisible()
    tap(qtbot, panel.teach_button)
    assert panel.different_button.isVisible()
    tap(qtbot, panel.different_button)
    assert panel.message.text().startswith("Taught: green-bar: enrolled 1"), panel.message.text()
    assert not panel.different_button.isVisible()
    rows = [r for r in service.store.audit_rows() if r["kind"] == "staff.teach"]
    assert len(rows) == 1 and rows[0]["detail"]["different_from"] == ["green-box"], rows
    tap(qtbot, panel.burst_button)  # the same photos again: nothing new, said in the staff member's words
    qtbot.waitUntil(lambda: panel.count.text().startswith("10 good photo(s)"), timeout=10_000)
    tap(qtbot, panel.teach_button)
    assert panel.message.text() == "green-bar: all 10 usable photo(s) are taught here already, nothing new to add"
