"""USB scanners: the keyboard wedge tells a scanner's burst from a person typing; the serial driver reads one code
per line and drops garbage; the URI picks the driver."""

from __future__ import annotations

import os
import time
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
    for bad in ("usb:x", "wedge:?gap_ms=0", "wedge:?speed=1", "serial:", "serial:/dev/x?baud=fast",
                "serial:/dev/x?gap_ms=5"):
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


# -- a serial scanner's cut-short scans and lost cable (the hardware probe: p4) ------------------------------------
OATLY = b"2000000000459"


@pytest.fixture
def pty_port(tmp_path):
    """A pty behind a stable path (as /dev/serial/by-id/… is): ``plug()`` (again) and ``unplug()``."""
    link = tmp_path / "scanner"
    ends: list[int] = []

    class Port:
        path = str(link)

        def plug(self) -> int:
            master, slave = os.openpty()
            tty.setraw(slave)
            ends[:] = [master, slave]
            link.symlink_to(os.ttyname(slave))
            return master

        def unplug(self) -> None:
            for fd in ends:
                os.close(fd)
            ends.clear()
            link.unlink()

    port = Port()
    yield port
    if ends:
        port.unplug()


def test_a_scan_cut_short_is_dropped_not_glued_onto_the_next(pty_port, caplog):
    """Before: '20000' without a line end, then a good scan a moment later, read as 200002000000000459 (and the good
    scan lost). Now the silence after '20000' ends it: logged and dropped."""
    master = pty_port.plug()
    scanner = open_scanner(f"serial:{pty_port.path}")  # gap_ms 100 by default
    os.write(master, b"20000")
    assert scanner.read(0.3) is None
    os.write(master, OATLY + b"\r")
    assert scanner.read(0.5) == OATLY.decode()
    assert scanner.dropped == 1 and "5 byte(s) dropped, no line end within 100 ms" in caplog.text
    scanner.close()


def test_a_code_that_waited_in_the_port_while_the_kiosk_was_busy_is_read_whole(pty_port):
    """Only silence on the line ends a code: bytes that came meanwhile and waited to be read are no pause."""
    master = pty_port.plug()
    scanner = open_scanner(f"serial:{pty_port.path}")
    os.write(master, OATLY[:7])
    assert scanner.read(0.01) is None  # the first half read
    os.write(master, OATLY[7:] + b"\r")
    time.sleep(0.3)  # the kiosk was busy: the rest waited in the port
    assert scanner.read(0.5) == OATLY.decode() and scanner.dropped == 0
    scanner.close()


def test_closing_the_port_drops_half_a_code(pty_port):
    master = pty_port.plug()
    scanner = open_scanner(f"serial:{pty_port.path}")
    os.write(master, b"2000000")
    assert scanner.read(0.05) is None
    scanner.close()
    assert scanner.dropped == 1
    assert scanner.read(0.05) is None  # reopened at once (opening a port empties what waited in it)
    os.write(master, OATLY + b"\r")
    assert scanner.read(0.5) == OATLY.decode()  # was 20000002000000000459
    scanner.close()


def test_an_unplugged_scanner_is_retried_ever_more_slowly_and_says_so_once(pty_port, caplog, monkeypatch):
    """Before: a warning and a reopen every 50 ms (40 warnings in 2 s) and nothing for staff; half a code from before
    the unplug glued onto the first scan after it."""
    from kiosk.barcodes import serial_scanner

    monkeypatch.setattr(serial_scanner, "RETRY", (0.05, 0.2), raising=False)  # the first wait and the longest
    master = pty_port.plug()
    scanner = open_scanner(f"serial:{pty_port.path}")
    states, opened = [], []
    scanner.add_observer(lambda status: states.append(status.state))
    real_open = scanner._open
    scanner._open = lambda: (opened.append(time.monotonic()), real_open())
    os.write(master, b"2000000")
    assert scanner.read(0.02) is None  # half a code in flight when the cable is pulled
    caplog.clear()  # before the unplug: the driver's reader thread notices it at once
    pty_port.unplug()
    until = time.monotonic() + 0.8
    while time.monotonic() < until:
        assert scanner.read(0.2) is None
    assert states == ["lost"] and scanner.status.state == "lost"
    assert 3 <= len(opened) <= 7  # after 0.05, 0.1, 0.2, 0.2 … s (every 50 ms before: 16)
    gaps = [b - a for a, b in zip(opened, opened[1:])]
    assert gaps[0] < 0.15 <= gaps[-1]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and "scanner is gone" in warnings[-1] and "7 byte(s) dropped" in warnings[0]
    master = pty_port.plug()
    until = time.monotonic() + 0.4
    while states == ["lost"] and time.monotonic() < until:
        assert scanner.read(0.05) is None
    assert states == ["lost", "live"]
    os.write(master, OATLY + b"\r")
    assert scanner.read(0.5) == OATLY.decode()  # was 2000000 glued in front
    assert "scanner is back" in caplog.records[-1].getMessage()
    scanner.close()


# -- bytes are timed as they arrive, not when the caller gets round to them (the hardware probe: finding 2) --------
GLUED_FRAGMENT, EAN8 = b"2400", b"96300008"  # 2400 + 96300008 is 240096300008, a valid UPC-A of its own


def test_a_fragment_is_dropped_even_when_no_one_reads_during_the_gap(pty_port):
    """Before: with the caller busy (the scanner loop waiting for the checkout's lock), '2400' and 300 ms later the
    EAN-8 96300008 were read together as 240096300008 (another valid code) and the real scan was lost. Now a thread
    of the driver's own reads the port all along: the silence after '2400' drops it, whoever reads or not."""
    master = pty_port.plug()
    scanner = open_scanner(f"serial:{pty_port.path}")
    os.write(master, GLUED_FRAGMENT)
    time.sleep(0.3)  # nobody calls read()
    os.write(master, EAN8 + b"\r")
    time.sleep(0.05)
    assert scanner.read(0.5) == EAN8.decode() and scanner.dropped == 1
    assert scanner.read(0.05) is None
    scanner.close()


def test_a_slow_checkout_never_changes_how_the_scanner_loop_frames_codes(pty_port):
    """The live loop's scanner thread is a consumer only: while it waits 0.4 s in ``scanned`` for the first code,
    a fragment and a good scan arrive; the next call gets the good scan, not the two glued."""
    from kiosk.services.live import LiveLoop

    master = pty_port.plug()
    scanner = open_scanner(f"serial:{pty_port.path}")
    got, busy = [], __import__("threading").Event()

    def scanned(text):
        got.append(text)
        busy.set()
        time.sleep(0.4)  # the checkout's lock held elsewhere

    loop = LiveLoop(camera=lambda: "", scale=None, poll_hz=lambda: 5.0, process_frame=None, poll_scale=None,
                    emit=lambda *events: None, scanner=scanner, scanned=scanned)
    thread = __import__("threading").Thread(target=loop._scanner_loop, daemon=True)
    thread.start()
    os.write(master, OATLY + b"\r")
    assert busy.wait(1.0)
    os.write(master, GLUED_FRAGMENT)
    time.sleep(0.25)
    os.write(master, EAN8 + b"\r")
    until = time.monotonic() + 1.5
    while len(got) < 2 and time.monotonic() < until:
        time.sleep(0.02)
    loop._stop.set()
    thread.join(1.0)
    scanner.close()
    assert got == [OATLY.decode(), EAN8.decode()]
