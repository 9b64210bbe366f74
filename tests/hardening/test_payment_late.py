"""A slow terminal that says "never received" and approves the same payment afterwards (the request was still on its
way, or the shopper still at the PIN pad when the kiosk asked). Released on that first answer, the cart was paid
again under a new key: charged twice. Now a payment is released as not charged only when the terminal can no
longer approve it: its key cancelled at the terminal first, or (a terminal without a cancel) "never received" said
twice after its own longest transaction has passed since the charge call ended. An approval that still comes after
a release is recorded on the released payment, audited and staff is called; it closes no cart.

The clock of the till is injected: no test waits out a terminal's limits."""

from __future__ import annotations

import threading
import time

import pytest

from kiosk.audit.verify import verify_store
from kiosk.config import ConfigError, KioskConfig
from kiosk.payments import (
    ChargeRequest,
    ChargeStatus,
    TerminalError,
    TerminalReply,
    open_terminal,
    terminal_uri_problem,
)
from kiosk.payments.simulator import Terminal as Simulator
from kiosk.services.cart_lines import CartKeeper
from kiosk.services.errors import CheckoutError
from kiosk.services.events import PaymentPending
from kiosk.services.paying import LATE_CALL, PaymentWatch, Till
from kiosk.store import SalesStore


class Clock:
    """Monotonic seconds, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """A till with its payment watch over a real store, the watch's thread kept out (``check_now`` by hand)."""

    def __init__(self, tmp_path, terminal: Simulator) -> None:
        self.clock, self.terminal, self.alerts, self.events, self.paid = Clock(), terminal, [], [], []
        self.store = SalesStore.open(tmp_path / "sales.sqlite", kiosk_id="T1")
        self.keeper = CartKeeper(self.store)
        self.till = Till(self.keeper, terminal, alert=self.alerts.append, clock=self.clock)
        self.watch = PaymentWatch(self.till, lock=threading.RLock(), emit=lambda *e: self.events.extend(e),
                                  after_sale=list, paid=lambda sale, events: self.paid.append(sale))

    def fill(self) -> str:
        self.store.add_unit("milk", "Toned Milk 500 ml", 2800, 500, 2)
        self.keeper.reload()
        return self.store.open_cart().cart_id

    def pay_late(self) -> None:
        """Pay; the driver's deadline passes while the request is still on its way to the terminal."""
        self.terminal.misbehave("late")
        with pytest.raises(CheckoutError, match="did not answer"):
            self.till.pay("card")

    def approvals(self, cart_id: str) -> list[dict]:
        return [c for c in self.terminal.ledger() if c["status"] == "approved" and c["reference"] == cart_id]


@pytest.fixture
def counter(tmp_path, monkeypatch):
    monkeypatch.setattr(PaymentWatch, "first_s", 60.0)  # the thread waits: check_now is called by hand
    made: list[Counter] = []

    def make(**terminal) -> Counter:
        folder = tmp_path / f"kiosk{len(made)}"
        folder.mkdir()
        made.append(Counter(folder, Simulator(**terminal)))
        return made[-1]

    yield make
    for c in made:
        c.watch.stop()
        c.store.close()


# -- the simulator approves late, and cancels ----------------------------------------------------------------------
def test_the_simulator_approves_a_late_request_unless_it_was_cancelled():
    sim = Simulator()
    request = ChargeRequest("k1", 5000, "card", "cart-1")
    sim.misbehave("late")
    with pytest.raises(TerminalError, match="still on its way"):
        sim.charge(request)
    assert sim.status("k1").status is ChargeStatus.NOT_FOUND and sim.ledger() == []
    (late,) = sim.arrive()
    assert late.approved and sim.status("k1") == late  # never received first, approved afterwards
    assert sim.cancel("k1") == late  # too late to cancel: the approval stands
    sim.misbehave("late")
    with pytest.raises(TerminalError):
        sim.charge(ChargeRequest("k2", 5000, "card", "cart-2"))
    cancelled = sim.cancel("k2")
    assert (cancelled.status, cancelled.idempotency_key) == (ChargeStatus.CANCELLED, "k2")
    assert [r.status for r in sim.arrive()] == [ChargeStatus.CANCELLED]  # it arrives voided: never charged
    assert sim.status("k2").status is ChargeStatus.CANCELLED and len(sim.ledger()) == 1
    assert Simulator(can_cancel=False).cancel("k3") is None  # a terminal without a cancel


def test_a_sim_whose_calls_time_out_before_the_shopper_finishes_approves_late():
    sim = open_terminal("sim:?delay_ms=150&timeout_s=0.02&max_transaction_s=1")
    assert (sim.timeout_s, sim.max_transaction_s) == (0.02, 1.0)
    with pytest.raises(TerminalError, match="within 0.02 s"):
        sim.charge(ChargeRequest("k1", 5000, "card", "cart-1"))
    assert sim.status("k1").status is ChargeStatus.NOT_FOUND
    deadline = time.monotonic() + 2
    while not sim.status("k1").approved:
        assert time.monotonic() < deadline, "never approved"
        time.sleep(0.01)
    sim.close()


