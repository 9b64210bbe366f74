"""A staff rollback killed between its steps (probe-kills #2) left the version it rolled back from both active
(active.json) and blocked (state.json): model-status showed both and a restart ran the blocked version silently. Its
intent is now written first and whoever takes the store's lock next finishes it, once, and says so; an active version
that is blocked anyway (an older release's kill) is never run without a line. And rerunning an ``--archive`` install
killed after it had activated is "already the active version" (exit 0), not a rollback-protection refusal."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.bundle_format.archive import write_archive
from kiosk.bundles.store import BundleStore
from kiosk.cli import main
from tests.bundles.conftest import make_kiosk
from tests.bundles.factory import TINY_LABELS

ROOT = Path(__file__).resolve().parents[2]


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no ``except Exception`` catches it."""


@pytest.fixture
def kiosk_v2(kiosk_v1, bundles_dir, tmp_path):
    assert kiosk_v1.updater.install_archive(write_archive(bundles_dir / "v2", tmp_path / "v2.tar")).outcome == \
        "activated"
    return kiosk_v1


def _kill_after(monkeypatch, method: str, event: str | None = None) -> None:
    """Make BundleStore.``method`` (for audit: only the ``event`` entry) end the process right after it ran."""
    orig = getattr(BundleStore, method)

    def dying(self, *a, **kw):
        out = orig(self, *a, **kw)
        if event is None or (a and a[0] == event):
            raise Killed
        return out

    monkeypatch.setattr(BundleStore, method, dying)


def _status(root: Path, capsys) -> tuple[int, dict, str]:
    capsys.readouterr()
    rc = main(["kiosk", "model-status", "--state", str(root)])
    out = capsys.readouterr()
    return rc, json.loads(out.out), out.err


@pytest.mark.parametrize("method, event", [("write_state", None), ("block", None), ("set_active", None),
                                           ("audit", "staff-rollback")])
