"""A staff account row edited by hand in the sales database is not trusted (probe-staff fault 2): each row is sealed
with a MAC under the kiosk's audit key; a row that fails it cannot sign in (staff are told, the refusal is audited),
``staff enable|disable`` will not touch it, ``staff reset-pin`` puts it back as its audit rows say, and ``checkout
audit verify`` names it — and names a sign-in or approval made while an edit was in place and since put back."""

from __future__ import annotations

import io
import sqlite3
import sys

import pytest

from kiosk.cli import main
from kiosk.services.events import Notice
from kiosk.staff.accounts import StaffAccountError, add_account, reset_pin, set_active
from kiosk.store import SalesStore
from tests.services.conftest import ASSISTANT, SUPERVISOR, Clock, place


@pytest.fixture
def k(staffed):
    return staffed


def sql(path, *statements) -> None:
    conn = sqlite3.connect(path)
    for s in statements:
        conn.execute(*s) if isinstance(s, tuple) else conn.execute(s)
    conn.commit()
    conn.close()


def verify(path, capsys) -> tuple[int, str]:
    rc = main(["audit", "verify", "--store", str(path)])
    return rc, capsys.readouterr().out


def test_an_assistant_promoted_in_the_file_cannot_sign_in_and_verify_names_it(k, capsys):
    place(k.service)
    path = k.service.store.path
    sql(path, "UPDATE staff_accounts SET role = 'supervisor' WHERE staff_no = '101'")
    assert k.service.staff_unlock(ASSISTANT[1], ASSISTANT[0]) is False
    assert k.of(Notice)[-1] == Notice("warning", "this staff account was changed outside the kiosk and cannot sign in: "
                                                 "ask the store manager")
    last = k.service.store.audit_rows()[-1]
    assert (last["kind"], last["actor"], last["detail"]["reason"]) == ("staff.signin_refused", "101", "tampered")
    assert not k.service.staff_unlocked
    rc, out = verify(path, capsys)
    assert rc == 1 and "staff account 101 does not match its seal" in out
    with pytest.raises(StaffAccountError, match="changed outside the kiosk"):
        set_active(k.service.store, "101", True, by="cli:manager", pin="2468")  # it would seal the edit
    sql(path, "UPDATE staff_accounts SET role = 'assistant' WHERE staff_no = '101'")  # put back: the seal fits again
    assert k.service.staff_unlock(ASSISTANT[1], ASSISTANT[0]) is True


def test_an_edit_while_signed_in_ends_the_session(k):
    assert k.service.staff_unlock(SUPERVISOR[1], SUPERVISOR[0])
    sql(k.service.store.path, "UPDATE staff_accounts SET pin_hash = (SELECT pin_hash FROM staff_accounts WHERE "
                              "staff_no = '101') WHERE staff_no = '102'")
    assert not k.service.staff_unlocked
    assert k.of(Notice)[-1].message.startswith("staff mode is locked: your staff account was changed outside the kiosk")


def test_a_sign_in_or_approval_made_under_an_edit_since_put_back_is_named(k, capsys):
    """What a kiosk without seals let through (the probe: promoted, signed in, overrode, put back) stays in its log:
    verify holds each sign-in and approval to the account as its audit rows had it then."""
    store = k.service.store
    store.audit("staff.signin", "101", name="Asha", role="supervisor")  # as the kiosk wrote it then
    store.audit("staff.approval", "101", session="102", name="Asha")
    set_active(store, "102", False, by="cli:manager")
    store.audit("staff.signin", "102", name="Ravi", role="supervisor")
    rc, out = verify(store.path, capsys)
    assert rc == 1
    assert "(staff.signin by 101 at" in out and "as 'supervisor': the account was 'assistant' then" in out
    assert "(staff.approval by 101 at" in out and "not a supervisor" in out
    assert "(staff.signin by 102 at" in out and "the account was disabled then" in out


def _before_seals(path) -> None:
    """The file as the kiosk before seals left it: no mac (nor name_key) column, schema 7."""
    sql(path, "DROP INDEX staff_accounts_name_key", "ALTER TABLE staff_accounts DROP COLUMN name_key",
        "ALTER TABLE staff_accounts DROP COLUMN mac", "PRAGMA user_version = 7")


def test_rows_from_before_seals_are_sealed_only_when_their_audit_rows_say_so(tmp_path, capsys, monkeypatch):
    path, clock = tmp_path / "sales.sqlite", Clock()
    with SalesStore.open(path, clock=clock) as store:
        add_account(store, "Asha", "assistant", ASSISTANT[1], by="test")
        add_account(store, "Ravi", "supervisor", SUPERVISOR[1], by="test")
    _before_seals(path)
    sql(path, "UPDATE staff_accounts SET role = 'supervisor' WHERE staff_no = '101'")  # edited before the upgrade
    with SalesStore.open(path, clock=clock) as store:  # the first open with the key
        asha, ravi = store.staff_accounts()
        assert (asha.sealed, ravi.sealed) == (False, True)
        last = store.audit_rows()[-1]
        assert (last["kind"], last["detail"]) == ("staff.accounts_sealed", {"sealed": ["102"],
                                                                            "not_as_audited": ["101"]})
    with SalesStore.open(path, clock=clock) as store:  # once: no row at each open
        assert store.audit_rows()[-1]["kind"] == "staff.accounts_sealed"
    rc, out = verify(path, capsys)
    assert rc == 1 and "staff account 101 has no seal" in out
    monkeypatch.setattr(sys, "stdin", io.StringIO("4826\n"))
    assert main(["staff", "reset-pin", "101", "--pin-stdin", "--store", str(path)]) == 0
    with SalesStore.open(path, clock=clock) as store:
        asha = store.staff_account("101")
        assert (asha.role, asha.sealed) == ("assistant", True)  # put back as the audit log has it
        assert store.audit_rows()[-1]["detail"]["put_back"] == {"role": "assistant"}
    capsys.readouterr()
    rc, out = verify(path, capsys)
    assert rc == 0, out


def test_a_reset_pin_puts_an_edited_row_back_and_the_new_pin_signs_in(k):
    store = k.service.store
    sql(store.path, "UPDATE staff_accounts SET active = 0 WHERE staff_no = '102'")
    assert k.service.staff_unlock(SUPERVISOR[1], SUPERVISOR[0]) is False
    account = reset_pin(store, "102", "2468", by="cli:manager")
    assert (account.active, account.role, account.sealed) == (True, "supervisor", True)
    assert k.service.staff_unlock("2468", "102") is True
