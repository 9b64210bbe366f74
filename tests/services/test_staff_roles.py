"""Roles at the till: an assistant corrects and voids; a price override above the limit, a removal above the value
and a model rollback need a supervisor (or a supervisor's one-off approval). Every refusal is audited and leaves the
sale as it was; sign-ins, idle logouts and approvals are audited too."""

from __future__ import annotations

import pytest

from kiosk.services.errors import CheckoutError, StaffAccountChanged, StaffLocked, SupervisorNeeded
from kiosk.services.events import Notice, StaffModeChanged
from kiosk.staff.accounts import reset_pin, set_active
from kiosk.staff.rules import StaffRules
from tests.services.conftest import ASSISTANT, SUPERVISOR, place


@pytest.fixture
def k(staffed):
    return staffed


def audit(k, since: int = 0) -> list[tuple[str, str, dict]]:
    return [(r["kind"], r["actor"], r["detail"]) for r in k.service.store.audit_rows(since_seq=since)]


def sign_in(k, who) -> None:
    assert k.service.staff_unlock(who[1], who[0]) is True


def test_who_is_signed_in_is_announced_with_the_role(k):
    assert k.service.staff_accounts_in_use
    assert k.service.staff_unlock("0000", "101") is False
    sign_in(k, ASSISTANT)
    assert k.of(StaffModeChanged)[-1] == StaffModeChanged(True, "101", "Asha", "assistant")
    assert k.service.staff_member.role == "assistant"
    kinds = [(kind, actor, d.get("reason")) for kind, actor, d in audit(k)]
    assert ("staff.signin_refused", "101", "wrong_pin") in kinds and ("staff.signin", "101", None) in kinds


def test_an_assistant_corrects_and_voids_but_a_big_override_needs_a_supervisor(k):
    line_a = place(k.service).auto_added_line_id
    line_b = place(k.service).auto_added_line_id
    sign_in(k, ASSISTANT)
    corrected = k.service.staff_correct(line_a, "bravo-apple-juice")
    k.service.staff_void(line_b)
    before = k.service.cart_view()
    seq = k.service.store.audit_head()[0]
    with pytest.raises(SupervisorNeeded, match="needs a supervisor"):
        k.service.staff_override_price(corrected, 100)  # ₹250 juice at ₹1: far beyond ₹20
    assert k.service.cart_view() == before  # nothing changed
    (kind, actor, detail), = audit(k, seq)
    assert (kind, actor, detail["action"], detail["role"]) == ("staff.refused", "101", "override", "assistant")
    small = k.service.staff_override_price(corrected, 24000)  # ₹10 off: within the assistant's limit
    assert k.service.cart_view().lines[-1].line_id == small


def test_a_supervisor_approval_counts_once(k):
    line = place(k.service).auto_added_line_id
    sign_in(k, ASSISTANT)
    assert k.service.staff_approve(ASSISTANT[1], ASSISTANT[0]) is False  # an assistant cannot approve
    assert k.service.staff_approve(SUPERVISOR[1], SUPERVISOR[0]) is True
    new = k.service.staff_override_price(line, 100)
    override = [d for kind, _, d in audit(k) if kind == "staff.override"][-1]
    assert override["approved_by"] == "102" and override["new_price"] == 100
    with pytest.raises(SupervisorNeeded):  # used up
        k.service.staff_override_price(new, 7200)
    assert k.service.staff_member.staff_id == "101"  # still Asha's session


def test_taking_off_a_big_line_needs_a_supervisor(k):
    line = place(k.service).auto_added_line_id
    sign_in(k, SUPERVISOR)
    big = k.service.staff_override_price(line, 250000)  # a supervisor may: ₹2,500
    sign_in(k, ASSISTANT)  # the next person at the till
    with pytest.raises(SupervisorNeeded, match="taking off a line worth more than"):
        k.service.staff_remove_line(big)
    assert big in [v.line_id for v in k.service.cart_view().lines]
    sign_in(k, SUPERVISOR)
    k.service.staff_remove_line(big)
    assert k.service.cart_view().lines == ()
    kinds = [kind for kind, _, _ in audit(k)]
    assert kinds.count("staff.remove") == 1 and "staff.refused" in kinds
    assert ("staff.signout", "102", {"reason": "switched", "to": "101"}) in audit(k)


def test_idle_logout_is_announced_and_audited(k):
    sign_in(k, ASSISTANT)
    k.clock.advance(k.config.staff_timeout_s + 1)
    assert not k.service.staff_unlocked
    assert k.of(StaffModeChanged)[-1] == StaffModeChanged(False, reason="idle")
    assert audit(k)[-1][:2] == ("staff.signout", "101") and audit(k)[-1][2]["reason"] == "idle"
    with pytest.raises(StaffLocked):
        k.service.staff_void("anything")


