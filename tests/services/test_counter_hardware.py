"""The counter's hardware at the checkout: barcodes in the camera frame and from a USB scanner (before the model,
winning over it), GS1 labels priced at their embedded price or weight, tare codes, the scale's second opinion
(re-ranking, the ticket-switch staff call) — and a model that can never change how weight becomes money."""

from __future__ import annotations

from fractions import Fraction

import cv2
import numpy as np
import pytest

from kiosk.barcodes.gtin import with_check_digit
from kiosk.barcodes.synth import ean13_bars, tray_scene, zxing_bars
from kiosk.barcodes.variable import price_check_digit
from kiosk.config import KioskConfig
from kiosk.domain.money import round_half_up
from kiosk.services import CheckoutError, Notice, SuggestionsReady
from kiosk.services.errors import StaffLocked
from kiosk.services.events import StaffCalled, StaffCallEnded
from tests.services.conftest import EMPTY, PIN, PIN_HASH, FakeRecognizer, feed

BANANA_PLU = "107"  # assets/demo/catalog.csv
OATLY = "2000000000459"  # oatly-oat-milk's demo EAN-13


def scene(bars: np.ndarray, angle: float = 7.0) -> np.ndarray:
    """The label on a pack on the tray, at a 640×480 kiosk camera (the fixtures' 4:3), rotated and blurred."""
    return tray_scene(bars, angle=angle, blur=1.0, size=(480, 640))


def place_frame(service, image: np.ndarray) -> SuggestionsReady:
    fired = feed(service, image, 6)
    feed(service, cv2.resize(EMPTY, (640, 480)), 4)
    assert len(fired) == 1, fired
    return fired[0]


def config_for(k_tmp, catalog_db, **weighing) -> KioskConfig:
    return KioskConfig.from_dict({
        "store": str(k_tmp / "sales.sqlite"), "captures": str(k_tmp / "captures"), "catalog": str(catalog_db),
        "staff_pin_hash": PIN_HASH, "kiosk_id": "T1",
        "weighing": {"containers": {"bag": 2, "tub": 25}, "tare_barcodes": {"2990000000255": "tub"}, **weighing}})


@pytest.fixture
def hw(kit, tmp_path, demo_catalog_db):
    def make(*answers, threshold: float = 0.9, where: str = "."):
        (tmp_path / where).mkdir(exist_ok=True)
        return kit(*answers, threshold=threshold, config=config_for(tmp_path / where, demo_catalog_db))
    return make


# -- barcodes ---------------------------------------------------------------------------------------------------
def test_a_catalog_barcode_in_the_frame_wins_and_the_model_is_not_asked(hw):
    k = hw([("banana", 0.99)])
    ready = place_frame(k.service, scene(zxing_bars(OATLY, "EAN13")))
    (line,) = k.service.cart_view().lines
    assert (line.sku, ready.auto_added_sku) == ("oatly-oat-milk", "oatly-oat-milk")
    assert k.recognizer.calls == 0
    assert k.service.line_capture(line.line_id)["chooser"] == "barcode"


def test_an_unknown_gtin_falls_back_to_the_classifier(hw):
    k = hw([("banana", 0.5), ("granny-smith", 0.3)])
    ready = place_frame(k.service, scene(zxing_bars("4006381333931", "EAN13")))
    assert k.recognizer.calls == 1 and [s.sku for s in ready.suggestions] == ["banana", "granny-smith"]
    assert any("4006381333931 is not in the catalog" in n.message for n in k.of(Notice))


def test_a_wrong_check_digit_is_ignored_never_guessed(hw):
    k = hw([("banana", 0.5)])
    wrong = OATLY[:-1] + str((int(OATLY[-1]) + 1) % 10)
    place_frame(k.service, scene(ean13_bars(wrong)))
    assert k.recognizer.calls == 1 and k.service.cart_view().empty  # the model decides, nothing billed from the code
    assert k.service.scanned(wrong) is None and k.service.cart_view().empty
    assert k.of(Notice)[-1].message == "barcode not read: scan it again"


def test_gs1_labels_are_priced_at_their_embedded_weight_or_price(hw):
    k = hw()
    weight = "00548"
    weight_label = with_check_digit("29" + BANANA_PLU.zfill(4) + str(price_check_digit(weight)) + weight)
    place_frame(k.service, scene(zxing_bars(weight_label, "EAN13"), angle=90))
    banana = k.service.catalog.get("banana")
    (line,) = k.service.cart_view().lines
    assert (line.sku, line.grams) == ("banana", 548)
    assert line.total == round_half_up(Fraction(banana.price_paise * 548, 1000))
    price_label = with_check_digit("21" + BANANA_PLU.zfill(5) + "04550")  # a deli label: ₹45.50
    assert k.service.scanned(price_label) is not None
    assert (k.service.cart_view().lines[-1].total, k.service.cart_view().lines[-1].qty) == (4550, 1)
    bad = "29" + BANANA_PLU.zfill(4) + str((price_check_digit(weight) + 1) % 10) + weight
    assert k.service.scanned(with_check_digit(bad)) is None  # the embedded check digit is wrong: ignored
    assert len(k.service.cart_view().lines) == 2 and k.recognizer.calls == 0


