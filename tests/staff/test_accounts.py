"""Staff accounts: checkout staff add|list|disable|enable|reset-pin, personal scrypt PINs with their own salts, and
sign-in lockouts that grow per person and for the whole kiosk and survive a restart."""

from __future__ import annotations

import io
import sys

import pytest

from kiosk.cli import main
from kiosk.staff.accounts import pin_problem
from kiosk.staff.signin import KIOSK_ID, SignIn
from kiosk.store import SalesStore
from tests.services.conftest import Clock


def run(capsys, monkeypatch, *argv: str, pin: str | None = None) -> tuple[int, str, str]:
    if pin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(pin + "\n"))
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_add_list_disable_enable_reset_pin(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "sales.sqlite")
    SalesStore.open(db).close()  # the kiosk's first start (`--store` names a store that is there; tests/hardening)
    rc, out, _ = run(capsys, monkeypatch, "staff", "add", "Asha Rao", "--role", "assistant", "--pin-stdin",
                     "--store", db, pin="2580")
    assert rc == 0 and out.strip() == "staff number 101: Asha Rao (assistant)"
    rc, out, _ = run(capsys, monkeypatch, "staff", "add", "Ravi", "--role", "supervisor", "--pin-stdin", "--store", db,
                     pin="2580")
    assert rc == 0 and "staff number 102" in out
    rc, _, err = run(capsys, monkeypatch, "staff", "add", "ravi", "--role", "assistant", "--pin-stdin", "--store", db,
                     pin="7391")
    assert rc == 2 and "exists already" in err
    for weak in ("1234", "0000", "9876", "12a4", "123"):
        rc, _, err = run(capsys, monkeypatch, "staff", "add", "Meena", "--role", "assistant", "--pin-stdin",
                         "--store", db, pin=weak)
        assert rc == 2 and "staff PIN" in err and weak not in err
    assert run(capsys, monkeypatch, "staff", "disable", "Ravi", "--store", db)[0] == 0
    rc, out, _ = run(capsys, monkeypatch, "staff", "list", "--store", db)
    assert "101     Asha Rao" in out and "102     Ravi                        supervisor  no" in out
    assert run(capsys, monkeypatch, "staff", "enable", "102", "--store", db, pin="")[0] == 2  # a new PIN it takes
    assert run(capsys, monkeypatch, "staff", "enable", "102", "--pin-stdin", "--store", db, pin="7391")[0] == 0
    assert run(capsys, monkeypatch, "staff", "reset-pin", "101", "--pin-stdin", "--store", db, pin="4826")[0] == 0
    with SalesStore.open(db) as store:
        asha, ravi = store.staff_accounts()
        assert ravi.active and "2580" not in asha.pin_hash + ravi.pin_hash
        kinds = [(r["kind"], r["actor"]) for r in store.audit_rows()]
    assert [k for k, _ in kinds] == ["audit.started", "staff.account_added", "staff.account_added",
                                     "staff.account_disabled", "staff.account_enabled", "staff.pin_reset",
                                     "staff.pin_reset"]
    assert all(actor.startswith("cli") for _, actor in kinds[1:])
    assert "2580" not in capsys.readouterr().out


def test_the_same_pin_gets_a_different_salt_per_person(tmp_path):
    from kiosk.staff.accounts import add_account

    with SalesStore.open(tmp_path / "s.sqlite") as store:
        a = add_account(store, "A", "assistant", "5820", by="t")
        b = add_account(store, "B", "assistant", "5820", by="t")
    assert a.pin_hash.split("$")[4] != b.pin_hash.split("$")[4] and a.pin_hash != b.pin_hash
    assert a.pin_hash.startswith("scrypt$")


def test_weak_pins():
    assert pin_problem("5820") is None and pin_problem("739104") is None
    assert pin_problem("1111") and pin_problem("3456") and pin_problem("6543") and pin_problem("٣٤٥٦٧")


@pytest.fixture
def accounts(tmp_path):
    from kiosk.staff.accounts import add_account

    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path) as store:
        add_account(store, "Asha", "assistant", "5820", by="t")
        add_account(store, "Ravi", "supervisor", "7391", by="t")
        add_account(store, "Old", "assistant", "4826", by="t")
        store.set_staff_active("103", False, by="t")
    return path


