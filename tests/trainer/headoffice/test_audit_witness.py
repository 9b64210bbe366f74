"""Rows cut off the end of a kiosk's log before they were sent leave no gap at head office; the witness of the log's
last row in the kiosk's heartbeat does: ``audit collect`` names a log rolled back, a forged witness and a kiosk that
started without its witness file."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import timedelta

from kiosk.audit.packer import AuditPacker
from kiosk.exchange.layout import heartbeat_key
from kiosk.feedback.heartbeat import build_heartbeat
from kiosk.store import SalesStore
from tests.services.conftest import Clock
from tests.trainer.headoffice.seed import _Outbox, kiosk_audit
from trainer.headoffice.audit_status import collect_audit


class _Store:
    """What the heartbeat reads of a store, besides the audit witness."""

    def __init__(self, store) -> None:
        self.store = store

    def feedback_counts(self, _since):
        return {}

    def feedback_photo_bytes(self):
        return 0

    def audit_witness(self):
        return self.store.audit_witness()


def beat(root, store, clock) -> None:
    """The kiosk's heartbeat as it builds it, a few minutes after its last row."""
    data = build_heartbeat(kiosk_id="K1", store_id="S1", now=clock.now + timedelta(minutes=5), store=_Store(store),
                           stats={}, outbox={}, captures=root, last_error=None)
    path = root / heartbeat_key("S1", "K1")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def sell(store) -> None:
    store.add_unit("arla-standard-milk", "Arla Milk 1 l", 7200, 0, 1)
    store.mark_receipt_shown(store.pay(store.open_cart().cart_id).receipt_no)


def pack(root, store) -> None:
    AuditPacker(store, _Outbox(root, "S1", "K1"), kiosk_id="K1", store_id="S1").pack()


def kiosk(tmp_path):
    root, keys, work, clock = tmp_path / "ho", tmp_path / "keys", tmp_path / "kiosk", Clock()
    work.mkdir()
    db = kiosk_audit(root, keys, work, "S1", "K1", sales=2, clock=clock)
    return root, keys, db, clock


def the_kiosk(root, keys):
    (k,) = collect_audit(str(root), keys).kiosks
    return k


def test_a_heartbeat_witness_that_fits_is_ok(tmp_path):
    root, keys, db, clock = kiosk(tmp_path)
    with SalesStore.open(db, kiosk_id="K1", clock=clock) as store:
        sell(store)
        beat(root, store, clock)  # rows 8-10 not sent yet: the witness may be ahead of what head office has
        k = the_kiosk(root, keys)
        assert (k.status, k.witnessed, k.last_seq) == ("ok", 10, 7)
        pack(root, store)
    assert the_kiosk(root, keys).status == "ok"


def test_rows_lost_before_they_were_sent_then_written_again_are_named(tmp_path):
    """The -wal lost after a power cut (rows 8-10 never sent); someone moves the witness aside, the kiosk starts
    and sells again: rows 8-10 come again, other rows. The heartbeat from before the cut names the rollback."""
    root, keys, db, clock = kiosk(tmp_path)
    copy = tmp_path / "before.sqlite"
    with SalesStore.open(db, kiosk_id="K1", clock=clock) as store:
        shutil.copyfile(db, copy)
        sell(store)
        beat(root, store, clock)
    shutil.copyfile(copy, db)
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    witness = db.with_name(db.stem + ".audit-key.head")
    witness.rename(witness.with_name("aside"))
    clock.advance(60)
    with SalesStore.open(db, kiosk_id="K1", clock=clock) as store:
        sell(store)
        pack(root, store)
    k = the_kiosk(root, keys)
    assert k.status == "broken"
    assert any(p.startswith("rolled back: its heartbeat of") and "witnesses row 10" in p for p in k.problems)
    assert any("row 8 (" in p and "started without its audit witness file" in p for p in k.problems)


def test_a_witness_restored_with_an_older_database_is_named(tmp_path):
    """An older copy restored with the witness of its day: the kiosk starts, but its heartbeat witnesses a row
    before rows head office received from before the heartbeat."""
    root, keys, db, clock = kiosk(tmp_path)
    witness = db.with_name(db.stem + ".audit-key.head")
    old_db, old_witness = tmp_path / "old.sqlite", tmp_path / "old.head"
    with sqlite3.connect(db) as src, sqlite3.connect(old_db) as dst:
        src.backup(dst)
    shutil.copyfile(witness, old_witness)
    with SalesStore.open(db, kiosk_id="K1", clock=clock) as store:
        sell(store)
        pack(root, store)
    with sqlite3.connect(old_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    shutil.copyfile(old_witness, witness)
    with SalesStore.open(db, kiosk_id="K1", clock=clock) as store:
        beat(root, store, clock)
    k = the_kiosk(root, keys)
    assert k.status == "broken" and k.witnessed == 7
    assert any("witnesses row 7 as its log's last, but row 10" in p for p in k.problems)


def test_a_forged_witness_is_named(tmp_path):
    root, keys, db, clock = kiosk(tmp_path)
    with SalesStore.open(db, kiosk_id="K1", clock=clock) as store:
        beat(root, store, clock)
    path = root / heartbeat_key("S1", "K1")
    doc = json.loads(path.read_text())
    doc["audit"]["seq"] = 3
    path.write_text(json.dumps(doc))
    k = the_kiosk(root, keys)
    assert k.status == "broken" and "not MACed with its enrolled key: forged" in k.problems[0]
