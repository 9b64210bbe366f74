"""Rows cut off the END of the audit log leave no trace inside the file; the witness beside the key does
(:mod:`kiosk.store.audit_witness`). A -wal file deleted after a power cut, a trailing ``staff disable`` row deleted
with SQLite's counter set back, an older copy restored: ``audit verify`` names each, and the kiosk (any store opened
with its key) refuses to start on it in one line naming both files instead of issuing receipt numbers again. A crash
between the commit and the witness is no alarm."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3

import pytest

from kiosk.cli import main
from kiosk.exchange.audit import seal
from kiosk.store import SalesStore
from kiosk.store.audit import AuditMixin, load_key
from kiosk.store.sales import StoreError
from tests.services.conftest import Clock


def sell(store, n: int = 1) -> str:
    for _ in range(n):
        store.add_unit("milk", "Milk 1 l", 4500, 0, 1)
        store.add_unit("oat", "Oat milk", 27500, 0, 1)
        sale = store.pay(store.open_cart().cart_id)
        store.mark_receipt_shown(sale.receipt_no)
    return sale.receipt_no


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "sales.sqlite"
    with SalesStore.open(p, kiosk_id="K1", clock=Clock()) as store:
        sell(store, 2)
    return p


def witness(path):
    return path.with_name(path.stem + ".audit-key.head")


def verify(path, capsys) -> tuple[int, str]:
    rc = main(["audit", "verify", "--store", str(path)])
    return rc, capsys.readouterr().out


def test_the_witness_follows_each_commit_and_an_untouched_log_verifies(path, capsys):
    doc = json.loads(witness(path).read_text())
    with SalesStore.open(path, kiosk_id="K1") as store:
        assert (doc["seq"], doc["hash"]) == store.audit_head()
        sell(store)
        assert json.loads(witness(path).read_text())["seq"] == store.audit_head()[0]
    rc, out = verify(path, capsys)
    assert rc == 0, out
    assert f"witness: row {doc['seq'] + 4} ({witness(path)})" in out


def test_a_deleted_wal_after_a_power_cut_is_named_and_the_kiosk_refuses_to_start(path, tmp_path, capsys):
    """The last two sales live only in sales.sqlite-wal when the power goes; deleting it drops them (their receipt
    numbers would be issued again). Reproduced in-process: the main file copied before any checkpoint."""
    store = SalesStore.open(path, kiosk_id="K1", clock=Clock())
    last = sell(store, 2)
    before_cut = tmp_path / "main-file-only.sqlite"
    shutil.copyfile(path, before_cut)  # what sales.sqlite holds while the two sales are only in its -wal
    store._conn.close()
    shutil.copyfile(before_cut, path)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    rc, out = verify(path, capsys)
    assert rc == 1 and "FAILED" in out
    assert f"deleted: 8 row(s) after row 9: the witness {witness(path)} says row 17" in out
    with pytest.raises(StoreError) as refused:
        SalesStore.open(path, kiosk_id="K1")
    line = str(refused.value)
    assert "\n" not in line and str(path) in line and str(witness(path)) in line and "rolled back" in line
    rc = main(["receipt", "reprint", "--last", "--store", str(path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "rolled back" in err and last == "K1-000004"


def test_a_trailing_staff_disable_cut_with_the_counter_set_back_is_named(path, capsys):
    from kiosk.config import hash_pin

    with SalesStore.open(path, kiosk_id="K1") as store:
        store.add_staff("Asha", "assistant", hash_pin("5820"), by="cli")
        store.set_staff_active("101", False, by="cli:manager")
        top = store.audit_head()[0]
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_log_no_delete")
    conn.execute("DELETE FROM audit_log WHERE seq = ?", (top,))
    conn.execute("UPDATE sqlite_sequence SET seq = seq - 1 WHERE name = 'audit_log'")
    conn.execute("UPDATE staff_accounts SET active = 1, updated_at = created_at WHERE staff_no = '101'")
    conn.commit()
    conn.close()
    rc, out = verify(path, capsys)
    assert rc == 1 and f"deleted: 1 row(s) after row {top - 1}: the witness" in out and f"says row {top}" in out
    with pytest.raises(StoreError, match="rolled back"):
        SalesStore.open(path, kiosk_id="K1")


def test_a_restored_older_copy_is_named(path, tmp_path, capsys):
    snapshot = tmp_path / "snapshot.sqlite"
    with sqlite3.connect(path) as src, sqlite3.connect(snapshot) as dst:
        src.backup(dst)
    with SalesStore.open(path, kiosk_id="K1") as store:
        sell(store)
    with sqlite3.connect(snapshot) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    rc, out = verify(path, capsys)
    assert rc == 1 and "deleted: 4 row(s) after row 9" in out
    with pytest.raises(StoreError, match="rolled back"):
        SalesStore.open(path, kiosk_id="K1")


def test_another_log_at_the_witnessed_row_is_named(path, tmp_path, capsys):
    """Another file of the same length (a second till's, say) under this kiosk's witness: the row differs."""
    key = path.with_name("sales.audit-key")
    other = tmp_path / "other" / "sales.sqlite"
    other.parent.mkdir()
    shutil.copyfile(key, other.with_name("sales.audit-key"))
    with SalesStore.open(other, kiosk_id="K1", clock=Clock()) as store:
        sell(store, 2)
    shutil.copyfile(other, path)
    rc, out = verify(path, capsys)
    assert rc == 1 and "replaced: row 9 is not the row the witness" in out
    with pytest.raises(StoreError, match="replaced or rewritten"):
        SalesStore.open(path, kiosk_id="K1")


def test_a_crash_between_the_commit_and_the_witness_is_no_alarm(path, capsys, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(AuditMixin, "_audit_committed", lambda self: None)  # killed right after each COMMIT
        with SalesStore.open(path, kiosk_id="K1") as store:
            sell(store)
            head = store.audit_head()[0]
    assert json.loads(witness(path).read_text())["seq"] == 9
    rc, out = verify(path, capsys)
    assert rc == 0 and f"witness: row 9 ({witness(path)}), 4 row(s) behind the log" in out
    with SalesStore.open(path, kiosk_id="K1"):  # the next start brings it up to the log's last row
        pass
    assert json.loads(witness(path).read_text())["seq"] == head


def test_a_witness_edited_by_hand_is_refused(path, capsys):
    doc = json.loads(witness(path).read_text())
    witness(path).write_text(json.dumps({**doc, "seq": doc["seq"] - 4}))
    rc, out = verify(path, capsys)
    assert rc == 1 and "edited: the witness" in out and "edited by hand" in out
    with pytest.raises(StoreError, match="edited by hand"):
        SalesStore.open(path, kiosk_id="K1")
    witness(path).write_text("\x00garbage")
    with pytest.raises(StoreError, match="not an audit witness"):
        SalesStore.open(path, kiosk_id="K1")
    assert main(["audit", "verify", "--store", str(path)]) == 1


def test_a_missing_witness_is_recorded_loudly_and_named_by_verify(path, capsys, caplog):
    witness(path).unlink()
    with caplog.at_level(logging.WARNING), SalesStore.open(path, kiosk_id="K1") as store:
        row = store.audit_rows()[-1]
    assert row["kind"] == "audit.witness_started" and row["detail"]["lost"] is True
    warning = [r.getMessage() for r in caplog.records if "no witness at" in r.getMessage()]
    assert len(warning) == 1 and str(path) in warning[0] and str(witness(path)) in warning[0]
    rc, out = verify(path, capsys)
    assert rc == 1 and f"deleted?: row {row['seq']}" in out and "started without its witness file" in out


def test_a_log_begun_before_witnesses_gets_one_quietly(tmp_path, capsys, caplog):
    path = tmp_path / "sales.sqlite"
    SalesStore.open(path, kiosk_id="K1").close()
    witness(path).unlink()
    key = load_key(path.with_name("sales.audit-key"))
    row = seal(1, "2026-11-30T10:00:00+05:30", "audit.started", "kiosk",
               {"kiosk_id": "K1", "sales_before": 0, "last_receipt_before": None}, "0" * 64, key)
    with sqlite3.connect(path) as conn:  # the first row as the kiosk wrote it before witnesses
        conn.execute("INSERT INTO audit_log (seq, at, kind, actor, detail, prev, hash, mac, key_id) VALUES "
                     "(?, ?, ?, ?, ?, ?, ?, ?, ?)", (1, row["at"], row["kind"], row["actor"],
                                                      json.dumps(row["detail"]), row["prev"], row["hash"],
                                                      row["mac"], row["key_id"]))
    rc, out = verify(path, capsys)
    assert rc == 0 and "the log began before witnesses" in out
    with caplog.at_level(logging.WARNING), SalesStore.open(path, kiosk_id="K1") as store:
        assert store.audit_rows()[-1]["detail"]["lost"] is False
    assert not [r for r in caplog.records if "no witness at" in r.getMessage()]
    rc, out = verify(path, capsys)
    assert rc == 0 and "witness: row 2" in out


def test_a_witness_that_cannot_be_written_is_a_warning_and_the_sale_stays(path, caplog, monkeypatch):
    def fail(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("kiosk.store.audit.write_witness", fail)
    with caplog.at_level(logging.WARNING), SalesStore.open(path, kiosk_id="K1") as store:
        receipt = sell(store, 2)
        assert store.sale(receipt) is not None
    warnings = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]
