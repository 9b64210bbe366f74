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
