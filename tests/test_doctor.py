"""``checkout doctor`` on real parts: the demo bundle (signed here by a test head-office key), the demo catalog, a
folder camera, a scale simulator on a pty speaking MT-SICS through pyserial, and the real disk and clock.

A healthy till gives all OK and exit 0; a missing camera, a dead scale port, a tampered bundle, a full disk, a
wrong clock or a catalog that does not sell the model's labels each give a FAIL line naming the problem and exit
1, never a traceback."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from kiosk.bundles.store import BundleStore
from kiosk.config import KioskConfig
from kiosk.doctor import CHECKS, FAIL, OK, WARN, Context, exit_status, run_doctor
from kiosk.scale import SimulatedScale
from kiosk.scale.simulator import ScaleSimulator
from trainer.release.keys import SigningKey
from trainer.release.signing import sign_bundle

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
CAMERA = f"folder:{(DEMO / 'camera').as_posix()}"
MIB = 1 << 20


@pytest.fixture(autouse=True)
def restore_root_logger():
    """``checkout doctor`` sets up logging for the process: put the root logger back after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(h)
        h.close()
    root.setLevel(level)


@pytest.fixture(scope="session")
def head_office() -> SigningKey:
    return SigningKey.generate("doctor-test-head-office")


@pytest.fixture(scope="session")
def signed_bundle(tmp_path_factory, demo_bundle, head_office) -> Path:
    """A copy of the demo bundle signed by ``head_office`` (read-only use; copy it to change it)."""
    root = tmp_path_factory.mktemp("doctor-bundle") / "bundle"
    shutil.copytree(demo_bundle, root)
    # expiring a month from now, not a year from when the demo bundle was built (a cached var/demo failed the
    # doctor's first-start check a year later)
    sign_bundle(root, head_office, expires_in=timedelta(days=30))
    return root


@dataclass
class Till:
    """A healthy till in a temporary directory; ``config_file(**changes)`` writes its kiosk.toml."""

    root: Path
    settings: dict
    scale: ScaleSimulator

    def config_file(self, **changes) -> Path:
        path = self.root / "kiosk.toml"
        settings = {**self.settings, **changes}
        path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))
        return path

    def config(self, **changes) -> KioskConfig:
        return KioskConfig.from_file(self.config_file(**changes))


@pytest.fixture
def till(tmp_path, signed_bundle, demo_catalog_db, head_office):
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "head-office.pub").write_text(head_office.public.line())
    scale = ScaleSimulator("mt-sics", SimulatedScale(0))
    scale.start()
    settings = {
        "camera": CAMERA, "scale": scale.uri, "bundle": str(signed_bundle), "catalog": str(demo_catalog_db),
        "model_state": str(tmp_path / "models"), "trusted_keys": str(keys), "store": str(tmp_path / "sales.sqlite"),
        "captures": str(tmp_path / "captures"), "log_file": str(tmp_path / "log" / "kiosk.log"), "min_free_mb": 1,
        "tray_region": [0.0, 0.0, 1.0, 1.0], "store_timezone": "Asia/Kolkata",
    }
    yield Till(tmp_path, settings, scale)
    scale.stop()


def doctor(capsys, *args: str) -> tuple[int, dict[str, str]]:
    """Run ``checkout doctor ARGS`` in this process; returns the exit status and {check name: its line}."""
    from kiosk.cli import main

    rc = main(["doctor", *args])
    out = capsys.readouterr().out
    assert "Traceback" not in out
    lines = out.splitlines()
    by_name = {line.split()[1]: line for line in lines}
    assert len(by_name) == len(lines), lines  # one line per check
    return rc, by_name


def status(line: str) -> str:
    return line.split()[0]


def test_a_healthy_till_is_all_ok_and_exits_0(till, head_office, capsys):
    rc, lines = doctor(capsys, "--config", str(till.config_file()))
    assert list(lines) == ["config", "camera", "scale", "printer", "bundle", "runtime", "catalog", "state", "disk",
                           "clock", "feedback"]
    # the clock line may WARN on a machine whose NTP is not synchronised (test_clock_* fakes both cases)
    assert all(status(line) == OK for name, line in lines.items() if name != "clock"), lines
    assert status(lines["clock"]) in (OK, WARN) and "earlier than" not in lines["clock"]
    assert rc == 0
    assert "348x348 frame" in lines["camera"] and "reads 0 g" in lines["scale"]
    assert "none (receipt_printer not set" in lines["printer"]
    assert f"signed by key {head_office.keyid}" in lines["bundle"]
    assert "first start installs" in lines["bundle"] and "files verified" in lines["bundle"]
    assert "81 SKUs (81 active)" in lines["catalog"] and "labels of the model are active SKUs" in lines["catalog"]
    assert "(store, captures, model_state, log_file)" in lines["disk"]
    # it logged its verdict to the configured rotating file
    assert "INFO kiosk.doctor: doctor: ready" in Path(till.settings["log_file"]).read_text()


