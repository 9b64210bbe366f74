"""The Print button on a printer that cannot print: the shopper is told why and that staff can reprint (not "please
take it"), the refusal is audited with its reason, the sale stays recorded; paper near its end prints and leaves
staff a warning in the audit trail and the log."""

from types import SimpleNamespace

import pytest

from kiosk.printing.simulator import PrinterSimulator
from kiosk.printing.status import PAPER_NEAR_END
from kiosk.services.errors import CheckoutError
from kiosk.services.events import Notice
from kiosk.services.printing import ReceiptDesk
from kiosk.ui.notices import notice_text

SALE = SimpleNamespace(receipt_no="K1-000042", receipt_text="Green Basket\nTOTAL   Rs.275.00\n")


class Store:
    def __init__(self):
        self.audit = []

    def sale(self, receipt_no):
        return SALE if receipt_no == SALE.receipt_no else None

    def last_sale(self):
        return SALE

    def append_audit(self, action, who, details):
        self.audit.append((action, who, details))
        return len(self.audit)


@pytest.fixture
def desk():
    with PrinterSimulator() as sim:
        store, events = Store(), []
        receipts = ReceiptDesk(sim.uri, store, events.append)
        receipts.printer.status_timeout_s = receipts.printer.timeout_s = 0.3
        yield sim, receipts, store, events


def test_out_of_paper_says_not_printed_and_staff_can_reprint(desk):
    sim, receipts, store, events = desk
    sim.paper = "out"
    with pytest.raises(CheckoutError) as refused:
        receipts.print()
    message = str(refused.value)
    assert message == "receipt K1-000042 not printed: the printer is out of paper — staff can reprint"
    assert notice_text(message) == "Receipt K1-000042 not printed: the printer is out of paper. Staff can reprint it"
    assert store.audit == [("receipt_not_printed", "shopper",
                            {"receipt_no": "K1-000042", "reason": "the printer is out of paper"})]
    assert not [e for e in events if isinstance(e, Notice)] and sim.receipts() == []
    sim.paper = "ok"  # staff put a roll in: the same receipt prints
    assert receipts.print("K1-000042") == "K1-000042" and len(sim.receipts()) == 1
    assert store.audit[-1] == ("receipt_printed", "shopper", {"receipt_no": "K1-000042"})
    assert events[-1] == Notice("info", "receipt K1-000042 printed: please take it")


def test_every_reason_has_its_own_words_on_screen(desk):
    from kiosk.printing import base

    reasons = [getattr(base, name) for name in base.__all__ if name.isupper() and name != "DRIVERS"]
    shown = {notice_text(f"receipt K1-1 not printed: {reason} — staff can reprint") for reason in reasons}
    assert len(shown) == len(reasons) == 7


def test_paper_near_its_end_prints_and_tells_staff(desk, caplog):
    sim, receipts, store, events = desk
    sim.paper = "near_end"
    receipts.print()
    assert events[-1] == Notice("info", "receipt K1-000042 printed: please take it")
    assert store.audit == [("receipt_printed", "shopper",
                            {"receipt_no": "K1-000042", "printer_warning": PAPER_NEAR_END})]
    assert PAPER_NEAR_END in caplog.text


def test_a_staff_document_on_a_printer_with_its_cover_open(desk):
    sim, receipts, store, _events = desk
    sim.cover_open = True
    with pytest.raises(CheckoutError, match="the receipt printer did not print: the printer's cover is open\\Z"):
        receipts.print_document("END OF DAY\n", "day_report", "102")
    assert store.audit == []


def test_staff_are_told_each_change_of_the_printer_state_once(desk):
    from kiosk.printing.base import OUT_OF_PAPER
    from kiosk.services.events import PrinterStatus

    sim, receipts, _store, events = desk

    def told():
        return [(e.level, e.reason) for e in events if isinstance(e, PrinterStatus)]

    receipts.print()
    assert told() == [] and receipts.status == PrinterStatus("ok")  # all well from the start is no news
    sim.paper = "near_end"
    receipts.print()
    receipts.print()
    assert told() == [("warn", PAPER_NEAR_END)] and isinstance(events[-1], Notice)  # once, before "take it"
    sim.paper = "out"
    with pytest.raises(CheckoutError):
        receipts.print()
    assert told()[-1] == ("error", OUT_OF_PAPER) and "paper end" in receipts.status.details
    sim.paper = "ok"  # a new roll
    receipts.print_document("END OF DAY\n", "day_report", "102")
    assert told() == [("warn", PAPER_NEAR_END), ("error", OUT_OF_PAPER), ("ok", "")]
