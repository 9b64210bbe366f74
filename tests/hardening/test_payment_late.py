"""A slow terminal that says "never received" and approves the same payment afterwards (the request was still on its
way, or the shopper still at the PIN pad when the kiosk asked): the simulator does it (``late``), cancels a key
(received or not) and takes the terminal's limits as settings, checked with the config."""

from __future__ import annotations

import time

import pytest

from kiosk.config import ConfigError, KioskConfig
from kiosk.payments import (
    ChargeRequest,
    ChargeStatus,
    TerminalError,
    open_terminal,
    terminal_uri_problem,
)
from kiosk.payments.simulator import Terminal as Simulator


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