def test_all_ok_with_injected_clock_and_ntp(till):
    """Every check's own verdict on the healthy till, with the NTP probe fixed: all OK."""
    ctx = Context(till.config(), config_file="kiosk.toml", ntp=lambda: (True, "yes"))
    results = run_doctor(ctx)
    assert [(r.name, r.status) for r in results] == [(c.name, OK) for c in CHECKS]
    assert exit_status(results) == 0
    assert "NTP synchronised" in next(r for r in results if r.name == "clock").found


def test_the_active_version_of_a_model_store_is_checked(till, signed_bundle, head_office, capsys):
    from kiosk.bundle_format.trust import TrustStore

    models = Path(till.settings["model_state"])
    store = BundleStore(models)
    staged = store.new_staging_dir("test")
    shutil.copytree(signed_bundle, staged)
    trust = TrustStore.from_keys(head_office.public)
    store.install(staged, 7, trust)
    store.set_active(7, by="test")
    rc, lines = doctor(capsys, "--config", str(till.config_file()))
    assert status(lines["bundle"]) == OK and f"model v7 active in {models}" in lines["bundle"], lines["bundle"]

    model = models / "versions" / "7" / "model.onnx"  # now tamper with the installed, active version
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0x01
    model.write_bytes(bytes(data))
    rc, lines = doctor(capsys, "--config", str(till.config_file()))
    assert rc == 1 and status(lines["bundle"]) == FAIL
    assert "model.onnx: sha256 mismatch" in lines["bundle"]


def test_a_missing_camera_fails(till, capsys):
    rc, lines = doctor(capsys, "--config", str(till.config_file(camera=f"folder:{till.root / 'unplugged'}")))
    assert rc == 1 and status(lines["camera"]) == FAIL
    assert "unplugged" in lines["camera"] and "does not exist" in lines["camera"]
    assert "check the camera's USB cable and `camera = ...` in" in lines["camera"]
    assert all(status(line) == OK for name, line in lines.items() if name not in ("camera", "clock"))


def test_a_camera_that_gives_no_frame_fails(till, capsys):
    (till.root / "empty").mkdir()
    rc, lines = doctor(capsys, "--config", str(till.config_file(camera=f"folder:{till.root / 'empty'}")))
    assert rc == 1 and status(lines["camera"]) == FAIL and "has no images" in lines["camera"]
    (till.root / "empty" / "frame.jpg").write_bytes(b"\xff\xd8 not a picture \xff\xd9")  # opens, no frame
    rc, lines = doctor(capsys, "--config", str(till.config_file(camera=f"folder:{till.root / 'empty'}")))
    assert rc == 1 and status(lines["camera"]) == FAIL and "opened but gave no frame" in lines["camera"]


def test_a_dead_scale_fails_within_its_timeout(till, capsys):
    till.scale.mute = True  # the port is there but nothing answers: a scale switched off or a cut cable
    config = till.config_file()
    started = time.monotonic()
    rc, lines = doctor(capsys, "--config", str(config))
    assert time.monotonic() - started < 10
    assert rc == 1 and status(lines["scale"]) == FAIL
    assert "no answer within 0.5 s" in lines["scale"]
    assert f"`scale = ...` in {config}" in lines["scale"] and "dialout" in lines["scale"]


def test_a_scale_port_that_is_gone_fails(till, capsys):
    port = till.scale.port
    till.scale.stop()  # unplugged: the pty disappears
    rc, lines = doctor(capsys, "--config", str(till.config_file()))
    assert rc == 1 and status(lines["scale"]) == FAIL
    assert f"cannot open serial port {port!r}" in lines["scale"]


