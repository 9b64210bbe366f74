"""Trust over time: the kiosk's clock never runs backwards for bundles and channel indexes, keys expire, and a
signature list is bounded."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from kiosk.bundle_format.archive import write_archive
from kiosk.bundle_format.trust import (
    MAX_SIGNATURES,
    KeyFileError,
    PublicKey,
    TrustStore,
    verify_manifest_signature,
)
from kiosk.bundle_format.verify import BundleRefused
from kiosk.bundles.store import BundleStore
from kiosk.bundles.updater import Updater
from kiosk.errors import BundleError
from tests.bundles.factory import tiny_catalog
from trainer.release.keys import SigningKey
from trainer.release.publish import publish
from trainer.release.signing import sign_bundle


class Clock:
    def __init__(self) -> None:
        self.t = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.t


def _updater(root, trust, clock, channel="") -> Updater:
    return Updater(BundleStore(root), trust, channel or str(root / "none"), "s1", catalog=tiny_catalog(), now=clock,
                   loader=lambda p: None)


def test_a_clock_set_back_cannot_revive_an_expired_bundle(bundle_copy, head_office_key, tmp_path):
    trust = TrustStore.from_keys(head_office_key.public)
    v2 = bundle_copy(2, "short-lived")
    sign_bundle(v2, head_office_key, expires_in=timedelta(days=1))
    archive = write_archive(v2, tmp_path / "v2.tar")
    clock = Clock()
    clock.t += timedelta(days=2)  # the kiosk has lived past the bundle's expiry …
    with pytest.raises(BundleRefused) as err:
        _updater(tmp_path / "kiosk", trust, clock).install_archive(archive)
    assert err.value.reason == "expired"
    clock.t -= timedelta(days=2)  # … then its clock is set back, and the kiosk restarts
    for _ in range(2):
        with pytest.raises(BundleRefused) as err:
            _updater(tmp_path / "kiosk", trust, clock).install_archive(archive)
        assert err.value.reason == "expired"
    # a fresh kiosk whose clock never moved past the expiry takes it (the refusals above are not vacuous)
    assert _updater(tmp_path / "fresh", trust, clock).install_archive(archive).outcome == "activated"


def test_a_clock_set_back_cannot_revive_an_expired_channel_index(bundles_dir, head_office_key, tmp_path):
    trust = TrustStore.from_keys(head_office_key.public)
    channel = tmp_path / "channel"
    publish(bundles_dir / "v1", channel, head_office_key, index_expires_in=timedelta(hours=1), trust=trust)
    clock = Clock()
    clock.t += timedelta(hours=3)
    late = _updater(tmp_path / "kiosk", trust, clock, str(channel)).check_once()
    assert (late.outcome, late.reason) == ("refused", "index") and "expired" in late.message
    clock.t -= timedelta(hours=3)
    again = _updater(tmp_path / "kiosk", trust, clock, str(channel)).check_once()
    assert (again.outcome, again.reason) == ("refused", "index") and "expired" in again.message
    assert _updater(tmp_path / "fresh", trust, clock, str(channel)).check_once().outcome == "activated"


def test_keys_expire_for_new_bundles_but_installed_ones_keep_working(bundle_copy, tmp_path):
    key = SigningKey.generate("ho-2026")
    line = key.public.line().strip() + " expires=2026-01-01T00:00:00Z"
    pub = PublicKey.from_line(line)
    assert pub.expires == "2026-01-01T00:00:00Z" and pub.name == "ho-2026"
    assert PublicKey.from_line(pub.line()) == pub  # the key list keeps the expiry
    with pytest.raises(KeyFileError, match="not an ISO 8601 time"):
        PublicKey.from_line(key.public.line().strip() + " expires=soon")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "ho.pub").write_text(line + "\n")
    trust = TrustStore.load(keys)
    b = bundle_copy(2, "by-expired-key")
    sign_bundle(b, key)
    before = datetime(2025, 12, 31, tzinfo=timezone.utc)
    after = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert verify_manifest_signature(b, trust, now=before) == key.keyid
    with pytest.raises(BundleError, match="expired at 2026-01-01"):
        verify_manifest_signature(b, trust, now=after)
    assert verify_manifest_signature(b, trust, installed=True, now=after) == key.keyid


def test_a_channel_index_signed_by_an_expired_key_is_refused():
    from kiosk.bundle_format.channel import verify_index
    from kiosk.bundle_format.trust import CONTEXT_INDEX, canonical_json

    key = SigningKey.generate("ho")
    signed = {"type": "channel-index", "version": 1, "groups": {}, "expires_at": "2999-01-01T00:00:00Z"}
    doc = {"signed": signed, "signatures": [key.sign(CONTEXT_INDEX, canonical_json(signed))]}
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert verify_index(doc, TrustStore.from_keys(key.public), "index.json", now=now) == signed
    expired = TrustStore.from_keys(PublicKey(key.public.raw, "ho", expires="2026-01-01T00:00:00Z"))
    with pytest.raises(BundleError, match="expired at 2026-01-01"):
        verify_index(doc, expired, "index.json", now=now)


def test_signature_lists_are_bounded(bundle_copy, head_office_key):
    from kiosk.bundle_format.channel import verify_index
    from kiosk.bundle_format.trust import CONTEXT_INDEX, canonical_json

    trust = TrustStore.from_keys(head_office_key.public)
    b = bundle_copy(2, "many-sigs")
    sig = json.loads((b / "manifest.sig").read_text())
    junk = [{"keyid": f"{i:016x}", "sig": "AAAA"} for i in range(MAX_SIGNATURES)]
    (b / "manifest.sig").write_text(json.dumps({**sig, "signatures": junk + sig["signatures"]}))
    with pytest.raises(BundleError, match=f"at most {MAX_SIGNATURES}"):
        verify_manifest_signature(b, trust)
    (b / "manifest.sig").write_text(json.dumps({**sig, "signatures": junk[1:] + sig["signatures"]}))
    assert verify_manifest_signature(b, trust) == head_office_key.keyid  # the bound itself still verifies
    signed = {"type": "channel-index", "version": 1}
    good = head_office_key.sign(CONTEXT_INDEX, canonical_json(signed))
    with pytest.raises(BundleError, match=f"at most {MAX_SIGNATURES}"):
        verify_index({"signed": signed, "signatures": junk + [good]}, trust, "index.json")


def test_keys_generate_can_write_an_expiry(tmp_path, capsys):
    from kiosk.bundle_format.trust import load_public_key
    from kiosk.cli import main

    assert main(["keys", "generate", "--name", "ho-27", "--out", str(tmp_path / "k"), "--expires-days", "365"]) == 0
    pub = load_public_key(tmp_path / "k" / "ho-27.pub")
    left = datetime.fromisoformat(pub.expires.replace("Z", "+00:00")) - datetime.now(timezone.utc)
    assert timedelta(days=364) < left <= timedelta(days=365) and pub.name == "ho-27"
    assert main(["keys", "generate", "--name", "x", "--out", str(tmp_path / "k"), "--expires-days", "0"]) == 2
