"""A print that ends after staff left never changes the page (probe-staff, second pass, finding 1): a supervisor
prints the end-of-day report on a slow printer, taps Back and Done, and the shopper's screen — the checkout, or the
next shopper's payment page with its frozen cart — stays as it is when the printer finishes; a Back or the idle check
never shows a staff page while staff mode is locked. On the real window and service, like a person."""

from __future__ import annotations

import threading

import pytest

from tests.ui import test_staff_roles_flow as flow
from tests.ui.helpers import tap, type_keys

real = flow.real  # the real window on the real service, an assistant (101) and a supervisor (102)


@pytest.fixture
def slow_printer(real):
    """The kiosk's printer, held until the test lets it go (a slow paper feed, within its 10 s deadline)."""
    service, _window = real
    printer = service._receipts.printer
    started, release, real_print = threading.Event(), threading.Event(), printer.print_text

    def slow(text):
        started.set()
        release.wait(10)
        return real_print(text)

    printer.print_text = slow
    yield started, release
    release.set()


def print_report_and_leave(qtbot, real, slow_printer) -> None:
    """The supervisor opens End of day, taps Print (the printer is slow), Back, then Done."""
    service, window = real
    started, _release = slow_printer
    flow.sell_one_and_open_staff(qtbot, service, window, flow.SUPERVISOR, "cash")
    tap(qtbot, window.staff.day_button)
    assert window.page == "receipt" and window.receipt.kind == "report"
    tap(qtbot, window.receipt.print_button)
    assert started.wait(5) and window.receipt.print_pending
    tap(qtbot, window.receipt.new_button)  # Back
    assert window.page == "staff"
    tap(qtbot, window.staff.done_button)
    assert window.page == "checkout" and not service.staff_unlocked


def audited(service, kind: str) -> bool:
    return any(r["kind"] == kind for r in service.store.audit_rows())


def test_the_report_printed_after_staff_left_stays_off_the_shoppers_screen(qtbot, real, slow_printer):
    service, window = real
    print_report_and_leave(qtbot, real, slow_printer)
    pages = []
    window.page_changed.connect(pages.append)
    slow_printer[1].set()
    qtbot.waitUntil(lambda: not window.receipt.print_pending, timeout=5000)
    qtbot.wait(1500)  # the idle check runs every second
    assert audited(service, "day_report_printed")  # it did print
    assert pages == [] and window.page == "checkout" and not window.on_staff_page
    assert window.staff_button.isVisible() and window.language_button.isVisible()


def test_the_report_printed_over_the_next_shoppers_payment_leaves_them_paying(qtbot, real, slow_printer):
    service, window = real
    print_report_and_leave(qtbot, real, slow_printer)
    service.choose("arla-standard-milk")  # the next shopper
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    tap(qtbot, window.pay_button)
    assert window.page == "payment" and service._cart.frozen
    slow_printer[1].set()
    qtbot.waitUntil(lambda: not window.receipt.print_pending, timeout=5000)
    qtbot.wait(300)
    assert window.page == "payment" and service._cart.frozen and window._frozen
    tap(qtbot, window.payment.method_buttons["cash"])  # and they pay as they meant to
    qtbot.waitUntil(lambda: window.page == "receipt" and window.receipt.kind == "sale", timeout=5000)


def test_a_report_print_failing_after_staff_left_is_a_notice_not_a_page(qtbot, real, slow_printer):
    from kiosk.printing.base import OUT_OF_PAPER, PrinterError

    service, window = real
    printer = service._receipts.printer
    held = printer.print_text

    def jammed(text):
        held(text)  # waits for the test like the slow printer
        raise PrinterError("test printer: paper out", OUT_OF_PAPER)

    printer.print_text = jammed
    print_report_and_leave(qtbot, real, slow_printer)
    pages = []
    window.page_changed.connect(pages.append)
    slow_printer[1].set()
    qtbot.waitUntil(lambda: not window.receipt.print_pending, timeout=5000)
    assert pages == [] and window.page == "checkout"
    assert window.banner.isVisible() and "did not print" in window.banner.text()


def test_back_from_the_report_with_staff_mode_locked_is_the_shoppers_page(qtbot, real):
    """However the report came to show with staff mode locked, its Back is not the way onto the staff page."""
    service, window = real
    flow.sell_one_and_open_staff(qtbot, service, window, flow.SUPERVISOR, "cash")
    tap(qtbot, window.staff.day_button)
    text = window.receipt.text.toPlainText()
    window.close_staff()  # staff mode locked (Done)
    window.receipt.show_report(text, True)
    window.show_page("receipt")
    tap(qtbot, window.receipt.new_button)  # Back
    assert window.page == "checkout" and not service.staff_unlocked


@pytest.mark.parametrize("page", ["staff", "receipts", "price"])
def test_the_idle_check_leaves_a_staff_page_shown_while_staff_mode_is_locked(qtbot, real, page):
    """The session is over (no StaffModeChanged will come again): a staff page still on screen goes within a second."""
    service, window = real
    flow.sell_one_and_open_staff(qtbot, service, window, flow.SUPERVISOR, "cash")
    window.close_staff()
    qtbot.wait(200)  # StaffModeChanged(False) has come and gone
    window.show_page(page)
    assert window.page == page
    qtbot.waitUntil(lambda: window.page == "checkout", timeout=3000)


def test_an_assistants_report_print_a_supervisor_approves_comes_back_to_the_report(qtbot, real):
    """The approval's PIN page goes back to the report (still staff's, Print under way), and it prints."""
    service, window = real
    flow.sell_one_and_open_staff(qtbot, service, window, flow.ASSISTANT, "cash")

    def approve():
        assert window.page == "pin" and window.pin.approving
        type_keys(qtbot, window.pin.keypad, flow.SUPERVISOR[0])
        tap(qtbot, window.pin.ok_button)
        type_keys(qtbot, window.pin.keypad, flow.SUPERVISOR[1])
        tap(qtbot, window.pin.ok_button)

    tap(qtbot, window.staff.day_button)
    approve()
    qtbot.waitUntil(lambda: window.page == "receipt" and window.receipt.kind == "report")
    tap(qtbot, window.receipt.print_button)
    qtbot.waitUntil(lambda: window.page == "pin")  # printing the report needs an approval of its own
    approve()
    assert window.page == "receipt" and window.receipt.kind == "report"
    qtbot.waitUntil(lambda: window.receipt.print_status.text() == "Printed.", timeout=5000)
    assert window.page == "receipt" and service.staff_unlocked
    tap(qtbot, window.receipt.new_button)
    assert window.page == "staff"
