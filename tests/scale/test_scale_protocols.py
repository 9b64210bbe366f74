import random

import pytest

from kiosk.scale.base import ScaleError, WeightReading, WeightStatus
from kiosk.scale.protocol import MtSics, Nci, get_protocol, to_grams

OK, OVER, UNDER, ERR = WeightStatus.OK, WeightStatus.OVERLOAD, WeightStatus.UNDERLOAD, WeightStatus.ERROR


@pytest.mark.parametrize(
    "value, unit, grams",
    [
        ("100.5", "g", 101),
        ("100.4", "g", 100),
        ("-1.5", "g", -2),  # half away from zero
        ("0.2345", "kg", 235),
        ("0.23449", "kg", 234),
        ("1.180", "kg", 1180),
        ("1", "lb", 454),
        ("2.72", "lb", 1234),
        ("3.5", "oz", 99),
        ("1500", "mg", 2),
        ("0.5", "kg", 500),
    ],
)
def test_to_grams_rounds_half_up(value, unit, grams):
    assert to_grams(value, unit) == grams


@pytest.mark.parametrize("value, unit",
                         [("1,5", "g"), ("1.2.3", "kg"), ("", "g"), ("12", "stone"), ("nan", "g"), ("1e3", "g"),
                          (".5", "kg"), ("5.", "kg"), ("+5", "g"), (" 5", "g"), ("5", "KG"), ("5", "G"), ("- 5", "g"),
                          ("1" * 29, "g"), ("1234567890", "g"), ("٥", "g")])
def test_to_grams_rejects(value, unit):
    with pytest.raises(ValueError):
        to_grams(value, unit)


# Captured-style MT-SICS answers (10-character right-aligned weight field, CR LF)
MT_SICS_CASES = [
    (b"S S      100.5 g\r\n", OK, 101, True),
    (b"S S    1180.00 g\r\n", OK, 1180, True),
    (b"S D     433.27 g\r\n", OK, 433, False),
    (b"S S     0.2345 kg\r\n", OK, 235, True),
    (b"S D     1.1805 kg\r\n", OK, 1181, False),
    (b"S S      -0.30 g\r\n", OK, 0, True),
    (b"S S      -2.70 g\r\n", OK, -3, True),
    (b"S +\r\n", OVER, 0, False),
    (b"S -\r\n", UNDER, 0, False),
]


@pytest.mark.parametrize("raw, status, grams, stable", MT_SICS_CASES)
def test_mt_sics_answers(raw, status, grams, stable):
    reading = MtSics().parse_weight(raw)
    assert (reading.status, reading.grams, reading.stable) == (status, grams, stable)
    assert reading.raw == raw


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"S I\r\n", "not executable"),
        (b"ES\r\n", "syntax error"),
        (b"ET\r\n", "transmission error"),
        (b"EL\r\n", "logical error"),
        (b"S S     100.5 g", "incomplete"),  # cut off before CR LF
        (b"S S     10", "incomplete"),
        (b"", "incomplete"),
        (b"\r\n", "empty"),
        (b"S S      100.5 lbs\r\n", "unknown unit"),
        (b"S S      100.5 KG\r\n", "unknown unit"),  # units are case-sensitive
        (b"S S      1O0.5 g\r\n", "not a right-aligned number"),  # letter O
        (b"S S     100.5 g\r\n", "unexpected"),  # a 9-character weight field
        (b"S S        .50 g\r\n", "not a right-aligned number"),
        (b"S S       +5.0 g\r\n", "not a right-aligned number"),
        (b"S S         5. g\r\n", "not a right-aligned number"),
        (b"\r\nS S     100.00 g\r\n", "not exactly one frame"),  # a stray CR LF before the frame
        (b"S S   \r 100.00 g\r\n", "not exactly one frame"),
        (b"S S     100.00 g\r\nS S     100.00 g\r\n", "not exactly one frame"),
        (b"S X     100.5 g\r\n", "unexpected"),
        (b"S S     100.5\r\n", "unexpected"),
        (b"S S 100.5 g extra\r\n", "unexpected"),
        (b"Z A\r\n", "unexpected"),
        (b"S S  \xb0100.5 g\r\n", "non-ASCII"),
        (b"S S\x00   100.5 g\r\n", "control bytes"),
    ],
)
def test_mt_sics_bad_answers_are_error_readings(raw, words):
    reading = MtSics().parse_weight(raw)
    assert reading.status is ERR and reading.grams == 0 and not reading.stable
    assert words in reading.message and reading.raw == raw