def sign_in(store, clock, legacy=lambda pin: pin == "2468") -> SignIn:
    return SignIn(accounts=store, legacy_check=legacy, lockout=store, clock=clock, kiosk_free_failures=10)


def test_personal_pins_and_the_shared_pin_no_longer_works(accounts):
    clock = Clock()
    with SalesStore.open(accounts) as store:
        s = sign_in(store, clock)
        ok = s.check("5820", "101")
        assert ok.ok and ok.member.name == "Asha" and ok.member.role == "assistant"
        assert s.check("7391", "102").member.role == "supervisor"
        assert not s.check("5820", "102").ok  # Asha's PIN under Ravi's number
        assert s.check("2468", "staff").reason == "unknown_staff"  # the old shared PIN: accounts exist now
        assert s.check("4826", "103").reason == "disabled"
        assert s.check("5820", "999").reason == "unknown_staff"


def test_a_persons_lockout_grows_and_survives_a_restart(accounts):
    clock = Clock()
    with SalesStore.open(accounts) as store:
        s = sign_in(store, clock)
        for _ in range(3):
            assert s.check("0000", "101").reason == "wrong_pin"
        assert s.check("5820", "101").reason == "locked"  # refused without checking
        assert s.check("7391", "102").ok  # Ravi is not locked out by Asha's mistakes
    clock.advance(31)
    with SalesStore.open(accounts) as store:  # a restart
        s = sign_in(store, clock)
        assert s.check("0000", "101").reason == "wrong_pin"
        first = s.check("5820", "101")
        assert first.reason == "locked" and 31 < first.wait_s <= 61  # twice as long as the first lockout
        clock.advance(61)
        assert s.check("5820", "101").ok and store.pin_lockout("101") == (0, None)


def test_switching_staff_numbers_hits_the_kiosk_wide_lockout(accounts):
    """One PIN tried under many numbers: each number stays under its own limit, the kiosk does not."""
    clock = Clock()
    with SalesStore.open(accounts) as store:
        s = sign_in(store, clock)
        for n in range(10):
            assert not s.check("1357", str(200 + n)).ok
        refused = s.check("5820", "101")
        assert refused.reason == "kiosk_locked" and refused.wait_s > 0  # even the right PIN, unchecked
        assert store.pin_lockout(KIOSK_ID)[0] == 10
        assert store.pin_lockout("200") == (1, None)  # counted like a real number (none exists), under its limit
        clock.advance(refused.wait_s)
        assert s.check("5820", "101").ok and store.pin_lockout(KIOSK_ID) == (0, None)


def test_an_account_enabled_again_takes_a_new_pin_and_the_old_one_is_gone(tmp_path, capsys):
    """A PIN someone learnt before the disable (why disable, else) must not come back with the account (probe-staff
    fault 7: a re-enabled account's old PIN still worked)."""
    from kiosk.config import check_pin
    from kiosk.staff.accounts import StaffAccountError, add_account, set_active

    db = tmp_path / "s.sqlite"
    with SalesStore.open(db) as store:
        add_account(store, "Asha", "assistant", "5820", by="test")
        set_active(store, "101", False, by="test")
        with pytest.raises(StaffAccountError, match="takes a new PIN"):
            set_active(store, "101", True, by="test")
        with pytest.raises(StaffAccountError, match="must not be the one it had"):
            set_active(store, "101", True, by="test", pin="5820")
        with pytest.raises(ValueError, match="takes a new PIN"):  # the store holds the rule too
            store.set_staff_active("101", True, by="test")
        assert not store.staff_account("101").active
        asha = set_active(store, "101", True, by="test", pin="2468")
        assert asha.active and not check_pin("5820", asha.pin_hash) and check_pin("2468", asha.pin_hash)
        rows = [(r["kind"], r["detail"].get("reason")) for r in store.audit_rows()[-2:]]
        assert rows == [("staff.account_enabled", None), ("staff.pin_reset", "enabled")]
    assert main(["audit", "verify", "--store", str(db)]) == 0, capsys.readouterr().out
