"""USB scanners: the keyboard wedge tells a scanner's burst from a person typing; the serial driver reads one code
per line and drops garbage; the URI picks the driver."""

from __future__ import annotations

import os
import tty

import pytest

from kiosk.barcodes.scanner import ScannerError, open_scanner
from kiosk.barcodes.wedge import KeyboardWedge


def type_burst(wedge: KeyboardWedge, text: str, start: float, gap: float) -> bool:
    done = False
    for i, ch in enumerate(text):
        done = wedge.key(ch, start + i * gap)
    return done


def test_wedge_takes_fast_bursts_ending_in_enter_only():
    wedge = open_scanner("wedge:?gap_ms=40")
    assert isinstance(wedge, KeyboardWedge) and wedge.needs_window
    assert type_burst(wedge, "4006381333931\r", 0.0, 0.01)
    assert wedge.read(0.01) == "4006381333931"
    assert not type_burst(wedge, "4006381333931\r", 10.0, 0.2)  # a person typing digits
    assert not type_burst(wedge, "banana\r", 20.0, 0.01)  # not a code
    assert wedge.read(0.01) is None
    assert type_burst(wedge, "(01)00012345678905(3103)000548\n", 30.0, 0.005)
    assert wedge.read(0.01) == "(01)00012345678905(3103)000548"
    raw = "]e00100012345678905\x1d3103000548"  # as a scanner types a DataBar label: GS is Ctrl+]
    assert type_burst(wedge, raw + "\r", 40.0, 0.005) and wedge.read(0.01) == raw
    assert not type_burst(wedge, "01000123456789\x1d\r", 50.0, 0.005)  # a GS1 string needs the (01) GTIN whole
    assert type_burst(wedge, "]E04006381333931\r", 60.0, 0.005) and wedge.read(0.01) == "]E04006381333931"


def test_scanner_uris():
    assert open_scanner("") is None
    for bad in ("usb:x", "wedge:?gap_ms=0", "wedge:?speed=1", "serial:", "serial:/dev/x?baud=fast"):
        with pytest.raises(ScannerError):
            open_scanner(bad)
    with pytest.raises(ScannerError, match="cannot open serial port"):
        open_scanner("serial:/dev/does-not-exist")


def test_serial_scanner_reads_lines_and_drops_garbage():
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        scanner = open_scanner(f"serial:{os.ttyname(slave)}?baud=9600")
        os.write(master, b"4006381333931\r\n\x00\xffjunk\r96385074\n")
        assert scanner.read(1.0) == "4006381333931"
        assert scanner.read(1.0) == "96385074"
        assert scanner.dropped == 1 and scanner.read(0.1) is None
        scanner.close()
    finally:
        os.close(master)
        os.close(slave)


def test_a_serial_scanner_passes_gs1_element_strings_with_their_separators():
    """A DataBar Expanded label on loose produce, as a scanner in serial mode sends it: the AIM id ]e0, the fields run
    together, GS (FNC1) after a variable-length field. The whole line reaches the till, which reads GTIN and weight."""
    from kiosk.barcodes.frames import scanned_code

    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        scanner = open_scanner(f"serial:{os.ttyname(slave)}")
        os.write(master, b"]e00100012345678905\x1d3103000548\r\n")
        text = scanner.read(1.0)
        assert text == "]e00100012345678905\x1d3103000548" and scanner.dropped == 0
        code = scanned_code(text, source="scanner")
        assert (code.gtin, code.net_grams) == ("0012345678905", 548)
        scanner.close()
    finally:
        os.close(master)
        os.close(slave)
