"""CheckoutService with a scripted fake recogniser: placements, suggestions, weights, payment, staff, restarts."""

from __future__ import annotations

import time
from fractions import Fraction

import cv2
import pytest

from catalog.repository import Catalog
from kiosk.domain.money import round_half_up
from kiosk.scale import WeightStatus
from kiosk.services import (
    AwaitingWeight,
    CartChanged,
    CheckoutError,
    ModelChanged,
    Notice,
    SaleClosed,
    StaffLocked,
    StaffModeChanged,
    SuggestionsReady,
    WeightChanged,
)
from kiosk.store import SalesStore
from tests.services.conftest import EMPTY, PIN, FakeRecognizer, feed, item_frame, place

UNIT_ANSWER = [("oatly-oat-milk", 0.6), ("arla-standard-milk", 0.3), ("banana", 0.05)]
WEIGHT_ANSWER = [("banana", 0.95), ("granny-smith", 0.03), ("carrots", 0.01)]


def sku(kit, sku_id):
    with Catalog.open(kit.catalog_db) as cat:
        return cat.get(sku_id)


def stored_lines(kit):
    with SalesStore.open(kit.config.store) as store:
        return store.open_cart().lines


def test_placement_gives_suggestions_and_a_tap_adds_the_line(kit):
    k = kit(UNIT_ANSWER, threshold=0.9)
    ready = place(k.service, (40, 40, 220))
    assert [s.sku for s in ready.suggestions] == ["oatly-oat-milk", "arla-standard-milk", "banana"]
    assert ready.auto_added_line_id is None and k.service.cart_view().empty  # 0.6 < 0.9: the shopper decides
    oat = sku(k, "oatly-oat-milk")
    first = ready.suggestions[0]
    assert (first.name, first.sold_by, first.score) == (oat.name, "unit", 0.6)
    assert first.price_text == f"₹{oat.price_paise // 100:,}.{oat.price_paise % 100:02d}"
    assert ready.suggestions[2].price_text.endswith("/kg")  # banana is sold by weight
    assert k.of(SuggestionsReady) == [ready]

    line_id = k.service.choose("oatly-oat-milk", ready.placement_id)
    view = k.service.cart_view()
    assert [(x.line_id, x.sku, x.qty_text, x.total) for x in view.lines] == [(line_id, "oatly-oat-milk", "1",
                                                                              oat.price_paise)]
    assert view.bill.total == round_half_up(Fraction(oat.price_paise, 100)) * 100
    assert k.of(CartChanged)[-1].cart_view == view
    assert [x.line_id for x in stored_lines(k)] == [line_id]  # committed before it was shown
    # a second tap on the same suggestion does not add the item twice
    assert k.service.choose("oatly-oat-milk", ready.placement_id) == line_id
    assert len(k.service.cart_view().lines) == 1
    # tapping another suggestion of the same placement replaces the line
    other = k.service.choose("arla-standard-milk", ready.placement_id)
    assert [x.sku for x in k.service.cart_view().lines] == ["arla-standard-milk"]
    assert [x.line_id for x in stored_lines(k)] == [other]


def test_auto_add_only_at_or_above_the_bundle_threshold(kit):
    k = kit([("oatly-oat-milk", 0.8)], [("arla-standard-milk", 0.7999)], threshold=0.8)
    first = place(k.service, (40, 40, 220))
    assert first.auto_added_line_id is not None
    assert [x.line_id for x in k.service.cart_view().lines] == [first.auto_added_line_id]
    second = place(k.service, (220, 40, 40))
    assert second.auto_added_line_id is None
    assert [x.sku for x in k.service.cart_view().lines] == ["oatly-oat-milk"]
    # the line was in the cart before the suggestions said so
    kinds = [type(e).__name__ for e in k.events if isinstance(e, (CartChanged, SuggestionsReady))]
    assert kinds[:2] == ["CartChanged", "SuggestionsReady"]


def test_unknown_or_inactive_suggestions_are_not_shown(kit):
    k = kit([("no-such-sku", 0.99), ("banana", 0.01)], threshold=0.5)
    ready = place(k.service)
    assert [s.sku for s in ready.suggestions] == ["banana"]
    assert ready.auto_added_line_id is None  # the top-1 itself is not sellable: nothing is added by itself


