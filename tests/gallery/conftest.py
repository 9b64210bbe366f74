"""The gallery tests' world: a tiny trained model and its bundle (tests.onboarding_kit), and its recogniser."""

from __future__ import annotations

import pytest

from kiosk.recognition.recognizer import Recognizer
from tests.onboarding_kit import build_world


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture
def recognizer(world):
    rec = Recognizer.load(world.bundle, threads=1)
    yield rec
    rec.close()
