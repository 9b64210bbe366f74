"""The counter on a tray that already holds billed items (probe-camera finding 1): an item slid without lifting it
is not billed again, a second item is judged (unit weight) and weighed on the increase it brings, an item swapped
for another of the same weight replaces its line, and an item taken off never adds one."""

from __future__ import annotations

import cv2
import numpy as np

from kiosk.services.events import StaffCalled
from tests.services.conftest import EMPTY, feed

OATGHURT = "oatly-natural-oatghurt"  # a 1 kg pot, 1000-1100 g each (assets/demo/catalog.csv), ₹320
YOGHURT = "valio-vanilla-yoghurt"  # a 1 kg pot too, 1000-1100 g, ₹220


def tray(*boxes: tuple[int, int, tuple[int, int, int]]) -> np.ndarray:
    """The empty tray with a 50×60 px item at each ``(x, y, colour)``."""
    img = EMPTY.copy()
    for x, y, colour in boxes:
        cv2.rectangle(img, (x, y), (x + 50, y + 60), colour, -1)
    return img


RED, BLUE = (40, 40, 220), (220, 60, 40)


def weigh(k, grams: int) -> None:
    k.scale.set_weight(grams)
    k.service.poll_scale()


def lines(k) -> list[tuple[str, int | None]]:
    return [(x.sku, x.grams) for x in k.service.cart_view().lines]


def shown(k, image) -> list:
    """The item trigger fires (once) on ``image``: the SuggestionsReady it gave."""
    fired = feed(k.service, image, 7)
    assert len(fired) == 1, fired
    return fired[0]


def as_the_shopper(k, ready) -> None:
    """What the headless replay does: a placement without a line gets its top-1 tapped."""
    placement = k.service.placement(ready.placement_id)
    if placement.line_id is None and ready.suggestions:
        k.service.choose(ready.suggestions[0].sku, ready.placement_id)


def test_an_item_slid_on_the_tray_is_not_billed_again(kit):
    k = kit([(OATGHURT, 0.95)], threshold=0.9)  # confident: auto-added
    weigh(k, 1060)
    first = shown(k, tray((10, 20, RED)))
    assert first.auto_added_sku == OATGHURT
    slid = shown(k, tray((90, 40, RED)))  # slid 80 px without lifting it: the scale stays at 1060 g
    as_the_shopper(k, slid)
    assert slid.auto_added_line_id == first.auto_added_line_id and lines(k) == [(OATGHURT, None)]
    assert k.service.choose(OATGHURT, slid.placement_id) == first.auto_added_line_id  # a tap on its tile: the same line
    assert lines(k) == [(OATGHURT, None)] and k.service.cart_view().bill.gross == 32000


def test_a_heavy_second_item_is_judged_on_its_own_weight(kit):
    k = kit([("avocado", 0.95)], [(OATGHURT, 0.95)], threshold=0.9)
    weigh(k, 210)
    shown(k, tray((10, 20, RED)))
    assert lines(k) == [("avocado", None)]
    weigh(k, 1710)  # 1.5 kg called a 1 kg pot, beside the billed avocado
    second = shown(k, tray((10, 20, RED), (100, 20, BLUE)))
    assert second.auto_added_sku is None  # the weight says otherwise: not added by itself
    as_the_shopper(k, second)
    (call,) = k.of(StaffCalled)
    assert call.sku == OATGHURT and call.grams == 1500 and lines(k) == [("avocado", None)]


def test_a_second_item_that_fits_its_increase_is_billed_once(kit):
    k = kit([("avocado", 0.95)], [(OATGHURT, 0.95)], threshold=0.9)
    weigh(k, 210)
    shown(k, tray((10, 20, RED)))
    weigh(k, 1270)
    second = shown(k, tray((10, 20, RED), (100, 20, BLUE)))
    assert second.auto_added_sku == OATGHURT and not k.of(StaffCalled)
    assert lines(k) == [("avocado", None), (OATGHURT, None)]


def test_a_second_by_weight_item_is_weighed_on_its_increase(kit):
    k = kit([("banana", 0.5)], [("watermelon", 0.5)])
    weigh(k, 548)
    as_the_shopper(k, shown(k, tray((10, 20, RED))))
    weigh(k, 2048)  # a watermelon piece put beside the bananas, the tray not emptied
    as_the_shopper(k, shown(k, tray((10, 20, RED), (100, 20, BLUE))))
    assert lines(k) == [("banana", 548), ("watermelon", 1500)] and k.service.awaiting_weight is None


def test_an_item_swapped_for_one_of_the_same_weight_replaces_its_line(kit):
    k = kit([(OATGHURT, 0.95)], [(YOGHURT, 0.95)], threshold=0.9)
    weigh(k, 1060)
    shown(k, tray((10, 20, RED)))
    swapped = shown(k, tray((10, 20, BLUE)))  # another 1 kg pot in its place, the load unchanged
    assert swapped.auto_added_sku == YOGHURT and lines(k) == [(YOGHURT, None)]


def test_an_item_taken_off_adds_nothing_and_the_next_is_judged_on_its_own_weight(kit):
    k = kit([("avocado", 0.95)], [(OATGHURT, 0.95)], [("avocado", 0.95)], [("alpro-blueberry-soyghurt", 0.95)],
            threshold=0.9)
    weigh(k, 210)
    shown(k, tray((10, 20, RED)))
    weigh(k, 1270)
    shown(k, tray((10, 20, RED), (100, 20, BLUE)))
    weigh(k, 210)  # the pot taken off (bagged): the avocado stays
    as_the_shopper(k, shown(k, tray((10, 20, RED))))
    assert lines(k) == [("avocado", None), (OATGHURT, None)]
    weigh(k, 1000)  # a 790 g soyghurt put beside it
    as_the_shopper(k, shown(k, tray((10, 20, RED), (100, 20, (40, 200, 40)))))
    assert not k.of(StaffCalled) and [s for s, _ in lines(k)] == ["avocado", OATGHURT, "alpro-blueberry-soyghurt"]


def test_a_staff_correction_to_a_by_weight_sku_weighs_only_what_no_line_claimed(kit):
    """A scanned unit line (no stored weight, no placement) corrected to a by-weight SKU is weighed on the load no
    line claimed: the increase over the billed items, never the whole tray."""
    from kiosk.staff.accounts import add_account

    k = kit()
    add_account(k.service.store, "Ravi", "supervisor", "7391", by="test")
    weigh(k, 548)
    assert k.service.choose("banana") is not None  # picked from search, weighed: 548 g
    weigh(k, 1548)
    carton = k.service.scanned("2000000000459")  # a 1 kg oat milk carton, scanned on the tray
    weigh(k, 2048)  # 500 g more: what the correction is about
    assert k.service.staff_unlock("7391", "101")
    k.service.staff_correct(carton, "watermelon")
    assert lines(k)[-1] == ("watermelon", 500)
