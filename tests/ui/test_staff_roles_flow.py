"""Staff accounts in the real window on the real service, like a person: the shopper calls for help, an assistant signs
in with their staff number and PIN, corrects a wrong line, voids another, is refused a big price override, a
supervisor approves it on the spot, the assistant hands back to the shopper, who pays — and the bill and the audit
rows tell the same story (and `checkout audit verify` finds the log whole)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.ui.helpers import tap, tap_cell, tap_list_row, type_keys

REPO = Path(__file__).resolve().parents[2]
ASSISTANT, SUPERVISOR = ("101", "5820"), ("102", "7391")


def noon_clock():
    """Today's noon, ticking in real time: "today's" receipts and report are the sales' day even when the test runs
    across midnight."""
    t0, noon = time.monotonic(), datetime.now().astimezone().replace(hour=12, minute=0, second=0, microsecond=0)
    return lambda: noon + timedelta(seconds=time.monotonic() - t0)


@pytest.fixture
def real(tmp_path, qtbot):
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog
    from kiosk.config import KioskConfig
    from kiosk.scale.simulated import SimulatedScale
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.staff.accounts import add_account
    from kiosk.store import SalesStore
    from kiosk.ui.app import build_window

    db = tmp_path / "catalog.sqlite"
    with Catalog.open(db) as cat:
        import_csv(cat, REPO / "assets" / "demo" / "catalog.csv")
    config = KioskConfig(catalog=str(db), store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                         store_name="Green Basket", receipt_printer=f"escpos:file:{tmp_path / 'printer.prn'}")
    store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, store_info=config.store_info, clock=noon_clock())
    add_account(store, "Asha Rao", "assistant", ASSISTANT[1], by="test")
    add_account(store, "Ravi K", "supervisor", SUPERVISOR[1], by="test")
    service = CheckoutService(config, catalog=open_catalog(db), store=store, recognizer_holder=None,
                              scale=SimulatedScale(0), clock=store._clock)
    window, _ = build_window(service, config, payment_ms=0, receipt_return_s=0)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    service.announce()
    yield service, window
    window.close()
    service.close()


def sign_in(qtbot, window, who) -> None:
    number, pin = who
    assert window.page == "pin" and window.pin.number.isVisible()  # staff accounts: the number first
    type_keys(qtbot, window.pin.keypad, number)
    tap(qtbot, window.pin.ok_button)  # on to the PIN
    type_keys(qtbot, window.pin.keypad, pin)
    tap(qtbot, window.pin.ok_button)


def select(qtbot, window, sku: str) -> str:
    model = window.staff.model

    def rows() -> list[int]:
        return [r for r in range(model.rowCount()) if model.line(r).sku == sku and not getattr(model.line(r), "voided",
                                                                                               False)]

    qtbot.waitUntil(lambda: len(rows()) == 1)  # the table follows the committed cart (a queued event)
    row = rows()[0]
    tap_cell(qtbot, window.staff.table, row, 0)
    return model.line(row).line_id


def test_help_assistant_corrects_voids_supervisor_approves_the_override_shopper_pays(qtbot, real):
    service, window = real
    start = service.store.audit_head()[0]
    service.choose("arla-standard-milk")  # the shopper picked the wrong milk
    service.choose("bravo-apple-juice")  # and a juice they put back
    service.choose("arla-natural-yoghurt")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 3)

    helped = hasattr(window, "help_button")  # issue 16's Help button (the Staff button alone before it)
    if helped:
        tap(qtbot, window.help_button)
        qtbot.waitUntil(lambda: window.header.help_active)
    tap(qtbot, window.staff_button)
    sign_in(qtbot, window, ASSISTANT)
    qtbot.waitUntil(lambda: window.page == "staff")
    qtbot.waitUntil(lambda: "Asha Rao (assistant)" in window.staff_access.badge.text())

    select(qtbot, window, "arla-standard-milk")
    tap(qtbot, window.staff.correct_button)
    type_keys(qtbot, window.search.keyboard, "oatly")
    qtbot.waitUntil(lambda: "oatly-oat-milk" in window.search.result_skus())
    tap_list_row(qtbot, window.search.list, window.search.result_skus().index("oatly-oat-milk"))
    qtbot.waitUntil(lambda: "oatly-oat-milk" in [v.sku for v in service.cart_view().lines])
    select(qtbot, window, "bravo-apple-juice")
    tap(qtbot, window.staff.void_button)
    qtbot.waitUntil(lambda: "bravo-apple-juice" not in [v.sku for v in service.cart_view().lines])

    oatly = select(qtbot, window, "oatly-oat-milk")
    tap(qtbot, window.staff.override_button)
    type_keys(qtbot, window.price.keypad, "1")
    tap(qtbot, window.price.ok_button)
    assert window.page == "pin" and window.pin.approving  # refused for the assistant: a supervisor is asked
    assert "needs a supervisor" in window.pin.error.text()
    assert oatly in [v.line_id for v in service.cart_view().lines]  # nothing changed meanwhile
    type_keys(qtbot, window.pin.keypad, SUPERVISOR[0])
    tap(qtbot, window.pin.ok_button)
    type_keys(qtbot, window.pin.keypad, SUPERVISOR[1])
    tap(qtbot, window.pin.ok_button)
    qtbot.waitUntil(lambda: window.page == "staff")
    lines = {v.sku: v for v in service.cart_view().lines}
    assert lines["oatly-oat-milk"].unit_price == 100 and service.staff_member.staff_id == "101"  # still Asha

    tap(qtbot, window.staff.done_button)  # back to the shopper
    assert window.page == "checkout" and not service.staff_unlocked
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons["card"])
    qtbot.waitUntil(lambda: window.page == "receipt", timeout=5000)
    receipt = service.last_sale.receipt()
    bill = sorted((line.sku, line.total) for line in receipt.lines)  # a receipt lists the lines charged
    assert bill == [("arla-natural-yoghurt", lines["arla-natural-yoghurt"].total), ("oatly-oat-milk", 100)]

    rows = service.store.audit_rows(since_seq=start)
    kinds = [(r["kind"], r["actor"]) for r in rows]
    live: dict[str, tuple[str, int]] = {}
    for r in rows:  # the bill again, from the audit rows alone
        d = r["detail"]
        if r["kind"] == "line.add":
            live[d["line_id"]] = (d["sku"], d["total"])
        elif r["kind"] in ("line.void", "line.remove"):
            live.pop(d["line_id"])
    assert sorted(live.values()) == bill
    closed = next(r["detail"] for r in rows if r["kind"] == "sale.closed")
    assert (closed["receipt_no"], closed["total"]) == (receipt.receipt_no, receipt.bill.total)
    assert ("staff.signin", "101") in kinds and ("staff.correction", "101") in kinds and ("line.void", "101") in kinds
    refused = next(r["detail"] for r in rows if r["kind"] == "staff.refused")
    assert (refused["action"], refused["role"]) == ("override", "assistant")
    assert ("staff.approval", "102") in kinds
    override = next(r for r in rows if r["kind"] == "staff.override")
    assert override["actor"] == "101" and override["detail"]["approved_by"] == "102"
    assert ("staff.signout", "101") in kinds and kinds.index(("staff.signout", "101")) < kinds.index(
        ("sale.closed", "kiosk"))
    if helped:
        assert ("help_answered", "101") in kinds

    from kiosk.audit.verify import verify_store

    assert verify_store(service.store.path).ok


def test_a_wrong_pin_and_the_idle_logout_on_screen(qtbot, real):
    service, window = real
    tap(qtbot, window.staff_button)
    sign_in(qtbot, window, (ASSISTANT[0], "0000"))
    assert window.page == "pin" and window.pin.error.text()
    window.open_staff()
    sign_in(qtbot, window, ASSISTANT)
    qtbot.waitUntil(lambda: window.page == "staff")
    service._desk.session._until = service._clock()  # the idle time-out has run out
    qtbot.waitUntil(lambda: window.page == "checkout", timeout=5000)  # the screen follows within a second
    kinds = [(r["kind"], r["actor"], r["detail"].get("reason")) for r in service.store.audit_rows()]
    assert ("staff.signin_refused", "101", "wrong_pin") in kinds and ("staff.signout", "101", "idle") in kinds


def sell_one_and_open_staff(qtbot, service, window, who, method: str = "card"):
    """A shopper buys one milk and pays by ``method``; then ``who`` signs in on the staff page. Returns the sale."""
    service.choose("arla-standard-milk")
    qtbot.waitUntil(lambda: window.cart_model.rowCount() == 1)
    tap(qtbot, window.pay_button)
    tap(qtbot, window.payment.method_buttons[method])
    qtbot.waitUntil(lambda: window.page == "receipt", timeout=5000)
    window.show_page("checkout")
    tap(qtbot, window.staff_button)
    sign_in(qtbot, window, who)
    qtbot.waitUntil(lambda: window.page == "staff")
    return service.last_sale


def test_the_end_of_day_report_is_a_supervisors(qtbot, real):
    """An assistant asks for the day's takings: a supervisor approves on the spot, the report shows today's sale."""
    service, window = real
    sale = sell_one_and_open_staff(qtbot, service, window, ASSISTANT)
    assert window.staff.day_button.isVisible() and window.staff.day_button.text() == "End of day"
    tap(qtbot, window.staff.day_button)
    assert window.page == "pin" and window.pin.approving and "needs a supervisor" in window.pin.error.text()
    type_keys(qtbot, window.pin.keypad, SUPERVISOR[0])
    tap(qtbot, window.pin.ok_button)
    type_keys(qtbot, window.pin.keypad, SUPERVISOR[1])
    tap(qtbot, window.pin.ok_button)
    qtbot.waitUntil(lambda: window.page == "receipt")
    text = window.receipt.text.toPlainText()
    assert "END OF DAY" in text and sale.receipt_no in text and "Green Basket" in text
    assert window.receipt.title.text() == "End of day" and window.receipt.text.isVisible()
    rows = [(r["kind"], r["actor"], r["detail"]) for r in service.store.audit_rows()]
    assert ("staff.day_report", "101", {"approved_by": "102"}) in rows


def test_a_supervisor_prints_the_end_of_day_report(qtbot, real, tmp_path):
    service, window = real
    sell_one_and_open_staff(qtbot, service, window, SUPERVISOR, "cash")
    tap(qtbot, window.staff.day_button)
    assert window.page == "receipt" and window.receipt.print_button.isVisible()
    tap(qtbot, window.receipt.print_button)  # printed off the Qt thread
    qtbot.waitUntil(lambda: window.receipt.print_status.text() == "Printed.")
    printed = (tmp_path / "printer.prn").read_bytes()
    assert b"END OF DAY" in printed and service.last_sale.receipt_no.encode() in printed
    kinds = [(r["kind"], r["actor"]) for r in service.store.audit_rows()]
    assert ("day_report_printed", "102") in kinds and kinds.count(("staff.day_report", "102")) == 2


def test_staff_reprint_the_receipt_a_shopper_comes_back_for(qtbot, real):
    """Two shoppers pay; the first comes back for their receipt: staff pick it from today's list, newest first."""
    service, window = real
    first = sell_one_and_open_staff(qtbot, service, window, ASSISTANT)
    tap(qtbot, window.staff.done_button)
    second = sell_one_and_open_staff(qtbot, service, window, ASSISTANT, "cash")
    tap(qtbot, window.staff.reprint_button)
    assert window.page == "receipts"
    assert window.receipts.receipt_numbers() == [second.receipt_no, first.receipt_no]
    assert "Card" in window.receipts.list.item(1).text() and "Cash at desk" in window.receipts.list.item(0).text()
    tap_list_row(qtbot, window.receipts.list, 1)
    qtbot.waitUntil(lambda: window.page == "receipt")
    text = window.receipt.text.toPlainText()
    assert "DUPLICATE" in text and first.receipt_no in text and second.receipt_no not in text
    prints = service.store.receipt_prints(first.receipt_no)
    assert [(p["kind"], p["by"]) for p in prints][-1] == ("reprint", "101")
