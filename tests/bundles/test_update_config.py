"""``checkout kiosk update --config kiosk.toml`` (kiosk/update_cli.py) does what the running kiosk's updater does: its
channel, store id, group and backend come from the kiosk's settings (as ``open_model_store`` makes the kiosk's own
updater) and bundles are checked against the kiosk's catalog (its schema version and active SKUs), unless the command
line names them; polling with settings that have no channel is one line. Without ``--config`` each missing option is
named in one line, and an archive needs no ``--channel``."""

from __future__ import annotations

import json

import pytest

from kiosk.bundle_format.archive import write_archive
from kiosk.bundle_format.trust import TrustStore
from kiosk.bundles.store import BundleStore
from kiosk.cli import main
from tests.bundles.conftest import SETTINGS
from tests.bundles.factory import TINY_LABELS
from tests.bundles.test_rollback_audit import till_model_rows
from trainer.release.publish import publish


@pytest.fixture
def settings(kiosk_config, tmp_path):
    """``settings(**values)``: ``(config, kiosk.toml)`` for a kiosk in ``tmp_path`` with those settings too."""

    def make(**values):
        config = kiosk_config(**values)
        toml = tmp_path / "kiosk.toml"
        toml.write_text("".join(f"{k} = {json.dumps(getattr(config, k))}\n" for k in (*SETTINGS, *values)))
        return config, toml

    return make


@pytest.fixture
def archive(kiosk_bundles, tmp_path):
    """``archive(name)``: the signed kiosk bundle ``name`` (v1, v2, v2-other-catalog) as an archive."""

    def make(name: str) -> str:
        path = tmp_path / f"{name}.tar"
        if not path.exists():
            write_archive(kiosk_bundles[name], path)
        return str(path)

    return make


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "required" not in err, err
    return err


def _status(config) -> dict:
    return json.loads((BundleStore(config.model_state).root / "status.json").read_text())


def test_the_kiosks_settings_alone_poll_its_channel(settings, kiosk_bundles, head_office_key, tmp_path, capsys):
    channel = tmp_path / "channel"
    publish(kiosk_bundles["v1"], channel, head_office_key, group="south")  # only the settings' group has a release
    config, toml = settings(channel=str(channel), store_id="BLR-0042", store_group="south")
    assert main(["kiosk", "update", "--config", str(toml)]) == 0
    assert "activated model version 1" in capsys.readouterr().out
    assert BundleStore(config.model_state).active_version() == 1
    status = _status(config)
    assert (status["channel"], status["store_id"], status["group"]) == (str(channel), "BLR-0042", "south")
    assert main(["kiosk", "update", "--config", str(toml)]) == 0 and "up-to-date" in capsys.readouterr().out


def test_the_command_line_wins_over_the_settings(settings, kiosk_bundles, head_office_key, tmp_path, capsys):
    theirs, ours = tmp_path / "channel", tmp_path / "other-channel"
    publish(kiosk_bundles["v1"], theirs, head_office_key, group="south")
    publish(kiosk_bundles["v2"], ours, head_office_key)  # group "default"
    config, toml = settings(channel=str(theirs), store_id="BLR-0042", store_group="south", backend="tensorrt")
    assert main(["kiosk", "update", "--config", str(toml), "--channel", str(ours), "--store-id", "MYS-7",
                 "--group", "default", "--backend", "onnxruntime"]) == 0
    assert "activated model version 2" in capsys.readouterr().out
    status = _status(config)
    assert (status["channel"], status["store_id"], status["group"]) == (str(ours), "MYS-7", "default")


def test_the_settings_backend_is_the_one_a_new_model_must_load_with(settings, archive, capsys):
    config, toml = settings(backend="tensorrt")  # not installed here: a model cannot load with it
    assert main(["kiosk", "update", "--config", str(toml), "--archive", archive("v1"), "--backend",
                 "onnxruntime"]) == 0
    assert "activated model version 1" in capsys.readouterr().out
    assert main(["kiosk", "update", "--config", str(toml), "--archive", archive("v2")]) == 1
    assert capsys.readouterr().out.startswith("rolled-back:")
    assert BundleStore(config.model_state).active_version() == 1


