"""The window on the real CheckoutService (real catalog, store, trigger, scale; a scripted recogniser).

Frames of the demo replay go through ``service.process_frame`` on a worker thread, as live mode does,
and the window is driven like a shopper: suggestions → tap → cart → pay → receipt → new cart.
"""

import threading
from pathlib import Path

import cv2
import pytest

from kiosk.recognition.recognizer import Recognition, Suggestion
from tests.ui.helpers import tap, tap_cell, type_keys

REPO = Path(__file__).resolve().parents[2]
CAMERA = REPO / "assets" / "demo" / "camera"


class ScriptedRecognizer:
    """Says whatever the test wants; the auto-add threshold is the bundle's in real life."""

    model_version = 3
    auto_add_threshold = 0.9

    def __init__(self):
        self.answer = []

    def recognize(self, image):
        return Recognition([Suggestion(s, p) for s, p in self.answer], {"inference": 1.0}, self.model_version)

    def close(self):
        pass


@pytest.fixture
def real(tmp_path, qtbot):
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog
    from kiosk.config import KioskConfig, hash_pin
    from kiosk.scale.simulated import SimulatedScale
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.store import SalesStore
    from kiosk.ui.app import build_window

    db = tmp_path / "catalog.sqlite"
    with Catalog.open(db) as cat:
        import_csv(cat, REPO / "assets" / "demo" / "catalog.csv")
    config = KioskConfig(catalog=str(db), store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                         staff_pin_hash=hash_pin("2468"), store_name="Green Basket")
    recognizer = ScriptedRecognizer()
    scale = SimulatedScale(0)
    store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, store_info=config.store_info)
    service = CheckoutService(config, catalog=open_catalog(db), store=store, recognizer_holder=recognizer, scale=scale)
    window, _ = build_window(service, config, payment_ms=0, receipt_return_s=0)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    service.announce()
    yield service, window, recognizer, scale
    window.close()
    service.close()


def place(service, item_jpg):
    """Empty tray, then the item held still (and left there), fed from a worker thread like the
    recognition loop. (Clearing the tray would hide the suggestions: PlacementCleared.)"""
    empty = cv2.imread(str(CAMERA / "00_empty.jpg"))
    item = cv2.imread(str(CAMERA / item_jpg))
    frames = [empty] * 8 + [item] * 8

    def feed():
        for image in frames:
            service.process_frame(image)

    t = threading.Thread(target=feed)
    t.start()
    t.join(20)


def test_real_service_place_tap_second_pay_receipt_new_cart(qtbot, real):
    service, window, recognizer, scale = real
    qtbot.waitUntil(lambda: window.status.model_label.text().startswith("Model v3"))
    recognizer.answer = [("oatly-oat-milk", 0.55), ("arla-standard-milk", 0.30), ("banana", 0.05)]
    scale.set_weight(1059)
    service.poll_scale()
    place(service, "07_arla-standard-milk.jpg")
    buttons = window.suggestions.buttons
    qtbot.waitUntil(lambda: window.suggestions.visible_skus() == ["oatly-oat-milk", "arla-standard-milk", "banana"])
    assert window.cart_model.rowCount() == 0  # 0.55 < the 0.9 threshold: nothing added by itself
    assert buttons[1].name_label.text() == "Arla Standard Milk 1 l" and buttons[1].price_label.text() == "₹72.00"
    assert buttons[1].has_photo and buttons[2].price_label.text() == "₹69.50/kg"

    tap(qtbot, buttons[1])
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    assert [window.cart_model.index(0, c).data() for c in (0, 1, 3)] == ["Arla Standard Milk 1 l", "1", "₹72.00"]
    assert window.totals.total_text() == "₹72.00"
    assert [line.sku for line in service.cart_view().lines] == ["arla-standard-milk"]  # committed in the store

    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt", timeout=3000)
    text = window.receipt.text.toPlainText()
    assert "Green Basket" in text and "Arla Standard Milk 1 l" in text and "72.00" in text
    tap(qtbot, window.receipt.new_button)
    assert window.page == "checkout" and window.cart_model.rowCount() == 0
    assert service.cart_view().lines == () and not window.pay_button.isEnabled()


def test_real_service_auto_add_weight_item_and_staff_void(qtbot, real):
    service, window, recognizer, scale = real
    # a confident banana is added by the service itself, weighed on the stable reading
    recognizer.answer = [("banana", 0.97), ("granny-smith", 0.02)]
    scale.set_weight(548)
    service.poll_scale()
    place(service, "01_banana.jpg")
    qtbot.waitUntil(lambda: window.suggestions.buttons[0].added)
    assert [window.cart_model.index(0, c).data() for c in (0, 1, 3)] == ["Banana", "0.548 kg", "₹38.09"]

    # the shopper says it is a Granny Smith: the line is replaced, priced on the same weight
    tap(qtbot, window.suggestions.buttons[1])
    qtbot.waitUntil(lambda: window.cart_model.index(0, 0).data() == "Granny Smith Apple")
    assert window.cart_model.rowCount() == 1 and window.cart_model.index(0, 3).data() == "₹142.48"

    # staff voids it
    tap(qtbot, window.staff_button)
    type_keys(qtbot, window.pin.keypad, "2468")
    tap(qtbot, window.pin.ok_button)
    assert window.page == "staff" and service.staff_unlocked
    tap_cell(qtbot, window.staff.table, 0, 0)
    tap(qtbot, window.staff.void_button)
    qtbot.waitUntil(lambda: window.cart_model.cart_view.lines == ())
    assert window.cart_model.rowCount() == 1 and window.cart_model.line(0).mark == "voided"  # listed, struck out
    tap(qtbot, window.staff.done_button)
    assert not service.staff_unlocked and window.page == "checkout"