def test_a_scale_stuck_in_its_driver_is_cut_off_by_the_doctor_timeout(till, capsys):
    till.scale.mute = True
    uri = f"{till.scale.uri}&timeout=30"  # the driver itself would wait 30 s
    started = time.monotonic()
    rc, lines = doctor(capsys, "--config", str(till.config_file(scale=uri)), "--timeout", "0.5")
    assert time.monotonic() - started < 15
    assert rc == 1 and status(lines["scale"]) == FAIL and "no answer within 0.5 s" in lines["scale"]
    assert all(status(line) == OK for name, line in lines.items() if name not in ("scale", "clock"))


def test_a_tampered_bundle_fails(till, signed_bundle, capsys):
    bundle = till.root / "tampered"
    shutil.copytree(signed_bundle, bundle)
    model = bundle / "model.onnx"
    data = bytearray(model.read_bytes())
    data[1000] ^= 0xFF  # one byte flipped
    model.write_bytes(bytes(data))
    rc, lines = doctor(capsys, "--config", str(till.config_file(bundle=str(bundle))))
    assert rc == 1 and status(lines["bundle"]) == FAIL
    assert f"{model}: sha256 mismatch" in lines["bundle"] and "refused (hash)" in lines["bundle"]
    assert status(lines["catalog"]) == OK  # the labels are still readable and sold


def test_a_bundle_signed_by_an_unknown_key_fails(till, signed_bundle, capsys):
    other = till.root / "other-keys"
    other.mkdir()
    (other / "stranger.pub").write_text(SigningKey.generate("stranger").public.line())
    rc, lines = doctor(capsys, "--config", str(till.config_file(trusted_keys=str(other))))
    assert rc == 1 and status(lines["bundle"]) == FAIL and "untrusted key" in lines["bundle"]


def test_an_unsigned_plain_bundle_warns_but_passes(till, demo_bundle, capsys):
    rc, lines = doctor(capsys, "--config", str(till.config_file(bundle=str(demo_bundle), model_state="")))
    assert status(lines["bundle"]) == WARN and "not signed" in lines["bundle"] and "model_state" in lines["bundle"]
    assert rc == 0  # warnings do not stop the till


def test_a_full_disk_fails(till):
    full = SimpleNamespace(total=64_000 * MIB, used=63_990 * MIB, free=10 * MIB)
    ctx = Context(till.config(min_free_mb=500), config_file="kiosk.toml", disk_usage=lambda path: full,
                  ntp=lambda: (True, "yes"))
    results = {r.name: r for r in run_doctor(ctx)}
    assert exit_status(results.values()) == 1
    assert results["disk"].status == FAIL
    assert "only 10 MiB free at" in results["disk"].found and "below min_free_mb 500" in results["disk"].found
    assert "(store, captures, model_state, log_file)" in results["disk"].found
    assert "min_free_mb = ...` in kiosk.toml" in results["disk"].line()
    assert [n for n, r in results.items() if r.status != OK] == ["disk"]


def test_a_nearly_full_disk_warns(till):
    ctx = Context(till.config(min_free_mb=500), disk_usage=lambda path: SimpleNamespace(free=700 * MIB))
    (result,) = run_doctor(ctx, tuple(c for c in CHECKS if c.name == "disk"))
    assert result.status == WARN and "700 MiB free" in result.found


def test_min_free_mb_against_the_real_disk(till, capsys):
    rc, lines = doctor(capsys, "--config", str(till.config_file(min_free_mb=2**31 - 1)))  # 2 PB: no disk is that big
    assert rc == 1 and status(lines["disk"]) == FAIL and "below min_free_mb" in lines["disk"]


def test_a_disk_probe_that_raises_is_one_fail_line(till):
    def broken(path):
        raise PermissionError(13, "Permission denied", path)

    ctx = Context(till.config(), disk_usage=broken, ntp=lambda: (True, "yes"))
    results = {r.name: r for r in run_doctor(ctx)}
    assert results["disk"].status == FAIL and results["disk"].found.startswith("PermissionError: [Errno 13]")
    assert [n for n, r in results.items() if r.status != OK] == ["disk"]  # the other checks still ran


