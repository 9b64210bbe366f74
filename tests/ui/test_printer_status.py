"""The receipt printer's state where staff see the other devices' (the status bar, in staff mode): paper near its end
after a receipt, why it did not print, and nothing once it prints well again; in the shopper's language."""

from __future__ import annotations

import re

import pytest

from kiosk.printing.base import OUT_OF_PAPER
from kiosk.printing.simulator import PrinterSimulator
from kiosk.services.events import PrinterStatus
from tests.ui import fakes
from tests.ui.helpers import tap, type_keys
from tests.ui.real import PIN, make_real


@pytest.fixture
def printing(tmp_path, qtbot):
    """The window on the real service with an ESC/POS printer (simulated, on a pseudo-terminal): (service, window,
    printer)."""
    with PrinterSimulator() as printer:
        service, window, _recognizer, _scale = make_real(tmp_path, qtbot, receipt_printer=printer.uri)
        service._receipts.printer.status_timeout_s = service._receipts.printer.timeout_s = 0.5
        yield service, window, printer
        window.close()
        service.close()


def test_paper_near_its_end_shows_staff_a_warning_after_the_receipt(qtbot, printing):
    service, window, printer = printing
    label = window.status.printer_label
    printer.paper = "near_end"
    service.choose("oatly-oat-milk")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    tap(qtbot, window.receipt.print_button)  # printed off the Qt thread
    qtbot.waitUntil(lambda: window.receipt.print_status.text() == "Printed: please take your receipt.")  # it printed
    qtbot.waitUntil(lambda: label.text() != "")
    assert not label.isVisible()  # the shopper is not told about the roll
    tap(qtbot, window.receipt.new_button)
    tap(qtbot, window.staff_button)
    type_keys(qtbot, window.pin.keypad, PIN)
    tap(qtbot, window.pin.ok_button)
    assert window.page == "staff"
    qtbot.waitUntil(label.isVisible)  # staff mode's fields (StaffModeChanged)
    assert label.property("level") == "warn"
    assert label.text() == "Printer: paper low"
    assert len(printer.receipts()) == 1


def test_a_printer_that_refused_shows_why_until_it_prints_again_in_hindi_too(qtbot, window, service):
    label = window.status.printer_label
    service.staff_unlock(fakes.PIN)
    service.emit(PrinterStatus("error", OUT_OF_PAPER, "receipt printer /dev/pts/3: status 0x1e: paper end"))
    qtbot.waitUntil(label.isVisible)
    assert label.text() == "Printer: out of paper" and label.property("level") == "error"
    assert "paper end" in label.toolTip()
    tap(qtbot, window.language_button)
    qtbot.waitUntil(lambda: window.translations.language == "hi")
    assert label.text().startswith("प्रिंटर") and not re.search(r"[A-Za-z]{3,}", label.text()), label.text()
    service.emit(PrinterStatus("ok"))
    qtbot.waitUntil(lambda: not label.isVisible())
    assert label.text() == ""


def test_a_window_that_connects_after_a_receipt_hears_the_printers_state(qtbot, printing):
    """The service repeats the printer's state to a window that connects late (as it does the scale's and head
    office's): a restarted window showed staff nothing about a roll near its end."""
    service, _window, printer = printing
    printer.paper = "near_end"
    service.choose("oatly-oat-milk")
    service.pay("card")
    service.print_receipt()
    heard: list = []
    service.add_listener(heard.append)
    service.announce()
    assert [e.level for e in heard if isinstance(e, PrinterStatus)] == ["warn"]


def test_print_runs_off_the_qt_thread_with_print_off_meanwhile(qtbot, window, service):
    """Before: Print called the printer on the Qt thread: a printer switched off froze the window for 10 s and more
    (the hardware probe, finding 3). Now the window goes on while it prints; Print is off until it ends."""
    import threading
    import time

    service.choose("avocado")
    qtbot.waitUntil(lambda: window.pay_button.isEnabled())
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt")
    started, release, real = threading.Event(), threading.Event(), service.print_receipt

    def slow_printer(receipt_no=None):
        started.set()
        release.wait(1.0)
        return real(receipt_no)

    service.print_receipt = slow_printer
    before = time.monotonic()
    tap(qtbot, window.receipt.print_button)
    assert time.monotonic() - before < 0.5 and started.wait(1.0)
    assert not window.receipt.print_button.isEnabled() and window.receipt.print_status.text() == "Printing…"
    release.set()
    qtbot.waitUntil(lambda: window.receipt.print_status.text() == "Printed: please take your receipt.")
    assert window.receipt.print_button.isEnabled() and service.printed == [service.receipts[0].receipt_no]
