"""The tray keeps the weight its lines claimed: a new item is judged and priced on the increase over the claim, a new
picture with no increase of Min is the same items moved (never a new line), items taken off shrink the claim."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.scale import WeightReading
from kiosk.weighing import NetState, Weighing, WeighingRules

RETAIL = WeighingRules(division_g=5, min_divisions=20, capacity_g=15_000, containers={"bag": 5})
BANANA = SimpleNamespace(sku="banana", tare_g=None)


def ok(grams: int, stable: bool = True) -> WeightReading:
    return WeightReading(grams, stable)


def test_a_second_item_is_priced_and_judged_on_its_own_increase():
    w = Weighing(RETAIL)
    w.take(ok(210))
    w.spend("avocado")
    assert w.usable_grams() is None and w.grew() is False
    w.take(ok(1710))  # 1.5 kg put beside the billed avocado
    assert w.grew() is True and w.usable_grams() == 1500 and w.fresh_grams() == 1500
    assert w.usable_grams(placement_id="oat") == 1500  # what the second placement is judged on
    assert w.usable_grams(placement_id="avocado") is None  # the avocado's line owns the old load, not the new one


def test_a_second_by_weight_item_is_weighed_on_its_increase_less_its_tare():
    w = Weighing(RETAIL)
    w.take(ok(550))
    w.spend("p1")
    w.set_container("bag")
    w.take(ok(1055))  # bananas in a 5 g bag beside the first item
    net = w.net(BANANA, "p2")
    assert (net.state, net.gross, net.tare, net.net) == (NetState.OK, 505, 5, 500)
    w.spend("p2")
    assert w.tare is None and w.usable_grams() is None


def test_a_picture_with_no_increase_is_the_same_item_moved():
    w = Weighing(RETAIL)
    w.take(ok(1060))
    w.spend("p1")
    for grams in (1060, 1065, 1155):  # slid, a division of wobble, less than Min more
        w.take(ok(grams))
        assert w.grew() is False and w.usable_grams() is None, grams
    for reading in (ok(1200, stable=False), ok(15_100), ok(1203), WeightReading.error("no answer")):
        w.take(reading)
        assert w.grew() is None, reading  # moving, over Max, not in 5 g steps, no answer: the scale cannot say


def test_the_claim_waits_for_a_settled_load_and_shrinks_when_items_are_taken_off():
    w = Weighing(RETAIL)
    w.take(ok(600, stable=False))
    w.spend("p1")  # added while it still rocked
    assert w.grew() is None
    w.take(ok(1060))  # it settles: that is the claim
    assert w.grew() is False and w.usable_grams() is None
    w.take(ok(850))  # something taken off
    w.take(ok(1060))  # put back: 210 g more than what is left
    assert w.grew() is True and w.usable_grams() == 210


def test_a_moved_item_takes_over_its_placements_share_of_the_claim():
    w = Weighing(RETAIL)
    w.take(ok(1060))
    w.spend("p1")
    assert w.newest_owner() == "p1" and w.sole_owner("p1")
    w.adopt("p1", "p2")  # the same carton, seen again after a slide
    assert w.sole_owner("p2") and not w.sole_owner("p1")
    assert w.usable_grams(placement_id="p2") == 1060  # its line may be re-chosen on the whole load, as before


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["place", "slide", "remove"]), st.integers(21, 300),
                          st.sampled_from([-5, 0, 5])), max_size=9))  # at most 13.5 kg: within the 15 kg Max
def test_place_slide_remove_never_bills_more_lines_than_items_added(steps):
    """A counter that adds a line only when the weighing room says the tray grew: every item put on is billed once,
    at its own weight; a slide or an item taken off never bills. Items weigh more than Min + e: a lighter one is under
    the scale's Min once it wobbles, where the scale cannot tell a tray from an empty one (README: Hardening)."""
    w = Weighing(RETAIL)
    w.take(ok(0))
    tray: list[int] = []
    added, lines, priced = 0, 0, []
    for n, (action, fives, jitter) in enumerate(steps):
        if action == "place":
            grams = fives * 5
            tray.append(grams)
            added += 1
        elif action == "remove" and tray:
            tray.pop(n % len(tray))
        gross = sum(tray) + (jitter if action == "slide" and tray else 0)
        w.take(ok(max(gross, 0)))
        if tray and w.grew():  # the camera sees a new picture (not of an empty tray): a line only on an increase
            priced.append(w.usable_grams())
            w.spend(f"p{n}")
            lines += 1
        assert lines <= added
        if action == "place":  # billed once, on its own weight (give or take a division the scale wobbled)
            assert lines == added and abs(priced[-1] - tray[-1]) <= RETAIL.division_g
