"""One kiosk per state folder (:mod:`kiosk.services.instance`): a second kiosk on the folder of the sales database
(autostart beside a systemd unit) sold into the first one's open cart (probe: kiosk A's shopper paid for kiosk B's
TV). It now refuses in one line naming the folder and the running kiosk's pid; a lock file left by a kiosk killed
with SIGKILL blocks nothing; the till's commands that run beside the kiosk never take the lock."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.config import KioskConfig
from kiosk.errors import UserError
from kiosk.services.checkout import CheckoutService
from kiosk.services.instance import LOCK_NAME, hold_instance_lock
from kiosk.store import SalesStore

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo"


@pytest.fixture
def kiosk_process(tmp_path):
    """Another process (the running kiosk) holding the lock on ``tmp_path``: ``(folder, its pid, the process)``."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from kiosk.services.instance import hold_instance_lock
        lock = hold_instance_lock({str(tmp_path)!r})
        print("held", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield tmp_path, proc.pid, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def config(tmp_path: Path, demo_bundle, demo_catalog_db) -> KioskConfig:
    return KioskConfig(bundle=str(demo_bundle), catalog=str(demo_catalog_db), store=str(tmp_path / "sales.sqlite"),
                       captures=str(tmp_path / "captures"), gallery=str(tmp_path / "gallery"), scale="sim:",
                       weight_check=False, weight_rerank=False)


def test_a_second_kiosk_in_this_process_is_refused_until_the_first_closes(tmp_path, demo_bundle, demo_catalog_db):
    cfg = config(tmp_path, demo_bundle, demo_catalog_db)
    with CheckoutService.from_config(cfg):
        with pytest.raises(UserError) as refused:
            CheckoutService.from_config(cfg)
        line = str(refused.value)
        assert "\n" not in line and str(tmp_path) in line and f"pid {os.getpid()}" in line
        assert "already running" in line
    with CheckoutService.from_config(cfg):  # closed: the lock went with it
        pass


def test_checkout_kiosk_beside_a_running_kiosk_refuses_in_one_line_and_opens_nothing(kiosk_process, demo_bundle,
                                                                                      demo_catalog_db, capsys):
    folder, pid, _ = kiosk_process
    store = folder / "sales.sqlite"
    rc = main(["kiosk", "--headless", "--camera", f"folder:{DEMO.as_posix()}/camera", "--scale", "sim:",
               "--bundle", str(demo_bundle), "--catalog", str(demo_catalog_db), "--store", str(store),
               "--captures", str(folder / "captures")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err  # as the kiosk's other start refusals
    assert str(folder) in err and f"pid {pid}" in err and "already running" in err
    assert not store.exists() and not (folder / "captures").exists()  # refused before anything was opened


def test_a_lock_file_left_by_a_kiosk_killed_with_sigkill_blocks_nothing(kiosk_process):
    folder, pid, proc = kiosk_process
    with pytest.raises(UserError, match=f"pid {pid}"):
        hold_instance_lock(folder)
    os.kill(pid, signal.SIGKILL)
    proc.wait()
    assert f"pid {pid}" in (folder / LOCK_NAME).read_text()  # the dead kiosk's note is still there
    with hold_instance_lock(folder) as lock:
        assert lock.held and f"pid {os.getpid()}" in (folder / LOCK_NAME).read_text()


def test_the_tills_commands_run_beside_a_running_kiosk(kiosk_process, capsys, monkeypatch):
    folder, _, _ = kiosk_process
    db = str(folder / "sales.sqlite")
    with SalesStore.open(db, kiosk_id="K1") as s:
        s.add_unit("milk", "Milk 1 l", 4500, 0, 1)
        s.mark_receipt_shown(s.pay(s.open_cart().cart_id).receipt_no)
    monkeypatch.setattr(sys, "stdin", io.StringIO("2580\n"))
    assert main(["staff", "add", "Asha Rao", "--role", "assistant", "--pin-stdin", "--store", db]) == 0
    assert main(["receipt", "reprint", "--last", "--store", db]) == 0
    assert main(["audit", "verify", "--store", db]) == 0
    assert "already running" not in capsys.readouterr().err
