"""Fixtures for the checkout service: the demo catalog, a scripted fake recogniser, synthetic tray frames."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.bundles.active import ActiveModel
from kiosk.config import KioskConfig, hash_pin
from kiosk.recognition.recognizer import Recognition, Suggestion
from kiosk.scale import SimulatedScale
from kiosk.services import CheckoutService, open_catalog
from kiosk.store import SalesStore

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo"
PIN = "4321"
PIN_HASH = hash_pin(PIN, salt=b"fixed-test-salt!")


class FakeRecognizer:
    """Answers from a queue of ``[(sku, score), …]`` lists (the last one repeats); records its threads."""

    def __init__(self, *answers: list[tuple[str, float]], version: int = 1, threshold: float = 0.9,
                 delay: float = 0.0) -> None:
        self.answers = list(answers) or [[("banana", 0.5), ("granny-smith", 0.3), ("carrots", 0.1)]]
        self.model_version = version
        self.auto_add_threshold = threshold
        self.delay = delay
        self.calls = 0
        self.threads: list[str] = []
        self.images: list[np.ndarray] = []
        self.closed = False

    def recognize(self, image) -> Recognition:
        import time

        self.threads.append(threading.current_thread().name)
        self.images.append(image)
        if self.delay:
            time.sleep(self.delay)
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return Recognition([Suggestion(s, p) for s, p in answer], {"preprocess": 0.0, "inference": 0.0,
                                                                    "postprocess": 0.0}, self.model_version)

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 10, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


EMPTY = np.full((120, 160, 3), 170, np.uint8)


def item_frame(color=(40, 40, 220)) -> np.ndarray:
    img = EMPTY.copy()
    cv2.rectangle(img, (45, 30), (115, 90), color, -1)
    return img


def feed(service: CheckoutService, image: np.ndarray, n: int) -> list:
    """``n`` frames of ``image``; returns the SuggestionsReady events process_frame gave back."""
    out = []
    for _ in range(n):
        r = service.process_frame(image.copy())
        if r is not None:
            out.append(r)
    return out


def place(service: CheckoutService, color=(40, 40, 220)):
    """Put an item on the (learnt, empty) tray until it fires, then clear the tray. Returns the event."""
    fired = feed(service, item_frame(color), 6)
    feed(service, EMPTY, 4)
    assert len(fired) == 1, fired
    return fired[0]


class Kit:
    """A service over the demo catalog with a fake recogniser, a simulated scale and a recording listener."""

    def __init__(self, tmp_path: Path, catalog_db: Path, recognizer=None, *, clock=None, scale=None,
                 config: KioskConfig | None = None) -> None:
        self.tmp_path = tmp_path
        self.catalog_db = catalog_db
        self.config = config or KioskConfig(store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                                            catalog=str(catalog_db), staff_pin_hash=PIN_HASH, kiosk_id="T1")
        self.clock = clock or Clock()
        self.scale = scale or SimulatedScale(0)
        self.recognizer = recognizer or FakeRecognizer()
        self.events: list = []
        self.service = self.open()

    def open(self) -> CheckoutService:
        store = SalesStore.open(self.config.store, kiosk_id=self.config.kiosk_id, store_info=self.config.store_info,
                                clock=self.clock)
        service = CheckoutService(self.config, catalog=open_catalog(self.catalog_db), store=store,
                                  recognizer_holder=ActiveModel(self.recognizer), scale=self.scale, clock=self.clock)
        service.add_listener(self.events.append)
        feed(service, EMPTY, 6)  # learn the empty tray
        return service

    def of(self, kind) -> list:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def kit(tmp_path, demo_catalog_db):
    made: list[Kit] = []

    def make(*answers, threshold: float = 0.9, **kw) -> Kit:
        rec = kw.pop("recognizer", None) or FakeRecognizer(*answers, threshold=threshold)
        k = Kit(tmp_path, demo_catalog_db, rec, **kw)
        made.append(k)
        return k

    yield make
    for k in made:
        k.service.stop()


#: (staff number, PIN) of the two accounts :func:`staffed` adds
ASSISTANT, SUPERVISOR = ("101", "5820"), ("102", "7391")


@pytest.fixture
def staffed(kit):
    """A kit (milk recognised at 0.95, auto-add at 0.9) with an assistant, Asha, and a supervisor, Ravi."""
    from kiosk.staff.accounts import add_account

    k = kit([("arla-standard-milk", 0.95)], threshold=0.9)
    add_account(k.service.store, "Asha", "assistant", ASSISTANT[1], by="test")
    add_account(k.service.store, "Ravi", "supervisor", SUPERVISOR[1], by="test")
    return k
