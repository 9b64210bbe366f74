"""JSON that a user names or another machine sends, nested 100,000 deep (``'[' * 100000``: json's RecursionError), or
holding NaN, 10**400 or a lone surrogate: every reader below says so in one line naming the file and what it
should be -- never a traceback, and a loop (the kiosk's updater, head office's reports) goes on past it."""

from __future__ import annotations

import io
import json
import logging
import shutil
import tarfile

import pytest

from kiosk.cli import main as checkout
from tests.bundles.factory import TINY_LABELS, build_tiny_bundle
from tests.hardening.errors import one_error

DEEP = "[" * 100_000 + "]" * 100_000
HOSTILE = {"nested 100,000 deep": DEEP, "NaN": '{"a": NaN}', "10**400": '{"a": 1' + "0" * 400 + "}",
           "a lone surrogate": '{"a": "\\ud800"}'}
CASES = pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())


@pytest.fixture(scope="module")
def till(tmp_path_factory):
    """Head office's keys, a signed bundle published to a channel, and a kiosk's model store that installed it."""
    root = tmp_path_factory.mktemp("till")
    keys, trusted = root / "ho-keys", root / "kiosk-keys"
    assert checkout(["keys", "generate", "--name", "ho", "--out", str(keys)]) == 0
    trusted.mkdir()
    shutil.copy(keys / "ho.pub", trusted / "ho.pub")
    (root / "skus.txt").write_text("\n".join(TINY_LABELS) + "\n")
    bundle = build_tiny_bundle(root / "b1", model_version=1)
    assert checkout(["bundle", "sign", str(bundle), "--key", str(keys / "ho.key")]) == 0
    assert checkout(["bundle", "publish", str(bundle), "--channel", str(root / "channel"),
                     "--key", str(keys / "ho.key")]) == 0
    assert checkout(["kiosk", "update", *_update(root, root / "channel", root / "state")]) == 0
    return root


def _update(root, channel, state) -> list[str]:
    return ["--state", str(state), "--keys", str(root / "kiosk-keys"), "--channel", str(channel), "--store-id", "s1",
            "--catalog-schema", "1", "--active-skus", str(root / "skus.txt")]


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


# -- head office: bundle publish, its users file ----------------------------------------------------------------------
@CASES
def test_a_rotation_document_to_publish_is_one_line(till, tmp_path, capsys, text):
    rotation = tmp_path / "rotation.json"
    rotation.write_text(text)
    capsys.readouterr()
    assert checkout(["bundle", "publish", str(till / "b1"), "--channel", str(tmp_path / "ch"),
                     "--key", str(till / "ho-keys" / "ho.key"), "--rotation", str(rotation)]) == 2
    assert f"{rotation}: a rotation document is not" in one_error(capsys)


@CASES
def test_a_channel_index_publish_reads_back_is_one_line(till, tmp_path, capsys, text):
    channel = _copy(till / "channel", tmp_path / "ch")
    (channel / "index.json").write_text(text)
    capsys.readouterr()
    assert checkout(["bundle", "publish", str(till / "b1"), "--channel", str(channel),
                     "--key", str(till / "ho-keys" / "ho.key")]) == 2
    assert f"{channel / 'index.json'}: a channel index is not" in one_error(capsys)


@CASES
def test_a_users_file_is_one_line(tmp_path, capsys, text):
    users = tmp_path / "users.json"
    users.write_text(text)
    assert checkout(["headoffice", "user", "list", "--users", str(users)]) == 2
    assert f"{users}: a users file is not" in one_error(capsys)


# -- the kiosk's model store: status.json, the channel index, rotations, signatures, doctor ---------------------------
def test_a_damaged_status_file_is_a_warning_naming_it(till, tmp_path, capsys, caplog):
    state = _copy(till / "state", tmp_path / "state")
    (state / "status.json").write_text(DEEP)
    capsys.readouterr()
    assert checkout(["kiosk", "model-status", "--state", str(state)]) == 1  # the report still shown
    out, err = capsys.readouterr()
    assert json.loads(out)["active_version"] == 1 and "Traceback" not in err
    assert err.count("\n") == 1 and f"{state / 'status.json'}: the update status file is not JSON" in err
    (state / "status.json").write_text(DEEP)
    with caplog.at_level(logging.WARNING):  # the updater starts (it crashed the kiosk's start) and rewrites it
        assert checkout(["kiosk", "update", *_update(till, till / "channel", state)]) == 0
    assert any(str(state / "status.json") in r.getMessage() for r in caplog.records)
    assert json.loads((state / "status.json").read_text())["active_version"] == 1


@pytest.mark.parametrize("text", [HOSTILE["10**400"], HOSTILE["a lone surrogate"]], ids=["10**400", "surrogate"])
def test_a_channel_index_from_the_network_is_refused_as_such(till, tmp_path, capsys, text):
    channel = _copy(till / "channel", tmp_path / "ch")
    (channel / "index.json").write_text(text)
    capsys.readouterr()
    assert checkout(["kiosk", "update", *_update(till, channel, _copy(till / "state", tmp_path / "s"))]) != 0
    out, err = capsys.readouterr()
    assert "the channel index is not usable" in out + err and "Traceback" not in out + err


@CASES
def test_a_rotation_beside_the_trusted_keys_is_one_line(till, tmp_path, capsys, text):
    keys = _copy(till / "kiosk-keys", tmp_path / "keys")
    (keys / "rotations").mkdir()
    (keys / "rotations" / "r.json").write_text(text)
    capsys.readouterr()
    assert checkout(["bundle", "verify", str(till / "b1"), "--keys", str(keys)]) == 2
    assert f"{keys / 'rotations' / 'r.json'}: a rotation document is not" in one_error(capsys)


