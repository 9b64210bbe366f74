"""The audit log catches what someone with the database file does to it: a changed amount, a deleted row, an
inserted row, a swapped pair, rows cut off at the end, a sale edited in the sales table — and says which row."""

from __future__ import annotations

import secrets
import sqlite3

import pytest

from kiosk.cli import main
from kiosk.exchange.audit import content_hash, mac_of, verify_rows
from kiosk.store import SalesStore
from tests.services.conftest import Clock


@pytest.fixture
def store_path(tmp_path):
    """A kiosk's file with three sales, a void and a staff correction (a dozen-odd audit rows)."""
    clock = Clock()
    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path, kiosk_id="T1", clock=clock) as store:
        for n in range(3):
            milk = store.add_unit("milk", "Milk 1 l", 4500 + n, 500, 2)
            store.add_weighed("banana", "Banana", 6950, 0, 540)
            if n == 1:
                store.void_line(milk.line_id, by="101")
                store.record_correction("apple", "banana", "", "101")
            clock.advance(30)
            sale = store.pay(store.open_cart().cart_id)
            store.mark_receipt_shown(sale.receipt_no)
    return path


def tamper(path, *sql: tuple) -> None:
    """What someone with the file does: drop the append-only triggers, then change rows."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    for statement in sql:
        conn.execute(*statement)
    conn.commit()
    conn.close()


def verify(path, capsys) -> tuple[int, str]:
    rc = main(["audit", "verify", "--store", str(path)])
    return rc, capsys.readouterr().out


def rows(path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    out = conn.execute("SELECT * FROM audit_log ORDER BY id").fetchall()
    conn.close()
    return out


def seq_of(path, kind: str, n: int = 0) -> int:
    return [r["seq"] for r in rows(path) if r["kind"] == kind][n]


def test_an_untouched_log_verifies(store_path, capsys):
    rc, out = verify(store_path, capsys)
    assert rc == 0 and "OK: the audit log is whole and unedited" in out
    kinds = [r["kind"] for r in rows(store_path)]
    assert kinds[0] == "audit.started" and kinds.count("sale.closed") == 3 and kinds.count("line.add") == 6
    assert {"line.void", "staff.correction", "receipt.shown"} <= set(kinds)


def test_the_program_itself_can_only_append(store_path):
    conn = sqlite3.connect(store_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit_log SET actor = 'x' WHERE seq = 2")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_log WHERE seq = 2")
    conn.close()


def test_a_changed_amount_is_named(store_path, capsys):
    n = seq_of(store_path, "sale.closed", 1)
    tamper(store_path, ("UPDATE audit_log SET detail = replace(detail, '\"total\": ', '\"total\": 1') WHERE seq = ?",
                        (n,)))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and f"edited: row {n} (sale.closed" in out and "no longer matches its hash" in out
    # and the sales table, the receipt JSON and the receipt text no longer agree with it
    assert "FAILED: 4 problem(s)" in out and "totals" in out and "edited: receipt T1-000002 total" in out


def test_a_sale_edited_in_the_sales_table_is_named(store_path, capsys):
    conn = sqlite3.connect(store_path)
    conn.execute("UPDATE sales SET total = 100 WHERE receipt_no = 'T1-000002'")
    conn.commit()
    conn.close()
    rc, out = verify(store_path, capsys)
    assert rc == 1 and "edited: sale T1-000002 totals 100 paise in the sales table" in out


def test_a_deleted_row_is_named(store_path, capsys):
    n = seq_of(store_path, "line.void")
    tamper(store_path, ("DELETE FROM audit_log WHERE seq = ?", (n,)))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and f"deleted: row {n} deleted (between rows {n - 1} and {n + 1})" in out


def test_rows_cut_off_at_the_end_are_named(store_path, capsys):
    last = rows(store_path)[-1]["seq"]
    tamper(store_path, ("DELETE FROM audit_log WHERE seq > ?", (last - 2,)))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and f"2 row(s) after row {last - 2}" in out


def test_an_inserted_row_is_named(store_path, capsys):
    """A row made up with the chain's hashes right: only the kiosk's key makes a MAC that fits."""
    last = dict(rows(store_path)[-1])
    fake = {"seq": last["seq"] + 1, "at": last["at"], "kind": "line.void", "actor": "101",
            "detail": {"line_id": "x", "total": 4500}, "prev": last["hash"]}
    fake["hash"] = content_hash(fake)
    import json

    tamper(store_path, ("INSERT INTO audit_log (seq, at, kind, actor, detail, prev, hash, mac, key_id) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (fake["seq"], fake["at"], fake["kind"], fake["actor"], json.dumps(fake["detail"]),
                         fake["prev"], fake["hash"], mac_of(secrets.token_bytes(32), fake["hash"]), last["key_id"])))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and f"inserted: a row {fake['seq']} (line.void" in out and "MAC is not this kiosk's" in out


def test_a_copied_row_inserted_in_the_middle_is_named(store_path, capsys):
    r = dict(rows(store_path)[4])
    tamper(store_path, ("INSERT INTO audit_log (seq, at, kind, actor, detail, prev, hash, mac, key_id) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?)", tuple(r[k] for k in ("seq", "at", "kind", "actor", "detail",
                                                                            "prev", "hash", "mac", "key_id"))))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and f"row {r['seq']} ({r['kind']}" in out and "appears twice" in out


def test_a_swapped_pair_is_named(store_path, capsys):
    a, b = (dict(r) for r in rows(store_path)[5:7])
    cols = ("seq", "at", "kind", "actor", "detail", "prev", "hash", "mac", "key_id")
    sets = ", ".join(f"{c} = ?" for c in cols)
    tamper(store_path, (f"UPDATE audit_log SET {sets} WHERE id = ?", (*(b[c] for c in cols), a["id"])),
           (f"UPDATE audit_log SET {sets} WHERE id = ?", (*(a[c] for c in cols), b["id"])))
    rc, out = verify(store_path, capsys)
    assert rc == 1 and f"reordered: rows {a['seq']} and {b['seq']} swapped" in out
    assert "edited" not in out and "deleted" not in out


def test_without_the_key_nothing_verifies(store_path, capsys, tmp_path):
    """The key is outside the database file: the file alone cannot vouch for itself."""
    rc = main(["audit", "verify", "--store", str(store_path), "--key", str(tmp_path / "elsewhere.key")])
    out = capsys.readouterr().out
    assert rc == 1 and "no key at" in out


def test_a_lost_key_file_is_audited_and_the_old_rows_no_longer_verify(store_path, capsys):
    key = store_path.with_name("sales.audit-key")
    before = rows(store_path)[-1]["seq"]
    key.unlink()
    with SalesStore.open(store_path, kiosk_id="T1") as store:
        store.add_unit("milk", "Milk 1 l", 4500, 500)
        assert [r["kind"] for r in store.audit_rows()[-2:]] == ["audit.rekeyed", "line.add"]
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    rc, out = verify(store_path, capsys)
    assert rc == 1 and f"{before} row(s) were MACed with a key that is not in" in out


def test_verify_rows_names_each_kind_of_problem_in_one_pass():
    key = secrets.token_bytes(32)
    from kiosk.exchange.audit import GENESIS, key_id, seal

    chain, prev = [], GENESIS
    for n in range(1, 11):
        row = seal(n, f"2026-01-01T10:00:{n:02d}+00:00", "line.add", "shopper", {"n": n}, prev, key)
        chain.append(row)
        prev = row["hash"]
    assert verify_rows(chain, {key_id(key): key}).ok
    broken = [dict(r) for r in chain]
    broken[2]["detail"] = {"n": 300}  # edited
    del broken[5]  # row 6 deleted
    broken[6], broken[7] = broken[7], broken[6]  # rows 8 and 9 swapped
    report = verify_rows(broken, {key_id(key): key})
    assert report.counts() == {"edited": 1, "deleted": 1, "reordered": 1}
    assert [p.seq for p in report.problems] == [3, 8, 6]
