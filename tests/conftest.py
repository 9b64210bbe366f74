import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_GROCERY = REPO.parent / "shared" / "datasets" / "grocery-store"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def grocery_root() -> Path:
    """The shared grocery-store dataset beside the repo; skips (with the reason) when it is absent."""
    if not (SHARED_GROCERY / "train.txt").is_file():
        pytest.skip(f"shared dataset not found at {SHARED_GROCERY} (clone with ../shared beside the repo)")
    return SHARED_GROCERY
