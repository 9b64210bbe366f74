"""Signals emitted from Python must not eat references to True (PySide6 6.12.0 does; kiosk.ui.qt_compat fixes it).

Without the fix a kiosk aborts with ``Fatal Python error: bool_dealloc`` after a few thousand events; the counts
here stay well below that, so a regression fails these asserts instead of aborting the test run."""

import sys

from kiosk.services.events import Notice, UpdateStatusChanged
from kiosk.ui.bridge import ServiceBridge
from tests.ui.fakes import FakeCheckoutService


def test_emitting_signals_keeps_true_alive(qtbot):
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        changed = Signal(object)
        pinged = Signal()

    o = Emitter()
    got = []
    o.changed.connect(got.append)
    before = sys.getrefcount(True)
    for i in range(1000):
        o.changed.emit(i)
        o.pinged.emit()
    assert len(got) == 1000
    assert abs(sys.getrefcount(True) - before) < 100  # without the fix: 2000 fewer


def test_bridge_events_keep_true_alive(qtbot):
    service = FakeCheckoutService()
    bridge = ServiceBridge(service).attach()
    seen = []
    bridge.update_status_changed.connect(seen.append)
    before = sys.getrefcount(True)
    for i in range(300):
        service.emit(UpdateStatusChanged("checking", 1, "Update: checking (v1 running)"), Notice("info", str(i)))
    qtbot.waitUntil(lambda: len(seen) == 300, timeout=5000)
    assert abs(sys.getrefcount(True) - before) < 100  # 3 emits per event: 1800 fewer without the fix
    bridge.detach()
