"""The one seam between the checkout service (plain Python, any thread) and Qt (GUI thread).

:class:`ServiceBridge` registers itself as a listener on the service. The service calls it
from whatever thread produced the event (capture/recognition thread, scale poller, the GUI
thread itself for intents); the bridge re-emits every event through a signal connected with
``Qt.QueuedConnection`` to a slot of an object living in the GUI thread, so widgets only ever
see events on the GUI thread, in the order the service produced them.

Events are dispatched by class name (``CartChanged`` → :attr:`ServiceBridge.cart_changed`),
which keeps the bridge free of import-time coupling to ``kiosk.services.events`` and lets
tests drive it with the same events the real service sends.

The service is anything that implements :class:`kiosk.services.api.CheckoutApi` (the real
service, or the UI tests' fake).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from kiosk.services.api import CheckoutApi

log = logging.getLogger(__name__)

__all__ = ["ServiceBridge", "EVENT_SIGNALS"]

#: event class name → name of the typed signal it is re-emitted on
EVENT_SIGNALS: dict[str, str] = {
    "CameraStatusChanged": "camera_status_changed",
    "SuggestionsReady": "suggestions_ready",
    "AwaitingWeight": "awaiting_weight",
    "WeighingEnded": "weighing_ended",
    "WeightChanged": "weight_changed",
    "CartChanged": "cart_changed",
    "SaleClosed": "sale_closed",
    "ModelChanged": "model_changed",
    "Notice": "notice",
    "PlacementCleared": "placement_cleared",
    "StaffModeChanged": "staff_mode_changed",
    "UpdateStatusChanged": "update_status_changed",
    "StaffCalled": "staff_called",
    "StaffCallEnded": "staff_call_ended",
    "OutboxChanged": "outbox_changed",
    "HelpCallChanged": "help_call_changed",
    "RemovalPending": "removal_pending",
    "RemovalDecided": "removal_decided",
    "ShopperPrefsChanged": "prefs_changed",
    "PaymentPending": "payment_pending",
    "PrinterStatus": "printer_status",
}


class ServiceBridge(QObject):
    """Turns service events (from any thread) into Qt signals on the GUI thread.

    Create it in the GUI thread; call :meth:`attach` to start listening. Every typed signal
    carries the event object unchanged.
    """

    camera_status_changed = Signal(object)
    suggestions_ready = Signal(object)
    awaiting_weight = Signal(object)
    weighing_ended = Signal(object)
    weight_changed = Signal(object)
    cart_changed = Signal(object)
    sale_closed = Signal(object)
    model_changed = Signal(object)
    notice = Signal(object)
    placement_cleared = Signal(object)
    staff_mode_changed = Signal(object)
    update_status_changed = Signal(object)
    staff_called = Signal(object)
    staff_call_ended = Signal(object)
    outbox_changed = Signal(object)
    help_call_changed = Signal(object)
    removal_pending = Signal(object)
    removal_decided = Signal(object)
    prefs_changed = Signal(object)
    payment_pending = Signal(object)
    printer_status = Signal(object)
    #: any event, after its typed signal (for logging or tests)
    event_delivered = Signal(object)

    # internal: crosses the thread boundary, always queued
    _incoming = Signal(object)
    _answered = Signal(object)  # (done, ok, result) of :meth:`call_off_thread`

    def __init__(self, service: CheckoutApi, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.unknown_events = 0
        self._attached = False
        self._last_frame: object | None = None
        self._incoming.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._answered.connect(self._deliver_answer, Qt.ConnectionType.QueuedConnection)

    # -- listening ----------------------------------------------------------------------
    def attach(self) -> ServiceBridge:
        """Register as a listener on the service (once)."""
        if not self._attached:
            self.service.add_listener(self.on_event)
            self._attached = True
        return self

    def detach(self) -> None:
        """Stop listening; events in flight are still delivered."""
        if self._attached:
            self.service.remove_listener(self.on_event)
        self._attached = False

    def on_event(self, event: object) -> None:
        """The listener the service calls, from any thread: never touches a widget.

        ``FrameCaptured`` (one per camera frame) is not queued: the newest one is kept for
        :meth:`frame_provider`, which the camera view polls at its own rate.
        """
        if type(event).__name__ == "FrameCaptured":
            self._last_frame = event  # one reference assignment: atomic under the GIL
            return
        self._incoming.emit(event)

    @Slot(object)
    def _dispatch(self, event: object) -> None:
        name = EVENT_SIGNALS.get(type(event).__name__)
        if name is None:
            self.unknown_events += 1
            log.debug("bridge: no signal for event %r", event)
        else:
            getattr(self, name).emit(event)
        self.event_delivered.emit(event)

    # -- what the window asks of the service ------------------------------------------------
    def call_off_thread(self, name: str, *args: Any, done: Callable[[bool, Any], None]) -> threading.Thread:
        """``service.<name>(*args)`` on a thread of its own, for an intent that waits on a device for seconds (the
        card terminal at the PIN pad): the window goes on painting and answering. ``done(ok, result)`` is called on
        the GUI thread afterwards, after the events the call sent (``ok`` False: ``result`` is the exception)."""
        def run() -> None:
            try:
                answer = (done, True, getattr(self.service, name)(*args))
            except Exception as exc:  # the service's refusals and its bugs alike: the window says so
                answer = (done, False, exc)
            self._answered.emit(answer)

        thread = threading.Thread(target=run, name=f"ui-{name}", daemon=True)
        thread.start()
        return thread

    @Slot(object)
    def _deliver_answer(self, answer: tuple) -> None:
        done, ok, result = answer
        done(ok, result)

    def frame_provider(self) -> Callable[[], Any]:
        """A no-argument callable returning the newest camera frame (or ``None``), never blocking.

        ``service.latest_frame()`` peeks at what recognition took last; when it has none yet, the
        last ``FrameCaptured`` event this bridge saw. (A CaptureWorker's ``latest()`` is not used: it
        *takes* the frame away from recognition.)
        """
        def newest() -> Any:
            frame = self.service.latest_frame()
            return frame if frame is not None else self._last_frame

        return newest

    def sync_camera_status(self) -> bool:
        """Show the camera's current state even when it changed before this bridge listened.

        The service's ``announce()`` does not re-send the camera state; this reads
        ``service.capture.status`` (a CaptureWorker's) and delivers it as a
        ``CameraStatusChanged``. Returns whether there was a capture worker to ask.
        """
        status = getattr(getattr(self.service, "capture", None), "status", None)
        state = getattr(status, "state", None)
        if state is None:
            return False
        from kiosk.services.events import CameraStatusChanged

        self.on_event(CameraStatusChanged(str(getattr(state, "value", state)), getattr(status, "error", None),
                                          getattr(status, "retry_in", None)))
        return True

    def staff_lock(self) -> None:
        """End staff mode on the service."""
        self.service.staff_lock()

    def wedge_scanner(self) -> Any | None:
        """The service's USB scanner when it is a keyboard wedge the window must feed key presses to."""
        scanner = getattr(self.service, "scanner", None)
        return scanner if getattr(scanner, "needs_window", False) else None

    def simulated_scale(self) -> Any | None:
        """The service's scale when it can be set by hand (has ``set_weight``), for the demo slider."""
        scale = getattr(self.service, "scale", None)
        return scale if callable(getattr(scale, "set_weight", None)) else None
