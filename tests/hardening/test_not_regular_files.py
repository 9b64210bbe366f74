"""Where a command reads a file a user names, a FIFO, a device (/dev/zero), a link loop or a folder is refused in one
line saying what is there (``kiosk.inputfiles.open_regular``/``path_kind``), before it is opened. Before: a catalog
row whose ``image`` named a FIFO hung ``catalog import`` for ever (and a killed import left an empty database: the
file is now checked before the database is created); ``kiosk update --archive FIFO`` hung holding the model store's
lock; ``sku enroll --images DIR`` dropped such entries unsaid ("enrolled 6 photo(s)")."""

from __future__ import annotations

import os
import re
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.errors import UserError
from kiosk.inputfiles import open_regular

HEADER = "sku,name,group,sold_by,price_paise,gst_percent,hsn,image\n"


@contextmanager
def no_hang(seconds: int = 10):
    """A read that waits on a FIFO fails the test instead of hanging it."""
    def hung(*_):
        raise TimeoutError("hung on a file that is not a regular file")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _odd(folder: Path, suffix: str = ".jpg") -> dict[str, str]:
    """A FIFO, a link to /dev/zero, a link loop and a folder, each named like a photo: name -> what it is."""
    os.mkfifo(folder / f"fifo{suffix}")
    (folder / f"zero{suffix}").symlink_to("/dev/zero")
    (folder / f"loop{suffix}").symlink_to(folder / f"loop{suffix}")
    (folder / f"dir{suffix}").mkdir()
    return {f"fifo{suffix}": "a named pipe (FIFO)", f"zero{suffix}": "a device",
            f"loop{suffix}": "a loop of symbolic links", f"dir{suffix}": "a folder"}


def test_open_regular_says_what_is_there_instead(tmp_path):
    (tmp_path / "ok.bin").write_bytes(b"data")
    with no_hang(), open_regular(tmp_path / "ok.bin", "a file") as fh:
        assert fh.read() == b"data"
    for name, kind in {**_odd(tmp_path), "nope.jpg": "does not exist"}.items():
        words = f"is {kind}, not a photo" if name != "nope.jpg" else kind
        with no_hang(), pytest.raises(UserError, match=re.escape(words)):
            open_regular(tmp_path / name, "a photo")


def test_catalog_import_refuses_an_image_that_is_not_a_file_before_making_the_database(tmp_path, capsys,
                                                                                       monkeypatch):
    import catalog.csv_io as csv_io

    odd = _odd(tmp_path)
    rows = "".join(f"s{i},Kiwi,Kiwi,unit,3000,0,081050,{name}\n" for i, name in enumerate(odd))
    (tmp_path / "c.csv").write_text(HEADER + rows)
    db = tmp_path / "cat.sqlite"
    seen = []
    checked = csv_io.image_problem
    monkeypatch.setattr(csv_io, "image_problem", lambda *a: seen.append(db.exists()) or checked(*a))
    with no_hang():
        assert main(["catalog", "import", str(tmp_path / "c.csv"), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    for line, (name, kind) in enumerate(odd.items(), start=2):
        assert f"c.csv:{line}: column image value {name!r}: " in err and f"is {kind}, not an image file" in err
    assert seen == [False] * 4 and not list(tmp_path.glob("cat.sqlite*"))  # checked before the database was made


def test_an_archive_that_is_not_a_file_is_refused_before_the_store_is_locked(tmp_path, monkeypatch):
    from kiosk.bundle_format.trust import TrustStore
    from kiosk.bundle_format.verify import BundleRefused
    from kiosk.bundles.store import BundleStore
    from kiosk.bundles.updater import Updater
    from trainer.release.keys import SigningKey

    store = BundleStore(tmp_path / "state")
    monkeypatch.setattr(store, "lock", lambda *a, **k: pytest.fail("the store's lock was taken"))
    updater = Updater(store, TrustStore.from_keys(SigningKey.generate("ho").public), str(tmp_path / "ch"), "S1")
    for name, kind in _odd(tmp_path, ".tar").items():
        words = f"{name}' is {kind}, not a bundle archive"
        with no_hang(), pytest.raises(BundleRefused, match=re.escape(words)) as info:
            updater.install_archive(tmp_path / name)
        assert info.value.reason == "archive"
    assert not list((tmp_path / "state").glob("staging/*"))


def test_safe_extract_never_waits_on_a_fifo(tmp_path):
    from kiosk.bundle_format.archive import safe_extract
    from kiosk.errors import BundleError

    os.mkfifo(tmp_path / "b.tar")
    with no_hang(), pytest.raises(BundleError, match="is a named pipe"):
        safe_extract(tmp_path / "b.tar", tmp_path / "out")


def test_enrollment_lists_what_is_not_a_photo_file_with_its_reason(tmp_path):
    import cv2
    import numpy as np

    from kiosk.gallery_cli import read_photos

    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((32, 32, 3), 128, np.uint8))
    odd = _odd(tmp_path)
    paths, photos = read_photos(tmp_path)
    assert sorted(p.name for p in paths) == sorted(["a.jpg", *odd])
    with no_hang():
        read = photos[:]
    names = [p.name for p in paths]
    assert read[names.index("a.jpg")] is not None
    assert {names[i]: why for i, why in photos.problems.items()} == {
        name: f"{kind}, not a photo file" for name, kind in odd.items()}