def test_only_a_supervisor_rolls_the_model_back(k):
    done = []

    def rollback(actor, reason, record):  # the model store's: the till's row before it changes anything
        done.append(actor)
        record({"from": 7, "to": 6, "id": "0123456789abcdef"})
        return 7, 6

    with pytest.raises(StaffLocked):
        k.service.staff_rollback_model()
    sign_in(k, ASSISTANT)
    with pytest.raises(CheckoutError, match="nothing to roll back"):  # a plain bundle, no model_state
        k.service.staff_rollback_model()
    k.service._desk.rollback = rollback
    with pytest.raises(SupervisorNeeded, match="rolling the recognition model back"):
        k.service.staff_rollback_model()
    assert done == []
    sign_in(k, SUPERVISOR)
    assert k.service.staff_rollback_model() == 6 and done == ["102 (Ravi)"]
    kind, actor, detail = audit(k)[-1]
    assert (kind, actor, detail["from_version"], detail["to_version"]) == ("model.rollback", "102", 7, 6)


def test_paying_signs_staff_out(k):
    place(k.service)
    sign_in(k, ASSISTANT)
    k.service.pay("card")
    assert not k.service.staff_unlocked
    assert [(kind, d.get("reason")) for kind, _, d in audit(k) if kind == "staff.signout"] == [("staff.signout",
                                                                                                "paid")]


def test_approving_a_big_removal_needs_a_supervisor(k):
    line = place(k.service).auto_added_line_id
    sign_in(k, SUPERVISOR)
    big = k.service.staff_override_price(line, 250000)  # ₹2,500 on the bill
    k.service.staff_lock()
    assert k.service.remove_line(big) is False  # the shopper's removal waits for staff
    sign_in(k, ASSISTANT)
    with pytest.raises(SupervisorNeeded, match="taking off a line worth more than"):
        k.service.staff_decide_removal(True)
    assert big in [v.line_id for v in k.service.cart_view().lines]  # still waiting, nothing changed
    k.service.staff_decide_removal(False)  # an assistant may refuse it
    assert big in [v.line_id for v in k.service.cart_view().lines]
    assert k.service.remove_line(big) is False
    assert k.service.staff_approve(SUPERVISOR[1], SUPERVISOR[0])
    k.service.staff_decide_removal(True)  # with a supervisor's approval
    assert big not in [v.line_id for v in k.service.cart_view().lines]


# -- the limits judge a change by its effect on the bill against the line's FIRST price (probe-staff fault 1) ------
def shown(k, line_id):
    return next(v for v in k.service.cart_view().shown_lines if v.line_id == line_id)


def test_an_assistant_cannot_void_a_line_they_may_not_take_off(k):
    line = place(k.service).auto_added_line_id
    sign_in(k, SUPERVISOR)
    big = k.service.staff_override_price(line, 500000)  # ₹5,000 on the bill
    sign_in(k, ASSISTANT)
    seq = k.service.store.audit_head()[0]
    with pytest.raises(SupervisorNeeded, match="voiding a line worth more than ₹2,000.00"):
        k.service.staff_void(big)  # a void takes the line off the bill: a removal by another name
    assert [v.line_id for v in k.service.cart_view().lines] == [big] and k.service.cart_view().bill.total == 500000
    (kind, actor, detail), = audit(k, seq)
    assert (kind, actor, detail["action"], detail["paise"]) == ("staff.refused", "101", "void", 500000)
    assert k.service.staff_approve(SUPERVISOR[1], SUPERVISOR[0])
    k.service.staff_void(big)  # with a supervisor's approval
    assert k.service.cart_view().lines == ()
    assert [d["approved_by"] for kind, _, d in audit(k) if kind == "staff.void"] == ["102"]


def test_override_steps_add_up_and_the_line_shows_its_first_price(k):
    line = place(k.service).auto_added_line_id  # ₹72.00
    sign_in(k, ASSISTANT)
    step = k.service.staff_override_price(line, 6200)
    step = k.service.staff_override_price(step, 5200)  # ₹20 off in all: the most an assistant may
    with pytest.raises(SupervisorNeeded, match="a price override changing the bill by more than ₹20.00"):
        k.service.staff_override_price(step, 3200)  # ₹20 this step, ₹40 off the first price
    assert shown(k, step).unit_price == 5200 and (shown(k, step).mark, shown(k, step).was_text) == ("price", "₹72.00")
    step = k.service.staff_override_price(k.service.staff_override_price(step, 7200), 9200)  # ₹20 over the first
    with pytest.raises(SupervisorNeeded):
        k.service.staff_override_price(step, 9300)  # ₹1 this step, ₹21 over the first price
    assert k.service.staff_approve(SUPERVISOR[1], SUPERVISOR[0])
    cheap = k.service.staff_override_price(step, 100)  # with a supervisor's approval
    assert shown(k, cheap).was_text == "₹72.00" and k.service.cart_view().bill.total == 100
    k.service.pay("card")
    note = k.service.store.last_sale().receipt().lines[0].note
    assert note == "price changed by staff (was ₹72.00)"