def test_mt_sics_commands_and_zero():
    assert MtSics().weight_command() == b"SI\r\n"
    assert MtSics("S").weight_command() == b"S\r\n"
    assert MtSics().zero_command() == b"Z\r\n"
    p = MtSics()
    assert p.parse_zero(b"Z A\r\n") and p.parse_zero(b"ZI S\r\n")
    assert not any(p.parse_zero(r) for r in (b"Z I\r\n", b"Z +\r\n", b"Z -\r\n", b"ES\r\n", b"Z A", b"\xff"))
    with pytest.raises(ScaleError, match="SI or S"):
        MtSics("SIR")


# NCI / Weigh-Tronix ECR answers: LF weight CR LF status CR ETX
NCI_CASES = [
    (b"\n  1.180kg\r\n00\r\x03", OK, 1180, True),
    (b"\n  0.433kg\r\n10\r\x03", OK, 433, False),  # motion bit
    (b"\n  0.000kg\r\n20\r\x03", OK, 0, True),  # at zero
    (b"\n   2.72lb\r\n00\r\x03", OK, 1234, True),
    (b"\n   3.5oz\r\n00\r\x03", OK, 99, True),
    (b"\n   250g \r\n00\r\x03", OK, 250, True),  # grams: "g" padded to the 2-character unit field
    (b"\n -0.005kg\r\n00\r\x03", OK, -5, True),
    (b"\n  1.180kg\r\n0p0\r\x03", OK, 1180, True),  # byte 2 'p' = 0x70: bit 6 set, a third byte follows
    (b"\n  1.180kg\r\n0pp0\r\x03", OK, 1180, True),  # 4 status bytes
    (b"\n02\r\x03", OVER, 0, False),  # over capacity: status only
    (b"\n 99.999kg\r\n02\r\x03", OVER, 0, False),
    (b"\n01\r\x03", UNDER, 0, False),
    (b"\n -0.300kg\r\n11\r\x03", UNDER, 0, False),
]


@pytest.mark.parametrize("raw, status, grams, stable", NCI_CASES)
def test_nci_answers(raw, status, grams, stable):
    reading = Nci().parse_weight(raw)
    assert (reading.status, reading.grams, reading.stable) == (status, grams, stable), reading.message


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"\n?\r\x03", "did not recognise"),
        (b"\n  1.180kg\r\n00\r", "incomplete"),  # ETX missing
        (b"\n  1.18", "incomplete"),
        (b"", "incomplete"),
        (b"  1.180kg\r\n00\r\x03", "framed"),  # no leading LF
        (b"\n  1.180kg\r\n\r\x03", "status bytes"),
        (b"\n  1.180kg\r\nAB\r\x03", "always-set"),
        (b"\n  1.180kg\r\n40\r\x03", "RAM error"),
        (b"\n  1.180kg\r\n80\r\x03", "EEPROM error"),
        (b"\n  1.180kg\r\n04\r\x03", "ROM error"),
        (b"\n  1.180kg\r\n0<\r\x03", "ROM error, faulty calibration"),
        (b"\n  1.180kg\r\n0p8\r\x03", "initial zero"),
        (b"\n  1.180kg\r\n0p\r\x03", "does not match the bytes that follow"),  # announces a byte that is not there
        (b"\n  1.180kg\r\n000\r\x03", "does not match the bytes that follow"),  # a byte not announced
        (b"\n  1.180kg\r\np0\r\x03", "byte 1"),  # bit 6 of byte 1 is always 0
        (b"\n  1.180kg\r\n\xb0\xb0\r\x03", "bit 7 set"),  # an 8N1 read of a 7E1 line
        (b"\n  1.180KG\r\n00\r\x03", "unreadable weight"),
        (b"\n   250g\r\n00\r\x03", "unreadable weight"),  # grams without the padding space
        (b"\n   .180kg\r\n00\r\x03", "not a number"),
        (b"\n  +1.180kg\r\n00\r\x03", "unreadable weight"),
        (b"\n  1.1\r80kg\r\n00\r\x03", "stray CR or LF"),
        (b"\n  1.180kg\r\n00\r\x03\n00\r\x03", "not exactly one frame"),
        (b"\n  1.1x0kg\r\n00\r\x03", "unreadable weight"),
        (b"\n  1.180st\r\n00\r\x03", "unreadable weight"),
        (b"\n00\r\x03", "without a weight"),
        (b"\na\r\nb\r\nc\r\x03", "3 lines"),
        (b"\n\x01\x02\r\x03", "control bytes"),
    ],
)
def test_nci_bad_answers_are_error_readings(raw, words):
    reading = Nci().parse_weight(raw)
    assert reading.status is ERR and reading.grams == 0
    assert words in reading.message, reading.message


