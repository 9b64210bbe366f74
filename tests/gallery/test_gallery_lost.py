"""A gallery.sqlite lost, zero-length or replaced after a power cut (photos/ intact). Before: the open silently made
a new, empty gallery, its orphan clean-up deleted every taught photo older than 10 minutes, and enrollment ids
restarted at 1, so head office joined the next product's photos with an old enrollment of another SKU. Now: one line
naming the file, every photo kept (only files under a pending name are ever removed), a new gallery id that head
office joins on, and batches of one enrollment id that disagree kept apart with one line naming store and batch."""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time

import pytest

from kiosk.exchange import write_batch
from kiosk.exchange.enrollment import KIND, join_enrollments, read_enrollment_batch
from kiosk.gallery import Gallery
from kiosk.gallery.packer import EnrollmentPacker
from tests.gallery.test_enrollment_upload import HeadOfficeBox, Outbox, teach

HOUR_AGO = time.time() - 3600


def _photos(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in (root / "photos").rglob("*") if p.is_file()}


def _age(root) -> None:
    for p in (root / "photos").rglob("*"):
        if p.is_file():
            os.utime(p, (HOUR_AGO, HOUR_AGO))


def _lose(root, how: str) -> None:
    for p in root.glob("gallery.sqlite*"):
        p.unlink()
    if how == "zero":
        (root / "gallery.sqlite").write_bytes(b"")


@pytest.mark.parametrize("how", ["zero", "removed"])
def test_a_lost_gallery_database_keeps_every_photo_and_says_so_in_one_line(tmp_path, caplog, how):
    root = tmp_path / "g"
    with Gallery.open(root) as g:
        teach(g, "kiwi", (10, 60, 110))
        old_id = g.gallery_id
    before = _photos(root)
    _lose(root, how)
    _age(root)
    with caplog.at_level(logging.WARNING, "kiosk.gallery.store"), Gallery.open(root) as g:
        assert g.enrollments() == [] and g.gallery_id not in (None, old_id)
    assert _photos(root) == before and len(before) == 3  # nothing deleted
    (line,) = [r.getMessage() for r in caplog.records]
    assert "gallery.sqlite" in line and "3 file(s)" in line and "kept" in line and "checkout sku enroll" in line
    assert ("zero length" in line) == (how == "zero") and "\n" not in line


def test_the_gallery_id_is_kept_and_an_old_gallery_gets_one(tmp_path):
    root = tmp_path / "g"
    with Gallery.open(root) as g:
        gid = g.gallery_id
    assert len(gid) == 32
    with Gallery.open(root) as g, Gallery.open_readonly(root) as r:
        assert g.gallery_id == r.gallery_id == gid
    with sqlite3.connect(root / "gallery.sqlite") as c:  # a gallery made before galleries had ids
        c.execute("DROP TABLE gallery_info")
    with Gallery.open_readonly(root) as r:
        assert r.gallery_id is None
    with Gallery.open(root) as g:
        assert g.gallery_id not in (None, gid)


def test_only_photos_under_a_pending_name_are_ever_removed(tmp_path):
    root = tmp_path / "g"
    with Gallery.open(root) as g:
        teach(g, "kiwi", (10, 60))
    stray = root / "photos/kiwi/0123456789abcdef0123.png"  # no row: perhaps a lost database's photo
    stray.write_bytes(b"a photo")
    dead = root / "photos/kiwi/.0123456789abcdef0124.png.0123456789ab.tmp"  # a killed enrollment's
    dead.write_bytes(b"half")
    _age(root)
    live = root / "photos/kiwi/.0123456789abcdef0125.png.0123456789ab.tmp"  # another process enrolling now
    live.write_bytes(b"new")
    with Gallery.open(root) as g:
        assert len(g.enrollments()) == 1
    assert stray.exists() and live.exists() and not dead.exists()
    assert len(list((root / "photos/kiwi").glob("*.png"))) == 3


def test_photos_take_their_names_only_after_the_rows_commit_and_a_kill_between_is_settled(tmp_path, monkeypatch):
    from kiosk.bundle_format.atomic import AtomicFile

    root = tmp_path / "g"
    g = Gallery.open(root)
    seen = []
    real_insert = g._insert

    def insert(*args):
        seen.append(sorted(p.name for p in (root / "photos/kiwi").iterdir()))
        return real_insert(*args)

    monkeypatch.setattr(g, "_insert", insert)
    monkeypatch.setattr(AtomicFile, "commit", lambda self, **kw: (_ for _ in ()).throw(KeyboardInterrupt("kill")))
    with pytest.raises(KeyboardInterrupt):
        teach(g, "kiwi", (10, 60))
    monkeypatch.undo()
    g.close()
    assert len(seen[0]) == 2 and all(n.startswith(".") and n.endswith(".tmp") for n in seen[0])
    assert list((root / "photos/kiwi").glob("*.png")) == []  # the rows committed, the renames never ran
    _age(root)
    with Gallery.open(root) as g:
        (e,) = g.enrollments()
        rows = g.for_head_office(e.enrollment_id)[1]
    assert len(rows) == 2 and all(hashlib.sha256(p.read_bytes()).hexdigest() == sha for p, sha, _ in rows)
    assert [p.name for p in (root / "photos/kiwi").iterdir() if p.name.endswith(".tmp")] == []


def test_an_unusable_gallery_database_at_start_is_one_line_and_the_kiosk_sells_without_it(tmp_path, caplog):
    from kiosk.services.teaching import open_gallery

    root = tmp_path / "g"
    root.mkdir()
    (root / "gallery.sqlite").write_bytes(b"not a database at all" * 100)
    with caplog.at_level(logging.WARNING, "kiosk.services.teaching"):
        assert open_gallery(str(root)) is None
    (line,) = [r.getMessage() for r in caplog.records]
    assert str(root / "gallery.sqlite") in line and "sells without" in line and "\n" not in line