def test_a_rollback_killed_between_its_steps_is_finished_once_by_the_next_start(kiosk_v2, monkeypatch, capsys,
                                                                                caplog, method, event):
    k = kiosk_v2
    with monkeypatch.context() as m:
        _kill_after(m, method, event)
        with pytest.raises(Killed):
            k.store.rollback(k.trust, actor="Asha", reason="v2 misreads bananas")
    store = BundleStore(k.store.root)
    assert store.pending_rollback()["from"] == 2
    rc, report, err = _status(store.root, capsys)
    assert rc == 1 and "a staff rollback from model version 2 to 1 (Asha" in err and "was interrupted" in err
    assert any("interrupted" in p for p in report["problems"])

    caplog.set_level(logging.WARNING, logger="kiosk.bundles.store")
    kiosk = make_kiosk(store.root, k.trust)  # the next start: open_active takes the lock
    assert kiosk.active.version == 1
    lines = [r.getMessage() for r in caplog.records if "interrupted" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith(f"{store.root}: a staff rollback from model version 2 to 1 (Asha")
    assert lines[0].endswith("finished now: version 1 active, version 2 blocked")
    assert store.active_version() == 1 and store.blocked_versions() == {2} and store.pending_rollback() is None
    rollbacks = [e for e in store.read_audit() if e["event"] == "staff-rollback"]
    assert len(rollbacks) == 1 and (rollbacks[0]["from_version"], rollbacks[0]["to_version"]) == (2, 1)
    rc, report, err = _status(store.root, capsys)
    assert (rc, report["problems"], err) == (0, [], "")


def test_a_rerun_finishes_the_killed_rollback_and_does_not_roll_back_a_second_time(kiosk_v2, bundles_dir,
                                                                                   head_office_key, tmp_path,
                                                                                   monkeypatch, capsys):
    from tests.bundles.factory import build_tiny_bundle
    from trainer.release.signing import sign_bundle

    k = kiosk_v2
    v3 = build_tiny_bundle(tmp_path / "v3", model_version=3)
    sign_bundle(v3, head_office_key)
    assert k.updater.install_archive(write_archive(v3, tmp_path / "v3.tar")).outcome == "activated"
    with monkeypatch.context() as m:
        _kill_after(m, "block")
        with pytest.raises(Killed):
            k.store.rollback(k.trust, actor="Asha", reason="v3 misreads bananas")
    assert k.store.active_version() == 3 and k.store.blocked_versions() == {3}  # what the probe found
    keys = tmp_path / "ho.pub"
    keys.write_text(head_office_key.public.line())
    capsys.readouterr()
    assert main(["kiosk", "rollback", "--state", str(k.store.root), "--keys", str(keys), "--staff", "Asha",
                 "--reason", "v3 misreads bananas"]) == 0
    out = capsys.readouterr()
    assert "rolled back from model_version 3 to 2" in out.out
    assert "was interrupted before it finished; finished now: version 2 active, version 3 blocked" in out.err
    assert k.store.active_version() == 2 and k.store.blocked_versions() == {3}  # not on to v1


def test_an_update_poll_finishes_it_before_anything_else(kiosk_v2, monkeypatch):
    k = kiosk_v2
    with monkeypatch.context() as m:
        _kill_after(m, "block")
        with pytest.raises(Killed):
            k.store.rollback(k.trust, actor="Asha", reason="x")
    k.updater.check_once()  # no channel there: an error, but the lock was taken
    assert k.store.active_version() == 1 and k.store.blocked_versions() == {2} and k.store.pending_rollback() is None


def test_an_active_version_that_is_also_blocked_is_never_run_silently(kiosk_v2, caplog):
    """No intent (a kill under an older release, or an auto-rollback killed half-way): the start runs another
    version and says so; with no other version it runs the blocked one, and says that."""
    k = kiosk_v2
    k.store.block(2)  # active 2, blocked [2], nothing recorded
    caplog.set_level(logging.WARNING, logger="kiosk.bundles.store")
    assert make_kiosk(k.store.root, k.trust).active.version == 1
    assert "model version 2 was active" in caplog.text and "version 1 runs, now the active one" in caplog.text
    assert k.store.active_version() == 1 and k.store.read_audit()[-1]["event"] == "blocked-active"

    k.store.set_active(2, by="test")
    k.store.discard(k.store.version_dir(1))
    caplog.clear()
    assert make_kiosk(k.store.root, k.trust).active.version == 2
    assert "model version 2 is active" in caplog.text and "running it anyway" in caplog.text


def test_an_archive_rerun_after_it_had_activated_is_already_active_and_another_claim_is_refused(
        kiosk_v2, bundles_dir, head_office_key, tmp_path, capsys):
    from tests.bundles.factory import build_tiny_bundle
    from trainer.release.signing import sign_bundle

    store = kiosk_v2.store
    keys, skus = tmp_path / "ho.pub", tmp_path / "skus.txt"
    keys.write_text(head_office_key.public.line())
    skus.write_text("\n".join(TINY_LABELS) + "\n")
    other = build_tiny_bundle(tmp_path / "other-v2", model_version=2, seed=11)
    sign_bundle(other, head_office_key)
    cli = ["kiosk", "update", "--state", str(store.root), "--keys", str(keys), "--channel", str(tmp_path / "none"),
           "--store-id", "s1", "--catalog-schema", "1", "--active-skus", str(skus), "--archive"]
    capsys.readouterr()
    assert main([*cli, str(write_archive(bundles_dir / "v2", tmp_path / "v2-again.tar"))]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("up-to-date: model_version 2 is already the active version")
    older = write_archive(bundles_dir / "v1", tmp_path / "1.tar")
    for archive in (write_archive(other, tmp_path / "other.tar"), older):
        assert main([*cli, str(archive)]) == 2
        assert "(rollback protection)" in capsys.readouterr().err
    assert store.active_version() == 2 and store.blocked_versions() == set()


def test_a_real_sigkill_after_the_block_is_finished_by_the_next_start(kiosk_v2, head_office_key, tmp_path):
    hook = ("import os, sys\n"
            "import kiosk.bundles.store as st\n"
            "orig = st.BundleStore.block\n"
            "def block(self, v):\n"
            "    orig(self, v)\n"
            "    os.kill(os.getpid(), 9)\n"
            "st.BundleStore.block = block\n"
            "from kiosk.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    keys = tmp_path / "ho.pub"
    keys.write_text(head_office_key.public.line())
    r = subprocess.run([sys.executable, "-c", hook, "kiosk", "rollback", "--state", str(kiosk_v2.store.root),
                        "--keys", str(keys), "--staff", "Asha", "--reason", "x"], cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert r.returncode == -signal.SIGKILL, r.stderr
    store = BundleStore(kiosk_v2.store.root)
    assert store.active_version() == 2 and store.blocked_versions() == {2} and store.pending_rollback()
    assert make_kiosk(store.root, kiosk_v2.trust).active.version == 1
    assert store.blocked_versions() == {2} and store.pending_rollback() is None
