"""Payment terminal faults (probe p7): the terminal's answer is lost after it approved, the driver lets a raw OSError
out, the answer is about another payment. The kiosk asks again on its own (in the background, with growing pauses,
also for a payment a crash left unfinished), closes the sale and shows the receipt exactly once, or releases the
cart; any driver failure but a bug is "the terminal did not answer"; an answer naming another amount, key or
reference never closes the cart: it is audited and staff is called."""

from __future__ import annotations

import pytest

from kiosk.payments import ChargeRequest, ChargeStatus, TerminalError, TerminalReply
from kiosk.payments.simulator import Terminal as Simulator

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
