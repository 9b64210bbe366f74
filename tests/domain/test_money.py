from fractions import Fraction

import pytest

from kiosk.domain.money import format_inr, format_paise, parse_inr, round_half_up, round_to_rupee


@pytest.mark.parametrize(
    "value, expected",
    [
        (Fraction(5, 2), 3), (Fraction(3, 2), 2), (Fraction(7, 3), 2), (Fraction(8, 3), 3),
        (Fraction(-5, 2), -3), (Fraction(-7, 3), -2), (Fraction(1, 2), 1), (Fraction(49, 100), 0),
        (0, 0), (10**30, 10**30), (Fraction(10**30 * 2 + 1, 2), 10**30 + 1),
    ],
)
def test_round_half_up(value, expected):
    assert round_half_up(value) == expected


def test_round_half_up_differs_from_bankers_rounding():
    assert round(Fraction(5, 2)) == 2  # Python rounds halves to even ...
    assert round_half_up(Fraction(5, 2)) == 3  # ... money does not


@pytest.mark.parametrize("bad", [1.5, 0.1, True, "3", None])
def test_no_float_or_other_types(bad):
    with pytest.raises(TypeError):
        round_half_up(bad)


@pytest.mark.parametrize(
    "paise, rounded",
    [(1250, 1300), (1249, 1200), (1200, 1200), (1299, 1300), (50, 100), (49, 0), (0, 0), (150, 200), (250, 300)],
)
def test_round_to_rupee_50_paise_boundary(paise, rounded):
    assert round_to_rupee(paise) == rounded


@pytest.mark.parametrize(
    "paise, text",
    [
        (123450, "₹1,234.50"), (0, "₹0.00"), (5, "₹0.05"), (100, "₹1.00"), (99999, "₹999.99"),
        (100000, "₹1,000.00"), (12345678, "₹1,23,456.78"), (1234567890, "₹1,23,45,678.90"), (-49, "-₹0.49"),
    ],
)
def test_format_inr_indian_grouping(paise, text):
    assert format_inr(paise) == text
    assert parse_inr(text) == paise


def test_format_sign_and_plain():
    assert format_inr(50, sign=True) == "+₹0.50"
    assert format_inr(-12, sign=True) == "-₹0.12"
    assert format_inr(0, sign=True) == "₹0.00"
    assert format_inr(123450, symbol=False) == "1,234.50"
    assert format_paise(-5) == "-0.05"
    assert format_paise(123456) == "1234.56"
    with pytest.raises(TypeError):
        format_inr(12.5)


@pytest.mark.parametrize(
    "text, paise",
    [("12", 1200), ("12.5", 1250), ("12.05", 1205), ("Rs. 12", 1200), ("Rs12.00", 1200), ("INR 1,000", 100000),
     ("₹ 1,234.50", 123450), ("-0.5", -50), ("-₹3.00", -300), ("1,000.00", 100000), ("0", 0), (" 7 ", 700)],
)
def test_parse_inr(text, paise):
    assert parse_inr(text) == paise


@pytest.mark.parametrize("text", ["", "₹", "12.345", "1,2,3", "12,34", "abc", "1.2.3", "12.", ".5", "1e3", "--1"])
def test_parse_inr_rejects(text):
    with pytest.raises(ValueError):
        parse_inr(text)
