"""Updater policies: roll-out, index replay/expiry, auto-rollback, staff rollback, pruning, hot swap, TensorRT."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest

from kiosk.bundle_format.archive import write_archive
from kiosk.bundle_format.channel import in_rollout, rollout_bucket
from kiosk.bundle_format.trust import TrustStore, load_public_key
from kiosk.bundles.active import ActiveModel
from kiosk.errors import UserError
from tests.bundles.factory import build_tiny_bundle
from trainer.release.keys import SigningKey, make_rotation, write_keypair
from trainer.release.publish import publish
from trainer.release.signing import sign_bundle


def test_rollout_is_deterministic_and_grows_monotonically():
    stores = [f"store-{i:04d}" for i in range(400)]
    at = {pct: {s for s in stores if in_rollout(s, "north", {"model_version": 7, "rollout_percent": pct})}
          for pct in (0, 10, 50, 100)}
    assert at[0] == set() and at[100] == set(stores)
    assert at[10] <= at[50] <= at[100]
    assert 20 <= len(at[10]) <= 60 and 160 <= len(at[50]) <= 240
    assert rollout_bucket("store-0001", "north", 7) == rollout_bucket("store-0001", "north", 7)


def test_staged_rollout_skips_stores_outside_it(kiosk_v1, bundles_dir, head_office_key, tmp_path):
    ch = tmp_path / "ch"
    publish(bundles_dir / "v2", ch, head_office_key, rollout_percent=0)
    kiosk_v1.updater.channel = str(ch)
    r = kiosk_v1.updater.check_once()
    assert r.outcome == "not-in-rollout" and kiosk_v1.active.version == 1
    publish(bundles_dir / "v2", ch, head_office_key, rollout_percent=100)  # same version, wider roll-out
    assert kiosk_v1.updater.check_once().outcome == "activated" and kiosk_v1.active.version == 2


def test_replayed_or_expired_index_is_refused(kiosk_v1, bundles_dir, head_office_key, tmp_path):
    ch = tmp_path / "ch"
    publish(bundles_dir / "v1", ch, head_office_key)
    old_index = (ch / "index.json").read_bytes()
    publish(bundles_dir / "v1", ch, head_office_key)  # index version 2
    kiosk_v1.updater.channel = str(ch)
    assert kiosk_v1.updater.check_once().outcome == "up-to-date"
    (ch / "index.json").write_bytes(old_index)  # an attacker serves the older, validly signed index
    r = kiosk_v1.updater.check_once()
    assert r.outcome == "refused" and r.reason == "index" and "replayed index" in r.message
    ch2 = tmp_path / "ch2"
    publish(bundles_dir / "v2", ch2, head_office_key, index_expires_in=timedelta(seconds=-1))
    kiosk_v1.store.write_state(index_version=0)
    kiosk_v1.updater.channel = str(ch2)
    r = kiosk_v1.updater.check_once()
    assert r.outcome == "refused" and "expired" in r.message and kiosk_v1.active.version == 1


def test_auto_rollback_when_new_model_fails_to_load(kiosk_v1, bundles_dir, tmp_path):
    from kiosk.recognition.recognizer import Recognizer

    k = kiosk_v1

    def loader(path):
        if path.name == "2":
            raise RuntimeError("CUDA out of memory")
        return Recognizer.load(path)

    k.updater.loader = loader
    r = k.updater.install_archive(write_archive(bundles_dir / "v2", tmp_path / "v2.tar"))
    assert r.outcome == "rolled-back" and "failed to load" in r.message
    assert k.store.active_version() == 1 and k.active.version == 1 and 2 in k.store.blocked_versions()
    assert k.updater.status.last_error_reason == "load"
    events = [e["event"] for e in k.store.read_audit()]
    assert events[-2:] == ["activate", "auto-rollback"]
    status = json.loads(k.store.status_path.read_text())
    assert status["active_version"] == 1 and "failed to load" in status["last_error"]


def test_startup_falls_back_when_active_bundle_is_damaged(kiosk_v1, bundles_dir, tmp_path):
    k = kiosk_v1
    k.updater.install_archive(write_archive(bundles_dir / "v2", tmp_path / "v2.tar"))
    onnx = k.store.version_dir(2) / "model.onnx"
    onnx.write_bytes(onnx.read_bytes()[:-10])  # disk corruption while the kiosk was off
    bundle, _ = k.store.open_active(k.trust)
    assert bundle.manifest.model_version == 1 and k.store.active_version() == 1
    assert k.store.read_audit()[-1]["event"] == "auto-rollback"


def test_staff_rollback_is_the_only_way_down_and_is_audited(kiosk_v1, bundles_dir, tmp_path):
    k = kiosk_v1
    k.updater.install_archive(write_archive(bundles_dir / "v2", tmp_path / "v2.tar"))
    with pytest.raises(UserError, match="reason"):
        k.store.rollback(k.trust, actor="asha", reason=" ")
    with pytest.raises(UserError, match="below the active"):
        k.store.rollback(k.trust, actor="asha", reason="test", to_version=2)
    assert k.store.rollback(k.trust, actor="asha", reason="bananas read as plantains") == 1
    entry = k.store.read_audit()[-1]
    assert entry["event"] == "staff-rollback" and entry["from_version"] == 2 and entry["actor"] == "asha"
    assert entry["reason"] == "bananas read as plantains"


def test_prune_keeps_active_and_previous(kiosk_v1, head_office_key, tmp_path):
    k = kiosk_v1
    k.updater.keep_versions = 2
    for v in (2, 3, 4):
        b = build_tiny_bundle(tmp_path / f"b{v}", model_version=v)
        sign_bundle(b, head_office_key)
        assert k.updater.install_archive(write_archive(b, tmp_path / f"b{v}.tar")).outcome == "activated"
    assert k.store.installed_versions() == [3, 4] and k.active.version == 4


def test_swap_happens_between_frames():
    class Slow:
        def __init__(self, v):
            self.model_version, self.closed, self.busy = v, False, False

        def recognize(self, image):
            assert not self.closed
            self.busy = True
            time.sleep(0.05)
            self.busy = False
            return self.model_version

        def close(self):
            assert not self.busy, "closed while a frame was running"
            self.closed = True

    old, new = Slow(1), Slow(2)
    active = ActiveModel(old)
    seen = []
    t = threading.Thread(target=lambda: seen.append(active.recognize(None)))
    t.start()
    time.sleep(0.01)  # the frame is running on the old model now
    active.swap(new)  # waits for that frame, then swaps
    t.join()
    assert seen == [1] and old.closed and active.recognize(None) == 2


def test_key_rotation_chain_and_untrusted_rotation(tmp_path):
    a, b, c = SigningKey.generate("a"), SigningKey.generate("b"), SigningKey.generate("c")
    trust = TrustStore.from_keys(a.public)
    # chain a→b→c given out of order is applied in order
    added = trust.apply_rotations([("bc", make_rotation(b, c.public)),
                                   ("ab", make_rotation(a, b.public, revoke_old=True))])
    assert set(added) == {b.keyid, c.keyid} and a.keyid in trust.retired and c.keyid in trust.trusted
    mallory = SigningKey.generate("m")
    with pytest.raises(Exception, match="does not trust"):
        TrustStore.from_keys(a.public).apply_rotations([("x", make_rotation(mallory, mallory.public))])
    forged = make_rotation(a, b.public)
    forged["signed"]["new_key"] = mallory.public.line().strip()
    forged["signed"]["new_keyid"] = mallory.keyid
    with pytest.raises(Exception, match="signature invalid"):
        TrustStore.from_keys(a.public).apply_rotations([("forged", forged)])
    # the same works from a keys directory with rotations/
    keys = tmp_path / "keys"
    _, pub = write_keypair(tmp_path / "ho", "a2")
    (keys / "rotations").mkdir(parents=True)
    (keys / "a.pub").write_text(a.public.line())
    (keys / "rotations" / "ab.json").write_text(json.dumps(make_rotation(a, b.public)))
    loaded = TrustStore.load(keys, pub)
    assert {a.keyid, b.keyid, load_public_key(pub).keyid} <= set(loaded.trusted)


def test_demo_public_key_in_assets_is_valid(repo_root):
    keys = sorted((repo_root / "assets" / "keys").glob("*.pub"))
    assert keys, "assets/keys/ should hold the demo public key"
    assert TrustStore.load(repo_root / "assets" / "keys").trusted
    assert not list((repo_root / "assets" / "keys").glob("*.key")), "never commit a private key"
