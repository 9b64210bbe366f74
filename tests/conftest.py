import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_GROCERY = REPO.parent / "shared" / "datasets" / "grocery-store"
DEMO = REPO / "assets" / "demo"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def grocery_root() -> Path:
    """The shared grocery-store dataset beside the repo; skips (with the reason) when it is absent."""
    if not (SHARED_GROCERY / "train.txt").is_file():
        pytest.skip(f"shared dataset not found at {SHARED_GROCERY} (clone with ../shared beside the repo)")
    return SHARED_GROCERY


# -- kiosk services: the demo model bundle (built once per session with the real trainer, cached) ----------
@pytest.fixture(scope="session")
def demo_bundle() -> Path:
    """A model bundle for the demo basket: MobileNetV2 head when the demo training photos and weights exist,
    else a quick tiny_cnn; cached under .cache/test-demo-bundle keyed by its inputs (tests/services/demo_bundle.py)."""
    from tests.services.demo_bundle import build_demo_bundle

    return build_demo_bundle()


# -- the demo catalog (assets/demo/catalog.csv, its photos in images/ beside it), imported once ------------------
@pytest.fixture(scope="session")
def demo_catalog_db(tmp_path_factory) -> Path:
    """``assets/demo/catalog.csv`` imported into a catalog database (read-only use, please)."""
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog

    path = tmp_path_factory.mktemp("demo-catalog") / "catalog.sqlite"
    with Catalog.open(path) as cat:
        import_csv(cat, DEMO / "catalog.csv")
    return path


@pytest.fixture(scope="session")
def int8_bundle(tmp_path_factory) -> Path:
    """A tiny bundle carrying an int8 model (built once per session; copy it before changing it)."""
    from tests.recognition.int8_bundle import build_int8_bundle

    return build_int8_bundle(tmp_path_factory.mktemp("int8"))
