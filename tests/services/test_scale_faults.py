"""The counter when the scale and the store misbehave: the weight of a by-weight line always comes from a load no
other line claimed (a unit item scanned while it still moved, items stacked on a billed one weighed on their
increase, a scale that came back after an outage); a store that fails as a weighing completes keeps the item
waiting; the live scale poller survives a failing poll, and a reading it stopped refreshing prices nothing."""

from __future__ import annotations

import sqlite3
import threading
import time

import cv2

from kiosk.scale import SimulatedScale
from kiosk.services import Notice
from kiosk.services.events import WeighingEnded
from tests.services.conftest import EMPTY, Kit

OATLY = "2000000000459"  # oatly-oat-milk's demo EAN-13: a 1 kg carton, sold by the unit


def lines(k: Kit) -> list[tuple[str, int | None]]:
    return [(x.sku, x.grams) for x in k.service.cart_view().lines]


def put(k: Kit, grams: int, stable: bool = True) -> None:
    k.scale.set_weight(grams, stable)
    k.service.poll_scale()


def test_a_unit_item_scanned_while_the_scale_moves_claims_the_load_it_settles_to(kit):
    k = kit()
    put(k, 0)
    put(k, 1000, stable=False)  # the carton lands, still rocking
    assert k.service.scanned(OATLY) is not None
    put(k, 1000)  # it settles; nothing else changes on the tray
    assert k.service.choose("banana") is None  # bananas picked from search: they wait, the 1 kg is the carton's
    assert lines(k) == [("oatly-oat-milk", None)] and k.service.awaiting_weight == (None, "banana")
    put(k, 1548)  # bananas put on top of the carton: weighed on what they add, never with the carton
    assert lines(k) == [("oatly-oat-milk", None), ("banana", 548)] and k.service.awaiting_weight is None


def test_a_waiting_item_is_billed_after_a_scale_outage_on_a_load_no_line_claimed(kit):
    k = kit()
    put(k, 0)
    assert k.service.choose("banana") is None
    put(k, 548, stable=False)
    k.scale.set_status("error")  # unplugged mid-weigh
    k.service.poll_scale()
    assert k.service.awaiting_weight == (None, "banana") and lines(k) == []
    k.scale.set_status(None)
    put(k, 1210)  # back, with the bananas the shopper added meanwhile: their load changed after they were asked for
    assert lines(k) == [("banana", 1210)]


def test_a_unit_item_scanned_during_a_scale_outage_claims_the_load_found_after_it(kit):
    k = kit()
    put(k, 0)
    assert k.service.choose("banana") is None
    k.scale.set_status("error")
    k.service.poll_scale()
    assert k.service.scanned(OATLY) is not None  # scanned while the scale did not answer
    k.scale.set_status(None)
    put(k, 1000)  # the carton may be what is on the tray now
    assert lines(k) == [("oatly-oat-milk", None)] and k.service.awaiting_weight == (None, "banana")
    put(k, 0)
    put(k, 600)
    assert lines(k) == [("oatly-oat-milk", None), ("banana", 600)]


# -- the store fails while a weighing completes; the scale poller fails or freezes ---------------------------------
class FailingOnce:
    """Wraps a store method: the first ``times`` calls raise ``exc`` (before or after the real call)."""

    def __init__(self, real, exc: Exception, times: int = 1, after: bool = False) -> None:
        self.real, self.exc, self.left, self.after = real, exc, times, after

    def __call__(self, *args, **kw):
        if self.left and not self.after:
            self.left -= 1
            raise self.exc
        result = self.real(*args, **kw)
        if self.left:
            self.left -= 1
            raise self.exc
        return result


