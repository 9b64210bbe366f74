"""An enrollment killed between its database commit and the renames of its photos (probe "kills", section 1).
Before: the photos were fsynced only after the commit (a power cut could leave a committed row an empty pending
file), a pending photo was put in place only at the next open and only once 10 minutes old, and the running kiosk's
packer sent the enrollment with the photos that were there (2 of 6) and marked it sent, so head office got it short,
never again. Now: every photo and its folder are fsynced before the commit and only renames follow; a pending photo a
committed row wants is put in place at once when its sha256 matches (at open and before packing); an enrollment
with a photo still not whole is held back, one line naming it, and never sent short."""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.bundle_format.atomic import AtomicFile
from kiosk.exchange.enrollment import read_enrollment_batch
from kiosk.gallery import Gallery
from kiosk.gallery.packer import EnrollmentPacker
from tests.gallery.test_enrollment_upload import Outbox, teach

VALUES = (10, 50, 90, 130, 170, 210)


def _kill_at_rename(monkeypatch, nth: int = 3) -> None:
    """The enrolling process dies at the ``nth`` rename after its commit (``nth - 1`` photos in place)."""
    real, calls = AtomicFile.commit, []

    def commit(self, **kw):
        calls.append(self.path)
        if len(calls) == nth:
            raise KeyboardInterrupt("killed")
        return real(self, **kw)

    monkeypatch.setattr(AtomicFile, "commit", commit)


def _pending(root: Path) -> list[Path]:
    return sorted((root / "photos").glob("*/.*.tmp"))


def _sent(box: Outbox) -> list[int]:
    """Photos per batch head office would get."""
    return [len(read_enrollment_batch(data, name).records) for name, data in sorted(box.batches.items())]


def test_photos_and_their_folder_are_fsynced_before_the_rows_commit_and_only_renamed_after(tmp_path, monkeypatch):
    synced, at_commit = [], []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    with Gallery.open(tmp_path / "g") as g:
        real_insert = g._insert
        monkeypatch.setattr(g, "_insert", lambda *a: (at_commit.extend(synced), real_insert(*a))[1])
        synced.clear()
        teach(g, "kiwi", (10, 60, 110))
        folder = str(tmp_path / "g/photos/kiwi")
        pending = [p for p in at_commit if Path(p).name.endswith(".tmp")]
        assert len(pending) == 3 and at_commit[-1] == folder  # each photo, then the folder, before the commit
        assert synced[len(at_commit):] == [folder]  # after it: the renames, one fsync of the folder


def test_a_kill_after_the_commit_reaches_head_office_whole_from_the_running_kiosk(tmp_path, monkeypatch, caplog):
    """The probe: the kiosk's gallery is open, a Teach enrollment dies after 2 of 6 renames; the next round."""
    kiosk = Gallery.open(tmp_path / "g")
    enrolling = Gallery.open(tmp_path / "g")
    _kill_at_rename(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        teach(enrolling, "banana", VALUES)
    monkeypatch.undo()
    assert len(_pending(tmp_path / "g")) == 4
    box = Outbox()
    with caplog.at_level(logging.WARNING):
        assert EnrollmentPacker(kiosk, box, kiosk_id="K1", store_id="BLR-7").pack() == 1
    assert _sent(box) == [6] and kiosk.unsent() == []
    (e,) = kiosk.enrollments()
    _, rows = kiosk.for_head_office(e.enrollment_id)
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == sha for p, sha, _ in rows)
    assert not any("not sent" in r.getMessage() for r in caplog.records)
    kiosk.close()
    enrolling.close()