def test_nci_zero_and_commands():
    p = Nci()
    assert p.weight_command() == b"W\r" and p.zero_command() == b"Z\r"
    assert p.parse_zero(b"\n20\r\x03")
    assert not p.parse_zero(b"\n00\r\x03")  # not at zero afterwards
    assert not p.parse_zero(b"\n24\r\x03")  # RAM error
    assert not p.parse_zero(b"\n?\r\x03") and not p.parse_zero(b"garbage")


def test_garbage_never_raises():
    rng = random.Random(1234)
    pieces = [b"S", b" ", b"D", b"\r\n", b"\n", b"\r", b"\x03", b"kg", b"g", b"lb", b"1.5", b"-", b"00", b"?", b"\xff",
              b"\x00", b"+"]
    for protocol in (MtSics(), Nci()):
        for _ in range(3000):
            if rng.random() < 0.5:
                raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
            else:
                raw = b"".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
            reading = protocol.parse_weight(raw)
            assert isinstance(reading, WeightReading)
            assert isinstance(reading.grams, int)
            if reading.status is not OK:
                assert reading.grams == 0 and not reading.stable
            protocol.parse_zero(raw)


@pytest.mark.parametrize("protocol", [MtSics(), MtSics(unit="kg"), Nci(), Nci("lb"), Nci("g")])
@pytest.mark.parametrize("grams, stable", [(0, True), (1180, True), (433, False), (-5, True), (15000, True)])
def test_device_side_encoding_round_trips(protocol, grams, stable):
    raw = protocol.respond(b"SI" if protocol.name == "mt-sics" else b"W", WeightReading(grams, stable))
    reading = protocol.parse_weight(raw)
    expected = grams
    if protocol.name == "nci" and protocol.unit == "lb":  # 0.01 lb resolution
        expected = to_grams(f"{grams / 453.59237:.2f}", "lb")
    assert (reading.status, reading.grams, reading.stable) == (OK, expected, stable)


def test_device_side_status_answers():
    m, n = MtSics(), Nci()
    assert m.respond(b"SI", WeightReading(0, False, OVER)) == b"S +\r\n"
    assert m.respond(b"S", WeightReading(500, False)) == b"S I\r\n"
    assert m.respond(b"XYZ", WeightReading(500, True)) == b"ES\r\n"
    assert n.parse_weight(n.respond(b"W", WeightReading(0, False, UNDER))).status is UNDER
    assert n.respond(b"Q", WeightReading(1, True)) == b"\n?\r\x03"
    assert n.split_commands(b"W\rZ\rW") == ([b"W", b"Z"], b"W")
    assert m.split_commands(b"SI\r\nZ\r\nS") == ([b"SI", b"Z"], b"S")


def test_get_protocol():
    assert get_protocol("MT-SICS").name == "mt-sics"
    assert get_protocol("ecr").name == "nci"
    with pytest.raises(ScaleError, match="unknown scale protocol 'dibal'"):
        get_protocol("dibal")
