"""What a failed model at the kiosk's start does to that version: only a refusal of what head office signed
(BLOCKING_REASONS: the model contract, the self-test) blocks it; a failure of the moment (out of memory, a GPU not
ready, a SKU inactive today) runs the other version for this start and the next start tries it again; a damaged copy
moves the pointer without blocking, so it can be installed again."""

from __future__ import annotations

import pytest

from kiosk.bundle_format.archive import write_archive
from kiosk.bundle_format.verify import BundleRefused
from kiosk.bundles.store import BundleStore


@pytest.fixture
def on_v2(kiosk_v1, bundles_dir, tmp_path):
    assert kiosk_v1.updater.install_archive(write_archive(bundles_dir / "v2", tmp_path / "v2.tar")).outcome \
        == "activated"
    assert kiosk_v1.store.active_version() == 2
    return kiosk_v1


def _loader(failure, fails: dict):
    def load(path):
        if path.name == "2" and fails["left"]:
            fails["left"] -= 1
            raise failure
        return int(path.name)
    return load


MOMENT = {
    "out of memory": RuntimeError("CUDA error: out of memory"),
    "GPU not ready": OSError(19, "No such device"),
    "a SKU inactive today": BundleRefused("catalog", "manifest.json: SKU(s) missing or inactive: banana-robusta"),
}


@pytest.mark.parametrize("failure", MOMENT.values(), ids=MOMENT.keys())
def test_a_failure_of_the_moment_at_start_runs_the_previous_model_once_and_retries(on_v2, failure):
    fails = {"left": 1}
    bundle, loaded = BundleStore(on_v2.store.root).open_active(on_v2.trust, _loader(failure, fails))
    store = BundleStore(on_v2.store.root)
    assert loaded == 1 and bundle.manifest.model_version == 1
    assert store.active_version() == 2 and store.blocked_versions() == set()  # not blocked, the pointer stays
    entry = store.read_audit()[-1]
    assert entry["event"] == "fallback" and entry["from_version"] == 2 and entry["to_version"] == 1
    assert "again" in entry["retry"]
    bundle, loaded = store.open_active(on_v2.trust, _loader(failure, fails))  # the next start: the problem is gone
    assert loaded == 2 and store.active_version() == 2


def test_a_model_refused_for_its_self_test_at_start_is_blocked(on_v2):
    failure = BundleRefused("selftest", "versions/2: 3 of 3 self-test images differ")
    _, loaded = BundleStore(on_v2.store.root).open_active(on_v2.trust, _loader(failure, {"left": 1}))
    store = BundleStore(on_v2.store.root)
    assert loaded == 1 and store.active_version() == 1 and store.blocked_versions() == {2}
    entry = store.read_audit()[-1]
    assert entry["event"] == "auto-rollback" and entry["blocked"] is True


def test_a_damaged_copy_moves_the_pointer_without_blocking_so_it_can_be_installed_again(on_v2, bundles_dir, tmp_path):
    (on_v2.store.version_dir(2) / "model.onnx").write_bytes(b"damaged on disk")
    _, loaded = BundleStore(on_v2.store.root).open_active(on_v2.trust, lambda p: int(p.name))
    store = BundleStore(on_v2.store.root)
    assert loaded == 1 and store.active_version() == 1 and store.blocked_versions() == set()
    assert store.read_audit()[-1]["event"] == "auto-rollback"
    result = on_v2.updater.install_archive(write_archive(bundles_dir / "v2", tmp_path / "v2-again.tar"))
    assert result.outcome == "activated" and store.active_version() == 2
