"""The status bar's head-office slot: empty while feedback flows, its line and level when head office cannot take
it (who sees the slot when is the status bar's policy, tested with it)."""

import threading

from kiosk.services.events import OutboxChanged


def test_the_outbox_slot_says_when_the_queue_needs_attention(qtbot, window, service):
    label = window.status.outbox_label

    def from_feedback_thread(event):
        t = threading.Thread(target=service.emit, args=(event,))
        t.start()
        t.join(5)

    from_feedback_thread(OutboxChanged(0, "Head office: up to date (12 sent)", "ok"))
    qtbot.wait(50)
    assert label.text() == ""
    error = "https://ho.example/feedback/feedback/S/K1/feedback-ab.tar: unreachable (timed out)"
    from_feedback_thread(OutboxChanged(14, "Head office unreachable: 14 batches waiting", "warn", error))
    qtbot.waitUntil(lambda: label.text() == "Head office unreachable: 14 batches waiting", timeout=2000)
    assert label.property("level") == "warn" and label.toolTip() == error
    from_feedback_thread(OutboxChanged(3, "Head office: 3 batches waiting, 11 dropped unsent (queue full)", "error",
                                       error, 11))
    qtbot.waitUntil(lambda: "11 dropped" in label.text() and label.property("level") == "error", timeout=2000)
    from_feedback_thread(OutboxChanged(0, "Head office: up to date (25 sent)", "ok"))
    qtbot.waitUntil(lambda: label.text() == "", timeout=2000)
