"""The service's lock is not held while the card terminal is asked (probe: a 3 s charge at the PIN pad held it, so
a scan made meanwhile waited for the lock and was sold on the NEXT shopper's bill, and the scale and the camera
waited too). A tap on Pay freezes the cart and takes the payment in hand under the lock, lets the lock go while the
terminal answers, and settles the answer under it again: a scan, a placed item or a scale reading meanwhile is
answered at once, and nothing reaches the next cart."""

from __future__ import annotations

import threading
import time

import pytest

from kiosk.services import CheckoutError, Notice
from tests.services.conftest import place

UNIT_ANSWER = [("oatly-oat-milk", 0.6), ("arla-standard-milk", 0.3), ("banana", 0.05)]
JUICE, OATLY = "2000000000282", "2000000000459"  # bravo-apple-juice ₹250, oatly-oat-milk ₹275 (demo EAN-13s)
SCAN_WAIT = "finish or cancel the payment first: the scan was not added"
QUICK_S = 0.5  # a call that waited for the terminal would wait until the test lets it answer (seconds later)


class AtThePinPad:
    """The terminal's charge waits until the test lets the shopper finish at the PIN pad."""

    def __init__(self, terminal, answer=None) -> None:
        self.terminal, self.real, self.answer = terminal, terminal.charge, answer
        self.asked, self.go = threading.Event(), threading.Event()
        terminal.charge = self.charge

    def charge(self, request):
        self.asked.set()
        assert self.go.wait(5), "the test never let the terminal answer"
        return self.real(request) if self.answer is None else self.answer(request)


def paying(service, total: int) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["receipt"] = service.pay("card", total)
        except Exception as exc:  # noqa: BLE001 -- the test reads it
            out["error"] = exc

    thread = threading.Thread(target=run, name="pay")
    thread.start()
    return thread, out


def timed(call):
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def test_a_scan_during_the_card_call_is_refused_at_once_and_never_reaches_the_next_cart(kit):
    k = kit(UNIT_ANSWER, threshold=0.5)
    s = k.service
    assert s.scanned(OATLY) is not None
    total = s.freeze_cart().bill.total  # the payment page
    pad = AtThePinPad(s._till.terminal)
    thread, out = paying(s, total)
    assert pad.asked.wait(5)
    scan, scan_s = timed(lambda: s.scanned(JUICE))  # the scanner thread, while the shopper types the PIN
    reading, poll_s = timed(s.poll_scale)
    placed, place_s = timed(lambda: place(s))
    assert scan is None and scan_s < QUICK_S and poll_s < QUICK_S and place_s < QUICK_S
    assert placed.auto_added_line_id is None
    assert Notice("warning", SCAN_WAIT) in k.of(Notice)
    pad.go.set()
    thread.join(10)
    assert not thread.is_alive() and "error" not in out
    assert [line.sku for line in out["receipt"].lines] == ["oatly-oat-milk"]
    assert list(s.cart_view().lines) == []  # the next shopper's cart: empty
    assert s.scanned(OATLY) is not None  # the next shopper scans as usual


def test_a_second_tap_during_the_card_call_is_refused_and_a_decline_unfreezes_the_cart(kit):
    from kiosk.payments.terminal import ChargeStatus, TerminalReply

    k = kit(UNIT_ANSWER)
    s = k.service
    assert s.scanned(OATLY) is not None
    total = s.cart_view().bill.total  # a tool: no payment page, the tap itself freezes the cart
    pad = AtThePinPad(s._till.terminal, answer=lambda r: TerminalReply(
        ChargeStatus.DECLINED, message="insufficient funds", idempotency_key=r.idempotency_key))
    thread, out = paying(s, total)
    assert pad.asked.wait(5)
    with pytest.raises(CheckoutError, match="already has a payment in progress"):
        s.pay("card", total)  # at once: it does not wait for the first tap's answer
    assert s.scanned(JUICE) is None  # refused, not kept for later
    pad.go.set()
    thread.join(10)
    assert "payment declined" in str(out["error"])
    assert s.scanned(OATLY) is not None  # declined: the cart is the shopper's again
    assert [line.sku for line in s.cart_view().lines] == ["oatly-oat-milk", "oatly-oat-milk"]