@pytest.mark.parametrize("uri, problem", [
    ("sim:?timeout_s=0", "timeout_s='0' must be a number of seconds above 0 and at most 3600"),
    ("sim:?max_transaction_s=1e9", "max_transaction_s='1e9' must be a number"),
    ("sim:?max_transaction_s=nan", "max_transaction_s='nan' must be a number"),
    ("sim:?timeout_s=%D9%A1", "timeout_s='١' must be a number"),
    ("sim:?cancel=maybe", "cancel='maybe' must be yes or no"),
    ("sim:?delay=5", "unknown option(s) delay (known: decline_over, delay_ms, timeout_s, max_transaction_s, cancel)"),
])
def test_the_terminal_settings_are_checked_with_the_config(uri, problem):
    assert problem in terminal_uri_problem(uri)
    with pytest.raises(ConfigError, match=r"^payment_terminal: sim:") as caught:
        KioskConfig(payment_terminal=uri)
    assert problem in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(TerminalError):
        open_terminal(uri)
    assert terminal_uri_problem("sim:?timeout_s=30&max_transaction_s=90.5&cancel=no") is None


# -- never received, approved afterwards: charged once --------------------------------------------------------------
def test_a_slow_terminal_approving_after_never_received_is_charged_once(counter):
    c = counter()
    cart_id = c.fill()
    c.pay_late()
    c.clock.now += 1
    assert c.watch.check_now() == 0  # "never received": the key is cancelled at the terminal, then released
    c.terminal.arrive()  # the original request reaches the terminal now
    sale = c.till.pay("card")  # the shopper pays again, under a new key
    assert [a["approval_ref"] for a in c.approvals(cart_id)] == [sale.payment_ref]  # charged once
    first = c.store.payments()[0]
    assert (first.state, first.message) == (
        "cancelled", "cancelled at the terminal: never reached the terminal (found in the background)")
    assert c.terminal.status(first.idempotency_key).status is ChargeStatus.CANCELLED  # refused when it arrived


def test_a_tap_on_pay_right_after_a_lost_answer_does_not_charge_twice(kit):
    k = kit()
    s, sim = k.service, k.service._till.terminal
    s.choose("oatly-oat-milk")
    cart_id = s.cart.cart_id
    sim.misbehave("late")
    with pytest.raises(CheckoutError, match="did not answer"):
        s.pay("card")
    receipt = s.pay("card")  # at once: the first key is cancelled before a new one is charged
    sim.arrive()
    approved = [c for c in sim.ledger() if c["status"] == "approved" and c["reference"] == cart_id]
    assert [c["approval_ref"] for c in approved] == [s.store.sales()[0].payment_ref] and receipt.receipt_no
    assert [r["kind"] for r in sim.requests("cancel")] == ["cancel"]


def test_without_a_cancel_never_received_waits_and_the_late_approval_closes_the_sale(counter):
    c = counter(can_cancel=False)
    cart_id = c.fill()
    c.pay_late()
    c.clock.now += 1
    assert c.watch.check_now() == 1  # "never received" is not believed yet: the payment waits
    assert [p.state for p in c.store.payments()] == ["pending"]
    assert c.events[-1].answer.startswith("never received so far") and c.events[-1].active
    with pytest.raises(CheckoutError, match=r"has not confirmed the payment of ₹56\.00 yet \(not-found\)"):
        c.till.pay("card")  # a tap on Pay is no new charge either
    c.clock.now += 30
    c.terminal.arrive()  # the shopper finished at the PIN pad: approved
    assert c.watch.check_now() == 0
    (sale,) = c.paid
    assert [a["approval_ref"] for a in c.approvals(cart_id)] == [sale.payment_ref]
    assert len({r["idempotency_key"] for r in c.terminal.requests("charge")}) == 1


def test_without_a_cancel_a_payment_is_released_after_the_longest_transaction_said_twice(counter):
    c = counter(can_cancel=False, timeout_s=60, max_transaction_s=120)
    c.fill()
    c.terminal.misbehave("silent")
    with pytest.raises(CheckoutError, match="did not answer"):
        c.till.pay("card")
    ended = c.clock.now
    for at in (1, 60, 119.9, 120, 120 + Till.confirm_s - 0.1):  # before the deadline, then said once so far
        c.clock.now = ended + at
        assert c.watch.check_now() == 1, at
    assert [p.state for p in c.store.payments()] == ["pending"]
    c.clock.now = ended + 120 + Till.confirm_s
    assert c.watch.check_now() == 1  # released; still asked about, in case an approval comes late
    (intent,) = c.store.payments()
    assert intent.state == "cancelled" and "said twice after the terminal's longest transaction" in intent.message