def test_a_store_that_fails_as_a_weighing_completes_keeps_the_item_waiting_then_bills_it(kit, monkeypatch):
    """The sales database locked beyond its busy timeout when the bananas settle: before, the error went up the
    scale thread and the waiting banana vanished."""
    monkeypatch.setattr("kiosk.services.counter.RETRY_S", 0.0)
    k = kit()
    put(k, 0)
    assert k.service.choose("banana") is None
    store = k.service.store
    monkeypatch.setattr(store, "add_line", FailingOnce(store.add_line, sqlite3.OperationalError("database is locked")))
    put(k, 548)  # no exception reaches the poller
    assert lines(k) == [] and k.service.awaiting_weight == (None, "banana")
    said = [n.message for n in k.of(Notice)]
    assert "Banana was not added yet: the bill could not be saved (OperationalError: database is locked); " \
           "trying again" in said
    put(k, 548)  # the store answers again: the same load bills it
    assert lines(k) == [("banana", 548)] and k.service.awaiting_weight is None
    assert k.of(WeighingEnded)[-1].line_id is not None


def test_a_weighed_line_that_reached_the_store_before_an_error_is_billed_once(kit, monkeypatch):
    monkeypatch.setattr("kiosk.services.counter.RETRY_S", 0.0)
    k = kit()
    put(k, 0)
    assert k.service.choose("banana") is None
    cart = k.service._cart
    monkeypatch.setattr(cart, "reload", FailingOnce(cart.reload, OSError("I/O error"), after=True))
    put(k, 548)  # committed, then reading the cart back failed
    put(k, 548)
    assert lines(k) == [("banana", 548)] and k.service.awaiting_weight is None


def test_the_scale_poll_loop_survives_a_failing_poll_and_says_so(monkeypatch):
    from kiosk.services.live import LiveLoop

    polls, events = [], []

    def poll():
        polls.append(time.monotonic())
        if len(polls) <= 3:
            raise sqlite3.OperationalError("database is locked")

    loop = LiveLoop(camera=lambda: "", scale=SimulatedScale(0), poll_hz=lambda: 200.0, process_frame=print,
                    poll_scale=poll, emit=events.append)
    poller = threading.Thread(target=loop._scale_loop, daemon=True)
    poller.start()
    deadline = time.monotonic() + 2
    while len(polls) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    loop._stop.set()
    poller.join(2)
    assert len(polls) >= 6  # before, the first error ended the thread
    assert [e.message for e in events] == ["scale reading failed: OperationalError: database is locked"]


class StuckScale(SimulatedScale):
    """A simulated scale whose driver can hang (a wedged USB-serial adapter): ``read`` blocks while stuck."""

    def __init__(self, grams: int = 0) -> None:
        super().__init__(grams)
        self.free = threading.Event()
        self.free.set()

    def read(self):
        self.free.wait(5)
        return super().read()


def test_a_frozen_reading_prices_nothing_while_live(kit, tmp_path, monkeypatch):
    """Live, the poller stops delivering readings: the last one (548 g) goes stale and a banana chosen then waits;
    the scale answers again with 1.2 kg on the tray and the banana is billed on that."""
    monkeypatch.setattr("kiosk.services.live.STALE_MIN_S", 0.2)
    (tmp_path / "cam").mkdir()
    cv2.imwrite(str(tmp_path / "cam" / "000.png"), EMPTY)
    scale = StuckScale(0)
    k = kit(scale=scale)
    k.service.config = k.config.replace(camera=f"folder:{(tmp_path / 'cam').as_posix()}?fps=50&hold=1",
                                        scale_poll_hz=50.0)
    k.service.start()
    try:
        scale.set_weight(548)
        wait_for(lambda: k.service.last_reading is not None and k.service.last_reading.grams == 548)
        scale.free.clear()  # the driver hangs
        time.sleep(0.4)
        assert k.service.choose("banana") is None and lines(k) == []
        assert k.service.awaiting_weight == (None, "banana")
        scale.set_weight(1200)
        scale.free.set()
        wait_for(lambda: lines(k) == [("banana", 1200)])
    finally:
        scale.free.set()
        k.service.stop()
    assert k.service._weighing.max_age_s is None  # stopped: a reading stands until the next poll


def wait_for(condition, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
