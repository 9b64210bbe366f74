"""Whatever a barcode scanner types or the camera decodes is sold, ignored or refused with a notice: never a
traceback, never a line the cart cannot hold (generated codes: digits, GTINs with right check digits in the
variable-measure ranges, GS1 element strings with any weight or price)."""

from __future__ import annotations

import dataclasses
import shutil
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.model import MAX_PRICE_PAISE
from catalog.repository import Catalog
from kiosk.barcodes.gtin import with_check_digit
from kiosk.services import Notice
from kiosk.services.events import StaffCalled
from tests.services.test_counter_hardware import config_for

FAST = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
BANANA_GTIN = with_check_digit("200000000099")  # given to the demo's banana (sold by weight) below
OATLY = "2000000000459"

digits = st.text("0123456789", min_size=1, max_size=20)
gtin_body = st.one_of(st.from_regex(r"2[0-9]{11}", fullmatch=True), st.from_regex(r"0?2[0-9]{10}", fullmatch=True),
                      st.sampled_from([BANANA_GTIN[:-1], OATLY[:-1]]))
checked = gtin_body.map(with_check_digit)
ai_value = st.tuples(st.sampled_from(["3100", "3101", "3103", "3105", "3920", "3921", "3923", "3922", "10", "17"]),
                     st.one_of(st.text("0123456789", min_size=1, max_size=16), st.sampled_from(["999999", "9" * 15])))
element_string = st.builds(lambda g, ais: f"(01){g.zfill(14)}" + "".join(f"({a}){v}" for a, v in ais),
                           st.sampled_from([BANANA_GTIN, OATLY, BANANA_GTIN]) | checked, st.lists(ai_value, max_size=3))
raw_element_string = st.builds(lambda text, aim: aim + text.replace("(", "\x1d").replace(")", "").lstrip("\x1d"),
                               element_string, st.sampled_from(["", "]e0", "]C1"]))
any_text = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=60)
SCAN = st.one_of(element_string, raw_element_string, digits, checked, any_text)


@pytest.fixture(scope="module")
def catalog_with_weighed_gtin(tmp_path_factory, demo_catalog_db):
    path = tmp_path_factory.mktemp("scan-fuzz") / "catalog.sqlite"
    shutil.copy(demo_catalog_db, path)
    with Catalog.open(path) as cat:
        cat.upsert(dataclasses.replace(cat.get("banana"), barcodes=(BANANA_GTIN,)))
    return path


@pytest.fixture(scope="module")
def new_counter(tmp_path_factory, catalog_with_weighed_gtin):
    """A fresh sale per example: a held item or a line only staff may remove must not leak into the next one."""
    from tests.services.conftest import Kit

    def make(**barcodes) -> Kit:
        where = tmp_path_factory.mktemp("scan-counter")
        config = config_for(where, catalog_with_weighed_gtin)
        if barcodes:
            config = dataclasses.replace(config, barcodes=dataclasses.replace(config.barcodes, **barcodes))
        return Kit(where, catalog_with_weighed_gtin, config=config)
    return make


@FAST
@given(st.lists(SCAN, min_size=1, max_size=6))
def test_any_scan_sells_or_is_refused_in_one_line(new_counter, texts):
    kit = new_counter()
    try:
        for text in texts:
            kit.service.scanned(text)  # raises nothing: a held item or a refused label is a notice
            for line in kit.service.cart_view().lines:
                assert 0 <= line.unit_price <= MAX_PRICE_PAISE and (line.grams is None or 1 <= line.grams <= 100_000)
        assert all("\n" not in n.message and "Error" not in n.message for n in kit.of(Notice))
    finally:
        kit.service.stop()


@pytest.mark.parametrize(("ai", "value", "says"), [
    ("3100", "999999", "999999000 g is more than the 100 kg one line can weigh"),
    ("3920", "999999999999999", "above ₹1,00,00,000.00, a misprint"),
])
def test_a_label_beyond_what_a_line_can_hold_is_refused(new_counter, ai, value, says):
    kit = new_counter()
    gtin = BANANA_GTIN if ai.startswith("310") else OATLY
    assert kit.service.scanned(f"(01)0{gtin}({ai}){value}") is None
    assert kit.service.cart_view().empty and says in kit.of(Notice)[-1].message
    kit.service.stop()


def test_a_scan_while_an_item_waits_for_staff_is_a_notice(new_counter):
    kit = new_counter()
    kit.scale.set_weight(1200)  # 1.2 kg on the tray, a 548 g label: staff is called
    kit.service.poll_scale()
    assert kit.service.scanned(f"(01)0{BANANA_GTIN}(3103)000548") is None and kit.of(StaffCalled)
    assert kit.service.scanned(OATLY) is None
    assert kit.service.cart_view().empty and "staff must check Banana first" in kit.of(Notice)[-1].message
    kit.service.stop()


def test_a_scanners_raw_databar_label_sells_at_its_weight(new_counter):
    kit = new_counter()
    assert kit.service.scanned(f"]e0010{BANANA_GTIN}\x1d3103000548") is not None
    (line,) = kit.service.cart_view().lines
    assert (line.sku, line.grams) == ("banana", 548)
    kit.service.stop()


def test_a_label_with_a_weight_and_an_amount_charges_the_amount_and_checks_the_weight(new_counter):
    """A DataBar Expanded label from the deli scale: 548 g and ₹125.50 (a mark-down, say). The shopper pays the
    amount on the label, not the catalog's price per kg; the weight is still held against the tray."""
    kit = new_counter(same_code_s=0)  # the label scanned again at once (here) counts again
    assert kit.service.scanned(f"(01)0{BANANA_GTIN}(3103)000548(3922)12550") is not None
    (line,) = kit.service.cart_view().lines
    assert (line.sku, line.total, line.qty) == ("banana", 12550, 1)
    kit.scale.set_weight(1500)  # 1.5 kg on the tray for a 548 g label: staff is called
    kit.service.poll_scale()
    assert kit.service.scanned(f"(01)0{BANANA_GTIN}(3103)000548(3922)12550") is None and kit.of(StaffCalled)
    kit.service.stop()


def test_a_scanner_stuck_in_continuous_mode_sells_once_and_calls_staff(new_counter):
    """The probe's 1,000 identical codes in a burst: 1,000 lines, a ₹2,75,000 bill, the service lock held 21 s and
    not a word. Now: one line, one notice to call staff, and the rest refused at once."""
    kit = new_counter()
    try:
        start = time.monotonic()
        for i in range(1000):
            kit.service.scanned(OATLY)
            assert len(kit.service.cart.lines) == 1, f"scan {i + 1} made another line"
        assert time.monotonic() - start < 1.5
        assert [n.message for n in kit.of(Notice)] == [
            "the barcode scanner sends codes faster than anyone scans: scanning is paused, please call staff"]
    finally:
        kit.service.stop()