def test_an_archive_with_the_settings_needs_no_channel_store_or_catalog_options(settings, archive, tmp_path, capsys,
                                                                                 catalog_schema_version):
    config, toml = settings()  # no channel, no store_id: a kiosk that takes its models from archives
    assert main(["kiosk", "update", "--config", str(toml), "--archive", archive("v2-other-catalog")]) == 2
    assert "refused (catalog)" in _one_line(capsys)  # checked against the kiosk's own catalog: no dragon-fruit there
    assert BundleStore(config.model_state).active_version() is None
    assert main(["kiosk", "update", "--config", str(toml), "--archive", archive("v1")]) == 0
    assert "activated model version 1" in capsys.readouterr().out
    skus = tmp_path / "skus.txt"
    skus.write_text("\n".join([*TINY_LABELS[:4], "dragon-fruit"]) + "\n")
    catalog = ["--catalog-schema", str(catalog_schema_version), "--active-skus", str(skus)]
    assert main(["kiosk", "update", "--config", str(toml), "--archive", archive("v2-other-catalog"), *catalog]) == 0
    assert "activated model version 2" in capsys.readouterr().out  # the command line's catalog wins
    assert main(["kiosk", "update", "--config", str(toml), "--archive", archive("v1"), catalog[0], catalog[1]]) == 2
    assert "--catalog-schema and --active-skus go together" in _one_line(capsys)


def test_an_unblock_with_the_settings_alone(two_versions, head_office_key, archive, capsys):
    config, store, toml = two_versions
    assert store.rollback(TrustStore.from_keys(head_office_key.public), actor="Ravi", reason="v2 misreads") == 1
    assert main(["kiosk", "update", "--config", str(toml), "--archive", archive("v2"), "--unblock", "--staff", "Ravi",
                 "--reason", "labels fixed"]) == 0
    assert "activated model version 2" in capsys.readouterr().out
    assert store.active_version() == 2 and store.blocked_versions() == set()
    (kind, actor, row), = till_model_rows(config)
    assert (kind, actor, row["version"]) == ("model.unblock", "Ravi", 2)


def test_settings_with_no_channel_do_not_poll(settings, tmp_path, capsys):
    config, toml = settings()
    assert main(["kiosk", "update", "--config", str(toml)]) == 2
    err = _one_line(capsys)
    assert f'{toml}: no channel in the kiosk\'s settings (channel = ""); pass --channel URL' in err, err
    assert not (tmp_path / "models").exists()  # nothing was opened
    assert main(["kiosk", "update", "--config", str(toml), "--channel", " "]) == 2
    assert "--channel is empty; name --channel URL" in _one_line(capsys)
    assert main(["kiosk", "update", "--config", str(toml), "--channel", str(tmp_path / "ch")]) == 2
    assert 'no store id in the kiosk\'s settings (store_id = ""); pass --store-id ID' in _one_line(capsys)


@pytest.mark.parametrize("given, missing", [
    ([], "--channel URL, --store-id ID, --catalog-schema N, --active-skus FILE: needed without --config"),
    (["--channel", "C", "--catalog-schema", "1", "--active-skus", "S"], "--store-id ID: needed without --config"),
    (["--store-id", "S1", "--channel", "C"], "--catalog-schema N, --active-skus FILE: needed without --config"),
    (["--store-id", "S1", "--catalog-schema", "1", "--active-skus", "S"], "--channel URL: needed without --config"),
])
def test_without_the_settings_each_missing_option_is_named_in_one_line(given, missing, tmp_path, capsys):
    state = ["--state", str(tmp_path / "models"), "--keys", str(tmp_path)]
    assert main(["kiosk", "update", *state, *given]) == 2
    err = _one_line(capsys)
    assert missing in err, err
    assert ("--archive FILE needs no --channel" in err) == ("--channel URL" in missing)
    assert not (tmp_path / "models").exists()


def test_without_the_settings_an_archive_needs_no_channel(archive, head_office_key, catalog_schema_version, tmp_path,
                                                          capsys):
    keys = tmp_path / "ho.pub"
    keys.write_text(head_office_key.public.line())
    skus = tmp_path / "skus.txt"
    skus.write_text("\n".join(TINY_LABELS) + "\n")
    common = ["kiosk", "update", "--state", str(tmp_path / "models"), "--keys", str(keys), "--archive", archive("v1")]
    catalog = ["--catalog-schema", str(catalog_schema_version), "--active-skus", str(skus)]
    assert main([*common, *catalog]) == 2
    assert "--store-id ID: needed without --config" in _one_line(capsys)
    assert main([*common, "--store-id", "S1", *catalog]) == 0
    assert "activated model version 1" in capsys.readouterr().out


def test_a_new_model_is_test_loaded_as_the_kiosk_loads_it(settings, archive, capsys):
    config, toml = settings(precision="int8")  # the kiosk runs int8 models only; this bundle carries none
    assert main(["kiosk", "update", "--config", str(toml), "--archive", archive("v1")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("rolled-back:") and "int8" in out, out
    assert BundleStore(config.model_state).active_version() is None
