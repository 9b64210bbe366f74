"""Payment terminal faults (probe p7): the terminal's answer is lost after it approved, the driver lets a raw OSError
out, the answer is about another payment. The kiosk asks again on its own (in the background, with growing pauses,
also for a payment a crash left unfinished), closes the sale and shows the receipt exactly once, or releases the
cart; any driver failure but a bug is "the terminal did not answer"; an answer naming another amount, key or
reference never closes the cart: it is audited and staff is called."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from kiosk.payments import ChargeRequest, ChargeStatus, TerminalError, TerminalReply
from kiosk.payments.simulator import Terminal as Simulator
from kiosk.services.cart_lines import CartKeeper
from kiosk.services.errors import CheckoutError
from kiosk.services.events import CartChanged, HelpCallChanged, Notice, PaymentPending, SaleClosed
from kiosk.services.paying import PaymentWatch, Till, pauses
from kiosk.store import SalesStore

REQUEST = ChargeRequest("k1", 5000, "card", "cart-1")


def test_the_simulators_answers_name_the_key_amount_and_reference():
    sim = Simulator()
    reply = sim.charge(REQUEST)
    assert (reply.idempotency_key, reply.amount_paise, reply.reference) == ("k1", 5000, "cart-1") and reply.approved
    assert reply.mismatch("k1", 5000, "cart-1") is None and sim.status("k1") == reply
    unknown = sim.status("k9")
    assert (unknown.status, unknown.idempotency_key) == (ChargeStatus.NOT_FOUND, "k9")
    assert unknown.mismatch("k9", 5000, "cart-9") is None
    declined = Simulator(decline_over=100).charge(REQUEST)
    assert (declined.status, declined.idempotency_key, declined.amount_paise) == (ChargeStatus.DECLINED, "k1", 5000)
    assert TerminalReply(ChargeStatus.PENDING).mismatch("k1", 5000, "cart-1") is None  # decides nothing


def test_the_simulator_misbehaves_on_demand():
    sim = Simulator()
    sim.misbehave("silent")
    with pytest.raises(TerminalError, match="no answer"):
        sim.charge(REQUEST)
    assert sim.ledger() == []  # it never reached the terminal
    sim.misbehave("drop")
    with pytest.raises(TerminalError, match="closed"):
        sim.charge(REQUEST)
    assert [c["status"] for c in sim.ledger()] == ["approved"]  # decided; the answer was lost
    sim.misbehave("reset")
    with pytest.raises(ConnectionResetError):
        sim.status("k1")
    for fault, problem in [("wrong-amount", "approved 5100 paise, not 5000"), ("wrong-key", "about payment 'other-k1'"),
                           ("wrong-reference", "reference 'other-cart-1'")]:
        sim.misbehave(fault)
        assert problem in sim.status("k1").mismatch("k1", 5000, "cart-1")
    assert sim.status("k1").mismatch("k1", 5000, "cart-1") is None and len(sim.ledger()) == 1
    with pytest.raises(ValueError, match="unknown fault 'explode'"):
        sim.misbehave("explode")


# -- a driver that lets a raw OSError (or another failure of the line) out --------------------------------------
class Raising(Simulator):
    """The simulator behind a driver that fails with ``exc`` (charge and status) until it is set to None."""

    def __init__(self, exc: BaseException | None) -> None:
        super().__init__()
        self.exc = exc

    def charge(self, request):
        if self.exc is not None:
            raise self.exc
        return super().charge(request)

    def status(self, idempotency_key):
        if self.exc is not None:
            raise self.exc
        return super().status(idempotency_key)


def _till(tmp_path, terminal) -> tuple[SalesStore, Till]:
    store = SalesStore.open(tmp_path / "sales.sqlite", kiosk_id="T1")
    store.add_unit("milk", "Toned Milk 500 ml", 2800, 500, 2)
    return store, Till(CartKeeper(store), terminal)


@pytest.mark.parametrize("exc", [ConnectionResetError(104, "Connection reset by peer"), TimeoutError("timed out"),
                                 OSError(5, "Input/output error"), EOFError("short read"),
                                 ValueError("garbled answer")], ids=lambda e: type(e).__name__)
def test_any_driver_failure_is_the_terminal_not_answering(tmp_path, exc):
    terminal = Raising(exc)
    store, till = _till(tmp_path, terminal)
    with pytest.raises(CheckoutError, match=rf"did not answer \({type(exc).__name__}: .*never charged twice"):
        till.pay("card")
    assert [p.state for p in store.payments()] == ["pending"]
    with pytest.raises(CheckoutError, match="waiting for the terminal, which does not answer"):
        till.pay("card")  # asking about that payment fails the same way: still no traceback
    terminal.exc = None
    sale = till.pay("card")
    assert [c["approval_ref"] for c in terminal.ledger()] == [sale.payment_ref]
    store.close()


def test_a_connection_reset_after_the_approval_is_checked_and_charged_once(tmp_path):
    sim = Simulator()
    store, till = _till(tmp_path, sim)
    sim.misbehave("reset")  # the terminal approved, the driver let ConnectionResetError out
    with pytest.raises(CheckoutError, match="did not answer .*ConnectionResetError"):
        till.pay("card")
    sale = till.pay("card")
    assert len(sim.requests("charge")) == 1 and sale.payment_ref == sim.ledger()[0]["approval_ref"]
    store.close()


def test_a_bug_in_the_driver_is_not_hidden_as_a_silent_terminal(tmp_path):
    store, till = _till(tmp_path, Raising(TypeError("unsupported operand type(s)")))
    with pytest.raises(TypeError):
        till.pay("card")
    assert [p.state for p in store.payments()] == ["pending"]  # what the terminal did is unknown: nothing released
    store.close()


# -- an answer about another payment -------------------------------------------------------------------------------
MISMATCH = r"the terminal's answer does not match the payment of ₹56\.00: the sale is not closed and staff is called"


def _mismatches(store: SalesStore) -> list[dict]:
    return [e["details"] for e in store.audit_events() if e["action"] == "payment.mismatch"]


@pytest.mark.parametrize("fault", ["wrong-amount", "wrong-key", "wrong-reference"])
def test_an_approval_of_another_payment_never_closes_the_cart(tmp_path, fault):
    sim = Simulator()
    store, till = _till(tmp_path, sim)
    alerts: list[str] = []
    till.alert = alerts.append
    cart_id = store.open_cart().cart_id
    sim.misbehave(fault)
    with pytest.raises(CheckoutError, match=MISMATCH):
        till.pay("card")
    (intent,) = store.payments()
    assert (intent.state, intent.approval_ref, store.sales(), store.open_cart().cart_id) == ("pending", "", [], cart_id)
    (row,) = _mismatches(store)
    assert row["key"] == intent.idempotency_key and row["amount"] == 5600 and row["answer"]["status"] == "approved"
    assert alerts == ["payment check"]
    sale = till.pay("card")  # asked about its own key, the terminal answers for this payment: that approval counts
    assert len(sim.requests("charge")) == 1 and sale.payment_ref == sim.ledger()[0]["approval_ref"]
    assert len(_mismatches(store)) == 1
    store.close()


def test_a_decline_of_another_payment_does_not_release_the_cart(tmp_path):
    sim = Simulator(decline_over=100)
    store, till = _till(tmp_path, sim)
    sim.misbehave("wrong-key")  # a decline, but of another payment: this one may have been approved
    with pytest.raises(CheckoutError, match=MISMATCH):
        till.pay("card")
    assert [p.state for p in store.payments()] == ["pending"]
    sim.misbehave("wrong-key")  # asked again, the same answer: refused again, audited once
    with pytest.raises(CheckoutError, match=MISMATCH):
        till.pay("card")
    assert [p.state for p in store.payments()] == ["pending"] and len(_mismatches(store)) == 1
    with pytest.raises(CheckoutError, match="declined"):  # its own answer: declined, and this tap was declined too
        till.pay("card")
    assert [p.state for p in store.payments()] == ["declined", "declined"]
    store.close()


def test_recovery_at_start_does_not_take_an_answer_about_another_payment(tmp_path):
    sim = Simulator(tmp_path / "ledger.sqlite")
    store, till = _till(tmp_path, sim)
    cart_id = store.open_cart().cart_id
    intent = store.begin_payment(cart_id, 5600, "card", "sim")
    sim.charge(ChargeRequest(intent.idempotency_key, intent.amount, "card", cart_id))  # approved; then the crash
    sim.misbehave("wrong-amount")
    done = till.recover()
    assert (done.completed, done.unresolved, [p.state for p in store.payments()]) == ([], 1, ["pending"])
    assert _mismatches(store)[0]["problem"] == "it approved 5700 paise, not 5600"
    (sale,) = till.recover().completed  # the next start hears the true answer
    assert sale.payment_ref == sim.ledger()[0]["approval_ref"]
    store.close()


def test_the_service_calls_staff_when_the_terminal_answers_about_another_payment(kit):
    k = kit()
    k.service.choose("oatly-oat-milk")
    k.service._till.terminal.misbehave("wrong-amount")
    with pytest.raises(CheckoutError, match="does not match the payment"):
        k.service.pay("card")
    assert [(e.active, e.reason) for e in k.of(HelpCallChanged)] == [(True, "payment check")]
    assert k.of(SaleClosed) == [] and len(k.service.cart.lines) == 1


# -- the kiosk asks again on its own ------------------------------------------------------------------------------
def _until(condition, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.005)


@pytest.fixture
def quick(monkeypatch):
    """The payment watch asks after 20 ms, pausing at most 40 ms (1 s and 30 s at the kiosk)."""
    monkeypatch.setattr(PaymentWatch, "first_s", 0.02)
    monkeypatch.setattr(PaymentWatch, "most_s", 0.04)


def _notices(k) -> list[tuple[str, str]]:
    return [(e.level, e.message) for e in k.of(Notice)]


def test_a_lost_approval_is_closed_in_the_background_and_its_receipt_shown_once(kit, quick):
    k = kit()
    s, sim = k.service, k.service._till.terminal
    s.choose("oatly-oat-milk")
    sim.misbehave("drop")  # the terminal approved; the connection dropped before its answer
    with pytest.raises(CheckoutError, match="did not answer"):
        s.pay("card")
    _until(lambda: k.of(SaleClosed))  # nobody tapped Pay again
    _until(lambda: not s.payments.running)
    (closed,) = k.of(SaleClosed)
    (sale,) = s.store.sales()
    assert closed.receipt.receipt_no == sale.receipt_no and sale.payment_ref == sim.ledger()[0]["approval_ref"]
    assert len(sim.requests("charge")) == 1 and [p.state for p in s.store.payments()] == ["completed"]
    assert s.store.unshown_sales() == [] and s.cart.lines == () and k.of(CartChanged)[-1].cart_view.empty
    waiting = k.of(PaymentPending)
    assert waiting[0].active and waiting[0].amount == sale.total and not waiting[-1].active
    assert waiting[-1].answer == "completed"
    s.choose("oatly-oat-milk")  # the next shopper's item goes on a new cart
    assert len(s.cart.lines) == 1 and len(k.of(SaleClosed)) == 1


@pytest.mark.parametrize("fault", ["silent", "declined"])
def test_a_payment_declined_or_never_received_releases_the_cart_in_the_background(kit, quick, fault):
    k = kit()
    s, sim = k.service, k.service._till.terminal
    s.choose("oatly-oat-milk")
    if fault == "declined":
        sim.decline_over = 100
    sim.misbehave("silent" if fault == "silent" else "drop")
    with pytest.raises(CheckoutError, match="did not answer"):
        s.pay("card")
    expected = {"silent": ("info", "never reached the terminal: nothing was charged, the cart can be paid again"),
                "declined": ("warning", "was declined by the terminal: the cart can be paid again")}[fault]
    _until(lambda: any(level == expected[0] and expected[1] in text for level, text in _notices(k)))
    assert [p.state for p in s.store.payments()] == ["cancelled" if fault == "silent" else "declined"]
    assert k.of(SaleClosed) == [] and not k.of(PaymentPending)[-1].active
    s.choose("oatly-oat-milk")  # released: the cart may change, and be paid
    sim.decline_over = None
    assert len(s.cart.lines) == 2 and s.pay("card").receipt_no == s.store.sales()[0].receipt_no


def test_staff_see_the_payment_waiting_and_the_pauses_grow(kit, quick):
    assert list(itertools.islice(pauses(1, 30), 7)) == [1, 2, 4, 8, 16, 30, 30]
    k = kit()
    s, sim = k.service, k.service._till.terminal
    s.choose("oatly-oat-milk")
    sim.misbehave("silent", times=10_000)
    with pytest.raises(CheckoutError, match="did not answer"):
        s.pay("card")
    time.sleep(0.4)
    asked = [e for e in k.of(PaymentPending) if e.checks]
    assert 2 <= len(asked) <= 14, len(asked)  # 20, 40, 40 … ms apart (without the pauses growing: 20)
    (waiting,) = s.payments.pending()
    assert waiting.active and waiting.checks >= len(asked) and waiting.answer.startswith("no answer: ")
    assert waiting.amount_text == s.cart_view().bill.total_text
    here, announced = threading.get_ident(), []  # the watch keeps asking on its own thread meanwhile
    s.add_listener(lambda e: announced.append(e) if threading.get_ident() == here else None)
    s.announce()  # a window that connects now shows it too
    assert [e.cart_id for e in announced if isinstance(e, PaymentPending)] == [s.cart.cart_id]
    sim.behave()  # the terminal answers again: it never received that charge
    _until(lambda: not s.payments.running)
    assert [p.state for p in s.store.payments()] == ["cancelled"] and s.payments.pending() == []
    assert sim.ledger() == []


def test_an_answer_about_another_payment_in_the_background_calls_staff_once(kit, quick):
    k = kit()
    s, sim = k.service, k.service._till.terminal
    s.choose("oatly-oat-milk")
    sim.misbehave("drop")
    sim.misbehave("wrong-amount", times=3)  # the watch's first three questions hear another amount
    with pytest.raises(CheckoutError, match="did not answer"):
        s.pay("card")
    _until(lambda: k.of(SaleClosed))
    mismatch = [text for level, text in _notices(k) if "does not match the payment" in text]
    assert len(mismatch) == 1 and [(e.active, e.reason) for e in k.of(HelpCallChanged)] == [(True, "payment check")]
    assert len(_mismatches(s.store)) == 1 and len(s.store.sales()) == 1


def test_a_payment_left_pending_by_a_crash_is_settled_after_a_silent_start(kit, quick, tmp_path, monkeypatch):
    import kiosk.services.checkout as checkout

    ledger = tmp_path / "terminal.sqlite"
    monkeypatch.setattr(checkout, "_simulated_terminal", lambda: Simulator(ledger))
    k = kit()
    k.service.choose("oatly-oat-milk")
    store, cart = k.service.store, k.service.cart
    intent = store.begin_payment(cart.cart_id, cart.bill().total, "card", "sim")
    k.service._till.terminal.charge(ChargeRequest(intent.idempotency_key, intent.amount, "card", cart.cart_id))
    k.service.close()  # the kiosk dies with the approval unknown to it; at the restart the terminal is silent
    silent = Simulator(ledger)
    silent.misbehave("silent")
    monkeypatch.setattr(checkout, "_simulated_terminal", lambda: silent)
    k.events.clear()
    k.service = k.open()
    assert k.service.recovered.unresolved == 1 and k.service.payments.running
    k.service.announce()
    assert [e.amount for e in k.of(PaymentPending)] == [intent.amount]  # staff see it waiting
    _until(lambda: k.of(SaleClosed))
    (sale,) = k.service.store.sales()
    assert sale.payment_ref == silent.ledger()[0]["approval_ref"] and len(silent.requests("charge")) == 1
    assert k.of(SaleClosed)[0].receipt.receipt_no == sale.receipt_no and k.service.store.unshown_sales() == []


def test_a_tap_on_pay_and_the_watch_settle_a_payment_once(kit, monkeypatch):
    monkeypatch.setattr(PaymentWatch, "first_s", 60.0)  # the thread stays out of it: check_now races the tap
    k = kit()
    s, sim = k.service, k.service._till.terminal
    for _ in range(4):
        s.choose("oatly-oat-milk")
        sim.misbehave("drop")
        with pytest.raises(CheckoutError, match="did not answer"):
            s.pay("card")
        watch = threading.Thread(target=s.payments.check_now)
        watch.start()
        try:
            s.pay("card")
        except CheckoutError as exc:  # the watch closed it first: the cart is a new, empty one
            assert "nothing to pay" in str(exc)
        watch.join()
    assert len(s.store.sales()) == len(k.of(SaleClosed)) == len(sim.ledger()) == 4
    assert len({e.receipt.receipt_no for e in k.of(SaleClosed)}) == 4
    s.stop()
    assert not s.payments.running
