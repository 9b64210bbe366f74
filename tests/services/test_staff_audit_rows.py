"""Every staff action that changes the bill leaves exactly one audit row of its own, naming who did it, in the
change's own store transaction (probe audit-gaps):

* a void that needed no supervisor wrote no ``staff.void`` row (only one that needed an approval did);
* staff adding an item the scale disagreed with (``staff_resolve``) wrote its ``line.add`` as the shopper's, with no
  row saying which staff member let it onto the bill (and a refusal left no row at all);
* the store took a row with no actor.

``checkout audit verify`` names a staff void without its ``staff.void`` row (from the first void the kiosk audited
without an approval: an older kiosk wrote none for those) and a line staff added without its ``staff.resolve`` row.
"""

from __future__ import annotations

import pytest

from kiosk.domain.cart import CartLine
from kiosk.store import SalesStore
from tests.services.conftest import ASSISTANT, SUPERVISOR, Clock, place
from tests.services.test_staff_line_changes import _fail_on, bill, events_of, rows, sign_in


@pytest.fixture
def k(staffed):
    return staffed


# -- a void that needed no approval --------------------------------------------------------------------------------
def test_a_void_that_needs_no_supervisor_has_its_own_row(k):
    line = place(k.service).auto_added_line_id  # milk ₹72: an assistant may void it
    sign_in(k, ASSISTANT)
    k.service.staff_void(line)
    (_, actor, detail), = rows(k, kind="staff.void")
    assert (actor, detail["line_id"], detail["total"], detail["approved_by"]) == ("101", line, 7200, "")
    assert [(kind, who) for kind, who, d in rows(k) if d.get("line_id") == line] == [
        ("line.add", "shopper"), ("line.void", "101"), ("staff.void", "101")]


def test_a_void_that_needs_no_supervisor_is_not_made_without_its_row(k):
    line = place(k.service).auto_added_line_id
    sign_in(k, ASSISTANT)
    _fail_on(k.service.store, "staff.void")
    with pytest.raises(RuntimeError, match="killed"):
        k.service.staff_void(line)
    assert bill(k) == [(line, 7200)] and events_of(k, line) == ["add"]
    assert rows(k, kind="staff.void") == [] and rows(k, kind="line.void") == []


# -- staff let a held item onto the bill ---------------------------------------------------------------------------
@pytest.fixture
def held(kit):
    """A 1.2 kg load called a 150 g soyghurt: the item waits for staff (assistant Asha, supervisor Ravi)."""
    from kiosk.staff.accounts import add_account

    k = kit([("alpro-blueberry-soyghurt", 0.5)])
    add_account(k.service.store, "Asha", "assistant", ASSISTANT[1], by="test")
    add_account(k.service.store, "Ravi", "supervisor", SUPERVISOR[1], by="test")
    k.scale.set_weight(1200)
    k.service.poll_scale()
    fired = place(k.service)
    assert k.service.choose("alpro-blueberry-soyghurt", fired.placement_id) is None  # held for staff
    return k


def test_staff_adding_a_held_item_is_their_row_in_the_lines_transaction(held):
    k = held
    sign_in(k, ASSISTANT)
    line = k.service.staff_resolve(True)
    assert [v.line_id for v in k.service.cart_view().lines] == [line]
    (_, actor, detail), = rows(k, kind="staff.resolve")
    assert (actor, detail["line_id"], detail["sku"], detail["added"]) == ("101", line, "alpro-blueberry-soyghurt",
                                                                            True)
    (_, by, _), = rows(k, kind="line.add")
    assert by == "101"  # not the shopper's: staff let it onto the bill


def test_a_held_item_is_not_added_without_staffs_row(held):
    k = held
    sign_in(k, ASSISTANT)
    _fail_on(k.service.store, "staff.resolve")
    with pytest.raises(RuntimeError, match="killed"):
        k.service.staff_resolve(True)
    assert bill(k) == [] and rows(k, kind="line.add") == []