def test_a_clock_before_the_models_signing_time_fails(till, signed_bundle):
    from kiosk.bundle_format.bundle import read_manifest
    from kiosk.bundle_format.timestamps import parse_time

    signed_at = parse_time(read_manifest(signed_bundle).created_at, "created_at")
    ctx = Context(till.config(), now=lambda: signed_at - timedelta(minutes=1), ntp=lambda: (False, "no"))
    (result,) = run_doctor(ctx, tuple(c for c in CHECKS if c.name == "clock"))
    assert result.status == FAIL and "earlier than" in result.found
    assert f"the model's signing time {signed_at:%Y-%m-%d %H:%M}" in result.found
    assert "NTP NOT synchronised" in result.found and "timedatectl set-ntp true" in result.line()


def test_a_clock_in_1970_fails_and_unsynced_ntp_warns(till):
    ctx = Context(till.config(), now=lambda: datetime(1970, 1, 1, tzinfo=timezone.utc), ntp=lambda: (None, "?"))
    (result,) = run_doctor(ctx, tuple(c for c in CHECKS if c.name == "clock"))
    assert result.status == FAIL and "earlier than this software's build date" in result.found
    ctx = Context(till.config(), ntp=lambda: (False, "no"))
    (result,) = run_doctor(ctx, tuple(c for c in CHECKS if c.name == "clock"))
    assert result.status == WARN and "NTP NOT synchronised" in result.found


def test_a_catalog_that_does_not_sell_a_label_fails(till, demo_catalog_db, signed_bundle, capsys):
    from catalog.repository import Catalog
    from kiosk.bundle_format.bundle import read_manifest

    label = read_manifest(signed_bundle).labels[0]
    copy = till.root / "catalog.sqlite"
    shutil.copy(demo_catalog_db, copy)
    with Catalog.open(copy) as cat:
        cat.set_active(label, False)
    rc, lines = doctor(capsys, "--config", str(till.config_file(catalog=str(copy))))
    assert rc == 1 and status(lines["catalog"]) == FAIL
    assert "SKU(s) missing or inactive" in lines["catalog"] and label in lines["catalog"]
    assert "80 active" in lines["catalog"]


def test_a_missing_catalog_fails(till, capsys):
    rc, lines = doctor(capsys, "--config", str(till.config_file(catalog=str(till.root / "none.sqlite"))))
    assert rc == 1 and status(lines["catalog"]) == FAIL and "no catalog there" in lines["catalog"]
    assert "checkout catalog import" in lines["catalog"]


def test_the_kiosks_own_files_are_checked_read_only(till, capsys):
    """A sales database, audit key, gallery or terminal ledger the kiosk would refuse to start on is a FAIL naming
    it; the doctor opens them read-only and creates nothing (a new till's files are made at its first start)."""
    import sqlite3

    from kiosk.gallery import Gallery

    rc, lines = doctor(capsys, "--config", str(till.config_file(gallery=str(till.root / "gallery"))))
    assert status(lines["state"]) == OK and "(new: made at the first start)" in lines["state"]
    assert not (till.root / "sales.sqlite").exists() and not (till.root / "gallery").exists()
    Gallery.open(till.root / "gallery").close()
    with sqlite3.connect(till.root / "gallery" / "gallery.sqlite") as c:
        c.execute("DROP TABLE embeddings")
    (till.root / "sales.sqlite").write_bytes(os.urandom(4096))
    (till.root / "sales.audit-key").write_text("not a key\n")
    (till.root / "terminal.sqlite").mkdir()
    before = (till.root / "sales.sqlite").read_bytes()
    rc, lines = doctor(capsys, "--config", str(till.config_file(
        gallery=str(till.root / "gallery"), payment_terminal=f"sim:{till.root / 'terminal.sqlite'}")))
    assert rc == 1 and status(lines["state"]) == FAIL
    for words in ("sales.sqlite: not a usable sales database (file is not a database)", "sales.audit-key: not an "
                  "audit key", "gallery.sqlite: not a gallery (no table embeddings)",
                  "terminal.sqlite' is a folder, not a terminal ledger", "move it aside"):
        assert words in lines["state"], words
    assert (till.root / "sales.sqlite").read_bytes() == before


def test_a_sales_database_the_kiosk_refuses_for_its_schema_fails(till, capsys):
    """A sales database written by a newer program: the kiosk refuses it, so the doctor fails it too (and does not
    advise moving it aside: it holds sales)."""
    import sqlite3

    from kiosk.store import SCHEMA_VERSION, SalesStore

    SalesStore.open(till.root / "sales.sqlite").close()
    with sqlite3.connect(till.root / "sales.sqlite") as c:
        c.execute("PRAGMA user_version = 99")
    c.close()
    rc, lines = doctor(capsys, "--config", str(till.config_file()))
    assert rc == 1 and status(lines["state"]) == FAIL, lines["state"]
    assert f"sales schema version 99 is newer than this program ({SCHEMA_VERSION})" in lines["state"]
    assert "move it aside" not in lines["state"]


