"""The ESC/POS receipt driver: the bytes a thermal printer gets, appended to a file or a device node."""

import pytest

from kiosk.printing import PrinterError, ReceiptPrinter, open_printer
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
    printer = open_printer(f"escpos:{path}")
    assert isinstance(printer, ReceiptPrinter) and "ESC/POS" in printer.describe()
    printer.print_text(TEXT)
    printer.print_text(TEXT)
    assert path.read_bytes() == render(TEXT) * 2


@pytest.mark.parametrize("uri", ["", "escpos:", "lp:/dev/lp0", "usb"])
def test_bad_uris_are_refused_in_one_line(uri):
    with pytest.raises(PrinterError, match="receipt_printer"):
        open_printer(uri)


def test_a_missing_device_is_a_printer_error(tmp_path):
    with pytest.raises(PrinterError, match="no directory"):
        open_printer(f"escpos:{tmp_path}/no/such/dir/lp0")
    printer = open_printer(f"escpos:{tmp_path}")  # a directory cannot be written to
    with pytest.raises(PrinterError, match="cannot open"):
        printer.print_text(TEXT)


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
