"""A signed bundle whose network does not fit its manifest is refused everywhere a kiosk takes a bundle:
``checkout bundle verify``, ``checkout kiosk update --archive``, the first start and the running updater — each
with one line, an audit entry and a blocked version, while the active model keeps recognising."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kiosk.bundle_format.archive import write_archive
from kiosk.bundle_format.verify import BundleRefused
from kiosk.bundles.store import BundleStore
from kiosk.cli import main
from tests.bundles.factory import TINY_LABELS, build_tiny_bundle
from tests.hardening.broken_bundles import BREAKS, build_broken_bundle, zeros_image
from trainer.release.publish import publish
from trainer.release.signing import sign_bundle


@pytest.fixture(scope="module")
def broken(tmp_path_factory, head_office_key, catalog_schema_version) -> dict[str, Path]:
    """Each kind of break as a signed v2 (and as a v1, for a first start), for the kiosk catalog's schema."""
    root = tmp_path_factory.mktemp("broken")
    out = {}
    for kind in BREAKS:
        for version in (1, 2):
            out[kind, version] = build_broken_bundle(root / f"{kind}-v{version}", kind, head_office_key,
                                                     model_version=version, schema_version=catalog_schema_version)
    return out


def _one_line_refusal(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "refused (contract)" in lines[0], err
    return lines[0]


def _cli_kiosk(tmp_path: Path, head_office_key, schema: int) -> tuple[list[str], list[str]]:
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "ho.pub").write_text(head_office_key.public.line())
    skus = tmp_path / "skus.txt"
    skus.write_text("\n".join(TINY_LABELS) + "\n")
    store = ["--state", str(tmp_path / "state"), "--keys", str(keys)]
    return store, ["--catalog-schema", str(schema), "--active-skus", str(skus)]


def test_bundle_verify_refuses_each_break_in_one_line(broken, head_office_key, tmp_path, capsys):
    keys = tmp_path / "ho.pub"
    keys.write_text(head_office_key.public.line())
    for kind in BREAKS:
        for extra in ([], ["--no-selftest"]):
            assert main(["bundle", "verify", str(broken[kind, 2]), "--keys", str(keys), *extra]) == 2, kind
            line = _one_line_refusal(capsys.readouterr().err)
            assert "model.onnx" in line, line


def test_kiosk_update_archive_refuses_audits_blocks_and_v1_keeps_recognising(broken, kiosk_bundles, head_office_key,
                                                                          catalog_schema_version, tmp_path, capsys):
    from kiosk.recognition.recognizer import Recognizer

    store_args, cat = _cli_kiosk(tmp_path, head_office_key, catalog_schema_version)
    channel = ["--channel", str(tmp_path / "no-channel"), "--store-id", "s1"]
    v1 = write_archive(kiosk_bundles["v1"], tmp_path / "v1.tar")
    assert main(["kiosk", "update", *store_args, *channel, *cat, "--archive", str(v1)]) == 0
    capsys.readouterr()
    store = BundleStore(tmp_path / "state")
    before = Recognizer.load(store.active_dir()).recognize(zeros_image())
    for n, kind in enumerate(BREAKS):
        archive = write_archive(broken[kind, 2], tmp_path / f"{kind}.tar")
        assert main(["kiosk", "update", *store_args, *channel, *cat, "--archive", str(archive)]) == 2, kind
        _one_line_refusal(capsys.readouterr().err)
        audit = [e for e in store.read_audit() if e["event"] == "refused"]
        assert len(audit) == n + 1 and audit[-1]["reason"] == "contract" and audit[-1]["version"] == 2
        assert store.blocked_versions() == {2} and store.active_version() == 1
        status = json.loads(store.status_path.read_text())
        assert status["state"] == "failed" and status["last_error_reason"] == "contract"
        assert Recognizer.load(store.active_dir()).recognize(zeros_image()).suggestions == before.suggestions


@pytest.mark.parametrize("kind", list(BREAKS))
def test_first_start_refuses_in_one_line_with_audit_and_block(kind, broken, kiosk_config, tmp_path):
    from kiosk.services.checkout import CheckoutService

    with pytest.raises(BundleRefused) as err:
        CheckoutService.from_config(kiosk_config(bundle=str(broken[kind, 1])))
    assert err.value.reason == "contract" and "\n" not in str(err.value)
    store = BundleStore(tmp_path / "models")
    assert store.active_version() is None and store.installed_versions() == []
    (entry,) = [e for e in store.read_audit() if e["event"] == "refused"]
    assert entry["reason"] == "contract" and entry["version"] == 1
    assert store.blocked_versions() == {1}


