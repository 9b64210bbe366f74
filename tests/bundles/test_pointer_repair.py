"""An active.json naming a version that is not installed (its folder removed by hand, a restore from another till)
is said by model-status, and the next update points it at the newest installed version that verifies, audited (it
was shown without a warning and every poll said "up to date")."""

from __future__ import annotations

import json

from kiosk.bundles.store import BundleStore
from kiosk.cli import main
from trainer.release.publish import publish


def test_a_pointer_to_a_version_not_installed_is_said_and_repaired(kiosk_v1, bundles_dir, head_office_key,
                                                                   tmp_path, capsys):
    store = kiosk_v1.store
    store.pointer_path.write_text(json.dumps({"version": 99, "previous": None}))
    assert main(["kiosk", "model-status", "--state", str(store.root)]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["problems"] and err.count("\n") == 1
    assert "names model version 99, which is not installed" in err and str(store.pointer_path) in err
    publish(bundles_dir / "v2", tmp_path / "ch", head_office_key)
    kiosk_v1.updater.channel = str(tmp_path / "ch")
    result = kiosk_v1.updater.check_once()  # repaired to v1 (installed, verifies), then v2 is newer
    assert result.outcome == "activated" and result.version == 2, result
    repair = [e for e in store.read_audit() if e["event"] == "pointer-repair"]
    assert len(repair) == 1 and (repair[0]["from_version"], repair[0]["to_version"]) == (99, 1)
    assert main(["kiosk", "model-status", "--state", str(store.root)]) == 0
    capsys.readouterr()


def test_a_pointer_with_nothing_usable_installed_is_removed(kiosk_v1, bundles_dir, head_office_key, tmp_path):
    store = kiosk_v1.store
    store.pointer_path.write_text(json.dumps({"version": 99, "previous": None}))
    (store.version_dir(1) / "model.onnx").write_bytes(b"damaged")
    publish(bundles_dir / "v1", tmp_path / "ch", head_office_key)
    kiosk_v1.updater.channel = str(tmp_path / "ch")
    result = kiosk_v1.updater.check_once()  # no active version now: the channel's v1 is installed again
    assert result.outcome == "activated" and BundleStore(store.root).active_version() == 1, result
    assert [e["to_version"] for e in store.read_audit() if e["event"] == "pointer-repair"] == [None]