def test_an_answer_between_two_never_received_starts_the_count_again(counter, monkeypatch):
    c = counter(can_cancel=False, max_transaction_s=10)
    c.fill()
    c.terminal.misbehave("silent")
    with pytest.raises(CheckoutError):
        c.till.pay("card")
    c.clock.now += 11
    c.watch.check_now()
    monkeypatch.setattr(c.terminal, "status", lambda key: TerminalReply(ChargeStatus.PENDING, idempotency_key=key))
    c.clock.now += Till.confirm_s
    c.watch.check_now()  # the terminal has it now (PIN pad): the earlier "never received" no longer counts
    monkeypatch.undo()
    c.watch.check_now()
    assert [p.state for p in c.store.payments()] == ["pending"]
    c.clock.now += Till.confirm_s
    c.watch.check_now()
    assert [p.state for p in c.store.payments()] == ["cancelled"]


@pytest.mark.parametrize("can_cancel", [False, True])
def test_a_payment_found_at_start_is_cancelled_or_waits_for_the_drivers_deadline_too(counter, can_cancel):
    c = counter(can_cancel=can_cancel, timeout_s=60, max_transaction_s=120)
    cart_id = c.fill()
    intent = c.store.begin_payment(cart_id, 5600, "card", "sim")  # the kiosk died during the charge call
    started = c.clock.now
    till = Till(c.keeper, c.terminal, clock=c.clock)  # the restart
    done = till.recover()
    if can_cancel:  # cancelled at the terminal: released at once
        assert done.cancelled == 1 and c.terminal.status(intent.idempotency_key).status is ChargeStatus.CANCELLED
        return
    assert (done.cancelled, done.unresolved) == (0, 1)
    for at in (179.9, 180, 180 + Till.confirm_s - 0.1):  # the call may have lasted 60 s, the terminal 120 s more
        c.clock.now = started + at
        assert till.recover().unresolved == 1, at
    c.clock.now = started + 180 + Till.confirm_s
    assert till.recover().cancelled == 1


# -- an approval after the release: recorded, staff called, no cart closed with it -----------------------------------
def _released_then_approved_late(c: Counter) -> str:
    cart_id = c.fill()
    c.pay_late()
    c.clock.now += 120 + 1
    c.watch.check_now()
    c.clock.now += Till.confirm_s
    c.watch.check_now()
    assert [p.state for p in c.store.payments()] == ["cancelled"]  # the terminal broke its own limit:
    c.terminal.arrive()  # it approves the request now
    return cart_id


def test_a_late_approval_after_a_release_is_recorded_and_staff_alerted(counter):
    c = counter(can_cancel=False, max_transaction_s=120)
    cart_id = _released_then_approved_late(c)
    (late,) = c.approvals(cart_id)
    c.clock.now += 2
    c.watch.check_now()
    (intent,) = c.store.payments()
    assert (intent.state, intent.approval_ref) == ("cancelled", late["approval_ref"])
    assert c.store.late_approvals() == [intent] and "refund or collect" in intent.message
    (audited,) = [e["details"] for e in c.store.audit_events() if e["action"] == "payment.late_approval"]
    assert (audited["key"], audited["amount"], audited["approval_ref"]) == (intent.idempotency_key, 5600,
                                                                            late["approval_ref"])
    assert c.alerts == [LATE_CALL] and c.paid == [] and c.store.sales() == []  # no cart closed with it
    assert c.store.open_cart().cart_id == cart_id  # the released cart is still open, for staff to settle
    assert [e for e in c.events if isinstance(e, PaymentPending)][-1].answer.startswith("approved after the cart")
    assert c.watch.check_now() == 0 and c.alerts == [LATE_CALL]  # once
    c.till.apply(intent, c.terminal.status(intent.idempotency_key))  # heard again: recorded once, alerted once
    assert len(c.store.late_approvals()) == 1 and c.alerts == [LATE_CALL]
    assert verify_store(c.store.path).ok


def test_a_late_approval_after_the_cart_was_paid_again_closes_nothing(counter):
    c = counter(can_cancel=False, max_transaction_s=120)
    cart_id = c.fill()
    c.pay_late()
    c.clock.now += 121
    c.watch.check_now()
    c.clock.now += Till.confirm_s
    c.watch.check_now()
    sale = c.till.pay("card")  # released: paid again under a new key
    c.terminal.arrive()  # and then the first request is approved too: charged twice, by the terminal's fault
    c.watch.check_now()
    assert [s.payment_ref for s in c.store.sales()] == [sale.payment_ref]  # the sale keeps its own approval
    (late,) = c.store.late_approvals()
    assert late.cart_id == cart_id and late.approval_ref != sale.payment_ref and c.alerts == [LATE_CALL]
    assert c.store.open_cart().cart_id != cart_id and c.store.open_cart().lines == ()


def test_the_watch_stops_asking_about_a_released_payment_after_its_window(counter):
    c = counter(can_cancel=False, timeout_s=60, max_transaction_s=120)
    c.fill()
    c.terminal.misbehave("silent")
    with pytest.raises(CheckoutError):
        c.till.pay("card")
    c.clock.now += 121
    c.watch.check_now()
    c.clock.now += Till.confirm_s
    assert c.watch.check_now() == 1
    c.clock.now += 60 + 120 - 1
    assert c.watch.check_now() == 1
    c.clock.now += 2
    assert c.watch.check_now() == 0 and c.alerts == []
