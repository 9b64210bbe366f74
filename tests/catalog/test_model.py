import pytest

from catalog.model import Sku, gtin_check_digit, is_valid_gtin, parse_sku_fields, sku_to_fields, validate_sku


@pytest.mark.parametrize("code", ["4006381333931", "5901234123457", "036000291452", "96385074", "00012345600012"])
def test_valid_gtins(code):
    assert is_valid_gtin(code)


@pytest.mark.parametrize("code", ["4006381333932", "036000291453", "12345", "40063813339311", "abcdefghijklm",
                                  "４００６３８１３３３９３１", ""])
def test_invalid_gtins(code):
    assert not is_valid_gtin(code)


def test_check_digit():
    assert gtin_check_digit("400638133393") == 1
    assert gtin_check_digit("03600029145") == 2


def test_validate_collects_every_problem():
    s = Sku("Bad Id", "", "", "kilo", 0, 700, "12", "0123", ("123",), 300, 200, True, "")
    cols = {e.column for e in validate_sku(s)}
    assert cols == {"sku", "name", "group", "sold_by", "price_paise", "gst_percent", "hsn", "plu", "barcodes",
                    "unit_weight_max_g"}


def test_parse_round_trip():
    s = Sku("banana", "Banana", "Banana", "weight", 6950, 0, "080390", "107", ("4006381333931",), 126, 234, False,
            "x.jpg")
    fields = sku_to_fields(s)
    parsed, errs = parse_sku_fields(fields)
    assert errs == [] and parsed == s


def test_parse_accepts_friendly_spellings():
    s, errs = parse_sku_fields({"sku": "a", "name": "A", "group": "G", "sold_by": "unit", "price_paise": " 100 ",
                                "gst_percent": "5%", "hsn": "1234", "active": "Yes",
                                "barcodes": "96385074, 4006381333931"})
    assert errs == []
    assert s.gst_bp == 500 and s.active and s.barcodes == ("96385074", "4006381333931") and s.plu is None


def test_parse_reports_type_errors_and_rule_errors_together():
    s, errs = parse_sku_fields({"sku": "a", "name": "A", "group": "G", "sold_by": "unit", "price_paise": "12.50",
                                "gst_percent": "5", "hsn": "12", "active": "maybe"})
    assert s is None
    assert {(e.column, e.value) for e in errs} == {("price_paise", "12.50"), ("hsn", "12"), ("active", "maybe")}
