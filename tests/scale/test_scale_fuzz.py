"""Fuzzing the scale parsers: random frames and mutations of valid frames, per protocol.

The oracle is written here, from the protocols' documents, independently of the parser: a frame is *valid* only
when it is byte for byte one the protocol describes (tests/scale/fixtures/README.md). For every frame:

* no exception escapes the parser (it is called below its never-raise wrapper, so a caught crash counts too);
* a *usable* reading (stable, in range: what may be priced) comes only from a valid weight frame that says so,
  and its grams are exactly the oracle's;
* a valid stable weight frame is never refused (no false alarms on good frames).

The default run fuzzes 10,000 random and 10,000 mutated-valid frames per protocol and prints the counts; the
``slow`` run does 200,000 of each (``make test-slow``; figures in README.md, Benchmarks).
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from kiosk.scale.base import WeightReading, WeightStatus
from kiosk.scale.protocol import MtSics, Nci

FIXTURES = Path(__file__).parent / "fixtures"

# -- the oracle: the documents' formats, written out again -------------------------------------------------------
MT_UNITS = {b"g": "1", b"kg": "1000", b"mg": "0.001", b"lb": "453.59237", b"oz": "28.349523125", b"ct": "0.2",
            b"ozt": "31.1034768", b"GN": "0.06479891", b"dwt": "1.55517384"}
NCI_UNITS = {b"lb": "453.59237", b"kg": "1000", b"oz": "28.349523125", b"g ": "1"}
MT_FRAME = re.compile(rb"S ([SD]) ([ 0-9.-]{10}) (g|kg|mg|lb|oz|ct|ozt|GN|dwt)\r\n")
NCI_FRAME = re.compile(rb"\n(?:([ 0-9.-]{1,10})(lb|kg|oz|g )\r\n)?([\x30-\x7f]{2,4})\r\x03")
NUMBER = re.compile(rb" *(-?[0-9]+(?:\.[0-9]+)?)")


def grams_of(number: bytes, factor: str) -> int | None:
    m = NUMBER.fullmatch(number)
    if not m or sum(c in b"0123456789" for c in m.group(1)) > 9:
        return None
    return int((Decimal(m.group(1).decode()) * Decimal(factor)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def mt_oracle(raw: bytes) -> tuple[bool, int | None]:
    """(valid weight frame, grams when it is a usable reading)."""
    m = MT_FRAME.fullmatch(raw)
    if not m:
        return False, None
    grams = grams_of(m.group(2), MT_UNITS[m.group(3)])
    if grams is None:
        return False, None
    return True, grams if m.group(1) == b"S" else None


def nci_status_ok(status: bytes) -> bool:
    if any(b & 0x30 != 0x30 for b in status) or status[0] & 0x40:
        return False
    follows = [bool(b & 0x40) for b in status]
    return follows[1:] == [i + 2 < len(status) for i in range(len(status) - 1)]


def nci_oracle(raw: bytes) -> tuple[bool, int | None]:
    m = NCI_FRAME.fullmatch(raw)
    if not m or not nci_status_ok(m.group(3)):
        return False, None
    number, unit, status = m.groups()
    if number is None:
        return True, None  # a status-only frame is valid, never a weight
    grams = grams_of(number, NCI_UNITS[unit])
    if grams is None:
        return False, None
    faults = status[0] & 0x0C or status[1] & 0x0C or (len(status) > 2 and status[2] & 0x08)
    usable = not faults and not status[1] & 0x03 and not status[0] & 0x01
    return True, grams if usable else None


PROTOCOLS = {"mt-sics": (MtSics(), mt_oracle), "nci": (Nci(), nci_oracle)}


# -- frames ------------------------------------------------------------------------------------------------------
def seeds(proto: str, rng: random.Random, n: int = 400) -> list[bytes]:
    """Valid frames: the documents' fixtures and the simulator's answers over weights, units and states."""
    name = {"mt-sics": "mt_sics", "nci": "nci"}[proto]
    out = [r["frame"].encode("ascii") for r in json.loads((FIXTURES / f"{name}.json").read_text())]
    units = ("g", "kg", "lb", "oz") if proto == "nci" else ("g", "kg", "mg", "lb", "oz")
    for _ in range(n):
        p = Nci(rng.choice(units)) if proto == "nci" else MtSics(unit=rng.choice(units))
        reading = WeightReading(rng.choice([0, 1, 5, rng.randrange(-500, 30000)]), rng.random() < 0.7)
        out.append(p.respond(b"W" if proto == "nci" else b"SI", reading))
    return out


ALPHABET = b"SDI+- 0123456789.\r\n\x03gkmlbozctGNwdKLB?p<0"


def random_frame(proto: str, rng: random.Random) -> bytes:
    kind = rng.random()
    if kind < 0.4:
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    else:
        body = bytes(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 30)))
    end = b"\r\n" if proto == "mt-sics" else b"\r\x03"
    return body + end if rng.random() < 0.6 else body


def mutate(frame: bytes, rng: random.Random) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op = rng.randrange(9)
        i = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip a bit
            j = min(i, len(data) - 1)
            data[j] ^= 1 << rng.randrange(8)
        elif op == 1 and data:  # replace a byte with one from the protocols' alphabet
            data[min(i, len(data) - 1)] = rng.choice(ALPHABET)
        elif op == 2:  # insert a byte
            data[i:i] = bytes([rng.choice(ALPHABET + bytes([rng.randrange(256)]))])
        elif op == 3 and data:  # delete a byte
            del data[min(i, len(data) - 1)]
        elif op == 4:  # insert a terminator or separator fragment
            data[i:i] = rng.choice([b"\r", b"\n", b"\r\n", b"\x03", b" ", b"  "])
        elif op == 5:  # swap the case of letters
            data = bytearray(bytes(data).swapcase())
        elif op == 6:  # two frames, or a frame and a stray CR LF
            data = bytearray(bytes(data) + rng.choice([bytes(data), b"\r\n", b"\r\x03"]))
        elif op == 7:  # number spelling: a sign, a lone point, more digits
            data[i:i] = rng.choice([b"+", b".", b"-", b"0" * rng.randrange(1, 25), b"e3"])
        elif data:  # truncate
            data = data[: rng.randrange(len(data))]
    return bytes(data)


# -- the run -----------------------------------------------------------------------------------------------------
def fuzz(proto: str, n_random: int, n_mutated: int, seed: int = 15) -> Counter:
    parser, oracle = PROTOCOLS[proto]
    rng = random.Random(seed)
    valid = seeds(proto, rng)
    counts: Counter = Counter()
    frames = [("random", random_frame(proto, rng)) for _ in range(n_random)]
    frames += [("mutated", mutate(rng.choice(valid), rng)) for _ in range(n_mutated)]
    for kind, raw in frames:
        counts[f"{kind} frames"] += 1
        try:
            reading = parser._parse_weight(raw)  # below the never-raise wrapper: a crash is counted, not hidden
            parser._parse_zero(raw)
        except Exception:
            counts["exceptions"] += 1
            continue
        is_valid, usable_grams = oracle(raw)
        counts[f"{kind} frames valid as mutated"] += is_valid and kind == "mutated"
        if reading.usable:
            counts["usable readings"] += 1
            if not is_valid:
                counts["usable from invalid frames"] += 1
            elif usable_grams != reading.grams:
                counts["usable with a wrong weight"] += 1
        elif usable_grams is not None:
            counts["valid weights refused"] += 1
        if reading.status is not WeightStatus.OK and (reading.grams or reading.stable or not reading.raw == raw):
            counts["error readings with a weight"] += 1
    return counts


def report(proto: str, counts: Counter) -> str:
    keys = ("random frames", "mutated frames", "mutated frames valid as mutated", "usable readings", "exceptions",
            "usable from invalid frames", "usable with a wrong weight", "valid weights refused",
            "error readings with a weight")
    return f"{proto}: " + ", ".join(f"{k} {counts[k]}" for k in keys)


BAD = ("exceptions", "usable from invalid frames", "usable with a wrong weight", "valid weights refused",
       "error readings with a weight")


@pytest.mark.parametrize("proto", ["mt-sics", "nci"])
def test_fuzz_default(proto, capsys):
    counts = fuzz(proto, 10_000, 10_000)
    with capsys.disabled():
        print("\n" + report(proto, counts))
    assert counts["random frames"] >= 10_000 and counts["mutated frames"] >= 10_000
    assert counts["usable readings"] > 0 and counts["mutated frames valid as mutated"] > 0  # the oracle says yes too
    assert {k: counts[k] for k in BAD} == {k: 0 for k in BAD}


@pytest.mark.slow
@pytest.mark.parametrize("proto", ["mt-sics", "nci"])
def test_fuzz_big(proto, capsys):
    counts = fuzz(proto, 200_000, 200_000, seed=2025)
    with capsys.disabled():
        print("\n" + report(proto, counts))
    assert {k: counts[k] for k in BAD} == {k: 0 for k in BAD}


def test_the_oracle_agrees_with_the_documents():
    """The oracle itself: the documented frames are valid, and the mutations the old parser let through are not."""
    assert mt_oracle(b"S S     100.00 g\r\n") == (True, 100)
    assert nci_oracle(b"\n  1.234kg\r\n00\r\x03") == (True, 1234)
    for bad in (b"S S     100.00 G\r\n", b"S S     100.00 Kg\r\n", b"S S        .50 g\r\n", b"S S     100.00 g\r\n\r\n",
                b"\r\nS S     100.00 g\r\n", b"S S   +100.00 g\r\n", b"S S       100. g\r\n", b"S S     100\r00 g\r\n"):
        assert mt_oracle(bad) == (False, None), bad
    assert nci_oracle(b"\n  1.234KG\r\n00\r\x03") == (False, None)
