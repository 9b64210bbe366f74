"""A staff change to a line and what waits on that line (probe-staff second pass, findings 2, 3 and 5).

* A removal waiting for staff follows the line: staff re-priced or corrected it meanwhile, approving the removal takes
  the line now on the bill off (never the voided row of the old one); a voided line is never removed, at the service
  or the store.
* A supervisor's approval is named (``approved_by``) in the row of the action it was used for: a correction, a
  shopper's removal staff approved.
* A staff action's own audit row is written in the line change's transaction: a crash (or an error) between the two
  leaves neither, so the log never shows a change without who made it and who approved it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.domain.cart import CartError
from kiosk.services.errors import CheckoutError, SupervisorNeeded
from kiosk.services.events import RemovalDecided, RemovalPending
from kiosk.store import SalesStore
from tests.services.conftest import ASSISTANT, SUPERVISOR, place

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def k(staffed):
    return staffed


def sign_in(k, who) -> None:
    assert k.service.staff_unlock(who[1], who[0]) is True


def rows(k, since: int = 0, kind: str | None = None) -> list[tuple[str, str, dict]]:
    return [(r["kind"], r["actor"], r["detail"]) for r in k.service.store.audit_rows(since_seq=since)
            if kind is None or r["kind"] == kind]


def bill(k) -> list[tuple[str, int]]:
    return [(v.line_id, v.total) for v in k.service.cart_view().lines]


def events_of(k, line_id: str) -> list[str]:
    cart_id = k.service.cart_view().cart_id
    return [e["event"] for e in k.service.store.line_events(cart_id) if e["line_id"] == line_id]


def big_line_waiting_for_removal(k) -> str:
    """Milk re-priced to ₹2,500 by a supervisor; the shopper's removal of it waits for staff; staff locked."""
    line = place(k.service).auto_added_line_id
    sign_in(k, SUPERVISOR)
    big = k.service.staff_override_price(line, 250000)
    k.service.staff_lock()
    assert k.service.remove_line(big) is False
    return big


# -- finding 2: a waiting removal follows its line; a voided line is never removed ------------------------------
@pytest.mark.parametrize("change", ["override", "correct"])
def test_approving_a_removal_after_staff_changed_the_line_takes_the_new_line_off(k, change):
    big = big_line_waiting_for_removal(k)
    sign_in(k, SUPERVISOR)
    if change == "override":
        new = k.service.staff_override_price(big, 240000)  # staff fix the price first
    else:
        new = k.service.staff_correct(big, "lime")  # or the item
    assert k.of(RemovalPending)[-1].line_id == new  # the waiting removal is announced again, for the new line
    k.service.staff_decide_removal(True)
    assert bill(k) == [] and k.service.cart_view().bill.total == 0  # what the shopper was told: it is off the bill
    assert k.of(RemovalDecided)[-1] == RemovalDecided(new, True, "102")
    assert events_of(k, big) == ["add", "void"]  # the voided line stays, the record of the first price
    assert events_of(k, new) == ["add", "remove"]
    (kind, actor, detail), = rows(k, kind="removal_approved")
    assert (actor, detail["removed"], detail["approved_by"]) == ("102", new, "")
    with pytest.raises(CheckoutError, match="no removal is waiting"):  # nothing waits any more
        k.service.staff_decide_removal(True)


def test_a_removal_of_a_line_staff_voided_meanwhile_removes_nothing_more(k):
    big = big_line_waiting_for_removal(k)
    sign_in(k, SUPERVISOR)
    k.service.staff_void(big)
    k.service.staff_decide_removal(True)
    assert events_of(k, big) == ["add", "void"]  # never deleted
    (_, _, detail), = rows(k, kind="removal_approved")
    assert detail["removed"] == "" and detail["line_id"] == big
    with pytest.raises(CheckoutError, match="no removal is waiting"):
        k.service.staff_decide_removal(True)