def _pack(g: Gallery, box) -> None:
    EnrollmentPacker(g, box, kiosk_id="K1", store_id="BLR-7").pack()


def test_head_office_never_joins_a_new_gallerys_enrollment_with_the_lost_ones(tmp_path):
    """The probe: apple's gallery lost, banana enrolled as id 1 again. Before: one enrollment 'kiwi' with 5 photos."""
    from trainer.fleet.collect import CollectReport, _read_enrollments
    from trainer.fleet.location import HeadOffice

    root, ho = tmp_path / "g", tmp_path / "ho"
    with Gallery.open(root) as g:
        assert teach(g, "kiwi", (10, 60, 110)).enrollment_id == 1
        _pack(g, HeadOfficeBox(ho))
    _lose(root, "zero")
    with Gallery.open(root) as g:
        assert teach(g, "lime", (20, 70)).enrollment_id == 1
        _pack(g, HeadOfficeBox(ho))
    report = CollectReport(str(ho), "")
    found = _read_enrollments(HeadOffice(str(ho)), report, tmp_path / "out")
    assert sorted(f.record["label"] for f in found) == ["kiwi"] * 3 + ["lime"] * 2
    assert report.enrollments == 2 and report.kept_apart == []  # two galleries: two enrollments, nothing to say


def test_collect_names_enrollments_it_kept_apart_in_its_summary(tmp_path):
    """One gallery gave enrollment id 1 to kiwi, then (a lost -wal) to lime: collect says so in its summary, not only
    in the log."""
    from trainer.fleet.collect import CollectReport, _read_enrollments
    from trainer.fleet.location import HeadOffice

    ho = tmp_path / "ho"
    with Gallery.open(tmp_path / "g", clock=lambda: "2026-12-01T10:15:02+05:30") as g:
        teach(g, "kiwi", (10, 60))
        _pack(g, HeadOfficeBox(ho))
        g._conn.execute("UPDATE enrollments SET sku = 'lime', sent_at = NULL, created_at = '2026-12-02T09:00:00Z'")
        _pack(g, HeadOfficeBox(ho))
    report = CollectReport(str(ho), "")
    found = _read_enrollments(HeadOffice(str(ho)), report, tmp_path / "out")
    assert sorted(f.record["label"] for f in found) == ["kiwi"] * 2 + ["lime"] * 2
    (said,) = report.kept_apart
    lines = [line for line in report.summary().splitlines() if "kept apart" in line]
    assert lines == [f"  kept apart {said['batch']}: {said['reason']}"] and "store BLR-7" in lines[0]


def _legacy(data: bytes, **change) -> tuple[str, bytes]:
    b = read_enrollment_batch(data)
    meta = {k: v for k, v in b.meta.items() if k != "gallery_id"} | change
    return write_batch(KIND, meta, b.records, b.files)


def test_batches_of_one_enrollment_id_that_disagree_are_kept_apart_with_one_line(tmp_path, caplog):
    """A lost -wal: the same gallery gives id 1 again to another SKU. Older kiosks' batches (no gallery id) too."""
    with Gallery.open(tmp_path / "g", clock=lambda: "2026-12-01T10:15:02+05:30") as g:
        teach(g, "kiwi", (10, 60))
        box = Outbox()
        _pack(g, box)
        g._conn.execute("UPDATE enrollments SET sku = 'lime', sent_at = NULL, created_at = '2026-12-02T09:00:00Z'")
        _pack(g, box)
    (kiwi, lime) = sorted(box.batches.items(), key=lambda kv: read_enrollment_batch(kv[1]).meta["sku"])
    for batches in ([kiwi, lime], [_legacy(kiwi[1]), _legacy(lime[1], sku="lime")]):
        apart: list[dict] = []
        with caplog.at_level(logging.WARNING, "kiosk.exchange.enrollment"):
            joined = join_enrollments(((n, read_enrollment_batch(d, n)) for n, d in batches), apart)
        assert sorted(e.meta["sku"] for e in joined) == ["kiwi", "lime"]
        (said,) = apart
        assert said["batch"] == batches[1][0] and "store BLR-7" in said["reason"] and "kept apart" in said["reason"]
        assert batches[1][0] in said["reason"] and "\n" not in said["reason"]


def test_older_batches_without_a_gallery_id_join_as_before(tmp_path):
    with Gallery.open(tmp_path / "g") as g:
        teach(g, "kiwi", (10, 60, 110))
        box = Outbox()
        _pack(g, box)
    ((name, data),) = box.batches.items()
    old_name, old = _legacy(data)
    assert "gallery_id" in read_enrollment_batch(data).meta and old_name != name
    for batches in ([(old_name, old)], [(old_name, old), (name, data)], [(name, data), (old_name, old)]):
        (e,) = join_enrollments((n, read_enrollment_batch(d, n)) for n, d in batches)
        assert len(e.records) == 3 and len(e.batches) == len(batches)


def test_a_gallery_id_that_is_not_one_refuses_the_batch(tmp_path):
    from kiosk.exchange import BatchError

    with Gallery.open(tmp_path / "g") as g:
        teach(g, "kiwi", (10, 60))
        box = Outbox()
        _pack(g, box)
    ((_, data),) = box.batches.items()
    name, bad = _legacy(data, gallery_id="../x")
    with pytest.raises(BatchError, match="gallery_id"):
        read_enrollment_batch(bad, name)