def test_staff_refusing_a_held_item_is_audited(held):
    k = held
    sign_in(k, ASSISTANT)
    assert k.service.staff_resolve(False) is None
    (_, actor, detail), = rows(k, kind="staff.resolve")
    assert (actor, detail["line_id"], detail["sku"], detail["added"]) == ("101", "", "alpro-blueberry-soyghurt",
                                                                            False)
    assert bill(k) == []


# -- no row without an actor ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("actor", ["", "  "])
def test_the_store_takes_no_audit_row_without_an_actor(tmp_path, actor):
    with SalesStore.open(tmp_path / "sales.sqlite", kiosk_id="T1", clock=Clock()) as store:
        before = store.audit_head()
        with pytest.raises(ValueError, match="who did it"):
            store.audit("staff.something", actor)
        milk = store.add_unit("milk", "Milk 1 l", 7200, 500, 1)
        with pytest.raises(ValueError, match="who did it"):
            store.void_line(milk.line_id, by="101", audit_with=[("staff.void", actor, {"line_id": milk.line_id})])
        assert [line.voided for line in store.open_cart().all_lines] == [False]  # the void went with its row
        assert store.audit_head()[0] == before[0] + 2  # audit.started and the line's add


# -- checkout audit verify -------------------------------------------------------------------------------------------
def test_audit_verify_names_a_staff_void_or_added_line_without_its_row(tmp_path, capsys):
    from kiosk.cli import main

    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path, kiosk_id="T1", clock=Clock()) as store:
        old = store.add_unit("milk", "Milk 1 l", 7200, 500, 1)
        store.void_line(old.line_id, by="101")  # as an older kiosk did a void that needed no approval: no row
        milk = store.add_unit("milk", "Milk 1 l", 7200, 500, 1)
        store.void_line(milk.line_id, by="101", audit_with=[  # as the kiosk writes it now
            ("staff.void", "101", {"line_id": milk.line_id, "approved_by": ""})])
        curd = store.add_unit("curd", "Curd", 3000, 500, 1)
        store.void_line(curd.line_id, by="101")  # cut from its row
        store.add_line(CartLine.unit("curd", "Curd", 3000, 500, 1), by="101")  # staff's add, no staff.resolve row
    assert main(["audit", "verify", "--store", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.count("missing: ") == 2, out
    assert f"voids line {curd.line_id[:12]} with no staff.void row" in out
    assert "adds line" in out and "with no staff.resolve row" in out
    assert old.line_id[:12] not in out  # before the kiosk audited every void: not expected then


def test_audit_verify_names_rows_that_name_nobody(tmp_path, capsys):
    """A row an older kiosk took without an actor (its store wrote ``actor or ""``) is named."""
    import json as _json

    from kiosk.cli import main
    from kiosk.exchange.audit import GENESIS, seal

    def old_append(self, c, kind, actor, detail):  # the store's append before it refused a row without an actor
        last = c.execute("SELECT seq, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        seq, prev = (last["seq"] + 1, last["hash"]) if last else (1, GENESIS)
        row = seal(seq, self._time(), kind, actor or "", detail, prev, self._audit_key)
        c.execute("INSERT INTO audit_log (seq, at, kind, actor, detail, prev, hash, mac, key_id)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (row["seq"], row["at"], kind, row["actor"],
                                                          _json.dumps(row["detail"], sort_keys=True), prev,
                                                          row["hash"], row["mac"], row["key_id"]))
        self._witness_due = (row["seq"], row["hash"], row["at"])
        return row

    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path, kiosk_id="T1", clock=Clock()) as store:
        store.add_unit("milk", "Milk 1 l", 7200, 500, 1)
        assert main(["audit", "verify", "--store", str(path)]) == 0
        store._append = old_append.__get__(store)
        store.audit("staff.signout", "", reason="idle")
    assert main(["audit", "verify", "--store", str(path)]) == 1
    out = capsys.readouterr().out
    assert "no actor: 1 audit row(s) name nobody as who did it, first: row 3 (staff.signout" in out, out