def test_a_voided_line_is_never_removed_and_the_first_price_still_counts(k):
    line = place(k.service).auto_added_line_id  # milk ₹72
    sign_in(k, ASSISTANT)
    step = k.service.staff_override_price(line, 5200)  # ₹20 off: the most an assistant may, in all
    with pytest.raises(CheckoutError, match=r"\Aline '[0-9a-f]+' is voided\Z"):
        k.service.remove_line(line)  # the shopper's removal of the voided original
    with pytest.raises(CheckoutError, match="is voided"):
        k.service.staff_remove_line(line)
    with pytest.raises(CartError, match="is voided"):
        k.service.store.remove_line(line, by="test")  # the store refuses it too
    assert events_of(k, line) == ["add", "void"]
    with pytest.raises(SupervisorNeeded):
        k.service.staff_override_price(step, 3200)  # ₹40 off the first price: still judged on ₹72
    assert bill(k) == [(step, 5200)]


def test_a_new_choice_for_a_placement_whose_line_staff_voided_keeps_the_voided_line(k):
    fired = place(k.service)
    line = fired.auto_added_line_id
    sign_in(k, ASSISTANT)
    k.service.staff_void(line)
    k.service.staff_lock()
    new = k.service.choose("lime", fired.placement_id)
    assert [sku for sku in (v.sku for v in k.service.cart_view().lines)] == ["lime"] and new != line
    assert events_of(k, line) == ["add", "void"]


# -- finding 3: the supervisor who approved is named in the action's row ------------------------------------------
def test_a_correction_approved_by_a_supervisor_names_them(k):
    line = place(k.service).auto_added_line_id  # milk ₹72
    sign_in(k, ASSISTANT)
    with pytest.raises(SupervisorNeeded):
        k.service.staff_correct(line, "lime")  # ₹64 off: beyond an assistant's ₹20
    assert k.service.staff_approve(SUPERVISOR[1], SUPERVISOR[0])
    k.service.staff_correct(line, "lime")
    (_, actor, detail), = rows(k, kind="staff.correction")
    assert (actor, detail["corrected_sku"], detail["approved_by"]) == ("101", "lime", "102")


def test_a_correction_without_an_approval_says_none_was_needed(k):
    line = place(k.service).auto_added_line_id
    sign_in(k, SUPERVISOR)
    k.service.staff_correct(line, "lime")
    (_, actor, detail), = rows(k, kind="staff.correction")
    assert (actor, detail["approved_by"]) == ("102", "")


def test_a_big_removal_approved_by_a_supervisor_names_them(k):
    big = big_line_waiting_for_removal(k)
    sign_in(k, ASSISTANT)
    assert k.service.staff_approve(SUPERVISOR[1], SUPERVISOR[0])
    k.service.staff_decide_removal(True)
    assert bill(k) == []
    (_, actor, detail), = rows(k, kind="removal_approved")
    assert (actor, detail["line_id"], detail["removed"], detail["approved_by"]) == ("101", big, big, "102")
    (_, by, _), = rows(k, kind="line.remove")
    assert by == "shopper, approved by 101"


# -- finding 5: the action's row and the line change are one transaction ---------------------------------------
def _fail_on(store: SalesStore, kind: str) -> None:
    """The store's audit append dies on a row of ``kind`` (as a crash between the change and its row would)."""
    real = store._append

    def append(c, row_kind, actor, detail):
        if row_kind == kind:
            raise RuntimeError(f"killed before the {kind} row")
        return real(c, row_kind, actor, detail)

    store._append = append


def _approved_override(k, line):
    k.service.staff_override_price(line, 100)


def _approved_void(k, line):
    k.service.staff_void(line)


def _staff_remove(k, line):
    k.service.staff_remove_line(line)


def _approved_correction(k, line):
    k.service.staff_correct(line, "lime")


@pytest.mark.parametrize("action, kind, price", [(_approved_override, "staff.override", 7200),
                                                 (_approved_void, "staff.void", 500000),  # beyond an assistant's
                                                 (_staff_remove, "staff.remove", 7200),
                                                 (_approved_correction, "staff.correction", 7200)])
def test_a_staff_change_without_its_row_is_not_made(k, action, kind, price):
    line = place(k.service).auto_added_line_id
    if price != 7200:
        sign_in(k, SUPERVISOR)
        line = k.service.staff_override_price(line, price)
    sign_in(k, ASSISTANT)
    assert k.service.staff_approve(SUPERVISOR[1], SUPERVISOR[0])
    _fail_on(k.service.store, kind)
    with pytest.raises(RuntimeError, match="killed"):
        action(k, line)
    assert bill(k) == [(line, price)] and events_of(k, line) == ["add"]  # as it was: no change without its row
    assert rows(k, kind=kind) == []


