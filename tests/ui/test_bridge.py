"""The bridge delivers service events from any thread as signals on the GUI thread, in order."""

import threading

import numpy as np
from PySide6.QtCore import QThread

from kiosk.scale import WeightReading
from kiosk.services.events import CartChanged, FrameCaptured, Notice, WeightChanged
from kiosk.ui.bridge import ServiceBridge
from tests.ui.fakes import FakeCheckoutService


def test_events_from_a_worker_thread_arrive_on_the_gui_thread_in_order(qtbot, qapp):
    service = FakeCheckoutService()
    bridge = ServiceBridge(service).attach()
    seen = []
    bridge.notice.connect(lambda e: seen.append((e.message, QThread.currentThread() is qapp.thread())))
    bridge.weight_changed.connect(lambda e: seen.append((e.reading.grams, QThread.currentThread() is qapp.thread())))

    def worker():
        for i in range(20):
            service.emit(Notice("info", f"n{i}"), WeightChanged(WeightReading(i, True)))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen == []  # nothing ran on the worker thread: all of it is queued
    qtbot.waitUntil(lambda: len(seen) == 40, timeout=2000)
    assert all(on_gui for _, on_gui in seen)
    assert [x for x, _ in seen] == [v for i in range(20) for v in (f"n{i}", i)]


def test_typed_signals_and_unknown_events(qtbot):
    service = FakeCheckoutService()
    bridge = ServiceBridge(service).attach()
    with qtbot.waitSignal(bridge.cart_changed, timeout=500) as blocker:
        service.emit(CartChanged(service.cart_view()))
    assert blocker.args[0].cart_view.lines == ()
    with qtbot.waitSignal(bridge.event_delivered, timeout=500):
        service.emit(object())
    assert bridge.unknown_events == 1
    bridge.detach()
    assert service.listeners == []


def test_frames_are_kept_not_queued_and_served_to_the_camera_view(qtbot):
    service = FakeCheckoutService()  # latest_frame() has nothing yet: the bridge serves FrameCaptured instead
    bridge = ServiceBridge(service).attach()
    provider = bridge.frame_provider()
    assert provider() is None
    image = np.zeros((4, 6, 3), np.uint8)
    delivered = []
    bridge.event_delivered.connect(delivered.append)
    service.emit(FrameCaptured(3, image))
    assert provider().image is image
    qtbot.wait(20)
    assert delivered == []  # never crossed the queue


def test_real_service_latest_frame_is_preferred():
    service = FakeCheckoutService()
    service.frame = "frame"
    assert ServiceBridge(service).frame_provider()() == "frame"


def test_camera_state_from_before_the_bridge_listened_is_shown(qtbot):
    from kiosk.camera.capture import CaptureState, CaptureStatus

    service = FakeCheckoutService()
    service.capture = type("Worker", (), {"status": CaptureStatus(CaptureState.RECONNECTING, "usb gone", 1, 4.0)})()
    bridge = ServiceBridge(service).attach()
    with qtbot.waitSignal(bridge.camera_status_changed, timeout=500) as blocker:
        assert bridge.sync_camera_status()
    assert (blocker.args[0].status, blocker.args[0].retry_in) == ("reconnecting", 4.0)
    assert not ServiceBridge(FakeCheckoutService()).sync_camera_status()
