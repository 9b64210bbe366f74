"""The ESC/POS printer simulator answers DLE EOT status requests as an Epson TM printer does, on a pty."""

import os
import select

import pytest

from kiosk.printing.escpos import render
from kiosk.printing.simulator import ERRORS, PAPER_STATES, PrinterSimulator, status_byte


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("paper", PAPER_STATES)
@pytest.mark.parametrize("cover_open", [False, True])
@pytest.mark.parametrize("error", list(ERRORS))
def test_every_status_byte_has_the_fixed_bits(n, paper, cover_open, error):
    assert status_byte(n, paper, cover_open, error) & 0x93 == 0x12


def test_the_status_bytes_of_each_state():
    assert [status_byte(n) for n in (1, 2, 3, 4)] == [0x12, 0x12, 0x12, 0x12]  # online, all clear
    assert status_byte(1, paper="out") == 0x1A and status_byte(2, paper="out") == 0x32
    assert status_byte(4, paper="out") == 0x7E and status_byte(4, paper="near_end") == 0x1E
    assert status_byte(1, paper="near_end") == 0x12  # near end still prints
    assert status_byte(2, cover_open=True) == 0x16 and status_byte(3, error="cutter") == 0x1A
    assert status_byte(5) is None


def test_requests_are_answered_and_the_rest_kept_even_when_cut_between_reads():
    sim = PrinterSimulator()
    data = render("Shop\nTOTAL 1\n")
    assert sim.feed(b"\x10\x04\x01" + data[:10] + b"\x10") == b"\x12"
    assert sim.feed(b"\x04") == b"" and sim.feed(b"\x04" + data[10:]) == b"\x12"
    sim.paper = "out"
    assert sim.feed(b"\x10\x04\x04") == b"\x7e"
    sim.mute = True
    assert sim.feed(b"\x10\x04\x01") == b""
    assert sim.requests == [1, 4, 4, 1] and bytes(sim.received) == data and sim.receipts() == [data]


def test_it_answers_on_a_pty():
    with PrinterSimulator() as sim:
        sim.cover_open = True
        fd = os.open(sim.port, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"\x10\x04\x02")
            assert select.select([fd], [], [], 2)[0]
            assert os.read(fd, 16) == b"\x16"
        finally:
            os.close(fd)
        assert sim.uri == f"escpos:{sim.port}"