def test_an_approved_removal_without_its_row_is_not_made(k):
    big = big_line_waiting_for_removal(k)
    sign_in(k, SUPERVISOR)
    _fail_on(k.service.store, "removal_approved")
    with pytest.raises(RuntimeError, match="killed"):
        k.service.staff_decide_removal(True)
    assert bill(k) == [(big, 250000)]
    k.service.store._append = SalesStore._append.__get__(k.service.store)
    k.service.staff_decide_removal(True)  # still waiting: staff tap Approve again
    assert bill(k) == [] and len(rows(k, kind="removal_approved")) == 1


_KILLED_CHILD = """
import os, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from catalog.csv_io import import_csv
from catalog.repository import Catalog
from kiosk.staff.accounts import add_account
from kiosk.store import SalesStore
from tests.services.conftest import ASSISTANT, SUPERVISOR, FakeRecognizer, Kit, place

d = Path({dir!r})
with Catalog.open(d / "catalog.sqlite") as cat:
    import_csv(cat, Path({repo!r}) / "assets" / "demo" / "catalog.csv")
k = Kit(d, d / "catalog.sqlite", FakeRecognizer([("arla-standard-milk", 0.95)], threshold=0.9))
add_account(k.service.store, "Asha", "assistant", ASSISTANT[1], by="test")
add_account(k.service.store, "Ravi", "supervisor", SUPERVISOR[1], by="test")
line = place(k.service).auto_added_line_id
assert k.service.staff_unlock(ASSISTANT[1], ASSISTANT[0])
assert k.service.staff_approve(SUPERVISOR[1], SUPERVISOR[0])
real = SalesStore._append

def append(self, c, kind, actor, detail):
    if kind == "staff.override":
        os._exit(9)  # the kiosk dies as the override's own row is written
    return real(self, c, kind, actor, detail)

SalesStore._append = append
k.service.staff_override_price(line, 100)  # ₹72 → ₹1: needs the supervisor
"""


def test_a_kill_at_the_overrides_row_leaves_the_line_as_it_was(tmp_path):
    child = tmp_path / "child.py"
    child.write_text(textwrap.dedent(_KILLED_CHILD.format(repo=str(REPO), dir=str(tmp_path))))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, str(child)], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 9, done.stderr[-2000:]
    with SalesStore.open(tmp_path / "sales.sqlite", kiosk_id="T1") as store:
        lines = [(line.unit_price, line.voided) for line in store.open_cart().all_lines]
        overrides = [r for r in store.audit_rows() if r["kind"] == "staff.override"]
    assert lines == [(7200, False)] and overrides == []  # the change and its row: both or neither


def test_audit_verify_names_a_staff_change_without_its_row(tmp_path, capsys):
    """A file an older kiosk left cut between the change and its row (as the probe's kill did) does not verify OK."""
    from kiosk.cli import main
    from kiosk.domain.cart import CartLine
    from tests.services.conftest import Clock

    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path, kiosk_id="T1", clock=Clock()) as store:
        milk = store.add_unit("milk", "Milk 1 l", 7200, 500, 1)
        new = CartLine.unit("milk", "Milk 1 l", 100, 500, 1)
        fixed = store.replace_line(milk.line_id, new, by="101", audit_with=[  # as the kiosk writes it now
            ("staff.override", "101", {"line_id": milk.line_id, "new_line_id": new.line_id, "approved_by": "102"})])
        store.replace_line(fixed.line_id, CartLine.unit("milk", "Milk 1 l", 50, 500, 1), by="101")  # no row
        curd = store.add_unit("curd", "Curd", 3000, 500, 1)
        store.remove_line(curd.line_id, by="101")  # a staff removal with no staff.remove row
    assert main(["audit", "verify", "--store", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.count("missing: ") == 2, out
    assert f"in the place of line {fixed.line_id[:12]}, with no staff.override or staff.correction row" in out
    assert f"takes line {curd.line_id[:12]} off with no staff.remove row" in out
