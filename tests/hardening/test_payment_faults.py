"""Payment terminal faults (probe p7): the terminal's answer is lost after it approved, the driver lets a raw OSError
out, the answer is about another payment. The kiosk asks again on its own (in the background, with growing pauses,
also for a payment a crash left unfinished), closes the sale and shows the receipt exactly once, or releases the
cart; any driver failure but a bug is "the terminal did not answer"; an answer naming another amount, key or
reference never closes the cart: it is audited and staff is called."""

from __future__ import annotations

import pytest

from kiosk.payments import ChargeRequest, ChargeStatus, TerminalError, TerminalReply
from kiosk.payments.simulator import Terminal as Simulator
from kiosk.services.cart_lines import CartKeeper
from kiosk.services.errors import CheckoutError
from kiosk.services.paying import Till
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
    from kiosk.services.events import HelpCallChanged, SaleClosed

    k = kit()
    k.service.choose("oatly-oat-milk")
    k.service._till.terminal.misbehave("wrong-amount")
    with pytest.raises(CheckoutError, match="does not match the payment"):
        k.service.pay("card")
    assert [(e.active, e.reason) for e in k.of(HelpCallChanged)] == [(True, "payment check")]
    assert k.of(SaleClosed) == [] and len(k.service.cart.lines) == 1