def test_weight_item_waits_for_a_stable_reading_above_zero(kit):
    k = kit(WEIGHT_ANSWER, threshold=0.9)
    s = k.service
    k.scale.set_weight(0)
    s.poll_scale()
    (ready,) = feed(s, item_frame(), 6)  # the item stays on the tray
    assert ready.auto_added_line_id is None  # auto-added, but the weight is not there yet
    assert k.of(AwaitingWeight) == [AwaitingWeight(ready.placement_id, "banana", sku(k, "banana").name)]
    assert s.awaiting_weight == (ready.placement_id, "banana")
    for grams, stable in ((0, True), (310, False), (590, False)):
        k.scale.set_weight(grams, stable)
        s.poll_scale()
        assert s.cart_view().empty
    k.scale.set_status(WeightStatus.ERROR)
    s.poll_scale()
    assert s.cart_view().empty
    k.scale.set_status(None)
    k.scale.set_weight(548)
    reading = s.poll_scale()
    assert reading.grams == 548 and reading.stable
    (line,) = s.cart_view().lines
    banana = sku(k, "banana")
    assert (line.sku, line.grams, line.qty_text) == ("banana", 548, "0.548 kg")
    assert line.total == round_half_up(Fraction(banana.price_paise * 548, 1000))  # the grams shown are priced
    assert line.unit_price_text.endswith("/kg")
    assert s.awaiting_weight is None
    # more readings do not add it again
    k.scale.set_weight(549)
    s.poll_scale()
    assert len(s.cart_view().lines) == 1
    texts = [e.text for e in k.of(WeightChanged)]
    assert "310 g ~" in texts and "548 g" in texts
    sent = [(e.reading, e.net) for e in k.of(WeightChanged)]
    assert all(a != b for a, b in zip(sent, sent[1:]))  # sent on change only (of the reading or what it means)
    assert sent[-1][1].state.value == "spent"  # the 548 g priced the banana: shown as such


def test_weight_item_with_a_stable_reading_is_added_at_once_and_unit_items_ignore_the_scale(kit):
    k = kit(WEIGHT_ANSWER, threshold=0.9)
    k.scale.set_weight(362)
    k.service.poll_scale()
    ready = place(k.service)
    (line,) = k.service.cart_view().lines
    assert ready.auto_added_line_id == line.line_id and line.grams == 362
    # a unit item chosen from search is added at once, whatever the scale says
    k.scale.set_weight(0, stable=False)
    k.service.poll_scale()
    line_id = k.service.choose("oatly-oat-milk")
    assert line_id is not None and [x.sku for x in k.service.cart_view().lines] == ["banana", "oatly-oat-milk"]


def test_item_taken_away_before_weighing_is_not_billed(kit):
    k = kit(WEIGHT_ANSWER, threshold=0.9)
    place(k.service)  # place() also clears the tray
    assert k.service.awaiting_weight is None
    k.scale.set_weight(548)
    k.service.poll_scale()
    assert k.service.cart_view().empty


def test_search_by_name_and_plu(kit):
    k = kit()
    hits = k.service.search("banana")
    assert hits and hits[0].sku == "banana" and hits[0].score == 1.0
    banana = sku(k, "banana")
    assert banana.plu and k.service.search(banana.plu)[0].sku == "banana"
    assert k.service.search("   ") == []


def test_remove_line(kit):
    k = kit(UNIT_ANSWER, threshold=0.5)
    ready = place(k.service)
    k.service.choose("arla-standard-milk")
    k.service.remove_line(ready.auto_added_line_id)
    assert [x.sku for x in k.service.cart_view().lines] == ["arla-standard-milk"]
    assert [x.sku for x in stored_lines(k)] == ["arla-standard-milk"]
    with pytest.raises(CheckoutError):
        k.service.remove_line(ready.auto_added_line_id)


