"""Work-arounds for bugs of the Qt binding; each one checks for its bug at run time and does nothing without it.

``SignalInstance.emit`` leaks a reference to ``True`` (PySide6 6.12.0): it returns ``Py_True`` without taking a
reference, so every ``signal.emit(...)`` made from Python lowers ``True``'s reference count by one (6.11.3 does
not; checked with 1000 emits). On CPython
3.11 ``True`` is not immortal: after a few thousand emits (the bridge makes three per service event) the count
reaches zero and the interpreter aborts with ``Fatal Python error: bool_dealloc`` — mid-sale in a running kiosk,
or at exit of a long test run. :func:`install` probes ``emit`` once; if it leaks, ``SignalInstance.emit`` is
wrapped to give the reference back (``Py_IncRef``). Emits made by Qt itself (a button's ``clicked``) never pass
through Python and are not affected. Remove this module once the pinned PySide6 no longer leaks
(``tests/ui/test_qt_compat.py`` tells).
"""

from __future__ import annotations

import ctypes
import logging
import sys

__all__ = ["install", "emit_leaks_true", "PATCHED"]

log = logging.getLogger(__name__)
PROBE_EMITS = 256
PATCHED = False


def _incref(obj: object) -> None:
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


def emit_leaks_true() -> bool:
    """Emit a probe signal PROBE_EMITS times; True when each emit cost ``True`` one reference (given back)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    emit = type(probe.ping).emit  # the class attribute: the original even when already wrapped
    ping = probe.ping
    before = sys.getrefcount(True)
    for _ in range(PROBE_EMITS):
        emit(ping)
    lost = before - sys.getrefcount(True)
    leaks = lost >= PROBE_EMITS * 3 // 4  # one per emit (other threads may move the count a little)
    if leaks:
        for _ in range(lost):  # what the probe itself took
            _incref(True)
    return leaks


def install() -> bool:
    """Wrap ``SignalInstance.emit`` when it leaks (once per process). Returns whether it is wrapped now."""
    global PATCHED
    if PATCHED:
        return True
    from PySide6.QtCore import SignalInstance

    if not emit_leaks_true():
        return False
    original = SignalInstance.emit

    def emit(self, *args):
        result = original(self, *args)
        if result is True:
            _incref(True)  # the reference the binding forgot to take
        return result

    emit.__doc__ = original.__doc__
    emit.__wrapped__ = original
    SignalInstance.emit = emit
    PATCHED = True
    log.info("PySide6 SignalInstance.emit leaks a reference to True: wrapped (kiosk.ui.qt_compat)")
    return True
