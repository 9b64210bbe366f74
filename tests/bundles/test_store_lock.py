"""A command that meets the model store's lock held (the running kiosk downloading, self-testing, re-embedding)
says so in one line naming the holder, then waits (or, given a limit, stops with one line): `kiosk rollback` printed
nothing and hung until the holder finished."""

from __future__ import annotations

import os
import threading

import pytest

from kiosk.bundle_format.archive import write_archive
from kiosk.bundles.store import BundleStore
from kiosk.errors import UserError


@pytest.fixture
def held(kiosk_v1):
    """Another holder of the store's lock (its own open file: flock excludes it as it would another process)."""
    taken, release = threading.Event(), threading.Event()

    def hold():
        with BundleStore(kiosk_v1.store.root).lock():
            taken.set()
            release.wait(10)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert taken.wait(10)
    yield release
    release.set()
    thread.join(10)


def test_a_rollback_waiting_for_the_lock_says_who_holds_it_then_runs(kiosk_v1, bundles_dir, head_office_key,
                                                                     tmp_path, capsys, request, monkeypatch):
    from kiosk.bundles import cli as till_cli
    from kiosk.cli import main

    assert kiosk_v1.updater.install_archive(write_archive(bundles_dir / "v2", tmp_path / "v2.tar")).outcome \
        == "activated"
    release = request.getfixturevalue("held")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "ho.pub").write_text(head_office_key.public.line())
    said = till_cli.say
    monkeypatch.setattr(till_cli, "say", lambda line: (said(line), release.set()))  # the holder finishes then
    assert main(["kiosk", "rollback", "--state", str(kiosk_v1.store.root), "--keys", str(keys), "--staff", "Asha",
                 "--reason", "misreads bananas"]) == 0
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "waiting for the model store's lock (held by pid " in err
    assert f"pid {os.getpid()}," in err and "since 20" in err
    assert "rolled back from model_version 2 to 1" in out and kiosk_v1.store.active_version() == 1


def test_a_wait_with_a_limit_ends_in_one_line_naming_the_holder(kiosk_v1, held):
    lines = []
    store = BundleStore(kiosk_v1.store.root)
    store.on_lock_wait = lines.append
    with pytest.raises(UserError, match=r"lock is still held by pid \d+, .* after 0.2 s"):
        with store.lock(wait_s=0.2):
            pass
    assert len(lines) == 1 and "waiting for the model store's lock" in lines[0]


@pytest.mark.skipif(not os.path.exists("/proc/locks"), reason="Linux's /proc/locks names a lock's holder")
def test_a_holder_that_wrote_nothing_is_named_by_its_pid(kiosk_v1):
    import fcntl

    fd = os.open(kiosk_v1.store.root / "lock", os.O_RDWR | os.O_CREAT, 0o644)  # an older release's kiosk, a tool
    try:
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_EX)
        store = BundleStore(kiosk_v1.store.root)
        store.on_lock_wait = lambda line: None
        with pytest.raises(UserError, match=rf"still held by pid {os.getpid()} \(\S+\) after"):
            with store.lock(wait_s=0.1):
                pass
    finally:
        os.close(fd)