def test_a_good_sales_database_on_a_read_only_mount_is_named_read_only(till, capsys, monkeypatch):
    """Read-only (a mount, or the file's or folder's mode) is said as such: the advice is to make it writable, never
    to move a good database aside."""
    import sqlite3

    from kiosk.store import SalesStore
    from kiosk.store import sales as sales_module

    SalesStore.open(till.root / "sales.sqlite").close()
    real_connect = sqlite3.connect

    def connect(database, *args, **kwargs):  # SQLite on a read-only mount, a WAL file whose -shm is not there
        if "immutable=1" not in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(sales_module, "read_only_reason", lambda path: "on a read-only file system", raising=False)
    monkeypatch.setattr(sqlite3, "connect", connect)
    rc, lines = doctor(capsys, "--config", str(till.config_file()))
    assert rc == 1 and status(lines["state"]) == FAIL, lines["state"]
    assert "sales.sqlite: read-only (on a read-only file system)" in lines["state"], lines["state"]
    assert "not a usable" not in lines["state"] and "move it aside" not in lines["state"]
    assert "read-write" in lines["state"]


def test_a_bad_config_file_is_one_fail_line(till, capsys):
    config = till.root / "kiosk.toml"
    config.write_text('camera = "camera:0"\nscael = "sim:"\n')
    rc, lines = doctor(capsys, "--config", str(config))
    assert rc == 1 and list(lines) == ["config"]
    assert "unknown setting(s) scael" in lines["config"] and status(lines["config"]) == FAIL


def test_a_config_error_never_prints_the_pin_hash(till, capsys):
    config = till.root / "kiosk.toml"
    config.write_text('staff_pin_hash = "scrypt$16384$8$1$zz$not-hex-secret"\n')
    rc, lines = doctor(capsys, "--config", str(config))
    assert rc == 1 and "staff_pin_hash" in lines["config"] and "not-hex-secret" not in lines["config"]


def test_a_log_file_that_cannot_be_opened_fails(till, capsys):
    blocker = till.root / "not-a-dir"
    blocker.write_text("")
    rc, lines = doctor(capsys, "--config", str(till.config_file(log_file=str(blocker / "kiosk.log"))))
    assert rc == 1 and status(lines["logs"]) == FAIL and "cannot open it for writing" in lines["logs"]
    assert status(lines["camera"]) == OK  # the checks still ran


def test_options_override_the_config_like_checkout_kiosk(till, capsys):
    rc, lines = doctor(capsys, "--config", str(till.config_file()), "--camera", f"folder:{till.root / 'gone'}")
    assert rc == 1 and "gone" in lines["camera"] and status(lines["camera"]) == FAIL