def test_scanner_codes_sell_and_tare_codes_set_the_tare(hw):
    k = hw()
    assert k.service.scanned(OATLY) is not None
    assert k.service.scanned("2990000000255") is None  # the deli tub's tare code
    k.scale.set_weight(525)
    k.service.poll_scale()
    assert k.service.choose("banana") is not None
    assert k.service.cart_view().lines[-1].grams == 500  # 525 g gross − 25 g tub
    assert k.service.scanned("9999999999994") is None and "not in the catalog" in k.of(Notice)[-1].message


# -- the scale's second opinion ---------------------------------------------------------------------------------
def test_weight_reranks_the_suggestions(hw):
    # the image slightly prefers the 1 kg sour milk; 790 g on the tray is the 750 g soyghurt
    k = hw([("arla-sour-milk", 0.5), ("alpro-blueberry-soyghurt", 0.45), ("banana", 0.05)])
    k.scale.set_weight(790)
    k.service.poll_scale()
    ready = place_frame(k.service, cv2.resize(EMPTY, (640, 480)) // 2)
    assert [s.sku for s in ready.suggestions][:2] == ["alpro-blueberry-soyghurt", "arla-sour-milk"]
    assert k.service.placement(ready.placement_id).top_k[0] == ("arla-sour-milk", 0.5)  # provenance: the model's


def test_a_ticket_switch_calls_staff_instead_of_billing(hw):
    k = hw([("alpro-blueberry-soyghurt", 0.5)])
    k.scale.set_weight(1200)  # 1.2 kg on the tray
    k.service.poll_scale()
    ready = place_frame(k.service, cv2.resize(EMPTY, (640, 480)) // 2)
    assert k.service.choose("alpro-blueberry-soyghurt", ready.placement_id) is None
    (call,) = k.of(StaffCalled)
    assert call.sku == "alpro-blueberry-soyghurt" and call.grams == 1200 and "1200 g" in call.reason
    assert k.service.cart_view().empty
    with pytest.raises(CheckoutError, match="staff must check"):
        k.service.pay()
    with pytest.raises(StaffLocked):
        k.service.staff_resolve(True)
    assert k.service.staff_unlock(PIN)
    assert k.service.staff_resolve(False) is None and k.service.cart_view().empty
    assert k.of(StaffCallEnded)[-1] == StaffCallEnded(ready.placement_id, "alpro-blueberry-soyghurt", None)
    # staff may also approve it: the line is added then
    k.scale.set_weight(0)
    k.service.poll_scale()
    k.scale.set_weight(1250)
    k.service.poll_scale()
    assert k.service.choose("alpro-blueberry-soyghurt") is None
    line_id = k.service.staff_resolve(True)
    assert [x.line_id for x in k.service.cart_view().lines] == [line_id]


def test_a_weight_that_fits_adds_the_unit_item(hw):
    k = hw([("alpro-blueberry-soyghurt", 0.95)])
    k.scale.set_weight(790)
    k.service.poll_scale()
    ready = place_frame(k.service, cv2.resize(EMPTY, (640, 480)) // 2)
    assert ready.auto_added_sku == "alpro-blueberry-soyghurt" and not k.of(StaffCalled)


# -- a model never decides money ----------------------------------------------------------------------------------
def test_a_model_swap_does_not_change_how_weight_becomes_money(hw):
    """The same weighings priced under two models (other version, threshold, labels, answers) bill the same."""
    totals = []
    for run, model in enumerate((FakeRecognizer([("banana", 0.99)], version=1, threshold=0.5),
                  FakeRecognizer([("carrots", 0.2)], version=9, threshold=0.01))):
        k = hw(where=f"run{run}")
        k.service.swap_model(model)
        for grams in (548, 1205, 237):
            assert k.service.choose("banana") is None
            k.scale.set_weight(grams)
            k.service.poll_scale()
            k.scale.set_weight(0)
            k.service.poll_scale()
        totals.append([(x.grams, x.total) for x in k.service.cart_view().lines])
    banana = k.service.catalog.get("banana")
    assert totals[0] == totals[1] == [(g, round_half_up(Fraction(banana.price_paise * g, 1000)))
                                      for g in (548, 1205, 237)]


def test_a_forced_tare_is_the_least_tare_a_weighing_uses(kit, tmp_path, demo_catalog_db):
    config = config_for(tmp_path, demo_catalog_db, forced_tares={"banana": 30})  # always sold in a 30 g tray
    k = kit(config=config)
    k.scale.set_weight(580)
    k.service.poll_scale()
    k.service.choose("banana")
    k.service.scale_tare("bag")  # 2 g: less than the forced tare, which wins
    k.scale.set_weight(0)
    k.service.poll_scale()
    k.service.choose("banana")
    k.scale.set_weight(780)
    k.service.poll_scale()
    k.service.scale_tare("tub")  # 25 g … still less than 30
    assert [x.grams for x in k.service.cart_view().lines] == [550, 750]
