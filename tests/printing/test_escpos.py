"""The ESC/POS receipt driver: the bytes a thermal printer gets, appended to a spool file or written to a device node
(never created: a printer that is gone is not connected)."""

import os

import pytest

from kiosk.printing import PrinterError, ReceiptPrinter, open_printer, printer_uri_problem
from kiosk.printing.base import NOT_CONNECTED
from kiosk.printing.escpos import BOLD_OFF, BOLD_ON, DOUBLE_ON, FEED_AND_CUT, INIT, render

TEXT = "Green Basket\n80 Feet Road\n" + "-" * 42 + "\nOatly          ₹275.00\nTOTAL          ₹275.00\nDanke é\n"


def test_render_centres_the_name_emphasises_the_total_and_cuts():
    data = render(TEXT)
    assert data.startswith(INIT + b"\x1bt\x13")  # initialise, code page PC858
    assert DOUBLE_ON + b"Green Basket\n" in data
    assert BOLD_ON + b"TOTAL          Rs.275.00\n" + BOLD_OFF in data
    assert "é".encode("cp858") in data and "₹".encode() not in data  # ₹ is not in any printer code page
    assert data.endswith(FEED_AND_CUT)


def test_unknown_characters_become_question_marks():
    assert b"Mango ????\n" in render("x\nMango \u0906\u092e\u094d\u0930\n")  # four Devanagari code points


def test_a_file_printer_appends_one_receipt_per_print(tmp_path):
    path = tmp_path / "spool.prn"
    printer = open_printer(f"escpos:file:{path}")
    assert isinstance(printer, ReceiptPrinter) and "ESC/POS" in printer.describe()
    printer.print_text(TEXT)
    printer.print_text(TEXT)
    assert path.read_bytes() == render(TEXT) * 2


@pytest.mark.parametrize("uri", ["", "escpos:", "lp:/dev/lp0", "usb", "escpos:file:", "escpos:/dev/lp0?speed=9"])
def test_bad_uris_are_refused_in_one_line(uri):
    with pytest.raises(PrinterError, match="receipt_printer"):
        open_printer(uri)
    assert "receipt_printer" in printer_uri_problem(uri)


def test_a_missing_device_is_a_printer_error(tmp_path):
    with pytest.raises(PrinterError, match="no directory"):
        open_printer(f"escpos:file:{tmp_path}/no/such/dir/spool.prn")
    printer = open_printer(f"escpos:{tmp_path}/no/such/dir/lp0")  # no /dev/usb while the printer is unplugged
    with pytest.raises(PrinterError, match="not connected") as refused:
        printer.print_text(TEXT)
    assert refused.value.reason == NOT_CONNECTED
    printer = open_printer(f"escpos:{tmp_path}")  # a directory cannot be written to
    with pytest.raises(PrinterError, match="is a directory, not a printer device"):
        printer.print_text(TEXT)


def test_an_unplugged_device_is_not_connected_and_never_made_a_file(tmp_path):
    """The node goes when the printer is unplugged while its directory (/dev/usb: other USB devices) stays. Before, the
    driver opened it with O_CREAT: a regular file lp0 took the receipt and the kiosk said it was printed."""
    usb = tmp_path / "usb"
    usb.mkdir()
    lp0 = usb / "lp0"
    os.mkfifo(lp0)  # stands for the character device
    printer = open_printer(f"escpos:{lp0}")
    lp0.unlink()
    with pytest.raises(PrinterError, match="no such device: not connected") as refused:
        printer.print_text(TEXT)
    assert refused.value.reason == NOT_CONNECTED and not lp0.exists()


def test_a_regular_file_where_the_device_should_be_is_refused_not_appended_to(tmp_path):
    """Left by an older kiosk (or `cat receipt > /dev/usb/lp0`) while the printer was unplugged: not a printer."""
    lp0 = tmp_path / "lp0"
    lp0.write_bytes(b"old")
    printer = open_printer(f"escpos:{lp0}")
    with pytest.raises(PrinterError, match=f"is a regular file, not a printer device .*escpos:file:{lp0}"):
        printer.print_text(TEXT)
    assert lp0.read_bytes() == b"old"


def test_a_printer_that_does_not_take_the_receipt_never_hangs_the_kiosk(tmp_path):
    """A pipe nobody reads (a print server that is down) cannot be opened; one whose reader stopped reading (a printer
    out of paper) fills up: both are a PrinterError within the printer's timeout, not a kiosk stuck on Print."""
    import os
    import threading
    import time

    fifo = tmp_path / "lp0"
    os.mkfifo(fifo)
    printer = open_printer(f"escpos:{fifo}")
    printer.timeout_s = 0.5
    with pytest.raises(PrinterError, match="cannot open"):
        printer.print_text(TEXT)
    opened = threading.Event()

    def stalled_reader():
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opens at once, never reads
        opened.set()
        time.sleep(3)
        os.close(fd)

    threading.Thread(target=stalled_reader, daemon=True).start()
    assert opened.wait(5)
    started = time.monotonic()
    with pytest.raises(PrinterError, match="did not take the receipt within 0.5 s"):
        printer.print_text("\n".join(["a long receipt line"] * 20_000))  # more than a pipe's 64 KiB
    assert time.monotonic() - started < 2
