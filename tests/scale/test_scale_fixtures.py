"""Frames as the MT-SICS and NCI documents print them (tests/scale/fixtures, sources in its README.md): each gives
the reading the document says, through the parser and over a pseudo-terminal through the serial driver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.scale import open_scale
from kiosk.scale.protocol import get_protocol
from kiosk.scale.simulator import ScaleSimulator

FIXTURES = Path(__file__).parent / "fixtures"


def frames(name: str) -> list[dict]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


CASES = [(proto, row) for proto, name in (("mt-sics", "mt_sics"), ("nci", "nci")) for row in frames(name)]


@pytest.mark.parametrize("proto, row", CASES, ids=[f"{p}:{r['frame']!r}" for p, r in CASES])
def test_documented_frames(proto, row):
    protocol = get_protocol(proto)
    raw = row["frame"].encode("ascii")
    assert row["source"]
    if "zero" in row["expect"]:
        assert protocol.parse_zero(raw) is row["expect"]["zero"]
        return
    reading = protocol.parse_weight(raw)
    want = row["expect"]
    assert (reading.status.value, reading.grams, reading.stable) == (want["status"], want["grams"], want["stable"])
    assert reading.raw == raw


@pytest.mark.parametrize("proto, name", [("mt-sics", "mt_sics"), ("nci", "nci")])
def test_documented_frames_over_the_wire(proto, name):
    """The same bytes answered by the simulator on a pty and read by the serial driver."""
    rows = [r for r in frames(name) if "zero" not in r["expect"]]
    with ScaleSimulator(proto) as sim:
        scale = open_scale(f"{sim.uri}&timeout=0.3")
        try:
            for row in rows:
                sim.inject(row["frame"].encode("ascii"))
                reading = scale.read()
                want = row["expect"]
                assert (reading.status.value, reading.grams, reading.stable) == (
                    want["status"], want["grams"], want["stable"]), row
        finally:
            scale.close()