def test_pay_closes_the_sale_once_and_opens_a_new_cart(kit):
    k = kit(UNIT_ANSWER, threshold=0.5)
    with pytest.raises(CheckoutError, match="empty"):
        k.service.pay()
    place(k.service)
    k.scale.set_weight(497)
    k.service.poll_scale()
    k.service.choose("satsumas")
    before = k.service.cart_view()
    receipt = k.service.pay("card")
    assert receipt.receipt_no == "T1-000001" and receipt.payment_method == "card"
    assert receipt.bill.total == before.bill.total and len(receipt.lines) == 2
    assert k.service.cart_view().empty and k.service.cart_view().cart_id != before.cart_id
    with pytest.raises(CheckoutError):
        k.service.pay()  # a second tap on Pay finds nothing to pay
    (closed,) = k.of(SaleClosed)
    assert closed.receipt == receipt and "TOTAL" in closed.receipt_text
    with SalesStore.open(k.config.store) as store:
        assert [s.receipt_no for s in store.sales()] == ["T1-000001"]


def test_restart_resumes_the_open_cart_exactly(kit):
    k = kit(WEIGHT_ANSWER, threshold=0.9)
    k.scale.set_weight(548)
    k.service.poll_scale()
    place(k.service)
    k.service.choose("oatly-oat-milk")
    k.service.choose("oatly-oat-milk")
    gone = k.service.choose("arla-standard-milk")
    k.service.remove_line(gone)
    shown = k.service.cart_view()
    # no close(): the process "dies" here; a new service opens the same files
    again = k.open()
    assert again.cart_view() == shown
    assert [(x.sku, x.grams, x.qty) for x in shown.lines] == [("banana", 548, None), ("oatly-oat-milk", None, 1),
                                                             ("oatly-oat-milk", None, 1)]
    receipt = again.pay()
    assert receipt.bill.total == shown.bill.total


def test_staff_pin_unlocks_times_out_and_locks_out_after_wrong_tries(kit):
    k = kit(UNIT_ANSWER, threshold=0.5)
    ready = place(k.service)
    line_id = ready.auto_added_line_id
    with pytest.raises(StaffLocked):
        k.service.staff_void(line_id)
    assert k.service.staff_unlock("0000") is False
    assert k.service.staff_unlock(PIN) is True and k.service.staff_unlocked
    k.clock.advance(k.config.staff_timeout_s + 1)
    assert not k.service.staff_unlocked
    with pytest.raises(StaffLocked):
        k.service.staff_override_price(line_id, 100)
    for _ in range(3):
        assert k.service.staff_unlock("9999") is False
    assert k.service.staff_unlock(PIN) is False  # locked out for a while, even with the right PIN
    k.clock.advance(31)
    assert k.service.staff_unlock(PIN) is True
    k.service.staff_void(line_id)
    assert k.service.cart_view().empty
    with SalesStore.open(k.config.store) as store:
        (line,) = store.open_cart().all_lines
        assert line.voided
    assert [e.unlocked for e in k.of(StaffModeChanged)] == [True, False, True]


def test_a_clock_set_back_does_not_keep_staff_mode_open(kit):
    """NTP or a hand-set clock moves the kiosk's time back an hour while staff mode is open: the session still ends
    staff_timeout_s after the last action (it used to stay open for the hour), and a supervisor's approval with it."""
    k = kit(UNIT_ANSWER, threshold=0.5)
    assert k.service.staff_unlock(PIN) is True
    k.clock.advance(k.config.staff_timeout_s / 2)
    assert k.service.staff_unlocked  # the staff page asks every second
    k.clock.advance(-3600)
    assert k.service.staff_unlocked
    k.clock.advance(k.config.staff_timeout_s / 2 + 1)
    assert not k.service.staff_unlocked
    assert k.service.staff_unlock(PIN) is True
    k.clock.advance(k.config.staff_timeout_s - 1)
    assert k.service.staff_unlocked  # an action's time-out restarts as before


