"""The kiosk process over a BundleStore (``model_state``): settings, first start, restart, fallback, no model.

These drive ``CheckoutService.from_config`` with real catalogs, stores and tiny signed bundles (no window);
the running-kiosk acceptance over HTTP with the window is ``test_kiosk_update_e2e.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time

import pytest

from kiosk.bundle_format.verify import BundleRefused
from kiosk.bundles.store import BundleStore
from kiosk.bundles.updater import Updater
from kiosk.config import ConfigError, KioskConfig
from kiosk.services.checkout import CheckoutService
from kiosk.services.events import ModelChanged, Notice, UpdateStatusChanged
from trainer.release.publish import publish

KIOSK_TOML = """
bundle = "var/bundle"
catalog = "var/catalog.sqlite"
model_state = "/var/lib/checkout/models"
trusted_keys = "assets/keys"
channel = "https://ho.example/channel"
update_interval_s = 600
store_id = "BLR-0042"
store_group = "south"
"""


def test_update_settings_from_toml_and_refusals(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text(KIOSK_TOML)
    c = KioskConfig.from_file(path)
    assert (c.model_state, c.trusted_keys, c.channel, c.update_interval_s, c.store_id, c.store_group) == (
        "/var/lib/checkout/models", "assets/keys", "https://ho.example/channel", 600.0, "BLR-0042", "south")
    d = KioskConfig()
    assert (d.model_state, d.trusted_keys, d.channel, d.store_group) == ("", "assets/keys", "", "default")
    for name in ("model_state", "trusted_keys", "channel", "update_interval_s", "store_id", "store_group"):
        assert f"\n{name} (default" in "\n" + KioskConfig.describe()
    bad = {
        "update_channel = 'x'\n": "unknown setting(s) update_channel",
        "channel = 'ftp://ho.example/c'\nmodel_state = 's'\nstore_id = 'S'\n": "channel='ftp://ho.example/c'",
        "channel = 'https://ho.example/c'\nmodel_state = 's'\n": "needs store_id",
        "channel = 'file:/srv/channel'\nstore_id = 'S'\n": "needs model_state",
        "update_interval_s = 0\n": "update_interval_s=0.0",
    }
    for text, words in bad.items():
        path.write_text(text)
        with pytest.raises(ConfigError, match=r"kiosk\.toml") as err:
            KioskConfig.from_file(path)
        assert words in str(err.value)


def test_checkout_kiosk_options_override_the_config(tmp_path):
    from kiosk import update_cli
    from kiosk.bundles import cli as bundles_cli
    from kiosk.commands import register
    from kiosk.config import config_from_args

    root = argparse.ArgumentParser()
    sub = root.add_subparsers(dest="command")
    groups: dict = {}
    register(sub, groups)
    bundles_cli.register(sub, groups)
    update_cli.register(sub, groups)
    path = tmp_path / "kiosk.toml"
    path.write_text(KIOSK_TOML)
    args = root.parse_args(["kiosk", "--config", str(path), "--channel", "file:/srv/channel", "--store-id", "MYS-7",
                            "--store-group", "west", "--update-interval", "30", "--model-state", "/srv/models",
                            "--trusted-keys", "/etc/checkout/keys"])
    c = config_from_args(args)
    assert (c.channel, c.store_id, c.store_group, c.update_interval_s, c.model_state, c.trusted_keys) == (
        "file:/srv/channel", "MYS-7", "west", 30.0, "/srv/models", "/etc/checkout/keys")
    assert config_from_args(root.parse_args(["kiosk", "--config", str(path)])).store_group == "south"
    # `checkout kiosk update` keeps its own --channel/--store-id
    args = root.parse_args(["kiosk", "update", "--state", "s", "--keys", "k", "--channel", "http://x/c",
                            "--store-id", "S9", "--catalog-schema", "2", "--active-skus", "skus.txt"])
    assert (args.channel, args.store_id, args.func.__name__) == ("http://x/c", "S9", "cmd_kiosk_update")


def _flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage,reason", [("unsigned", "signature"), ("byte-flipped", "hash"),
                                           ("expired", "expired")])
def test_first_start_installs_bundle_only_when_it_verifies(damage, reason, kiosk_config, kiosk_bundles, tmp_path,
                                                           head_office_key):
    from datetime import timedelta

    from trainer.release.signing import sign_bundle

    bad = tmp_path / "bad-v1"
    shutil.copytree(kiosk_bundles["v1"], bad)
    if damage == "unsigned":
        (bad / "manifest.sig").unlink()
    elif damage == "byte-flipped":
        _flip(bad / "model.onnx")
    else:
        sign_bundle(bad, head_office_key, expires_in=timedelta(seconds=-1))
    with pytest.raises(BundleRefused) as err:
        CheckoutService.from_config(kiosk_config(bundle=str(bad)))
    assert err.value.reason == reason and "\n" not in str(err.value) and str(bad) in str(err.value)
    store = BundleStore(tmp_path / "models")
    assert store.active_version() is None and store.installed_versions() == []
    assert store.read_audit()[-1]["event"] == "refused"


def test_trusted_keys_must_name_keys(kiosk_config, tmp_path):
    from kiosk.bundle_format.trust import KeyFileError

    (tmp_path / "empty-keys").mkdir()
    for keys, words in ((tmp_path / "empty-keys", "no trusted public keys"), (tmp_path / "missing", "no such key")):
        with pytest.raises(KeyFileError, match=words):
            CheckoutService.from_config(kiosk_config(trusted_keys=str(keys)))
    assert not (tmp_path / "models" / "active.json").exists()


def test_restart_runs_the_store_version_and_close_stops_the_updater(kiosk_config, kiosk_bundles, head_office_key,
                                                                    tmp_path):
    channel = tmp_path / "channel"
    publish(kiosk_bundles["v2"], channel, head_office_key)
    config = kiosk_config(channel=channel.as_uri(), store_id="BLR-0042", update_interval_s=30)
    with CheckoutService.from_config(config) as service:  # first start: v1 from `bundle`
        events: list = []
        service.add_listener(events.append)
        service.announce()
        assert service.model.version == 1
        assert any(isinstance(e, Notice) and "v1 installed from" in e.message for e in events)
        first = [e for e in events if isinstance(e, UpdateStatusChanged)]
        assert first and first[0].message == "Update: v1, first check pending"
        service.start_updates()  # first check at once: v2 is on the channel
        updater = service.updater
        assert updater.running
        deadline = time.monotonic() + 20
        while service.model.version != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.model.version == 2
        assert [e.version for e in events if isinstance(e, ModelChanged)][-1] == 2
    assert not updater.running  # close() stopped the polling thread
    with CheckoutService.from_config(config) as again:  # restart: the store's v2, `bundle` (v1) is not looked at
        assert again.model.version == 2 and again.updater.store.active_version() == 2
    assert [a["event"] for a in BundleStore(tmp_path / "models").read_audit()] == ["activate", "activate"]


def test_active_bundle_failing_the_catalog_check_falls_back_for_that_start(kiosk_config, kiosk_bundles,
                                                                           head_office_key, tmp_path):
    """A SKU missing or inactive in the catalog today may be back tomorrow: the start runs v1, v2 is not blocked and
    the pointer stays on it, so the next start tries it again (it was blocked for good)."""
    from kiosk.bundle_format.trust import TrustStore

    config = kiosk_config()
    CheckoutService.from_config(config).close()  # v1 installed
    store = BundleStore(config.model_state)
    # v2 for another catalog got installed without a catalog check (e.g. `checkout kiosk update` without
    # --catalog-schema/--active-skus): the kiosk must not run it
    up = Updater(store, TrustStore.from_keys(head_office_key.public), "", "S1", catalog=None)
    assert up.install_directory(kiosk_bundles["v2-other-catalog"]).outcome == "activated"
    assert store.active_version() == 2
    with CheckoutService.from_config(config) as service:
        events: list = []
        service.add_listener(events.append)
        service.announce()
        assert service.model.version == 1
        warnings = [e.message for e in events if isinstance(e, Notice) and e.level == "warning"]
        assert warnings and "model v2 failed its checks at start; running v1" in warnings[0]
    assert store.active_version() == 2 and store.blocked_versions() == set()
    fallback = store.read_audit()[-1]
    assert fallback["event"] == "fallback" and "dragon-fruit" in fallback["reason"]
    with CheckoutService.from_config(config) as service:  # tried again at the next start
        assert service.model.version == 1
    assert [e["event"] for e in store.read_audit()][-2:] == ["fallback", "fallback"]


def test_no_model_yet_sells_by_search_then_gets_one_from_the_channel(kiosk_config, kiosk_bundles, head_office_key,
                                                                     tmp_path):
    channel = tmp_path / "channel"
    config = kiosk_config(bundle=str(tmp_path / "no-bundle-here"), channel=str(channel), store_id="S1")
    with CheckoutService.from_config(config) as service:
        events: list = []
        service.add_listener(events.append)
        service.announce()
        assert service.model.version is None
        assert [e for e in events if isinstance(e, ModelChanged)] == [ModelChanged(None, "no model")]
        assert any(isinstance(e, Notice) and "no usable model" in e.message for e in events)
        assert service.choose("milk-toned-500ml") is not None  # selling goes on by search / tap
        result = service.check_for_update()
        assert result.outcome == "error"  # no channel published yet: a network-type error, retried later
        assert service.update_status.level == "warn" and "will retry" in service.update_status.message
        publish(kiosk_bundles["v1"], channel, head_office_key)
        assert service.check_for_update().outcome == "activated"
        assert service.model.version == 1 and len(service.cart_view().lines) == 1
        assert service.update_status.message.startswith("Update: v1 up to date")
    report = json.loads((tmp_path / "models" / "status.json").read_text())
    assert report["active_version"] == 1 and report["channel"] == str(channel)


def test_the_update_line_tells_the_time_on_the_stores_clock(kiosk_config, kiosk_bundles, head_office_key, tmp_path,
                                                             monkeypatch):
    """A till's service may run in UTC (systemd without TZ): "checked HH:MM" is the store's time, as receipts are."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        channel = tmp_path / "channel"
        publish(kiosk_bundles["v1"], channel, head_office_key)
        config = kiosk_config(channel=str(channel), store_id="S1", store_timezone="Pacific/Kiritimati")  # UTC+14
        with CheckoutService.from_config(config) as service:
            service.check_for_update()
            status = service.update_status
            checked = datetime.fromisoformat(status.last_check.replace("Z", "+00:00"))
            store_hhmm = checked.astimezone(ZoneInfo("Pacific/Kiritimati")).strftime("%H:%M")
            assert status.message.endswith(f"checked {store_hhmm}"), status.message
            assert store_hhmm != checked.astimezone(ZoneInfo("UTC")).strftime("%H:%M")
    finally:
        monkeypatch.undo()
        time.tzset()
