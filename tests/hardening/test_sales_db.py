"""How the till-side commands (``checkout receipt …``, ``checkout staff …``) and the store open a kiosk's sales
database: with the kiosk's own settings (``--config``: store, audit key, kiosk id); read-only when they only read
(no key made, no row written); never re-keying a log that has rows; never making a new database at a mistyped path;
two processes opening a new store at once migrate it once; a read-only file or folder is named as such."""

from __future__ import annotations

import hashlib
import io
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import main as checkout
from kiosk.store import SalesStore, StoreError
from kiosk.store import sales as sales_module

REPO = Path(__file__).resolve().parents[2]


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    rc = checkout([str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    if rc:
        assert len(out.err.strip().splitlines()) == 1 and out.err.startswith("checkout: error: "), out.err
    return rc, out.out, out.err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def audit_kinds(store: Path) -> list[str]:
    c = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return [r[0] for r in c.execute("SELECT kind FROM audit_log ORDER BY id")]
    finally:
        c.close()


@pytest.fixture
def kiosk(tmp_path) -> dict[str, Path]:
    """A kiosk whose audit key lives apart from its store (``audit_key`` in its kiosk.toml), after one sale."""
    s2, keys = tmp_path / "s2", tmp_path / "keys"
    s2.mkdir()
    store, key, config = s2 / "sales.sqlite", keys / "audit.key", s2 / "kiosk.toml"
    config.write_text(f'store = "{store}"\naudit_key = "{key}"\nkiosk_id = "K2"\n')
    with SalesStore.open(store, kiosk_id="K2", audit_key=key) as s:
        s.add_unit("milk", "Milk", 7200, 0)
        s.pay(s.open_cart().cart_id)
    return {"store": store, "key": key, "config": config, "stray": s2 / "sales.audit-key"}


def test_reading_commands_open_the_store_read_only(kiosk, capsys):
    """receipt list/day and staff list make no key and write no row (the log stays verifiable)."""
    store, before, rows = kiosk["store"], digest(kiosk["store"]), audit_kinds(kiosk["store"])
    for argv in (["receipt", "list", "--store", store], ["receipt", "day", "--store", store, "--json"],
                 ["staff", "list", "--store", store], ["receipt", "list", "--config", kiosk["config"]]):
        rc, out, err = run(capsys, *argv)
        assert rc == 0, err
    assert not kiosk["stray"].exists()
    assert digest(store) == before and audit_kinds(store) == rows
    assert run(capsys, "audit", "verify", "--config", kiosk["config"])[0] == 0


def test_a_writing_command_never_rekeys_a_kiosks_log(kiosk, capsys, monkeypatch):
    """receipt reprint / staff add with only --store, where the kiosk's key lives elsewhere: refused, naming the key
    the log was MACed with and --config; with --config they write under the kiosk's key and the log verifies."""
    store, rows = kiosk["store"], audit_kinds(kiosk["store"])
    rc, _, err = run(capsys, "receipt", "reprint", "--last", "--store", store)
    assert rc == 2 and "--config" in err and "re-key" in err and str(kiosk["stray"]) in err, err
    rc, _, err = run(capsys, "staff", "add", "Asha", "--role", "assistant", "--pin-stdin", "--store", store,
                     stdin="2580\n", monkeypatch=monkeypatch)
    assert rc == 2 and "--config" in err, err
    assert not kiosk["stray"].exists() and audit_kinds(store) == rows
    rc, out, err = run(capsys, "receipt", "reprint", "--last", "--config", kiosk["config"])
    assert rc == 0 and "DUPLICATE" in out and "K2-000001" in out, err
    rc, _, err = run(capsys, "staff", "add", "Asha", "--role", "assistant", "--pin-stdin", "--config",
                     kiosk["config"], stdin="2580\n", monkeypatch=monkeypatch)
    assert rc == 0, err
    assert audit_kinds(store) == rows + ["receipt.reprinted", "staff.account_added"]
    assert not kiosk["stray"].exists()
    rc, out, err = run(capsys, "audit", "verify", "--config", kiosk["config"])
    assert rc == 0, out + err


def test_the_store_keeps_rekeying_for_the_kiosk_but_not_on_request(kiosk):
    """The kiosk itself still re-keys a log whose key file has gone (and says so in the log); a caller that asks
    for no new key over a log with rows gets StoreError naming the key path and the key id of the rows."""
    with pytest.raises(StoreError, match=r"re-key.*") as caught:
        SalesStore.open(kiosk["store"], kiosk_id="K2", new_key="if-log-empty")
    assert str(kiosk["stray"]) in str(caught.value) and "row(s)" in str(caught.value)
    assert not kiosk["stray"].exists()
    with SalesStore.open(kiosk["store"], kiosk_id="K2") as s:  # the kiosk's way (default): a new key, said so
        s.audit("test.event", "test")
    assert kiosk["stray"].exists() and audit_kinds(kiosk["store"])[-2:] == ["audit.rekeyed", "test.event"]


def test_a_missing_store_is_refused_not_made(tmp_path, capsys, monkeypatch):
    """A mistyped --store makes nothing; staff add before the kiosk's first start goes through --config (the path
    the kiosk will open, with its audit key)."""
    typo = tmp_path / "typo" / "sales.sqllite"
    for argv in (["staff", "list", "--store", typo], ["staff", "disable", "101", "--store", typo],
                 ["receipt", "list", "--store", typo]):
        rc, _, err = run(capsys, *argv)
        assert rc == 2 and f"{typo}: no sales database there" in err, err
    rc, _, err = run(capsys, "staff", "add", "Asha", "--role", "assistant", "--pin-stdin", "--store", typo,
                     stdin="2580\n", monkeypatch=monkeypatch)
    assert rc == 2 and "no sales database there" in err and "--config" in err, err
    assert not typo.parent.exists()
    for argv in (["receipt", "reprint", "--last", "--store", tmp_path], ["staff", "list", "--store", tmp_path]):
        rc, _, err = run(capsys, *argv)
        assert rc == 2 and "is a folder, not a sales database" in err, err
    config, store, key = tmp_path / "kiosk.toml", tmp_path / "new" / "sales.sqlite", tmp_path / "keys" / "audit.key"
    config.write_text(f'store = "{store}"\naudit_key = "{key}"\nkiosk_id = "K3"\n')
    rc, out, err = run(capsys, "staff", "add", "Asha", "--role", "assistant", "--pin-stdin", "--config", config,
                       stdin="2580\n", monkeypatch=monkeypatch)
    assert rc == 0 and "staff number 101" in out, err
    assert key.exists() and not (store.parent / "sales.audit-key").exists()
    assert run(capsys, "audit", "verify", "--config", config)[0] == 0


class _OtherProcessFirst:
    """A connection whose first BEGIN IMMEDIATE lets "another process" migrate the same new file first: the race
    of two tills' first starts, made deterministic."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn, self._path, self._raced = conn, path, False

    def execute(self, sql: str, *args):
        if sql == "BEGIN IMMEDIATE" and not self._raced:
            self._raced = True
            other = sales_module._connect(self._path)
            sales_module._migrate(other, self._path)
            other.close()
        return self._conn.execute(sql, *args)


def test_a_new_store_migrated_by_another_process_meanwhile_is_migrated_once(tmp_path):
    path = tmp_path / "new.sqlite"
    conn = sales_module._connect(path)
    sales_module._migrate(_OtherProcessFirst(conn, path), path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == sales_module.SCHEMA_VERSION
    conn.close()
    with SalesStore.open(path) as s:
        assert s.integrity_check() == "ok"


_OPEN_AT_ONCE = """
import sys, time
from kiosk.store import SalesStore
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
SalesStore.open(sys.argv[1]).close()
"""


def test_six_processes_opening_one_new_store_at_once_all_succeed(tmp_path):
    import time

    for round_ in range(3):
        path, start = tmp_path / f"r{round_}" / "k.sqlite", time.time() + 1.0
        procs = [subprocess.Popen([sys.executable, "-c", _OPEN_AT_ONCE, str(path), str(start)], cwd=REPO,
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), [e for e in errors if e]


def _as_on_a_read_only_mount(monkeypatch) -> None:
    """What a read-only mount does to SQLite (tests run as root, who can write anywhere): the folder cannot be
    written, so a WAL database whose -shm is not there cannot be opened unless it is immutable."""
    real_connect = sqlite3.connect

    def connect(database, *args, **kwargs):
        if "immutable=1" not in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(sales_module, "read_only_reason", lambda path: "on a read-only file system", raising=False)
    monkeypatch.setattr(sales_module.sqlite3, "connect", connect)


def test_a_good_store_on_a_read_only_mount_is_read_and_named_read_only(kiosk, capsys, monkeypatch):
    c = sqlite3.connect(kiosk["store"])  # the sale's own day: the test may run across midnight
    day = c.execute("SELECT closed_at FROM sales").fetchone()[0][:10]
    c.close()
    for ext in ("-wal", "-shm"):
        Path(f"{kiosk['store']}{ext}").unlink(missing_ok=True)
    _as_on_a_read_only_mount(monkeypatch)
    rc, out, err = run(capsys, "receipt", "list", "--store", kiosk["store"], "--date", day)
    assert rc == 0 and "K2-000001" in out, err
    rc, _, err = run(capsys, "receipt", "reprint", "--last", "--config", kiosk["config"])
    assert rc == 2 and "read-only" in err and "not a usable" not in err, err
    with pytest.raises(StoreError, match="read-only"):
        SalesStore.open(kiosk["store"])


def test_a_write_refused_by_sqlite_as_read_only_is_named_so(kiosk):
    """SQLite's own read-only refusal (here: a mode=ro connection) reads as read-only, not as a corrupt file."""
    conn = sqlite3.connect(f"file:{kiosk['store']}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    message = str(sales_module.unusable(kiosk["store"], caught.value))
    assert "read-only" in message and "not a usable" not in message and str(kiosk["store"]) in message
    garbage = kiosk["store"].with_name("garbage.sqlite")
    garbage.write_bytes(b"garbage" * 1000)
    with pytest.raises(StoreError, match="not a usable sales database"):
        SalesStore.open(garbage, readonly=True)
