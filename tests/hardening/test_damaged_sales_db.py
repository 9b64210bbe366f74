"""A sales database with a zeroed page that none of ``audit verify``'s queries read (a table it does not check) said
"OK: the audit log is whole and unedited", exit 0, though SQLite's integrity check calls it malformed (21 of 40
single zeroed pages in the probe). ``audit verify`` and doctor's ``state`` line now run ``PRAGMA quick_check``,
read-only: a failure is a finding naming the database (exit 1), the file unchanged."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from kiosk.cli import main
from kiosk.store import SalesStore
from tests.services.conftest import Clock


@pytest.fixture
def damaged(tmp_path):
    """A kiosk's sales database with one sale, the root page of its ``feedback`` table zeroed."""
    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path, kiosk_id="T1", clock=Clock()) as store:
        store.add_unit("milk", "Milk 1 l", 4500, 500, 2)
        store.pay(store.open_cart().cart_id)
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'feedback'").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    data[(root - 1) * size:root * size] = bytes(size)
    path.write_bytes(data)
    return path


def test_audit_verify_finds_a_zeroed_page_its_queries_never_read(damaged, capsys):
    before = hashlib.sha256(damaged.read_bytes()).hexdigest()
    assert main(["audit", "verify", "--store", str(damaged)]) == 1
    out = capsys.readouterr().out
    assert f"{damaged}: damaged: SQLite's quick_check finds it malformed" in out and "FAILED: 1 problem(s)" in out
    assert hashlib.sha256(damaged.read_bytes()).hexdigest() == before


def test_doctor_state_fails_a_damaged_sales_database(damaged):
    from kiosk.doctor.state import SALES_TABLES, _database
    from kiosk.store import SCHEMA_VERSION

    problem, _ = _database(damaged, "sales database", SALES_TABLES, SCHEMA_VERSION)
    assert problem.startswith(f"{damaged}: not a usable sales database (damaged: SQLite's quick_check")


def test_a_whole_database_passes(tmp_path, capsys):
    path = tmp_path / "sales.sqlite"
    with SalesStore.open(path, kiosk_id="T1", clock=Clock()) as store:
        store.add_unit("milk", "Milk 1 l", 4500, 500, 2)
        store.pay(store.open_cart().cart_id)
    assert main(["audit", "verify", "--store", str(path)]) == 0
    assert "OK: the audit log is whole and unedited" in capsys.readouterr().out
