"""Signed bundles and channel indexes whose *values* are wrong: a signature says who wrote a document, not that a
kiosk can live with what it says. Each is refused in one line naming the file and the field, the running version is
untouched and audited, and the kiosk never writes a pointer or state file it could not read back."""

from __future__ import annotations

import json
import os
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from kiosk.bundle_format.archive import MAX_MEMBERS, safe_extract, write_archive
from kiosk.bundle_format.bundle import SelfTestCase
from kiosk.bundle_format.channel import verify_index
from kiosk.bundle_format.selftest import compare_case
from kiosk.bundle_format.trust import PublicKey, TrustStore
from kiosk.bundle_format.values import MAX_NUMBER
from kiosk.bundle_format.verify import BundleRefused
from kiosk.bundles.store import BundleStore
from kiosk.cli import main
from kiosk.errors import BundleError
from kiosk.exchange import document
from tests.bundles.factory import TINY_LABELS
from tests.bundles.test_tamper import tar_dir
from tests.hardening.broken_bundles import Raw, resign_edited, resign_index
from trainer.release.publish import publish


def _set(path: str, value):
    """An edit setting ``a.b.c`` (list indexes as digits) of a manifest to ``value``."""
    def edit(doc):
        *parents, last = path.split(".")
        node = doc
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        node[int(last) if isinstance(node, list) else last] = value
    return edit


def _first_file(field: str, value):
    def edit(doc):
        doc["files"][sorted(doc["files"])[0]][field] = value
    return edit


MANIFEST_VALUES = {  # name → (edit, text the refusal names)
    "model_version 10**30": (_set("model_version", 10**30), "model_version"),
    "model_version 2**53+1": (_set("model_version", 2**53 + 1), "model_version"),
    "model_version 2.9": (_set("model_version", 2.9), "model_version"),
    "model_version '3'": (_set("model_version", "3"), "model_version"),
    "model_version true": (_set("model_version", True), "model_version"),
    "auto_add_threshold -1": (_set("auto_add_threshold", -1), "auto_add_threshold"),
    "auto_add_threshold 0": (_set("auto_add_threshold", 0), "auto_add_threshold"),
    "auto_add_threshold 1/labels": (_set("auto_add_threshold", 1 / len(TINY_LABELS)), "auto_add_threshold"),
    "auto_add_threshold NaN": (_set("auto_add_threshold", Raw("NaN")), "auto_add_threshold"),
    "auto_add_threshold 1e400": (_set("auto_add_threshold", Raw("1e400")), "auto_add_threshold"),
    "open_set msp NaN": (_set("open_set", {"score": "msp", "thresholds": {"msp": Raw("NaN")}}), "open_set.thresholds"),
    "open_set msp 1.5": (_set("open_set", {"score": "msp", "thresholds": {"msp": 1.5}}), "open_set.thresholds.msp"),
    "preprocess.std zeros": (_set("preprocess.std", [0, 0, 0]), "preprocess.std"),
    "preprocess.std negative": (_set("preprocess.std", [0.2, -0.2, 0.2]), "preprocess.std"),
    "preprocess.mean NaN": (_set("preprocess.mean", [Raw("NaN"), 0.4, 0.4]), "preprocess.mean"),
    "preprocess.crop_size '32'": (_set("preprocess.crop_size", "32"), "preprocess.crop_size"),
    "catalog.schema_version 'one'": (_set("catalog.schema_version", "one"), "catalog.schema_version"),
    "files size 'abc'": (_first_file("size", "abc"), ".size"),
    "files sha256 a path": (_first_file("sha256", "../../etc/passwd"), ".sha256"),
    "selftest no labels": (_set("selftest.0", {"image": "selftest/000.png", "top_labels": [], "top_scores": []}),
                           "selftest[0]"),
    "selftest scores short": (lambda d: d["selftest"][0]["top_scores"].pop(), "selftest[0]"),
    "selftest score NaN": (_set("selftest.0.top_scores.0", Raw("NaN")), "selftest[0]"),
}


@pytest.mark.parametrize("name", list(MANIFEST_VALUES))
def test_signed_manifest_values_out_of_range_are_refused_and_v1_stays(name, kiosk_v1, bundle_copy, head_office_key,
                                                                     tmp_path):
    edit, field = MANIFEST_VALUES[name]
    k = kiosk_v1
    archive = tar_dir(resign_edited(bundle_copy(2), head_office_key, edit), tmp_path / "bad.tar")
    with pytest.raises(BundleRefused) as err:
        k.updater.install_archive(archive)
    message = str(err.value)
    assert err.value.reason == "manifest" and field in message and str(archive) in message, message
    assert "\n" not in message and "staging" not in message, message
    assert k.store.active_version() == 1 and k.store.read_pointer()["version"] == 1 and k.active.version == 1
    last = k.store.read_audit()[-1]
    assert last["event"] == "refused" and last["reason"] == "manifest" and last["active_version"] == 1


