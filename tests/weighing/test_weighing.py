"""The weighing room: legal rules, net = gross − tare, every state that is shown and never priced, tare, zero and
the rule that one stable load prices one item."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kiosk.config import ConfigError, KioskConfig
from kiosk.scale import WeightReading, WeightStatus
from kiosk.weighing import NetState, PendingItem, TareError, Weighing, WeighingConfigError, WeighingRules, net_weight

RETAIL = WeighingRules(division_g=5, min_divisions=20, capacity_g=15_000, containers={"bag": 5, "tub": 25})


def ok(grams: int, stable: bool = True) -> WeightReading:
    return WeightReading(grams, stable)


def test_rules_follow_class_iii_and_refuse_illegal_settings():
    assert RETAIL.min_grams == 100 and RETAIL.overload_grams == 15_045 and RETAIL.zero_limit_grams == 600
    with pytest.raises(WeighingConfigError, match="not a multiple of division_g"):
        WeighingRules(division_g=5, containers={"bag": 3})
    with pytest.raises(WeighingConfigError, match="capacity_g=15001"):
        WeighingRules(division_g=5, capacity_g=15_001)
    with pytest.raises(WeighingConfigError, match="division_g=0"):
        WeighingRules(division_g=0)
    with pytest.raises(WeighingConfigError, match="unknown key"):
        WeighingRules.from_dict({"division": 5})
    with pytest.raises(WeighingConfigError, match="tare barcode"):
        WeighingRules(tare_barcodes={"2990000000255": "crate"})
    with pytest.raises(ConfigError, match=r"\[weighing\]"):
        KioskConfig.from_dict({"weighing": {"min_divisions": -1}})
    assert KioskConfig.from_dict({"weighing": {"division_g": 5, "containers": {"bag": 5}}}).weighing.min_grams == 100


@pytest.mark.parametrize("reading, tare, state, priced", [
    (ok(550), 0, NetState.OK, 550),
    (ok(550), 5, NetState.OK, 545),
    (ok(0), 0, NetState.EMPTY, None),
    (ok(550, stable=False), 0, NetState.MOTION, None),
    (ok(15_050), 0, NetState.OVERLOAD, None),  # above Max + 9e
    (WeightReading(0, False, WeightStatus.OVERLOAD), 0, NetState.OVERLOAD, None),
    (WeightReading(0, False, WeightStatus.UNDERLOAD), 0, NetState.UNDERLOAD, None),
    (WeightReading.error("garbled"), 0, NetState.ERROR, None),
    (ok(20), 25, NetState.NEGATIVE, None),
    (ok(95), 0, NetState.BELOW_MIN, None),  # 19 e
    (ok(120), 25, NetState.BELOW_MIN, None),  # net 95 g: below 20 e
    (ok(100), 0, NetState.OK, 100),  # exactly Min
    (ok(552), 0, NetState.OFF_SCALE, None),  # not in 5 g steps
    (None, 0, NetState.ERROR, None),
])
def test_only_a_stable_in_range_net_at_or_above_min_is_priceable(reading, tare, state, priced):
    net = net_weight(reading, RETAIL, tare)
    assert net.state is state and (net.net if net.priceable else None) == priced
    assert net.text
    if state in (NetState.OVERLOAD, NetState.UNDERLOAD, NetState.ERROR):
        assert not net.shows_weight and net.net == 0


def test_the_same_stable_load_prices_one_item_only():
    w = Weighing(RETAIL)
    w.take(ok(550))
    assert w.usable_grams() == 550 and w.fresh_grams() == 550
    w.spend("p1")
    assert w.usable_grams() is None and w.net().state is NetState.SPENT and w.fresh_grams() is None
    assert w.usable_grams(placement_id="p1") == 550  # its own placement may be re-chosen at that weight
    w.take(ok(550, stable=False))  # a touch: still the same item
    w.take(ok(555))  # a wobble of a division: the same load
    assert w.usable_grams() is None
    w.take(ok(550))
    assert w.usable_grams() is None
    w.take(ok(0))  # the tray emptied
    w.take(ok(550))  # the same weight again is a new item now
    assert w.usable_grams() == 550


def test_a_claimed_load_prices_only_what_is_added_to_it_until_the_tray_is_emptied():
    """Items put on top of a billed one are priced on the increase, never with the billed item's weight; a part of
    the tray taken off shrinks the claim; only an emptied tray (a stable reading under Min) frees it."""
    w = Weighing(RETAIL)
    w.take(ok(1000))
    w.spend(None)  # a 1 kg carton, scanned
    w.take(ok(1550))  # bananas on top of it: their own 550 g
    assert w.usable_grams() == 550 and w.net().gross == 550
    for grams in (1000, 1050, 400, 450):  # taken off, back a little, the carton half lifted, a wobble
        w.take(ok(grams))
        assert w.usable_grams() is None and w.net().state is NetState.SPENT, grams
    w.take(ok(95))  # under Min: the tray is empty
    w.take(ok(550))
    assert w.usable_grams() == 550


@pytest.mark.parametrize("at_commit", [ok(1000, stable=False), WeightReading.error("no answer"),
                                       WeightReading(0, False, WeightStatus.OVERLOAD)])
def test_a_line_added_while_the_load_moves_or_is_unknown_claims_the_load_that_settles(at_commit):
    w = Weighing(RETAIL)
    w.take(ok(0))
    w.take(at_commit)
    w.spend(None)  # a carton scanned while it lands (or while the scale did not answer)
    w.take(ok(1000))
    assert w.usable_grams() is None and w.net().state is NetState.SPENT
    w.take(ok(0))
    w.take(ok(550))
    assert w.usable_grams() == 550


def test_a_line_added_with_the_tray_empty_claims_nothing():
    w = Weighing(RETAIL)
    w.set_container("tub")
    w.spend(None)  # never read yet: nothing is known to be on the tray
    w.take(ok(0))
    w.spend(None)  # an item scanned by hand, kept in the basket
    assert w.tare is not None  # the tub's tare waits for its item
    w.take(ok(525))
    assert w.usable_grams() == 500


def test_a_placement_alone_on_its_load_may_be_chosen_again_a_stacked_one_may_not():
    w = Weighing(RETAIL)
    w.take(ok(400, stable=False))
    w.spend("p1")  # its first choice, while it settled
    w.take(ok(400))
    assert w.usable_grams(placement_id="p1") == 400 and w.usable_grams(placement_id="p2") is None
    w.spend("p2")  # a second item put with it
    w.take(ok(900))
    assert w.usable_grams(placement_id="p1") is None and w.usable_grams(placement_id="p2") is None


def test_a_waiting_item_is_completed_by_a_new_priceable_load_only():
    w = Weighing(RETAIL)
    w.take(ok(400))
    w.spend("p0")
    item = PendingItem("p1", SimpleNamespace(sku="banana"))
    w.wait_for(item)
    for reading in (ok(400), ok(700, stable=False), WeightReading(0, False, WeightStatus.OVERLOAD), ok(90)):
        assert w.take(reading)[1] is None  # stale, moving, overload, below Min
    changed, done = w.take(ok(700))
    assert changed and done is item and w.pending is item  # it waits until its line is committed
    w.complete(done)
    assert w.pending is None


def test_tare_by_container_by_weighing_and_forced_by_the_catalog():
    w = Weighing(RETAIL)
    w.set_container("tub")
    w.take(ok(525))
    assert w.net().net == 500 and w.net().text == "NET 0.500 kg" and w.net().tare_name == "tub"
    with pytest.raises(WeighingConfigError, match="unknown container 'box'"):
        w.set_container("box")
    forced = SimpleNamespace(sku="salad", tare_g=40)
    assert w.usable_grams(forced) == 485 and w.net(forced).tare_name == "sku"  # the larger tare wins
    w.spend("p")
    assert w.tare is None  # a tare serves one item
    w.take(ok(0))
    w.take(ok(30))
    assert w.tare_current().grams == 30
    w.take(ok(30, stable=False))
    with pytest.raises(TareError, match="stable"):
        w.tare_current()
    w.take(ok(0))
    with pytest.raises(TareError):
        w.tare_current()


def test_zero_only_when_stable_and_within_the_zero_range():
    w = Weighing(RETAIL)
    w.take(ok(15))
    assert w.may_zero() and w.needs_zero()
    w.take(ok(0))
    assert w.may_zero() and not w.needs_zero()
    w.take(ok(605))
    assert not w.may_zero()  # above 4 % of Max
    w.take(ok(15, stable=False))
    assert not w.may_zero()


def test_a_reading_older_than_the_pollers_limit_is_scale_not_answering():
    now = [100.0]
    w = Weighing(RETAIL, clock=lambda: now[0])
    w.take(ok(550))
    now[0] += 30
    assert w.usable_grams() == 550  # nobody polls on a timer: a reading stands until the next one
    w.expire_readings(0.5)
    assert w.usable_grams() is None and w.net().state is NetState.ERROR
    assert "scale not answering" in w.current().message and not w.may_zero()
    w.take(ok(550))
    assert w.usable_grams() == 550
    now[0] += 0.6
    assert w.usable_grams() is None  # the poller stopped: the weight froze
    w.take(ok(550), at=now[0] - 2)  # read, then kept waiting 2 s for the checkout's lock
    assert w.usable_grams() is None
    w.wait_for(PendingItem(None, SimpleNamespace(sku="banana")))
    assert w.take(ok(600), at=now[0] - 2)[1] is None  # an old reading completes nothing
    assert w.take(ok(600))[1] is not None