def test_a_restart_puts_a_young_pending_photo_a_row_wants_in_place_at_once(tmp_path, monkeypatch):
    root = tmp_path / "g"
    with Gallery.open(root) as g:
        _kill_at_rename(monkeypatch, nth=1)
        with pytest.raises(KeyboardInterrupt):
            teach(g, "kiwi", (10, 60))
        monkeypatch.undo()
    assert list((root / "photos/kiwi").glob("*.png")) == []
    stray = root / "photos/kiwi/.0123456789abcdef0125.png.0123456789ab.tmp"  # no row wants it: another enrollment's
    stray.write_bytes(b"being written")
    with Gallery.open(root) as g:  # seconds later, not 10 minutes
        (e,) = g.enrollments()
        assert all(p.is_file() for p in g.photos_of(e.enrollment_id)) and len(g.photos_of(e.enrollment_id)) == 2
    assert stray.exists()  # the 10-minute rule stays for what no committed row wants


def test_a_pending_photo_not_matching_its_hash_is_not_used_and_its_enrollment_is_held(tmp_path, monkeypatch, caplog):
    """A power cut under the old order: a committed row's pending file came back empty. Not put in place, the
    enrollment named in one line, and not sent short (before: sent with 2 photos, or marked sent with none)."""
    root = tmp_path / "g"
    g = Gallery.open(root)
    _kill_at_rename(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        teach(g, "banana", VALUES)
    monkeypatch.undo()
    empty = _pending(root)[0]
    empty.write_bytes(b"")
    box = Outbox()
    packer = EnrollmentPacker(g, box, kiosk_id="K1", store_id="BLR-7")
    with caplog.at_level(logging.WARNING):
        assert packer.pack() == 0
    assert box.batches == {} and [e.enrollment_id for e in g.unsent()] == [1]
    assert len(list((root / "photos/banana").glob("*.png"))) == 5 and empty.exists()
    lines = [r.getMessage() for r in caplog.records if "enrollment 1 " in r.getMessage()]
    assert len(lines) == 3 and all("\n" not in line for line in lines)
    assert "3 photo(s) put in place" in lines[0] and "1 photo(s) missing" in lines[1]
    assert "do not match the stored sha256" in lines[1] and "1 of 6 photo(s)" in lines[2]
    assert "not sent this round" in lines[2]
    g.close()


def test_an_enrollment_held_back_does_not_take_the_rounds_place(tmp_path, caplog):
    with Gallery.open(tmp_path / "g") as g:
        teach(g, "kiwi", (10, 60))
        teach(g, "lime", (20, 70))
        sorted((tmp_path / "g/photos/kiwi").glob("*.png"))[0].unlink()
        box = Outbox()
        packer = EnrollmentPacker(g, box, kiosk_id="K1", store_id="BLR-7", per_round=1)
        with caplog.at_level(logging.WARNING):
            assert packer.pack() == 1 and _sent(box) == [2]
        assert [(e.sku, e.sent_at) for e in g.unsent()] == [("kiwi", None)]
        assert packer.pack() == 0 and len(box.batches) == 1  # still held, next round too
    (line, again) = [r.getMessage() for r in caplog.records if "kiwi" in r.getMessage()]
    assert line.startswith("enrollment 1 (kiwi): 1 of 2 photo(s)") and "never sent short" in line and again == line


CHILD = r"""
import os, sys
import numpy as np
from kiosk.bundle_format.atomic import AtomicFile
from kiosk.gallery import Gallery
g = Gallery.open(sys.argv[1])
real, n = AtomicFile.commit, []
def commit(self, **kw):
    n.append(1)
    if len(n) == 3:
        os.kill(os.getpid(), 9)
    return real(self, **kw)
AtomicFile.commit = commit
photos = [bytes([i]) * 1000 for i in range(6)]
g.add("banana", photos, np.ones((6, 4), np.float32), "fk")
"""


def test_a_sigkill_between_the_commit_and_the_renames(tmp_path):
    root = tmp_path / "g"
    kiosk = Gallery.open(root)
    started = time.monotonic()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    r = subprocess.run([sys.executable, "-c", CHILD, str(root)], capture_output=True, env=env, timeout=30)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-500:]
    assert len(_pending(root)) == 4 and time.monotonic() - started < 10
    box = Outbox()
    assert EnrollmentPacker(kiosk, box, kiosk_id="K1", store_id="BLR-7").pack() == 1
    assert _sent(box) == [6] and kiosk.unsent() == []
    kiosk.close()
