"""A scanner's codes at the rate a person scans: the same code again at once counts once (a scanner's same-code
delay), and a scanner sending more codes than anyone scans (stuck in continuous mode: the probe's 1,000 codes in a
burst made 1,000 lines, a ₹2,75,000 bill) is refused until it is quiet."""

from __future__ import annotations

import pytest

from kiosk.barcodes import BarcodeConfigError, BarcodeSettings
from kiosk.barcodes.gate import QUIET_S, ScanGate
from kiosk.config import ConfigError, KioskConfig

OATLY, BANANA = "2000000000459", "2000000000992"


def taken(gate: ScanGate, reads: list[tuple[float, str]]) -> list[str]:
    return [text for when, text in reads if gate.admit(text, when).taken]


def test_the_same_code_again_within_the_window_counts_once():
    gate = ScanGate(same_code_s=0.8)
    assert taken(gate, [(0.0, OATLY), (0.3, OATLY), (0.7, OATLY)]) == [OATLY]
    assert taken(gate, [(2.0, OATLY), (2.5, BANANA), (2.9, OATLY)]) == [OATLY, BANANA, OATLY]  # another in between
    assert gate.repeats == 2


def test_a_code_read_on_and_on_counts_once_until_it_stops():
    gate = ScanGate(same_code_s=0.8)
    assert taken(gate, [(i * 0.5, OATLY) for i in range(10)]) == [OATLY]  # held in front of the scanner for 5 s
    assert taken(gate, [(6.0, OATLY)]) == [OATLY]  # 1.5 s later: the shopper scans the second pack


def test_a_window_of_zero_counts_every_read():
    gate = ScanGate(same_code_s=0)
    assert taken(gate, [(0.0, OATLY), (0.1, OATLY), (0.2, OATLY)]) == [OATLY] * 3


def test_a_person_scanning_quickly_is_no_flood():
    gate = ScanGate()
    codes = [f"{i:013d}" for i in range(20)]
    assert taken(gate, [(i * 0.25, code) for i, code in enumerate(codes)]) == codes  # 4 a second for 5 s


def test_a_flood_is_refused_until_the_scanner_is_quiet():
    gate = ScanGate(same_code_s=0.8, max_scans_per_s=8)
    verdicts = [gate.admit(f"{i:013d}", i * 0.001) for i in range(1000)]
    assert sum(v.taken for v in verdicts) == 16  # 8 a second over 2 s, then the scanner is faulty
    assert [v.why for v in verdicts].count("flood") == 1 and gate.flooding and gate.refused == 984
    assert not gate.admit(OATLY, 1.0 + QUIET_S - 0.1).taken  # still sending
    back = gate.admit(OATLY, 1.0 + 2 * QUIET_S)
    assert back.taken and back.resumed and not gate.flooding
    assert taken(gate, [(10.0, BANANA), (10.5, OATLY)]) == [BANANA, OATLY]


def test_one_code_in_a_stuck_scanner_is_one_line_and_a_flood():
    gate = ScanGate()
    verdicts = [gate.admit(OATLY, i * 0.002) for i in range(1000)]
    assert [v.why for v in verdicts[:3]] == ["", "repeat", "repeat"] and sum(v.taken for v in verdicts) == 1
    assert [v.why for v in verdicts].count("flood") == 1


@pytest.mark.parametrize("key, value", [("same_code_s", -0.1), ("same_code_s", 11), ("same_code_s", float("nan")),
                                        ("same_code_s", True), ("same_code_s", "1"), ("max_scans_per_s", 0.5),
                                        ("max_scans_per_s", float("inf")), ("max_scans_per_s", 2**70)])
def test_the_rate_settings_are_numbers_in_range(key, value):
    with pytest.raises(BarcodeConfigError, match=key):
        BarcodeSettings.from_dict({key: value})
    with pytest.raises(ConfigError, match=key):
        KioskConfig.from_dict({"barcodes": {key: value}})


def test_the_rate_settings_load_and_round_trip():
    config = KioskConfig.from_dict({"barcodes": {"same_code_s": 1, "max_scans_per_s": 5}})
    assert (config.barcodes.same_code_s, config.barcodes.max_scans_per_s) == (1.0, 5.0)
    assert KioskConfig.from_dict(config.to_dict()).barcodes == config.barcodes
    assert (BarcodeSettings().same_code_s, BarcodeSettings().max_scans_per_s) == (0.8, 8.0)