def test_a_negative_version_on_a_fresh_store_is_refused_and_nothing_is_active(bundle_copy, head_office_key, tmp_path):
    from tests.bundles.conftest import make_kiosk

    k = make_kiosk(tmp_path / "fresh", TrustStore.from_keys(head_office_key.public))
    bundle = resign_edited(bundle_copy(1), head_office_key, _set("model_version", -3))
    with pytest.raises(BundleRefused, match=r"refused \(manifest\): .*model_version") as err:
        k.updater.install_directory(bundle)
    assert str(bundle) in str(err.value)
    assert not k.store.pointer_path.exists() and k.store.installed_versions() == []
    assert BundleStore(tmp_path / "fresh").active_version() is None


def test_the_store_never_writes_a_pointer_or_state_it_would_refuse_to_read(kiosk_v1):
    store = kiosk_v1.store
    pointer, state = store.pointer_path.read_bytes(), store.state_path.read_bytes()
    for bad in (10**30, -3):
        store.version_dir(bad).mkdir()  # installed, as the probe's bundles were
        with pytest.raises(BundleError, match="active pointer"):
            store.set_active(bad, by="test")
    for change in ({"index_version": 2**60}, {"last_seen": float("nan")}, {"blocked": [10**30]}):
        with pytest.raises(BundleError, match="state file"):
            store.write_state(**change)
    assert store.pointer_path.read_bytes() == pointer and store.state_path.read_bytes() == state
    assert store.active_version() == 1 and store.read_state()


def test_the_store_bound_matches_what_the_kiosk_reads_back():
    assert MAX_NUMBER == document.MAX_NUMBER


@pytest.fixture
def channel(kiosk_v1, bundles_dir, head_office_key, tmp_path) -> Path:
    ch = tmp_path / "ch"
    publish(bundles_dir / "v2", ch, head_office_key)
    kiosk_v1.updater.channel = str(ch)
    return ch


def _entry(field: str, value):
    def edit(signed):
        signed["groups"]["default"][field] = value
    return edit


INDEX_VALUES = {  # name → (edit of the signed index, text the refusal names)
    "version 2**60": (lambda s: s.update(version=2**60), "version"),
    "version -1": (lambda s: s.update(version=-1), "version"),
    "version '7'": (lambda s: s.update(version="7"), "version"),
    "rollout_percent 'abc'": (_entry("rollout_percent", "abc"), "rollout_percent"),
    "rollout_percent 150": (_entry("rollout_percent", 150), "rollout_percent"),
    "size 0": (_entry("size", 0), "size"),
    "size -5": (_entry("size", -5), "size"),
    "size 2.5": (_entry("size", 2.5), "size"),
    "model_version 10**30": (_entry("model_version", 10**30), "model_version"),
    "sha256 a path": (_entry("sha256", "../../../../tmp/escaped"), "sha256"),
    "manifest_sha256 not hex": (_entry("manifest_sha256", "xyz"), "manifest_sha256"),
}


@pytest.mark.parametrize("name", list(INDEX_VALUES))
def test_signed_index_values_out_of_range_are_refused_and_state_stays_readable(name, kiosk_v1, channel,
                                                                              head_office_key, tmp_path):
    edit, field = INDEX_VALUES[name]
    resign_index(channel, head_office_key, edit)
    before = kiosk_v1.store.read_state().get("index_version")
    result = kiosk_v1.updater.check_once()
    assert result.outcome == "refused" and result.reason == "index", result
    assert field in result.message and "index.json" in result.message and "\n" not in result.message, result
    store = BundleStore(kiosk_v1.store.root)
    assert store.read_state().get("index_version") == before and store.active_version() == 1
    assert not list(store.staging_dir.glob("download-*")) and not (tmp_path / "escaped.part").exists()
    assert store.read_audit()[-1]["reason"] == "index"


def test_an_index_signed_by_an_expired_key_says_so(bundles_dir, head_office_key, tmp_path):
    ch = tmp_path / "ch"
    publish(bundles_dir / "v2", ch, head_office_key)
    doc = json.loads((ch / "index.json").read_text())
    old = PublicKey(head_office_key.public.raw, "ho", expires="2000-01-01T00:00:00Z")
    with pytest.raises(BundleError, match=f"signed by key {old.keyid}, which expired at 2000-01-01T00:00:00Z"):
        verify_index(doc, TrustStore.from_keys(old), "index.json")


