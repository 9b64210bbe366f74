"""`checkout doctor`'s feedback line: the tray region, and the outbox (queue, oldest unsent, last error)."""

from __future__ import annotations

import os
from datetime import timezone

from kiosk.config import KioskConfig
from kiosk.doctor import OK, WARN, Context
from kiosk.doctor.feedback import check_feedback
from kiosk.exchange import write_batch
from kiosk.feedback.outbox import Outbox
from kiosk.feedback.settings import FeedbackSettings
from kiosk.feedback.transports import TransportError


class Down:
    url = "https://ho.example/feedback"

    def put(self, key, data, *, overwrite=False):
        raise TransportError(f"{self.url}/{key}: unreachable (timed out)")


def test_an_unset_tray_region_warns_and_a_set_one_is_ok(tmp_path, clock):
    ctx = Context(KioskConfig(feedback=FeedbackSettings(outbox=str(tmp_path / "ob"))), now=clock)
    result = check_feedback(ctx)
    assert result.status == WARN and "tray_region not set" in result.found
    ctx = Context(KioskConfig(tray_region=(0.1, 0.1, 0.9, 0.9), feedback=FeedbackSettings(outbox=str(tmp_path))),
                  now=clock)
    result = check_feedback(ctx)
    assert result.status == OK and "stays on this kiosk" in result.found and "30 days / 2048 MiB" in result.found


def test_the_outbox_queue_its_oldest_batch_and_last_error(tmp_path, clock):
    settings = FeedbackSettings(head_office="https://ho.example/feedback", outbox=str(tmp_path / "ob"))
    box = Outbox(settings.outbox, Down(), store_id="S1", kiosk_id="K1", max_bytes=1 << 30, max_age_s=1e9, clock=clock)
    for i in range(3):
        name, data = write_batch("feedback", {"i": i}, [])
        box.put(name, data)
        os.utime(box.pending / name, (clock().timestamp() - 7200,) * 2)
    box.drain()
    ctx = Context(KioskConfig(tray_region=(0.0, 0.0, 1.0, 1.0), feedback=settings, store_id="S1"),
                  now=lambda: clock().astimezone(timezone.utc))
    result = check_feedback(ctx)
    assert result.status == WARN, result
    assert "3 batch(es) waiting (oldest 2.0 h)" in result.found and "unreachable (timed out)" in result.found
    assert "Head office unreachable: 3 batches waiting" in result.found


def test_a_kiosk_that_sends_feedback_needs_a_store_id(tmp_path):
    """Head office files every upload under its store and kiosk ids: without a store id they met under "-"."""
    import pytest

    from kiosk.config import ConfigError

    sends = FeedbackSettings(head_office="https://ho.example/feedback", outbox=str(tmp_path / "ob"))
    with pytest.raises(ConfigError, match=r"head_office='https://ho.example/feedback' needs store_id"):
        KioskConfig(feedback=sends)
    assert KioskConfig(feedback=sends, store_id="BLR-0042").store_id == "BLR-0042"
    assert KioskConfig(feedback=FeedbackSettings(outbox=str(tmp_path / "ob"))).store_id == ""  # keeps its feedback
