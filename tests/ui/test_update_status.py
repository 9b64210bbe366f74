"""The status bar's update slot: hidden until the updater reports, then its one line, level and full message —
shown to staff (staff mode), never to shoppers."""

import threading

from kiosk.services.events import UpdateStatusChanged
from tests.ui.fakes import PIN


def test_update_slot_follows_update_status_events_from_another_thread(qtbot, window, service):
    label = window.status.update_label
    service.staff_unlock(PIN)  # technical fields are staff's
    qtbot.waitUntil(lambda: window.status.model_label.isVisible())
    assert not label.isVisible()  # no updater: the slot stays hidden

    def from_updater_thread(event):
        t = threading.Thread(target=service.emit, args=(event,))
        t.start()
        t.join(5)

    from_updater_thread(UpdateStatusChanged("downloading", 7, "Update: downloading v8 40%", "ok", 8))
    qtbot.waitUntil(lambda: label.isVisible() and label.text() == "Update: downloading v8 40%", timeout=2000)
    assert label.property("level") == "ok"
    refusal = "refused (signature): /var/lib/checkout/models/staging/x/manifest.json: signed by untrusted key(s)"
    from_updater_thread(UpdateStatusChanged("failed", 7, "Update refused (signature): v7 keeps running", "error", 8,
                                            refusal, "signature"))
    qtbot.waitUntil(lambda: label.text() == "Update refused (signature): v7 keeps running", timeout=2000)
    assert label.property("level") == "error" and label.toolTip() == refusal
    assert window.status.model_label.text().startswith("Model v7")  # the model field is ModelChanged's alone
    service.staff_lock()
    qtbot.waitUntil(lambda: not label.isVisible() and not window.status.model_label.isVisible())