def test_json_output(till, capsys):
    from kiosk.cli import main

    rc = main(["doctor", "--config", str(till.config_file(camera=f"folder:{till.root / 'nope'}")), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 1 and report["ok"] is False
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["camera"]["status"] == FAIL and "camera" in checks["camera"]["fix"]
    assert checks["catalog"]["status"] == OK and checks["catalog"]["fix"] == ""


def test_under_systemd_the_lines_carry_journal_priorities(till, tmp_path):
    """The unit's ExecStartPre: stdout is the journal stream, so FAIL lines are filed as errors."""
    config = till.config_file(camera=f"folder:{till.root / 'unplugged'}")
    out_path = tmp_path / "journal-stdout"
    with open(out_path, "w") as out:
        st = os.fstat(out.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        proc = subprocess.run([sys.executable, "-m", "kiosk", "doctor", "--config", str(config)], stdout=out,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = out_path.read_text().splitlines()
    assert lines[0].startswith("<6>OK   config")
    assert [line for line in lines if line.startswith("<3>")] == [
        line for line in lines if line.startswith("<3>FAIL camera")]
    assert "Traceback" not in proc.stderr


def runtime_line(till, **changes):
    ctx = Context(till.config(**changes), config_file="kiosk.toml")
    (result,) = run_doctor(ctx, tuple(c for c in CHECKS if c.name == "runtime"))
    return result


def test_runtime_names_the_model_the_kiosk_will_run(till, monkeypatch):
    from kiosk.recognition import precision

    monkeypatch.setattr(precision, "cpu_flags", lambda *a: frozenset({"avx512f"}))
    result = runtime_line(till)
    assert result.status == OK
    assert result.found == "onnxruntime on cpu, model.onnx: fp32 (bundle has no int8 model)"
    forced = runtime_line(till, precision="int8")  # the kiosk would refuse to start: so does the doctor
    assert forced.status == FAIL and "carries no int8 model" in forced.found


def test_runtime_fails_when_the_backends_package_is_missing(till, monkeypatch):
    from kiosk.doctor import runtime

    monkeypatch.setattr(runtime, "installed", lambda package: package != "openvino")
    result = runtime_line(till, backend="openvino")
    assert result.status == FAIL and "needs the openvino package, which is not installed" in result.found
    assert "pip install 'edge-checkout-kiosk[openvino]'" in result.fix


def test_runtime_points_an_int8_till_on_onnxruntime_at_openvino(till, int8_bundle, monkeypatch):
    from kiosk.doctor import runtime
    from kiosk.recognition import precision

    monkeypatch.setattr(runtime, "installed", lambda package: True)
    monkeypatch.setattr(precision, "cpu_flags", lambda *a: frozenset({"avx512f", "avx512_vnni"}))
    result = runtime_line(till, bundle=str(int8_bundle), model_state="")
    assert result.status == OK and result.found.startswith("onnxruntime on cpu, model.int8.onnx: int8 (CPU has VNNI)")
    assert 'backend = "openvino"' in result.found
    assert 'backend = "openvino"' not in runtime_line(till, bundle=str(int8_bundle), model_state="",
                                                      backend="openvino").found
    monkeypatch.setattr(precision, "cpu_flags", lambda *a: frozenset({"avx512f"}))
    assert runtime_line(till, bundle=str(int8_bundle), model_state="").found.endswith("fp32 (CPU has no VNNI)")


def test_runtime_without_a_model_warns_and_leaves_the_verdict_to_the_bundle_line(till):
    result = runtime_line(till, bundle=str(till.root / "nothing"), model_state="")
    assert result.status == WARN and result.found.startswith("no model to choose from")


def test_a_till_without_its_store_time_zone_is_warned(till):
    """Without ``store_timezone`` the till's days follow whatever zone its process has (a UTC service, an SSH shell):
    the doctor says so and how to set it."""
    unset = run_doctor(Context(till.config(store_timezone=""), config_file="kiosk.toml", ntp=lambda: (True, "yes")))
    clock = next(r for r in unset if r.name == "clock")
    assert clock.status == WARN and "store_timezone NOT set" in clock.found and "Asia/Kolkata" in clock.fix
    named = run_doctor(Context(till.config(), config_file="kiosk.toml", ntp=lambda: (True, "yes")))
    assert "store zone Asia/Kolkata" in next(r for r in named if r.name == "clock").found


def test_a_sales_database_rolled_back_behind_its_audit_witness_fails(till, capsys):
    """The kiosk refuses a database whose audit log ends before its witness says (a -wal deleted after a power cut,
    an older copy restored: receipt numbers would be issued again): the doctor says so first, read-only, and does
    not advise moving the database aside (it holds sales)."""
    import shutil

    from kiosk.store import SalesStore

    db = till.root / "sales.sqlite"
    with SalesStore.open(db, kiosk_id="K1") as s:
        s.add_unit("milk", "Milk 1 l", 7200, 0)
    older = till.root / "older.sqlite"
    shutil.copy(db, older)
    rc, lines = doctor(capsys, "--config", str(till.config_file()))
    assert status(lines["state"]) == OK, lines["state"]
    with SalesStore.open(db, kiosk_id="K1") as s:
        s.pay(s.open_cart().cart_id, method="cash")
    shutil.copy(older, db)  # the older copy restored: the witness beside the key saw the sale
    witness = (till.root / "sales.audit-key.head").read_bytes()
    rc, lines = doctor(capsys, "--config", str(till.config_file()))
    assert rc == 1 and status(lines["state"]) == FAIL, lines["state"]
    assert "was rolled back" in lines["state"] and "sales.audit-key.head" in lines["state"]
    assert "keep the database" in lines["state"]
    assert (till.root / "sales.audit-key.head").read_bytes() == witness  # nothing written