def test_running_updater_refuses_each_break_once_and_v1_keeps_recognising(kiosk_v1, broken, head_office_key,
                                                                          tmp_path):
    from kiosk.bundle_format.trust import TrustStore
    from kiosk.bundle_format.verify import CatalogCompat

    k = kiosk_v1
    before = k.active.recognize(k.frame())
    schema = json.loads((broken["dtype", 2] / "manifest.json").read_text())["catalog"]["schema_version"]
    k.updater.catalog = CatalogCompat.from_skus(schema, TINY_LABELS)
    for kind in BREAKS:
        k.store.write_state(blocked=[])
        channel = tmp_path / f"channel-{kind}"
        publish(broken[kind, 2], channel, head_office_key, trust=TrustStore.from_keys(head_office_key.public))
        k.updater.channel = str(channel)
        result = k.updater.check_once()
        assert (result.outcome, result.reason) == ("refused", "contract"), (kind, result)
        assert "\n" not in result.message
        status = json.loads(k.store.status_path.read_text())
        assert status["state"] == "failed" and status["last_error_reason"] == "contract", status
        assert status["blocked_versions"] == [2]
        assert k.store.read_audit()[-1]["event"] == "refused"
        again = k.updater.check_once()  # blocked: not downloaded and verified again on every poll
        assert again.outcome == "up-to-date" and "refused" in again.message
        assert k.active.version == 1 and k.active.recognize(k.frame()).suggestions == before.suggestions


def test_an_optional_int8_model_is_checked_too(head_office_key, tmp_path, capsys):
    keys = tmp_path / "ho.pub"
    keys.write_text(head_office_key.public.line())
    good = build_tiny_bundle(tmp_path / "good", model_version=3)
    shutil.copy(good / "model.onnx", good / "model.int8.onnx")  # stands in for the quantised copy
    _relist(good)
    sign_bundle(good, head_office_key)
    assert main(["bundle", "verify", str(good), "--keys", str(keys)]) == 0, capsys.readouterr().err
    assert "OK" in capsys.readouterr().out
    bad = build_broken_bundle(tmp_path / "bad", "output-count", head_office_key, onnx_name="model.int8.onnx")
    assert main(["bundle", "verify", str(bad), "--keys", str(keys)]) == 2
    assert "model.int8.onnx" in _one_line_refusal(capsys.readouterr().err)


def _relist(root: Path) -> None:
    import dataclasses

    from kiosk.bundle_format.bundle import file_entry, read_manifest, write_manifest

    m = read_manifest(root)
    files = {p.relative_to(root).as_posix(): file_entry(p) for p in root.rglob("*")
             if p.is_file() and p.name not in ("manifest.json", "manifest.sig")}
    write_manifest(root, dataclasses.replace(m, files=files))


def test_whatever_raises_inside_a_check_is_a_refusal(kiosk_v1, bundles_dir, tmp_path, monkeypatch):
    """A bug or a library error inside verification: a refusal with a reason, an audit entry, a clean status."""
    k = kiosk_v1

    def explode(path, probe):
        raise IndexError("index 5 is out of bounds for axis 0 with size 5")

    k.updater.inspect_model = explode
    with pytest.raises(BundleRefused) as err:
        k.updater.install_archive(write_archive(bundles_dir / "v2", tmp_path / "v2.tar"))
    assert err.value.reason == "contract" and "IndexError" in str(err.value)
    assert k.updater.status.state == "failed" and k.store.read_audit()[-1]["reason"] == "contract"
    assert k.active.version == 1


def test_json_nested_100000_deep_or_a_5000_digit_number_is_one_refusal(tmp_path, capsys):
    """json.loads raises RecursionError (not a ValueError) for arrays nested 100,000 deep: it came out as
    "RecursionError: maximum recursion depth exceeded" instead of the file's refusal."""
    from kiosk.bundle_format.bundle import load_bundle
    from kiosk.errors import BundleError

    bundle = tmp_path / "b"
    bundle.mkdir()
    for text in ("[" * 100_000 + "]" * 100_000, '{"a": ' + "9" * 5000 + "}"):
        (bundle / "manifest.json").write_text(text)
        with pytest.raises(BundleError, match=r"manifest.json: not valid JSON"):
            load_bundle(bundle)
        (bundle / "manifest.sig").write_text(text)
        assert main(["bundle", "verify", str(bundle), "--keys", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "manifest.sig: not a valid signature file" in err and "Recursion" not in err, err
