"""The shopper's side beyond items and paying, on the real service: Help (audited, answered by staff unlocking),
removals confirmed and — above a value — approved by staff (audited), language and text size, browsing by
picture, printing the receipt, the placement photo beside a line, and corrections that keep their place."""

from __future__ import annotations

import pytest

from kiosk.config import KioskConfig
from kiosk.domain.money import format_inr
from kiosk.services import CheckoutError, SaleClosed, StaffLocked
from kiosk.services.browse import department_of
from kiosk.services.events import HelpCallChanged, RemovalDecided, RemovalPending, ShopperPrefsChanged
from kiosk.store import SalesStore
from tests.services.conftest import PIN, PIN_HASH, feed, item_frame

UNIT_ANSWER = [("oatly-oat-milk", 0.6), ("arla-standard-milk", 0.3), ("banana", 0.05)]


def audit_actions(kit, *names):
    with SalesStore.open(kit.config.store) as store:
        rows = store.audit_events()
    return [(r["action"], r["who"]) for r in rows if r["action"] in names]


def config(tmp_path, catalog, **kw):
    return KioskConfig(store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"), catalog=str(catalog),
                       staff_pin_hash=PIN_HASH, kiosk_id="T1", **kw)


def test_help_is_called_cancelled_and_answered_by_staff_unlocking_and_audited(kit):
    k = kit(UNIT_ANSWER)
    s = k.service
    assert s.call_help() is True
    assert s.call_help() is False  # one call at a time
    (up,) = k.of(HelpCallChanged)
    assert up.active and up.reason == "help" and up.since.startswith("2025-03-01T10:00")
    k.clock.advance(42)
    s.cancel_help()
    assert k.of(HelpCallChanged)[-1] == HelpCallChanged(False, "help", up.since, "shopper")
    s.call_help("weighing")
    assert not s.staff_unlock("0000")  # a wrong PIN answers nothing
    assert k.of(HelpCallChanged)[-1].active
    assert s.staff_unlock(PIN)
    ended = k.of(HelpCallChanged)[-1]
    assert not ended.active and ended.by == "staff" and ended.reason == "weighing"
    s.staff_unlock(PIN)  # no call up: nothing more
    assert len(k.of(HelpCallChanged)) == 4
    assert audit_actions(k, "help_called", "help_cancelled", "help_answered") == [
        ("help_called", "shopper"), ("help_cancelled", "shopper"), ("help_called", "shopper"),
        ("help_answered", "staff")]


def test_removal_above_the_value_waits_for_staff_and_payment_waits_too(tmp_path, demo_catalog_db, kit):
    k = kit(UNIT_ANSWER, config=config(tmp_path, demo_catalog_db, remove_approval_above_paise=5000))
    s = k.service
    lime = s.choose("lime")  # ₹8.00: removed at once
    oat = s.choose("oatly-oat-milk")
    assert s.remove_line(lime) is True
    assert [x.sku for x in s.cart_view().lines] == ["oatly-oat-milk"]
    assert s.remove_line(oat) is False
    (pending,) = k.of(RemovalPending)
    assert (pending.line_id, pending.total) == (oat, s.cart_view().lines[0].total)
    assert pending.total_text.startswith("₹")
    assert k.of(HelpCallChanged)[-1].active and k.of(HelpCallChanged)[-1].reason == "removal approval"  # staff called
    with pytest.raises(CheckoutError, match="approve removing"):
        s.pay("card")
    with pytest.raises(StaffLocked):
        s.staff_decide_removal(True)
    assert s.staff_unlock(PIN)
    s.staff_decide_removal(True)
    assert s.cart_view().lines == () and k.of(RemovalDecided) == [RemovalDecided(oat, True, "staff")]
    with pytest.raises(CheckoutError, match="no removal"):
        s.staff_decide_removal(False)
    s.staff_lock()
    # the shopper keeps an item after all; staff refusing leaves it on the bill too
    oat2 = s.choose("oatly-oat-milk")
    assert s.remove_line(oat2) is False
    s.keep_line()
    assert k.of(RemovalDecided)[-1] == RemovalDecided(oat2, False, "shopper")
    assert not k.of(HelpCallChanged)[-1].active  # the call was for that approval: it ends with it
    assert s.remove_line(oat2) is False
    s.staff_unlock(PIN)
    s.staff_decide_removal(False)
    assert [x.line_id for x in s.cart_view().lines] == [oat2]
    s.pay("card")  # nothing waits any more
    assert audit_actions(k, "removal_requested", "removal_approved", "removal_withdrawn", "removal_refused") == [
        ("removal_requested", "shopper"), ("removal_approved", "staff"), ("removal_requested", "shopper"),
        ("removal_withdrawn", "shopper"), ("removal_requested", "shopper"), ("removal_refused", "staff")]


def test_unknown_line_removal_is_refused(kit):
    with pytest.raises(CheckoutError, match="no line"):
        kit(UNIT_ANSWER).service.remove_line("nope")


