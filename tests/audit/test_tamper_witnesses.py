"""What the other tables of a kiosk's file say happened must be in its audit log, and agree with it: a sale deleted,
a receipt edited, rows cut off the end with SQLite's counter set back, a staff account inserted or promoted by hand —
each is named by ``checkout audit verify`` (the kiosk of the probe: K2, three sales, staff added, one reprint)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest

from kiosk.config import hash_pin
from kiosk.domain.pricing import compute_bill
from kiosk.domain.receipt import Receipt
from kiosk.store import SalesStore
from tests.audit.test_verify import rows, tamper, verify
from tests.services.conftest import Clock

PIN_HASH = hash_pin("4321", salt=b"fixed-test-salt!")


@pytest.fixture
def store_path(tmp_path):
    """K2: staff added (an assistant, a supervisor), three sales (the second by card, with an oat milk at ₹275), the
    second reprinted."""
    clock = Clock()
    path = tmp_path / "kiosk.sqlite"
    with SalesStore.open(path, kiosk_id="K2", clock=clock) as store:
        store.add_staff("Asha", "assistant", PIN_HASH, by="cli")
        store.add_staff("Ravi", "supervisor", PIN_HASH, by="cli")
        for n in range(3):
            clock.advance(60)
            store.add_unit("milk", "Milk 1 l", 4500 + n, 0, 2)
            store.add_weighed("banana", "Banana", 6950, 0, 540)
            if n == 1:
                store.add_unit("oatly-oat-milk", "Oatly Oat Milk 1 l", 27500, 1800)
                cart = store.open_cart()
                intent = store.begin_payment(cart.cart_id, cart.bill().total, "card", "sim")
                store.record_approval(intent.idempotency_key, "SIM-1")
                sale = store.complete_payment(intent.idempotency_key)
            else:
                sale = store.pay(store.open_cart().cart_id)
            store.mark_receipt_shown(sale.receipt_no)
        clock.advance(60)
        store.reprint("K2-000002", by="102")
    return path


def sql(path, *statements: tuple) -> None:
    """Tables other than the log: no trigger to drop."""
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(*statement)
    conn.commit()
    conn.close()


def query(path, text: str, params: tuple = ()) -> list:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(text, params).fetchall()
    finally:
        conn.close()


def seq_of(path, kind: str, n: int = 0) -> int:
    return [r["seq"] for r in rows(path) if r["kind"] == kind][n]


def test_the_probe_store_verifies_untouched(store_path, capsys):
    rc, out = verify(store_path, capsys)
    assert rc == 0 and "OK: the audit log is whole and unedited" in out, out


# -- 1. a deleted sale -------------------------------------------------------------------------------------------------
def test_a_deleted_sale_is_named_with_its_missing_receipt_number(store_path, capsys):
    sql(store_path, ("DELETE FROM sales WHERE receipt_no = 'K2-000002'",))
    rc, out = verify(store_path, capsys)
    n = seq_of(store_path, "sale.closed", 1)
    assert rc == 1
    assert f"deleted: sale K2-000002 (audit row {n}, sale.closed) is not in the sales table" in out
    assert "missing: receipt number(s) K2-000002 not in the sales table (the receipt counter is at 3)" in out


def test_the_last_sale_deleted_with_its_rows_and_the_counter_set_back_is_named(store_path, capsys):
    first = seq_of(store_path, "sale.closed", 2)
    tamper(store_path, ("DELETE FROM sales WHERE receipt_no = 'K2-000003'",),
           ("DELETE FROM receipt_prints WHERE receipt_no = 'K2-000003'",),
           ("DELETE FROM audit_log WHERE seq >= ?", (first,)),
           ("UPDATE sqlite_sequence SET seq = ? WHERE name = 'audit_log'", (first - 1,)))
    rc, out = verify(store_path, capsys)
    assert rc == 1
    assert "missing: receipt number(s) K2-000003 not in the sales table (the receipt counter is at 3)" in out
    assert "closed without a sale" in out  # its cart still says it was paid


# -- 2. an edited receipt ----------------------------------------------------------------------------------------------
def _edit_receipt(path, receipt_no: str, edit) -> None:
    (text,) = query(path, "SELECT receipt_json FROM sales WHERE receipt_no = ?", (receipt_no,))[0]
    receipt = edit(Receipt.from_json(text))
    sql(path, ("UPDATE sales SET receipt_json = ? WHERE receipt_no = ?", (receipt.to_json(), receipt_no)))


def test_a_line_dropped_from_a_receipt_with_its_totals_recomputed_is_named(store_path, capsys):
    def drop_oat_milk(r: Receipt) -> Receipt:
        lines = tuple(x for x in r.lines if x.sku != "oatly-oat-milk")
        return replace(r, lines=lines, bill=compute_bill((x.total, x.gst_bp) for x in lines))

    _edit_receipt(store_path, "K2-000002", drop_oat_milk)
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: receipt K2-000002 " in out
    assert "total" in out and "line" in out


def test_only_the_payment_method_changed_in_a_receipt_is_named(store_path, capsys):
    _edit_receipt(store_path, "K2-000002", lambda r: replace(r, payment_method="cash"))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: receipt K2-000002 payment method 'cash' in its receipt JSON, 'card' in audit row" in out


def test_a_receipt_moved_to_another_day_is_named(store_path, capsys):
    _edit_receipt(store_path, "K2-000001", lambda r: replace(r, issued_at=r.issued_at - timedelta(days=1)))
    sql(store_path, ("UPDATE sales SET closed_at = replace(closed_at, '2025-03-01', '2025-02-28')",))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: receipt K2-000001 issued at" in out and "edited: sale K2-000001 closed at" in out


def test_a_reprint_text_edited_is_named(store_path, capsys):
    sql(store_path, ("UPDATE sales SET receipt_text = replace(receipt_text, 'CARD', 'CASH') "
                     "WHERE receipt_no = 'K2-000002'",))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: receipt K2-000002 text" in out


# -- 3. rows cut off the end -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("counter", ["deleted", "set back"])
def test_rows_cut_off_the_end_with_the_counter_hidden_are_named(store_path, capsys, counter):
    cut = seq_of(store_path, "staff.account_added", 1)  # Ravi's row and everything after it
    fix = (("DELETE FROM sqlite_sequence WHERE name = 'audit_log'",) if counter == "deleted" else
           ("UPDATE sqlite_sequence SET seq = ? WHERE name = 'audit_log'", (cut - 1,)))
    tamper(store_path, ("DELETE FROM audit_log WHERE seq >= ?", (cut,)), fix)
    rc, out = verify(store_path, capsys)
    assert rc == 1
    assert "inserted: staff account 102 (Ravi, supervisor) has no staff.account_added audit row" in out
    assert "missing: receipt print" in out  # the reprint's row went with the tail
    if counter == "deleted":
        assert "sqlite_sequence has no row for audit_log" in out


def test_a_batch_already_packed_past_the_end_is_named(store_path, capsys):
    last = rows(store_path)[-1]["seq"]
    sql(store_path, ("INSERT INTO audit_packs (first_seq, last_seq, done) VALUES (1, ?, 1)", (last + 5,)))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and f"a batch for head office was made of rows up to {last + 5}" in out


# -- 4. staff accounts -------------------------------------------------------------------------------------------------
def test_a_staff_account_inserted_by_hand_is_named(store_path, capsys):
    sql(store_path, ("INSERT INTO staff_accounts (staff_no, name, role, pin_hash, active, created_at, updated_at) "
                     "VALUES ('103', 'Mallory', 'supervisor', ?, 1, '2025-03-01T10:00:00+05:30', "
                     "'2025-03-01T10:00:00+05:30')", (PIN_HASH,)))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "inserted: staff account 103 (Mallory, supervisor) has no staff.account_added audit row" in out


def test_an_assistant_made_supervisor_by_hand_is_named(store_path, capsys):
    sql(store_path, ("UPDATE staff_accounts SET role = 'supervisor' WHERE staff_no = '101'",))
    rc, out = verify(store_path, capsys)
    n = seq_of(store_path, "staff.account_added", 0)
    assert rc == 1
    assert f"edited: staff account 101 role is 'supervisor' in staff_accounts, 'assistant' in audit row {n}" in out


def test_a_disabled_account_enabled_by_hand_is_named(store_path, capsys):
    with SalesStore.open(store_path, kiosk_id="K2", clock=Clock()) as store:
        store.set_staff_active("101", False, by="102")
    sql(store_path, ("UPDATE staff_accounts SET active = 1 WHERE staff_no = '101'",))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: staff account 101 is active in staff_accounts, disabled in audit row" in out


def test_a_pin_changed_by_hand_with_its_time_is_named(store_path, capsys):
    sql(store_path, ("UPDATE staff_accounts SET pin_hash = ?, updated_at = '2025-03-02T09:00:00+05:30' "
                     "WHERE staff_no = '102'", (hash_pin("0000"),)))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: staff account 102 changed at 2025-03-02T09:00:00+05:30" in out


def test_a_pin_hash_recorded_in_the_log_is_checked(store_path, capsys):
    """Rows that hold the PIN hash's SHA-256 (``pin_sha256``, proposed for staff.account_added / staff.pin_reset)
    vouch for it: a hash swapped by hand, even with its time left alone, is named."""
    with SalesStore.open(store_path, kiosk_id="K2", clock=Clock()) as store:
        new = hash_pin("9876")
        store.set_staff_pin("101", new, by="102")  # the row, its seal and its audit row (with pin_sha256) together
        assert store.audit_rows()[-1]["detail"]["pin_sha256"] == hashlib.sha256(new.encode()).hexdigest()
    rc, out = verify(store_path, capsys)
    assert rc == 0, out
    sql(store_path, ("UPDATE staff_accounts SET pin_hash = ? WHERE staff_no = '101'", (hash_pin("0000"),)))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: staff account 101 PIN hash is not the one in audit row" in out


def test_a_receipt_print_inserted_by_hand_is_named(store_path, capsys):
    sql(store_path, ("INSERT INTO receipt_prints (receipt_no, kind, by, at) VALUES ('K2-000001', 'reprint', '101', "
                     "'2025-03-01T10:09:00+05:30')",))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "missing: receipt print" in out and "reprint of K2-000001 by 101" in out


def test_a_payment_intent_edited_is_named(store_path, capsys):
    sql(store_path, ("UPDATE payment_intents SET amount = amount - 27500",))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: payment" in out and "amount" in out


def test_the_verify_json_carries_the_findings(store_path, capsys):
    sql(store_path, ("DELETE FROM sales WHERE receipt_no = 'K2-000002'",))
    from kiosk.cli import main

    rc = main(["audit", "verify", "--store", str(store_path), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1 and doc["ok"] is False and any("K2-000002" in f for f in doc["findings"])


# -- other tampering of the same kinds: each named, none a traceback ---------------------------------------------------
@pytest.mark.parametrize("statement, finding", [
    ("UPDATE sales SET receipt_json = replace(receipt_json, '\"Banana\"', '\"Bananas\"') WHERE receipt_seq = 1",
     "edited: receipt K2-000001 line 2 (Bananas) name 'Bananas' in its receipt JSON, 'Banana' in its line audit rows"),
    ("UPDATE sales SET receipt_json = replace(receipt_json, '\"line_ids\":[\"', '\"line_ids\":[[1],\"') "
     "WHERE receipt_seq = 2", "edited: sale 'K2-000002' cannot be checked (TypeError"),
    ("UPDATE sales SET receipt_json = (SELECT receipt_json FROM sales WHERE receipt_seq = 1) WHERE receipt_seq = 3",
     "edited: receipt K2-000003 receipt no 'K2-000001' in its receipt JSON, 'K2-000003' in audit row"),
    ("UPDATE receipt_counter SET last_no = 2", "edited: the receipt counter is at 2, but audit row"),
    ("DELETE FROM line_events WHERE id = 2", "deleted: 1 line event(s) of the audit log not in line_events"),
    ("UPDATE staff_accounts SET staff_no = 7 WHERE staff_no = '101'", "deleted: staff account 101 (Asha) added in"),
    ("UPDATE staff_accounts SET created_at = 7 WHERE staff_no = '102'", "edited: staff account 102 created at 7"),
    ("UPDATE receipt_prints SET at = '2030-01-01T00:00:00+00:00' WHERE kind = 'reprint'",
     "(reprint of K2-000002 by 102 at 2030-01-01T00:00:00+00:00): audit row"),
])
def test_more_tampering_is_named_in_one_line(store_path, capsys, statement, finding):
    sql(store_path, (statement,))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and finding in out, out
    assert all(line.startswith(("  ", "FAILED", str(store_path))) for line in out.splitlines())


def test_a_pin_hash_swapped_on_an_account_made_by_the_store_is_named(store_path, capsys):
    """The store logs the SHA-256 of every PIN hash it sets (``pin_sha256``): another PIN's hash put in by hand, its
    time left alone, no longer passes."""
    added = [json.loads(r["detail"]) for r in rows(store_path) if r["kind"] == "staff.account_added"]
    assert added and all(len(d["pin_sha256"]) == 64 for d in added)
    sql(store_path, ("UPDATE staff_accounts SET pin_hash = ? WHERE staff_no = '101'", (hash_pin("0000"),)))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: staff account 101 PIN hash is not the one in audit row" in out
