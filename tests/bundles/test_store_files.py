"""The model store's own files (active.json, state.json, key rotations, the update log) written by hand, cut by a
crash or tampered with: each is one BundleError naming the file -- never a traceback from int(), json's recursion or
an OverflowError -- and a damaged update-log line is skipped, the others kept."""

from __future__ import annotations

import json

import pytest

from kiosk.bundles.store import BundleStore
from kiosk.errors import BundleError

DEEP = "[" * 100_000 + "]" * 100_000
BAD = {
    "nested 100,000 deep": DEEP,
    "1e400": '{"version": 1e400}',
    "a 5,000-digit version": '{"version": ' + "9" * 5000 + "}",
    "a version that is true": '{"version": true}',
    "a negative version": '{"version": -3}',
    "a list": "[1, 2]",
    "not JSON": "{version: 1",
    "NaN": '{"version": NaN}',
    "bytes": "\udcff",
}


@pytest.mark.parametrize("text", BAD.values(), ids=BAD.keys())
def test_a_damaged_active_pointer_is_one_line_naming_it(tmp_path, text):
    store = BundleStore(tmp_path / "models")
    store.root.mkdir(parents=True, exist_ok=True)
    store.pointer_path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(BundleError) as info:
        store.active_version()
    assert str(store.pointer_path) in str(info.value) and "\n" not in str(info.value)


def test_a_damaged_state_file_or_rotation_is_one_line_and_a_damaged_log_line_is_skipped(tmp_path):
    store = BundleStore(tmp_path / "models")
    store.root.mkdir(parents=True, exist_ok=True)
    store.state_path.write_text(DEEP)
    with pytest.raises(BundleError, match="state file is not JSON"):
        store.read_state()
    store.state_path.unlink()
    store.state_path.mkdir()
    with pytest.raises(BundleError, match="cannot read the update state file"):
        store.read_state()
    (store.keys_dir / "rotations").mkdir(parents=True, exist_ok=True)
    (store.keys_dir / "rotations" / "k.json").write_text('{"a": 1e400}')
    with pytest.raises(BundleError, match="key rotation document is not usable"):
        store.apply_rotations(None)
    store.audit_path.write_text('{"event": "installed"}\n' + DEEP + "\n" + '{"event": "activated"}\n')
    assert [e["event"] for e in store.read_audit()] == ["installed", "activated"]


WRONG_KINDS = {
    "blocked holds text": ('{"blocked": ["x"]}', "'blocked'"),
    "blocked is a number": ('{"blocked": 5}', "'blocked'"),
    "index_version is text": ('{"index_version": "7"}', "'index_version'"),
    "last_seen is a number": ('{"last_seen": 5}', "'last_seen'"),
}


@pytest.mark.parametrize(("text", "field"), WRONG_KINDS.values(), ids=WRONG_KINDS.keys())
def test_a_state_file_with_values_of_the_wrong_kind_is_one_line_naming_it_and_the_field(
        kiosk_v1, bundles_dir, head_office_key, tmp_path, capsys, text, field):
    """The probe's state.json values crashed model-status and kiosk start (int('x'), iterating 5) and every poll
    said `update failed: TypeError` without naming the file: now each is one line naming state.json and the field."""
    from kiosk.cli import main
    from trainer.release.publish import publish

    store = kiosk_v1.store
    publish(bundles_dir / "v1", tmp_path / "ch", head_office_key)
    kiosk_v1.updater.channel = str(tmp_path / "ch")
    store.state_path.write_text(text)
    with pytest.raises(BundleError) as info:
        store.read_state()
    line = str(info.value)
    assert str(store.state_path) in line and field in line and "\n" not in line
    result = kiosk_v1.updater.check_once()  # a poll: one line naming the file, no TypeError
    assert result.outcome == "error" and str(store.state_path) in result.message and field in result.message
    assert "TypeError" not in result.message and kiosk_v1.updater.status.state == "failed"
    with pytest.raises(BundleError, match="state.json"):  # kiosk start: one line (checkout kiosk exits 2)
        BundleStore(store.root).open_active(kiosk_v1.trust)
    capsys.readouterr()
    assert main(["kiosk", "model-status", "--state", str(store.root)]) == 1  # the rest of the report still shown
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["active_version"] == 1 and report["problems"] == [line]
    assert err.count("\n") == 1 and str(store.state_path) in err and field in err
