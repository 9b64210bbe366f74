"""Fixtures: a head-office key, tiny signed bundles (v1, v2), and a kiosk store with v1 active."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from kiosk.bundle_format.archive import write_archive
from kiosk.bundle_format.trust import TrustStore
from kiosk.bundle_format.verify import CatalogCompat
from kiosk.bundles.active import ActiveModel
from kiosk.bundles.store import BundleStore
from kiosk.bundles.updater import Updater
from tests.bundles.factory import TINY_LABELS, build_tiny_bundle, tiny_catalog
from trainer.release.keys import SigningKey
from trainer.release.signing import sign_bundle


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


# -- the real kiosk (catalog, service, window) around the bundle store --------------------------------------------
CATALOG_CSV = (
    "sku,name,group,sold_by,price_paise,gst_percent,hsn,plu,barcodes,"
    "unit_weight_min_g,unit_weight_max_g,active,image\n"
    """apple-royal-gala,Royal Gala Apple,Apple,weight,24000,0,080810,101,,,,1,
banana-robusta,Banana Robusta,Banana,weight,6000,0,080390,102,,,,1,
carrot-ooty,Ooty Carrot,Carrot,weight,8000,0,070610,201,,,,1,
milk-toned-500ml,Toned Milk 500 ml,Milk,unit,2800,5,040120,,,,,1,
tomato-hybrid,Hybrid Tomato,Tomato,weight,4000,0,070200,202,,,,1,
"""
)


@pytest.fixture(scope="session")
def kiosk_catalog_db(tmp_path_factory) -> Path:
    """A real catalog database selling every tiny-bundle SKU (read-only use)."""
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog

    root = tmp_path_factory.mktemp("catalog")
    (root / "catalog.csv").write_text(CATALOG_CSV)
    db = root / "catalog.sqlite"
    with Catalog.open(db) as cat:
        import_csv(cat, root / "catalog.csv")
        assert {s.sku for s in cat.list_active()} == set(TINY_LABELS)
    return db


@pytest.fixture(scope="session")
def catalog_schema_version(kiosk_catalog_db) -> int:
    from catalog.repository import Catalog

    with Catalog.open(kiosk_catalog_db, create=False) as cat:
        return cat.schema_version


@pytest.fixture(scope="session")
def kiosk_bundles(tmp_path_factory, head_office_key, catalog_schema_version) -> dict[str, Path]:
    """Signed tiny bundles for the real catalog's schema: v1, v2, and v2 made for another catalog."""
    root = tmp_path_factory.mktemp("kiosk-bundles")
    out = {}
    for name, version, labels in (("v1", 1, None), ("v2", 2, None),
                                  ("v2-other-catalog", 2, [*TINY_LABELS[:4], "dragon-fruit"])):
        out[name] = sign_bundle(build_tiny_bundle(root / name, model_version=version, labels=labels,
                                                  schema_version=catalog_schema_version), head_office_key).root
    return out


@pytest.fixture
def kiosk_config(tmp_path, kiosk_catalog_db, kiosk_bundles, head_office_key):
    """``kiosk_config(**settings)``: a KioskConfig (from a dict, as from kiosk.toml) for a kiosk in ``tmp_path``
    with the real catalog, ``bundle`` = signed v1, ``model_state`` and ``trusted_keys`` (the head-office key)."""
    from kiosk.config import KioskConfig

    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "head-office.pub").write_text(head_office_key.public.line())

    def make(**settings) -> KioskConfig:
        base = {
            "bundle": str(kiosk_bundles["v1"]), "catalog": str(kiosk_catalog_db),
            "store": str(tmp_path / "sales.sqlite"), "captures": str(tmp_path / "captures"),
            "scale": "sim:", "camera": "folder:/nonexistent",
            "model_state": str(tmp_path / "models"), "trusted_keys": str(keys), "threads": 1,
            "store_name": "Green Basket",
        }
        return KioskConfig.from_dict({**base, **settings})

    return make


SETTINGS = ("bundle", "catalog", "store", "captures", "scale", "camera", "model_state", "trusted_keys", "threads",
            "store_name")


@pytest.fixture
def two_versions(kiosk_config, kiosk_bundles, head_office_key, tmp_path):
    """A kiosk whose model store holds v1 and v2 (v2 active), its settings also as ``kiosk.toml``, and Ravi
    (supervisor, 101): ``(config, store, toml)``."""
    from kiosk.services.checkout import CheckoutService
    from kiosk.staff.accounts import add_account

    config = kiosk_config()
    with CheckoutService.from_config(config) as service:  # first start: v1 installed
        add_account(service.store, "Ravi", "supervisor", "7391", by="test")
    store = BundleStore(config.model_state)
    assert Updater(store, TrustStore.from_keys(head_office_key.public), "", "S1").install_directory(
        kiosk_bundles["v2"]).outcome == "activated"
    toml = tmp_path / "kiosk.toml"
    toml.write_text("".join(f"{k} = {json.dumps(getattr(config, k))}\n" for k in SETTINGS))
    return config, store, toml