def test_listed_fifo_is_refused_not_read_forever(kiosk_v1, bundle_copy, head_office_key, tmp_path):
    bundle = bundle_copy(2)
    os.mkfifo(bundle / "selftest" / "zz.png")
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    resign_edited(bundle, head_office_key, lambda d: d["files"].update({"selftest/zz.png": {"sha256": empty,
                                                                                            "size": 0}}))
    outcome: list = []

    def install():
        try:
            outcome.append(kiosk_v1.updater.install_directory(bundle))
        except BundleError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=install, daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader so the thread can end
        fd = os.open(bundle / "selftest" / "zz.png", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    assert not worker.is_alive(), "install_directory hung on a FIFO"
    (err,) = outcome
    assert isinstance(err, BundleRefused) and err.reason == "hash" and "zz.png" in str(err) and "FIFO" in str(err)
    assert kiosk_v1.store.active_version() == 1
    with pytest.raises(BundleError, match="not a regular file"):
        write_archive(bundle, tmp_path / "b.tar", ["selftest/zz.png"])


def test_a_read_only_versions_folder_is_one_line_naming_it(kiosk_v1, bundles_dir, head_office_key, tmp_path,
                                                          monkeypatch, caplog):
    import kiosk.bundles.store as store_module

    real_rename = os.rename

    def rename(src, dst, *a, **kw):
        if Path(dst).parent == kiosk_v1.store.versions_dir:
            raise PermissionError(13, "Permission denied", str(src), None, str(dst))
        return real_rename(src, dst, *a, **kw)

    monkeypatch.setattr(store_module.os, "rename", rename)
    ch = tmp_path / "ch"
    publish(bundles_dir / "v2", ch, head_office_key)
    kiosk_v1.updater.channel = str(ch)
    caplog.set_level("ERROR")
    result = kiosk_v1.updater.check_once()
    assert result.outcome == "error" and str(kiosk_v1.store.versions_dir) in result.message, result
    assert "Permission denied" in result.message and "\n" not in result.message
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged for a read-only folder"
    assert kiosk_v1.store.active_version() == 1


def test_refusals_of_an_archive_name_the_archive_and_member(kiosk_v1, bundle_copy, tmp_path):
    bundle = bundle_copy(2)
    (bundle / "contig").write_text("x")
    archive = tar_dir(bundle, tmp_path / "extra.tar")
    with pytest.raises(BundleRefused) as err:
        kiosk_v1.updater.install_archive(archive)
    message = str(err.value)
    assert err.value.reason == "hash" and f"{archive} member contig" in message and "staging" not in message, message


def test_directory_entries_count_towards_the_member_limit(tmp_path):
    archive = tmp_path / "dirs.tar"
    with tarfile.open(archive, "w") as tar:
        for i in range(MAX_MEMBERS + 1):
            info = tarfile.TarInfo(f"d{i}")
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
    with pytest.raises(BundleError, match=f"more than {MAX_MEMBERS} entries"):
        safe_extract(archive, tmp_path / "out")


def test_selftest_fails_on_any_non_finite_or_missing_score():
    labels = TINY_LABELS
    probs = np.array([0.6, 0.1, 0.1, 0.1, 0.1])
    good = SelfTestCase("a.png", [labels[0], labels[1]], [0.6, 0.1])
    assert compare_case(good, probs, labels, 0.01).ok
    nan_model = np.full(len(labels), np.nan)
    for case, out in ((good, nan_model),
                      (SelfTestCase("a.png", [labels[0]], [float("nan")]), probs),
                      (SelfTestCase("a.png", [], []), probs),
                      (SelfTestCase("a.png", [labels[0], labels[1]], [0.6]), probs)):
        result = compare_case(case, out, labels, 0.01)
        assert not result.ok and result.message, case


def test_read_only_commands_need_a_store_and_create_nothing(tmp_path, capsys, head_office_key):
    keys = tmp_path / "ho.pub"
    keys.write_text(head_office_key.public.line())
    typo = tmp_path / "typo"
    assert main(["kiosk", "model-status", "--state", str(typo)]) == 2
    assert "no model store there" in capsys.readouterr().err
    assert main(["kiosk", "rollback", "--state", str(typo), "--keys", str(keys), "--staff", "a", "--reason", "b"]) == 2
    err = capsys.readouterr().err
    assert "no model store there" in err and "Traceback" not in err
    assert not typo.exists()


def test_a_rolled_back_archive_exits_as_a_rolled_back_channel_update(bundles_dir, head_office_key, tmp_path, capsys):
    keys = tmp_path / "ho.pub"
    keys.write_text(head_office_key.public.line())
    skus = tmp_path / "skus.txt"
    skus.write_text("\n".join(TINY_LABELS) + "\n")
    common = ["kiosk", "update", "--state", str(tmp_path / "st"), "--keys", str(keys), "--store-id", "s1",
              "--catalog-schema", "1", "--active-skus", str(skus)]
    v1, v2 = (write_archive(bundles_dir / f"v{v}", tmp_path / f"v{v}.tar") for v in (1, 2))
    assert main([*common, "--channel", str(tmp_path / "none"), "--archive", str(v1)]) == 0
    capsys.readouterr()
    archive = main([*common, "--channel", str(tmp_path / "none"), "--archive", str(v2), "--backend", "tensorrt"])
    assert capsys.readouterr().out.startswith("rolled-back:")
    ch = tmp_path / "ch"
    publish(bundles_dir / "v3" if (bundles_dir / "v3").exists() else bundles_dir / "v2", ch, head_office_key)
    BundleStore(tmp_path / "st").write_state(blocked=[])
    channel = main([*common, "--channel", str(ch), "--backend", "tensorrt"])
    assert capsys.readouterr().out.startswith("rolled-back:")
    assert archive == channel == 1
