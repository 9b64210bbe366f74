"""A staff correction to a by-weight SKU nets the load exactly as choosing that SKU would (``weighed_line``: gross −
the larger of the chosen tare and the SKU's forced tare). Before, the old line's net was reused: a correction to a SKU
sold in a forced-tare tray billed the tray (legal metrology)."""

from __future__ import annotations

from kiosk.config import KioskConfig
from kiosk.staff.accounts import add_account
from tests.services.conftest import PIN_HASH


def _kit(kit, tmp_path, demo_catalog_db):
    config = KioskConfig.from_dict({
        "store": str(tmp_path / "sales.sqlite"), "captures": str(tmp_path / "captures"),
        "catalog": str(demo_catalog_db), "staff_pin_hash": PIN_HASH, "kiosk_id": "T1",
        "weighing": {"forced_tares": {"banana": 30}}})
    k = kit(config=config)
    add_account(k.service.store, "Ravi", "supervisor", "7391", by="test")
    return k


def _weigh_and_choose(k, grams: int, sku: str, tare: str | None = None):
    if tare:
        k.scale.set_weight(0)
        k.service.poll_scale()
        k.service.scale_tare(tare)
    k.scale.set_weight(grams)
    k.service.poll_scale()
    k.service.choose(sku)
    return k.service.cart_view().lines[-1]


def test_a_correction_to_a_forced_tare_sku_takes_its_tray_off(kit, tmp_path, demo_catalog_db):
    k = _kit(kit, tmp_path, demo_catalog_db)
    line = _weigh_and_choose(k, 580, "watermelon")  # no forced tare: 580 g
    assert line.grams == 580
    assert k.service.staff_unlock("7391", "101")
    k.service.staff_correct(line.line_id, "banana")
    (fixed,) = [x for x in k.service.cart_view().lines if not getattr(x, "voided", False)]
    assert (fixed.sku, fixed.grams) == ("banana", 550)  # as choosing banana on 580 g bills
    k.service.staff_correct(fixed.line_id, "watermelon")  # and back: the stored gross, not 550 g
    (back,) = [x for x in k.service.cart_view().lines if not getattr(x, "voided", False)]
    assert (back.sku, back.grams) == ("watermelon", 580)


def test_a_correction_keeps_a_chosen_tare_larger_than_the_forced_one(kit, tmp_path, demo_catalog_db):
    k = _kit(kit, tmp_path, demo_catalog_db)
    direct = _weigh_and_choose(k, 580, "banana", tare="bag")  # bag 2 g < tray 30 g: 550 g
    assert direct.grams == 550
    k.scale.set_weight(0)
    k.service.poll_scale()
    line = _weigh_and_choose(k, 580, "watermelon", tare="bag")  # 578 g
    assert line.grams == 578
    assert k.service.staff_unlock("7391", "101")
    k.service.staff_correct(line.line_id, "banana")
    assert k.service.cart_view().lines[-1].grams == 550 and k.service.cart_view().lines[-1].sku == "banana"
