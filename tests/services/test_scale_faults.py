"""The counter when the scale and the store misbehave: the weight of a by-weight line always comes from a load no
other line claimed (a unit item scanned while it still moved, items stacked on a billed one, a scale that came back
after an outage)."""

from __future__ import annotations

from tests.services.conftest import Kit

OATLY = "2000000000459"  # oatly-oat-milk's demo EAN-13: a 1 kg carton, sold by the unit


def lines(k: Kit) -> list[tuple[str, int | None]]:
    return [(x.sku, x.grams) for x in k.service.cart_view().lines]


def put(k: Kit, grams: int, stable: bool = True) -> None:
    k.scale.set_weight(grams, stable)
    k.service.poll_scale()


def test_a_unit_item_scanned_while_the_scale_moves_claims_the_load_it_settles_to(kit):
    k = kit()
    put(k, 0)
    put(k, 1000, stable=False)  # the carton lands, still rocking
    assert k.service.scanned(OATLY) is not None
    put(k, 1000)  # it settles; nothing else changes on the tray
    assert k.service.choose("banana") is None  # bananas picked from search: they wait, the 1 kg is the carton's
    assert lines(k) == [("oatly-oat-milk", None)] and k.service.awaiting_weight == (None, "banana")
    put(k, 1548)  # bananas put on top of the carton: still not the bananas' own weight
    assert lines(k) == [("oatly-oat-milk", None)] and k.service.awaiting_weight == (None, "banana")
    put(k, 0)  # the tray emptied, the bananas alone
    put(k, 548)
    assert lines(k) == [("oatly-oat-milk", None), ("banana", 548)] and k.service.awaiting_weight is None


def test_a_waiting_item_is_billed_after_a_scale_outage_on_a_load_no_line_claimed(kit):
    k = kit()
    put(k, 0)
    assert k.service.choose("banana") is None
    put(k, 548, stable=False)
    k.scale.set_status("error")  # unplugged mid-weigh
    k.service.poll_scale()
    assert k.service.awaiting_weight == (None, "banana") and lines(k) == []
    k.scale.set_status(None)
    put(k, 1210)  # back, with the bananas the shopper added meanwhile: their load changed after they were asked for
    assert lines(k) == [("banana", 1210)]


def test_a_unit_item_scanned_during_a_scale_outage_claims_the_load_found_after_it(kit):
    k = kit()
    put(k, 0)
    assert k.service.choose("banana") is None
    k.scale.set_status("error")
    k.service.poll_scale()
    assert k.service.scanned(OATLY) is not None  # scanned while the scale did not answer
    k.scale.set_status(None)
    put(k, 1000)  # the carton may be what is on the tray now
    assert lines(k) == [("oatly-oat-milk", None)] and k.service.awaiting_weight == (None, "banana")
    put(k, 0)
    put(k, 600)
    assert lines(k) == [("oatly-oat-milk", None), ("banana", 600)]