@CASES
def test_a_signature_file_is_one_line(till, tmp_path, capsys, text):
    bundle = _copy(till / "b1", tmp_path / "b")
    (bundle / "manifest.sig").write_text(text)
    capsys.readouterr()
    assert checkout(["bundle", "verify", str(bundle), "--keys", str(till / "kiosk-keys")]) == 2
    assert f"{bundle / 'manifest.sig'}: not a valid signature file" in one_error(capsys)


@pytest.mark.parametrize("text", [DEEP, '{"a": 1e400}'], ids=["deep", "1e400"])
def test_doctor_names_a_damaged_rotation_in_the_model_store(kiosk_config, tmp_path, text):
    from kiosk.doctor import CHECKS, FAIL, Context
    from kiosk.doctor.core import run_one

    config = kiosk_config()
    rotations = tmp_path / "models" / "keys" / "rotations"
    rotations.mkdir(parents=True)
    (rotations / "k.json").write_text(text)
    result = run_one(next(c for c in CHECKS if c.name == "bundle"), Context(config))
    assert result.status == FAIL and f"{rotations / 'k.json'}: a key rotation document is not" in result.found
    assert "Recursion" not in result.found and "\n" not in result.found


def test_a_capture_record_nested_deep_is_skipped(tmp_path):
    from kiosk.services.captures import LEGACY_INDEX, CaptureFolder

    class Line:
        line_id = "L1"

    class Cart:
        all_lines = [Line()]

    class Store:
        def restore_provenance(self, found):
            self.found = found
            return len(found)

    photo = str(tmp_path / "c" / "p.jpg")  # a photo in the captures folder (tests/services/test_legacy_captures.py)
    (tmp_path / LEGACY_INDEX).write_bytes(b"\n".join([DEEP.encode(), b'{"line_id": ["L1"]}', b"\xff\xfe",
                                                      b'{"line_id": "L1", "image": "%s"}' % photo.encode()]))
    store = Store()
    assert CaptureFolder(tmp_path, emit=lambda *a: None).restore_provenance(store, Cart()) == 1
    assert store.found["L1"].image_path == photo


# -- the trainer: run folders, shards, collect's record, the taught report ---------------------------------------------
def test_a_run_folder_file_nested_deep_is_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("labels.json", "best.json", "args.json", "best.safetensors"):
        (run / name).write_text(DEEP)
    assert checkout(["bundle", "export", str(run), "--out", str(tmp_path / "b")]) == 2
    assert f"{run / 'labels.json'}: not valid JSON" in one_error(capsys)


def test_a_metrics_line_nested_deep_is_skipped(tmp_path, capsys):
    from trainer.run_files import read_records

    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n' + DEEP + '\n{"epoch": 2}\n')
    assert read_records(tmp_path / "metrics.jsonl") == [{"epoch": 1}, {"epoch": 2}]
    assert "metrics.jsonl line 2: not a JSON record" in capsys.readouterr().err


@CASES
def test_a_shard_index_is_one_line(tmp_path, text):
    from kiosk.errors import DataError
    from trainer.shards.index import load_index

    (tmp_path / "index.json").write_text(text)
    with pytest.raises(DataError, match="index.json: a shard index is not") as info:
        load_index(tmp_path)
    assert "\n" not in str(info.value)


def test_a_shard_sample_nested_deep_is_left_out_with_its_reason():
    from trainer.shards.read import RawSample, decode_sample

    for meta in (DEEP.encode(), b"[1]"):
        with pytest.raises(ValueError, match="000000007.json: a sample's metadata is not JSON|not in the index"):
            decode_sample(RawSample("s0.tar", "000000007", {"json": meta, "jpg": b""}), {"banana": 0})


def test_collect_with_its_record_nested_deep_is_one_line(tmp_path, capsys):
    from tests.trainer.fleet.stores import crop, put_batch, record

    ho, out = tmp_path / "ho", tmp_path / "out"
    put_batch(ho, "S", "K1", [record("p1", "banana", "staff")], {"p1": crop(1)})
    collect = ["feedback", "collect", str(ho), "--out", str(out), "--no-cache", "--workers", "1"]
    assert checkout(collect) == 0
    (out / "collect.json").write_text(DEEP)
    capsys.readouterr()
    assert checkout(collect) == 2  # its files no longer count as collect's: refused unless --force
    assert "collect.json" in one_error(capsys)
    assert checkout([*collect, "--force"]) == 0 and json.loads((out / "collect.json").read_text())["rows"] == 1


def test_a_release_manifest_nested_deep_is_that_groups_problem(tmp_path):
    from trainer.headoffice.taught import released_labels

    for name, manifest in (("bad.tar", DEEP.encode()), ("good.tar", json.dumps({"labels": ["banana"]}).encode())):
        with tarfile.open(tmp_path / name, "w") as tar:
            info = tarfile.TarInfo("manifest.json")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))
    groups = {"a": {"archive": "bad.tar", "model_version": 3}, "b": {"archive": "good.tar", "model_version": 4}}
    (tmp_path / "index.json").write_text(json.dumps({"signed": {"groups": groups}}))
    labels, problems = released_labels(tmp_path)
    assert labels == {"b": {"banana"}}
    assert problems == ["group a: release v3: bad.tar: manifest.json nested too deeply to read"]