def test_language_and_text_size_for_this_shopper_only(kit):
    k = kit(UNIT_ANSWER)
    s = k.service
    s.announce()
    assert k.of(ShopperPrefsChanged)[-1] == ShopperPrefsChanged("en", False, ("en", "hi"))
    s.set_language("hi")
    s.set_large_text(True)
    assert k.of(ShopperPrefsChanged)[-1] == ShopperPrefsChanged("hi", True, ("en", "hi"))
    with pytest.raises(CheckoutError, match="not offered"):
        s.set_language("fr")
    s.new_shopper()
    assert k.of(ShopperPrefsChanged)[-1] == ShopperPrefsChanged("en", False, ("en", "hi"))


def test_browse_by_picture_groups_the_catalog_by_department(kit):
    s = kit(UNIT_ANSWER).service
    groups = s.browse_groups()
    assert [g.key for g in groups] == ["fruit", "vegetables", "dairy", "drinks", "other"]
    assert all(g.count > 0 and g.image_path for g in groups)
    assert sum(g.count for g in groups) == len(s._shelf.catalog.list_active())
    fruit = s.browse("fruit")
    assert {"mango", "banana", "granny-smith"} <= {v.sku for v in fruit}
    assert all(department_of(s._shelf.find(v.sku).hsn) == "fruit" for v in fruit)
    assert fruit[0].sold_by == "weight"  # loose produce first
    assert "carrots" in {v.sku for v in s.browse("vegetables")}
    with pytest.raises(CheckoutError, match="no department"):
        s.browse("toys")
    assert department_of("091011") == "vegetables" and department_of("090111") == "other"


def test_print_receipt_on_an_escpos_file_printer(tmp_path, demo_catalog_db, kit):
    printer = tmp_path / "printer.prn"
    k = kit(UNIT_ANSWER, config=config(tmp_path, demo_catalog_db, receipt_printer=f"escpos:file:{printer}",
                                       gstin="29ABCDE1234F1Z5", store_name="Green Basket"))
    s = k.service
    with pytest.raises(CheckoutError, match="nothing to print"):
        s.print_receipt()
    s.choose("oatly-oat-milk")
    s.pay("upi")
    assert k.of(SaleClosed)[-1].can_print
    number = s.print_receipt()
    data = printer.read_bytes()
    assert data.startswith(b"\x1b@") and data.endswith(b"\x1dV\x42\x00")
    assert b"TAX INVOICE" in data and b"GSTIN 29ABCDE1234F1Z5" in data and b"Rs." in data and number.encode() in data
    assert audit_actions(k, "receipt_printed") == [("receipt_printed", "shopper")]


def test_no_printer_no_print(kit):
    k = kit(UNIT_ANSWER)
    k.service.choose("lime")
    k.service.pay("card")
    assert not k.of(SaleClosed)[-1].can_print
    with pytest.raises(CheckoutError, match="no receipt printer"):
        k.service.print_receipt()


def test_corrections_keep_their_place_and_are_marked_on_screen_and_receipt(kit):
    k = kit(UNIT_ANSWER)
    s = k.service
    ready = feed(s, item_frame(), 6)[0]
    a = s.choose("oatly-oat-milk", ready.placement_id)
    b = s.choose("lime")
    c = s.choose("avocado")
    with pytest.raises(StaffLocked):
        s.line_photo(a)
    s.staff_unlock(PIN)
    assert s.line_photo(a).endswith(".jpg") and s.line_photo(b) == ""  # a search pick has no photo
    b2 = s.staff_correct(b, "lemon")
    a2 = s.staff_override_price(a, 1000)
    s.staff_void(c)
    view = s.cart_view()
    assert [x.sku for x in view.lines] == ["oatly-oat-milk", "lemon"]  # in the places of the lines they replaced
    oat_price = format_inr(s._shelf.find("oatly-oat-milk").price_paise)
    assert [(x.line_id, x.mark, x.was_text) for x in view.shown_lines] == [
        (a2, "price", oat_price), (b2, "corrected", "Lime"), (c, "voided", "")]
    assert view.lines[0].unit_price_text == "₹10.00"
    receipt_text = s.pay("cash").to_text()
    assert receipt_text.index("Oatly") < receipt_text.index("Lemon")
    assert "* price changed by staff (was ₹" in receipt_text and "* corrected by staff (was Lime)" in receipt_text
    # one line voided, one corrected, one re-priced: told apart, the void not counting the lines a change replaced
    lines = receipt_text.splitlines()
    avocado = format_inr(s._shelf.find("avocado").price_paise)
    assert any(x.startswith("Voided by staff: 1 (not charged)") and x.endswith(avocado) for x in lines)
    assert "Corrected by staff: 1" in lines and "Re-priced by staff: 1" in lines
    assert "Voided lines" not in receipt_text