def test_staff_correction_is_recorded_with_the_placement_image(kit):
    k = kit([("granny-smith", 0.97), ("banana", 0.02)], threshold=0.9)
    k.scale.set_weight(548)
    k.service.poll_scale()
    ready = place(k.service, (30, 200, 230))
    wrong = ready.auto_added_line_id
    assert [x.sku for x in k.service.cart_view().lines] == ["granny-smith"]
    # the correction survives a restart between the placement and the staff visit
    service = k.open()
    assert service.staff_unlock(PIN, staff_id="asha")
    new_id = service.staff_correct(wrong, "banana")
    (line,) = service.cart_view().lines
    assert (line.line_id, line.sku, line.grams) == (new_id, "banana", 548)
    with SalesStore.open(k.config.store) as store:
        (c,) = store.corrections()
        assert (c.recognised_sku, c.corrected_sku, c.who, c.line_id) == ("granny-smith", "banana", "asha", wrong)
        assert [x.voided for x in store.open_cart().all_lines] == [True, False]
    saved = cv2.imread(c.image_path)
    assert saved is not None and saved.shape == k.recognizer.images[0].shape
    assert abs(saved.astype(int) - k.recognizer.images[0].astype(int)).mean() < 3  # the very frame, as JPEG
    with pytest.raises(CheckoutError):
        service.staff_correct(new_id, "no-such-sku")


def test_staff_price_override_voids_and_reprices(kit):
    k = kit(UNIT_ANSWER, threshold=0.5)
    ready = place(k.service)
    assert k.service.staff_unlock(PIN)
    new_id = k.service.staff_override_price(ready.auto_added_line_id, 9900)
    (line,) = k.service.cart_view().lines
    assert (line.line_id, line.sku, line.total) == (new_id, "oatly-oat-milk", 9900)
    with pytest.raises(CheckoutError):
        k.service.staff_override_price(new_id, -1)


def test_swap_model_between_frames_keeps_the_cart(kit):
    k = kit(UNIT_ANSWER, threshold=0.5)
    place(k.service)
    before = k.service.cart_view()
    old = k.recognizer
    new = FakeRecognizer([("carrots", 0.99)], version=2, threshold=0.5)
    k.service.swap_model(new)
    assert old.closed and k.service.cart_view() == before
    assert k.of(ModelChanged)[-1].version == 2
    k.scale.set_weight(683)
    k.service.poll_scale()
    ready = place(k.service, (220, 40, 40))
    assert [s.sku for s in ready.suggestions] == ["carrots"] and new.calls == 1
    assert [x.sku for x in k.service.cart_view().lines] == ["oatly-oat-milk", "carrots"]


def test_live_mode_recognises_on_a_worker_thread_and_drops_frames_while_busy(tmp_path, kit):
    # a replay of the demo camera, delivered fast; a slow recogniser makes capture drop frames
    rec = FakeRecognizer([("banana", 0.99)], threshold=0.5, delay=0.15)
    k = kit(recognizer=rec)
    camera = f"folder:{(tmp_path / 'cam').as_posix()}?fps=200&hold=1"
    (tmp_path / "cam").mkdir()
    seq = [EMPTY] * 12 + [item_frame()] * 60 + [EMPTY] * 12
    for i, img in enumerate(seq):
        cv2.imwrite(str(tmp_path / "cam" / f"{i:03d}.png"), img)
    k.config = k.config.replace(camera=camera)
    k.service.config = k.config
    k.service.start()
    assert k.service.running
    deadline = time.monotonic() + 20
    while not k.service.capture.state.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    k.service.stop()
    assert not k.service.running
    statuses = [e.status for e in k.events if type(e).__name__ == "CameraStatusChanged"]
    assert statuses[0] == "connecting" and "live" in statuses and statuses[-1] == "ended"
    assert k.service.capture.dropped > 0
    assert rec.threads and set(rec.threads) == {"recognition"}



@pytest.mark.parametrize("blocker", ["captures", "captures/20250301"])
def test_a_photo_that_cannot_be_saved_never_stops_the_sale(kit, tmp_path, demo_catalog_db, blocker):
    """The captures folder, or its day's folder, is a file (a restore gone wrong): each placement is still
    recognised and sold, without its photo and with a warning -- before, the half-photo clean-up raised and no
    item was ever recognised."""
    from kiosk.config import KioskConfig

    (tmp_path / blocker).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocker).write_text("x")
    config = KioskConfig(store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                         catalog=str(demo_catalog_db), kiosk_id="T1")
    k = kit([("oatly-oat-milk", 0.99)], config=config)
    ready = place(k.service)
    assert ready.auto_added_sku == "oatly-oat-milk" and len(k.service.cart_view().lines) == 1
    assert any("cannot save placement image" in n.message for n in k.of(Notice))
