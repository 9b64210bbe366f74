from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def int8_bundle(tmp_path_factory) -> Path:
    """A tiny bundle carrying an int8 model (built once per session; copy it before changing it)."""
    from tests.recognition.int8_bundle import build_int8_bundle

    return build_int8_bundle(tmp_path_factory.mktemp("int8"))
