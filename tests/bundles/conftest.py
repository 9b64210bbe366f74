"""Fixtures: a head-office key, tiny signed bundles (v1, v2), and a kiosk store with v1 active."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from kiosk.bundles.active import ActiveModel
from kiosk.bundles.channel import write_archive
from kiosk.bundles.keys import SigningKey, TrustStore
from kiosk.bundles.signing import sign_bundle
from kiosk.bundles.store import BundleStore
from kiosk.bundles.testing import build_tiny_bundle, tiny_catalog
from kiosk.bundles.updater import Updater
from kiosk.bundles.verify import CatalogCompat


@pytest.fixture(scope="session")
def head_office_key() -> SigningKey:
    return SigningKey.generate("head-office")


@pytest.fixture(scope="session")
def bundles_dir(tmp_path_factory, head_office_key) -> Path:
    """Signed tiny bundles v1 and v2 (built once per session; copy before changing them)."""
    root = tmp_path_factory.mktemp("bundles")
    for v in (1, 2):
        sign_bundle(build_tiny_bundle(root / f"v{v}", model_version=v), head_office_key)
    return root


@pytest.fixture
def bundle_copy(bundles_dir, tmp_path):
    def copy(version: int, name: str | None = None) -> Path:
        dest = tmp_path / (name or f"copy-v{version}")
        shutil.copytree(bundles_dir / f"v{version}", dest)
        return dest

    return copy


@dataclass
class Kiosk:
    store: BundleStore
    trust: TrustStore
    active: ActiveModel
    updater: Updater

    def frame(self) -> np.ndarray:
        return np.full((48, 64, 3), 120, np.uint8)


def make_kiosk(root: Path, trust: TrustStore, channel: str = "", catalog: CatalogCompat | None = None,
               store_id: str = "store-0001", **kw) -> Kiosk:
    from kiosk.recognition.recognizer import Recognizer

    store = BundleStore(root)
    _, rec = store.open_active(trust, loader=lambda p: Recognizer.load(p))
    active = ActiveModel(rec)
    up = Updater(store, trust, channel or str(root / "no-channel"), store_id, catalog=catalog or tiny_catalog(),
                 on_activated=active.swap, **kw)
    return Kiosk(store, trust, active, up)


@pytest.fixture
def kiosk_v1(tmp_path, bundles_dir, head_office_key) -> Kiosk:
    """A kiosk store with signed v1 installed and active, and an ActiveModel running it."""
    trust = TrustStore.from_keys(head_office_key.public)
    k = make_kiosk(tmp_path / "kiosk", trust)
    archive = write_archive(bundles_dir / "v1", tmp_path / "v1.tar")
    result = k.updater.install_archive(archive)
    assert result.outcome == "activated", result
    assert k.active.version == 1
    return k
