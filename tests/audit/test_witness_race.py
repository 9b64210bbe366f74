"""The witness trails the log: the running kiosk commits a row first and replaces the witness after. A check that
read the log first and the witness second (``staff add``, ``receipt reprint``, a restart opening the store with its
key while the kiosk sells; ``audit verify`` beside it) could see the witness one row ahead and refuse a healthy
database as "rolled back" (probe: 4 refusals in 4715 opens), advising to move the witness aside, which turns the
rollback check off. Each check reads the witness first; here another store commits a row, and the witness follows
it, between the two reads (whichever comes first), deterministically."""

from __future__ import annotations

import json

import pytest

import kiosk.audit.verify as verify_mod
import kiosk.store.audit as audit_mod
import kiosk.store.audit_witness as witness_mod
from kiosk.audit.verify import verify_store
from kiosk.doctor import state
from kiosk.store import SalesStore


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "kiosk.sqlite"
    with SalesStore.open(p, kiosk_id="K1") as store:
        store.audit("probe.tick", "kiosk")
    return p


def racing(monkeypatch, module, path, when: str):
    """``module.read_witness`` with the running kiosk (another store on ``path``) committing one row, and its witness
    following, just ``before`` or just ``after`` the witness is read: one of the two lies between the check's reads
    of the witness and of the log, whichever order it reads them in."""
    kiosk = SalesStore.open(path, kiosk_id="K1")
    real = witness_mod.read_witness
    fired = []

    def read(p):
        if not fired and when == "before":
            fired.append(kiosk.audit("probe.tick", "kiosk")["seq"])
        doc = real(p)
        if not fired and when == "after":
            fired.append(kiosk.audit("probe.tick", "kiosk")["seq"])
        return doc

    monkeypatch.setattr(module, "read_witness", read)
    return kiosk, fired


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_open_with_the_key_beside_a_committing_kiosk_is_not_refused_as_rolled_back(path, monkeypatch, when):
    kiosk, fired = racing(monkeypatch, audit_mod, path, when)
    with kiosk, SalesStore.open(path, kiosk_id="K1", new_key="no") as till:  # e.g. `checkout staff add`
        assert fired and till.audit_head() == kiosk.audit_head()
    assert json.loads(witness_mod.witness_path(path.with_name("kiosk.audit-key")).read_text())["seq"] <= fired[0]


@pytest.mark.parametrize("when", ["before", "after"])
def test_audit_verify_beside_a_committing_kiosk_finds_nothing_cut_off(path, monkeypatch, when):
    kiosk, fired = racing(monkeypatch, verify_mod, path, when)
    with kiosk:
        report = verify_store(path)
    assert fired and report.ok, report.lines()


@pytest.mark.parametrize("when", ["before", "after"])
def test_the_doctors_state_check_beside_a_committing_kiosk_finds_nothing_rolled_back(path, monkeypatch, when):
    kiosk, fired = racing(monkeypatch, witness_mod, path, when)  # the doctor imports it from there when it runs
    with kiosk:
        assert state._witness(path, "") == ""
    assert fired


def test_a_log_really_rolled_back_is_still_refused_with_the_witness_read_first(path, tmp_path):
    import shutil

    from kiosk.store.sales import StoreError

    older = tmp_path / "older.sqlite"
    shutil.copyfile(path, older)
    with SalesStore.open(path, kiosk_id="K1") as store:
        store.audit("probe.tick", "kiosk")
    shutil.copyfile(older, path)
    with pytest.raises(StoreError, match="rolled back"):
        SalesStore.open(path, kiosk_id="K1", new_key="no")
    assert not verify_store(path).ok
    assert "rolled back" in state._witness(path, "")


def test_audit_verify_reads_every_table_in_one_snapshot_while_the_kiosk_sells(path, monkeypatch):
    """A sale committed after the log was read, before the sales table is: not "a sale without its audit row"."""
    kiosk = SalesStore.open(path, kiosk_id="K1")
    real = verify_mod.Log

    def log_then_a_sale(rows):
        kiosk.add_unit("milk", "Milk 1 l", 4500, 0, 1)
        kiosk.pay(kiosk.open_cart().cart_id, method="cash")
        return real(rows)

    monkeypatch.setattr(verify_mod, "Log", log_then_a_sale)
    with kiosk:
        report = verify_store(path)
    assert report.ok, report.lines()
