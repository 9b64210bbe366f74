"""GTIN check digits, UPC forms, GS1 variable-measure layouts with their embedded check digits, DataBar element
strings and the ``[barcodes]`` settings."""

from __future__ import annotations

import pytest

from kiosk.barcodes import BarcodeConfigError, BarcodeSettings, VariableLayout, canonical_gtin, match_variable
from kiosk.barcodes.frames import parse_gs1_elements
from kiosk.barcodes.gtin import expand_upce, lookup_forms, with_check_digit
from kiosk.barcodes.variable import DEFAULT_LAYOUTS, price_check_digit
from kiosk.config import ConfigError, KioskConfig


def test_canonical_gtins_and_wrong_check_digits_refused():
    assert canonical_gtin("4006381333931") == "4006381333931"  # EAN-13
    assert canonical_gtin("96385074") == "96385074"  # EAN-8
    assert canonical_gtin("036000291452") == "0036000291452"  # UPC-A → its EAN-13 form
    assert canonical_gtin("00012345678905") == "0012345678905"  # GTIN-14, indicator 0
    assert canonical_gtin("01234565", "UPCE") == "0012345000065"
    assert expand_upce("01234565") == "012345000065"
    for bad in ("4006381333932", "96385075", "036000291453", "4006381333931x", "", "12345", " ４００６"):
        assert canonical_gtin(bad) is None, bad
    assert lookup_forms("0036000291452") == ("0036000291452", "036000291452")


def test_every_single_digit_error_is_caught_by_the_check_digit():
    code = "4006381333931"
    for i in range(13):
        for d in "0123456789":
            if d != code[i]:
                assert canonical_gtin(code[:i] + d + code[i + 1:]) is None


def test_price_check_digits_as_in_the_gs1_examples():
    assert price_check_digit("2875") == 9 and price_check_digit("14685") == 6
    with pytest.raises(ValueError):
        price_check_digit("123")


def label(prefix: str, item: str, value: str, check: str = "") -> str:
    return with_check_digit(prefix + item + check + value)


def test_variable_measure_labels_per_layout():
    price = label("21", "00123", "04550")  # item 123, ₹45.50
    assert match_variable(price) == (True, match_variable(price)[1])
    parsed = match_variable(price)[1]
    assert (parsed.item, parsed.kind, parsed.value) == ("123", "price", 4550)
    weight = label("28", "00456", "00548")
    assert match_variable(weight)[1].value == 548 and match_variable(weight)[1].kind == "weight"
    checked = label("29", "0456", "00548", str(price_check_digit("00548")))
    assert match_variable(checked)[1].value == 548
    wrong = label("29", "0456", "00548", str((price_check_digit("00548") + 1) % 10))
    assert match_variable(wrong) == (True, None)  # claimed by the layout, embedded check wrong: ignored
    assert match_variable("4006381333931") == (False, None)
    assert match_variable("2000000000282") == (False, None)  # prefix 20 is not a variable layout by default


def test_layouts_are_checked_when_configured():
    with pytest.raises(BarcodeConfigError, match="13 letters"):
        VariableLayout("21", "price", "PPIIIIVVVVC")
    with pytest.raises(BarcodeConfigError, match="K check digit"):
        VariableLayout("21", "price", "PPIIIIIIKVVVC")
    with pytest.raises(BarcodeConfigError, match="kind"):
        VariableLayout("21", "volume", "PPIIIIIVVVVVC")
    with pytest.raises(BarcodeConfigError, match="one P per prefix digit"):
        VariableLayout("2", "price", "PPIIIIIVVVVVC")
    settings = BarcodeSettings.from_dict({"variable": [{"prefix": "02", "kind": "price", "layout": "PPIIIIIVVVVVC"}]})
    assert [v.prefix for v in settings.variable] == ["02"]
    with pytest.raises(ConfigError, match="camera_frames"):
        KioskConfig.from_dict({"barcodes": {"camera_frames": "yes"}})
    with pytest.raises(ConfigError, match="listed twice"):
        KioskConfig.from_dict({"barcodes": {"variable": [d.to_dict() for d in DEFAULT_LAYOUTS * 2]}})


def test_databar_element_strings():
    e = parse_gs1_elements("(01)00012345678905(3103)000548")
    assert (e.gtin, e.net_grams, e.price_paise) == ("0012345678905", 548, None)
    assert parse_gs1_elements("(01)00012345678905(3922)12550").price_paise == 12550
    assert parse_gs1_elements("(01)00012345678906") is None  # wrong check digit
    assert parse_gs1_elements("01)0001") is None and parse_gs1_elements("(01)00012345678905junk(") is None


@pytest.mark.parametrize(("raw", "gtin", "grams", "price"), [
    ("]e00100012345678905\x1d3103000548", "0012345678905", 548, None),   # DataBar, AIM id; a GS where none is needed
    ("0100012345678905392212550", "0012345678905", None, 12550),          # a price, last field: no GS
    ("]C101000123456789053103000548\x1d10LOT7", "0012345678905", 548, None),  # GS1-128 with a batch number after
    ("]e00100012345678905", "0012345678905", None, None),
    ("0100012345678905", "0012345678905", None, None),
    ("]E04006381333931", "4006381333931", None, None),                  # an EAN-13 with its AIM id ]E0
    ("]E496385074", "96385074", None, None),                            # an EAN-8, ]E4
])
def test_a_scanners_raw_element_string_is_read_like_the_cameras(raw, gtin, grams, price):
    from kiosk.barcodes.frames import scanned_code
    from kiosk.barcodes.gs1 import bracketed

    code = scanned_code(raw, source="scanner")
    assert (code.gtin, code.net_grams, code.price_paise) == (gtin, grams, price)
    if raw.startswith(("]e0", "]C1", "0")):
        assert scanned_code(bracketed(raw)) == scanned_code(raw)


@pytest.mark.parametrize("raw", [
    "0100012345678906\x1d3103000548",              # wrong GTIN check digit
    "01000123456789053103000548\x1d3102005480",    # two weights: which is meant is a guess
    "0100012345678905\x1d99ABC",                   # an AI the till does not know: not split by guess
    "0100012345678905310300054",                    # a weight cut short
    "]e0",                                         # nothing after the AIM id
    "0100012345678905\x1d3922" + "1" * 16,         # a price longer than GS1 allows
    "0100012345678905\x1d10" + "é" * 3,            # not ASCII
])
def test_a_raw_element_string_that_cannot_be_split_without_guessing_is_refused(raw):
    from kiosk.barcodes.frames import scanned_code

    assert scanned_code(raw) is None
