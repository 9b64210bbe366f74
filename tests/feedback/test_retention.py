"""Retention with a fake clock: feedback goes by age and by size, oldest first; cart lines and sales stay."""

from __future__ import annotations

import os
from collections import namedtuple
from pathlib import Path

from kiosk.domain.cart import CartLine
from kiosk.feedback.retention import Retention
from kiosk.store import LineProvenance, SalesStore

Usage = namedtuple("Usage", "total used free")


def photo(captures: Path, pid: str, size: int) -> str:
    path = captures / pid[:8] / f"{pid}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8" + b"p" * (size - 4) + b"\xff\xd9")
    return str(path)


def place(store: SalesStore, captures: Path, pid: str, size: int = 10_000, *, sell: bool = True) -> str:
    prov = LineProvenance(pid, photo(captures, pid, size), "banana", (("banana", 0.9),), 3, 500, "")
    store.record_placement(prov)
    if sell:
        store.add_line(CartLine.unit("milk", "Milk", 7200, 0), LineProvenance(**{**_fields(prov), "chooser": "auto"}))
    return prov.image_path


def _fields(p: LineProvenance) -> dict:
    return {f: getattr(p, f) for f in p.__dataclass_fields__}


def snapshot(store: SalesStore):
    rows = store._conn.execute("SELECT * FROM cart_lines ORDER BY seq").fetchall()
    return [tuple(r) for r in rows], [s.receipt_no for s in store.sales()], store.integrity_check()


def test_purge_by_age_then_by_size_never_touches_lines_or_sales(tmp_path, clock):
    captures = tmp_path / "captures"
    store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
    old = [place(store, captures, f"20261201-1000{i:02d}-old{i}") for i in range(3)]
    store.pay(store.open_cart().cart_id)
    clock.advance(days=20)
    mid = [place(store, captures, f"20261221-1000{i:02d}-mid{i}") for i in range(4)]
    clock.advance(days=15)  # the first three are 35 days old, the next four 15
    new = [place(store, captures, f"20270105-1000{i:02d}-new{i}", sell=False) for i in range(2)]
    before = snapshot(store)
    keep = Retention(store, captures, keep_days=30, keep_bytes=45_000, min_free=0, clock=clock)

    result = keep.purge()
    assert result.rows == 3 and all(not os.path.exists(p) for p in old)
    assert [store.feedback(f"20261201-1000{i:02d}-old{i}") for i in range(3)] == [None] * 3
    # 6 photos of 10 kB are left against 45 kB: the two oldest go, their rows stay without a photo
    assert result.photos == 3 + 2
    assert [os.path.exists(p) for p in mid + new] == [False, False, True, True, True, True]
    assert store.feedback("20261221-100000-mid0")["image_path"] == "" and store.feedback_photo_bytes() == 40_000
    assert snapshot(store) == before  # every cart line, the sale and the file's integrity as they were
    assert keep.purge().photos == 0  # nothing more to do


def test_old_files_the_store_does_not_know_go_by_age(tmp_path, clock):
    captures = tmp_path / "captures"
    store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
    legacy = Path(photo(captures, "20250101-000000-legacy", 5000))  # a full frame an older version kept
    fresh = Path(photo(captures, "20261201-000000-fresh", 5000))
    os.utime(legacy, (clock().timestamp() - 40 * 86400,) * 2)
    os.utime(fresh, (clock().timestamp() - 1 * 86400,) * 2)
    result = Retention(store, captures, keep_days=30, keep_bytes=1 << 30, min_free=0, clock=clock).purge()
    assert result.orphans == 1 and not legacy.exists() and not legacy.parent.exists() and fresh.exists()


def test_a_full_disk_purges_the_oldest_feedback_photos_first(tmp_path, clock):
    captures = tmp_path / "captures"
    store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
    paths = []
    for i in range(5):
        paths.append(place(store, captures, f"20261201-1000{i:02d}-p{i}"))
        clock.advance(minutes=1)
    free = {"bytes": 25_000}  # free with all five photos there (50 kB)

    def usage(_path):  # a disk that other things filled: deleting a photo frees its bytes
        on_disk = sum(os.path.getsize(p) for p in paths if os.path.exists(p))
        return Usage(1 << 30, 0, free["bytes"] + 50_000 - on_disk)

    keep = Retention(store, captures, keep_days=30, keep_bytes=1 << 30, min_free=40_000, clock=clock,
                     disk_usage=usage)
    lines = snapshot(store)
    assert keep.make_room(5_000)  # 25 kB free, 45 kB wanted: the two oldest photos went
    assert [os.path.exists(p) for p in paths] == [False, False, True, True, True]
    free["bytes"] = -60_000  # nothing of ours can make enough room: the answer is no, every photo gone, lines kept
    assert not keep.make_room(5_000)
    assert not any(os.path.exists(p) for p in paths) and snapshot(store) == lines