def test_a_correction_that_lowers_the_bill_is_held_to_the_same_limit(k):
    line = place(k.service).auto_added_line_id  # Arla Standard Milk ₹72.00
    sign_in(k, ASSISTANT)
    with pytest.raises(SupervisorNeeded, match="a correction lowering the bill by more than ₹20.00"):
        k.service.staff_correct(line, "lime")  # ₹8.00: ₹64 off
    near = k.service.staff_correct(line, "arla-medium-fat-milk")  # ₹68.00: ₹4 off
    with pytest.raises(SupervisorNeeded):
        k.service.staff_correct(near, "lemon")  # ₹10.00: ₹58 this step
    dear = k.service.staff_correct(near, "bravo-apple-juice")  # ₹250.00: the item's own price, up
    assert (shown(k, dear).mark, shown(k, dear).was_text) == ("corrected", "Arla Standard Milk 1 l")
    k.service.staff_override_price(dear, 24000)  # ₹10 off the juice the line now is
    sign_in(k, SUPERVISOR)
    big = k.service.staff_override_price(place(k.service).auto_added_line_id, 500000)
    sign_in(k, ASSISTANT)
    with pytest.raises(SupervisorNeeded, match="a correction lowering the bill"):
        k.service.staff_correct(big, "arla-standard-milk")  # ₹5,000 → ₹72: a correction is no way round
    assert [v.total for v in k.service.cart_view().lines] == [24000, 500000]


def test_an_override_down_first_does_not_make_a_big_line_small(k):
    k.service._desk.rules = StaffRules(supervisor_removal_above_paise=7100)  # ₹71: the ₹72 milk is a big line
    line = place(k.service).auto_added_line_id
    sign_in(k, ASSISTANT)
    small = k.service.staff_override_price(line, 7000)  # ₹2 off: within the assistant's limit
    for take_off in (k.service.staff_void, k.service.staff_remove_line):
        with pytest.raises(SupervisorNeeded, match="worth more than ₹71.00"):
            take_off(small)  # it was worth ₹72 on this bill
    assert [v.total for v in k.service.cart_view().lines] == [7000]


# -- the account is read again on each action: disabled or re-PINned while signed in ends it (probe fault 3) ---------
def test_a_person_disabled_while_signed_in_can_do_nothing_more(k):
    line = place(k.service).auto_added_line_id
    sign_in(k, ASSISTANT)
    set_active(k.service.store, "101", False, by="cli:manager")
    with pytest.raises(StaffAccountChanged, match="your staff account was disabled"):
        k.service.staff_void(line)
    assert [v.line_id for v in k.service.cart_view().lines] == [line]
    assert not k.service.staff_unlocked and k.service.staff_member is None
    assert k.of(StaffModeChanged)[-1] == StaffModeChanged(False, reason="account_changed")
    kind, actor, detail = audit(k)[-1]
    assert (kind, actor, detail) == ("staff.signout", "101", {"reason": "account_changed", "change": "disabled"})
    k.clock.advance(1)
    with pytest.raises(StaffLocked):  # and the idle clock gives them nothing back
        k.service.staff_void(line)


def test_a_new_pin_ends_the_session_within_the_staff_pages_next_look(k):
    sign_in(k, SUPERVISOR)
    reset_pin(k.service.store, "102", "2468", by="cli:manager")
    assert not k.service.staff_unlocked  # what the staff page asks every second
    assert k.of(Notice)[-1] == Notice("warning", "staff mode is locked: your staff PIN was changed: sign in with the "
                                                 "new PIN")
    assert k.service.staff_unlock(SUPERVISOR[1], SUPERVISOR[0]) is False
    assert k.service.staff_unlock("2468", "102") is True


def test_a_disabled_supervisors_waiting_approval_counts_for_nothing(k):
    line = place(k.service).auto_added_line_id
    sign_in(k, ASSISTANT)
    assert k.service.staff_approve(SUPERVISOR[1], SUPERVISOR[0])
    set_active(k.service.store, "102", False, by="cli:manager")
    with pytest.raises(SupervisorNeeded):
        k.service.staff_override_price(line, 0)
    assert k.service.cart_view().lines[0].total == 7200
    dropped = [(actor, d) for kind, actor, d in audit(k) if kind == "staff.approval_dropped"]
    assert dropped == [("102", {"session": "101", "change": "disabled", "action": "override"})]
    assert k.service.staff_member.staff_id == "101"  # the assistant's own session goes on


def test_a_bill_priced_down_to_nothing_is_refused_in_one_line_not_charged(k):
    """A supervisor's override to ₹0 on every line: Pay said nothing useful (SQLite's CHECK amount > 0 raised an
    IntegrityError traceback); now one line, nothing recorded, and staff void the cart."""
    line = place(k.service).auto_added_line_id
    sign_in(k, SUPERVISOR)
    k.service.staff_override_price(line, 0)
    with pytest.raises(CheckoutError, match=r"the bill is ₹0\.00: there is nothing to charge"):
        k.service.pay("card")
    assert k.service.store.live_payment(k.service.cart_view().cart_id) is None
