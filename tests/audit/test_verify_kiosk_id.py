"""``audit verify --config kiosk.toml`` holds the log's own kiosk id (its ``audit.started`` row, MACed) against the
settings' ``kiosk_id``: another kiosk's database and key put where this kiosk's settings point do not pass."""

from __future__ import annotations

import shutil

from kiosk.cli import main
from kiosk.store import SalesStore


def till(folder, kiosk_id: str):
    folder.mkdir()
    store, key, config = folder / "sales.sqlite", folder / "audit.key", folder / "kiosk.toml"
    config.write_text(f'store = "{store}"\naudit_key = "{key}"\nkiosk_id = "{kiosk_id}"\n')
    with SalesStore.open(store, kiosk_id=kiosk_id, audit_key=key) as s:
        s.add_unit("milk", "Milk", 7200, 0)
        s.pay(s.open_cart().cart_id)
    return store, key, config


def test_the_kiosks_own_log_says_so_in_one_line(tmp_path, capsys):
    _, _, config = till(tmp_path / "k1", "K1")
    assert main(["audit", "verify", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "  kiosk: K1, as the settings say (its audit.started row 1)\n" in out and "OK:" in out


def test_another_kiosks_database_and_key_are_named(tmp_path, capsys):
    store, key, config = till(tmp_path / "k1", "K1")
    other_store, other_key, _ = till(tmp_path / "k2", "K2")
    for suffix in ("", ".head"):  # K2's files, witness and all, where K1's settings point
        shutil.copyfile(f"{other_key}{suffix}", f"{key}{suffix}")
    shutil.copyfile(other_store, store)
    assert main(["audit", "verify", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "  kiosk: the log is kiosk K2's, the settings say K1\n" in out
    assert "another kiosk's log: its audit.started row (row 1) names kiosk K2, the settings name kiosk K1" in out
    assert out.rstrip().endswith("FAILED: 1 problem(s)")
    assert main(["audit", "verify", "--store", str(store), "--key", str(key)]) == 0  # no settings: nothing to hold
    assert "kiosk:" not in capsys.readouterr().out
