"""The outbox: batches leave oldest first, exactly once, only when head office has them; bounded and honest."""

from __future__ import annotations

import os

import pytest

from kiosk.exchange import read_batch, write_batch
from kiosk.feedback.outbox import Outbox, read_outbox_status
from kiosk.feedback.transports import TransportError
from kiosk.feedback.transports.directory import DirectoryTransport

MB = 1 << 20


def batches(n: int, size: int = 1000) -> list[tuple[str, bytes]]:
    return [write_batch("feedback", {"kiosk_id": "K1", "store_id": "S1", "n": i}, [],
                        {"images/x.jpg": bytes([i % 256]) * size}) for i in range(n)]


def outbox(tmp_path, clock, transport=None, *, max_bytes=10 * MB, max_age_s=30 * 86400):
    if transport is None:
        (tmp_path / "ho").mkdir(exist_ok=True)
        transport = DirectoryTransport(str(tmp_path / "ho"))
    return Outbox(tmp_path / "outbox", transport, store_id="S1", kiosk_id="K1", max_bytes=max_bytes,
                  max_age_s=max_age_s, clock=clock)


def head_office(tmp_path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (tmp_path / "ho").rglob("*.tar")}


def test_batches_are_sent_once_and_whole_then_leave_the_queue(tmp_path, clock):
    box = outbox(tmp_path, clock)
    made = batches(3)
    for name, data in made:
        assert box.put(name, data) is True
        assert box.put(name, data) is False  # queued already
    assert box.status().queued == 3
    assert box.drain() == 3
    assert head_office(tmp_path) == dict(made)
    assert all(p.parent.relative_to(tmp_path / "ho").as_posix() == "feedback/S1/K1" for p in (tmp_path / "ho").rglob(
        "*.tar"))
    s = box.status()
    assert (s.queued, s.sent, s.last_error) == (0, 3, None) and s.last_success
    assert read_outbox_status(tmp_path / "outbox").sent == 3  # what the doctor reads


def test_a_kill_after_the_upload_sends_it_again_under_the_same_name(tmp_path, clock):
    box = outbox(tmp_path, clock)
    name, data = batches(1)[0]
    box.put(name, data)
    box.transport.put(f"feedback/S1/K1/{name}", data)  # uploaded, then killed before the queue forgot it
    assert box.drain() == 1
    assert head_office(tmp_path) == {name: data} and box.status().already_there == 1


class Down:
    url = "https://ho.example"

    def put(self, key, data, *, overwrite=False):
        raise TransportError(f"{self.url}/{key}: unreachable (timed out)")


def test_an_unreachable_head_office_only_delays(tmp_path, clock):
    box = outbox(tmp_path, clock, Down())
    for name, data in batches(2):
        box.put(name, data)
    assert box.drain() == 0
    s = box.status()
    assert s.queued == 2 and "unreachable" in s.last_error and s.line(now=clock())[1] == "warn"
    clock.advance(days=2)
    assert box.status().line(now=clock())[1] == "error"  # waiting for longer than a day
    (tmp_path / "ho").mkdir()
    box.transport = DirectoryTransport(str(tmp_path / "ho"))
    assert box.drain() == 2 and box.status().last_error is None and len(head_office(tmp_path)) == 2


def test_the_queue_is_bounded_oldest_dropped_first_and_counted(tmp_path, clock):
    made = batches(5, size=1500)
    size = len(made[0][1])  # a tar is whole 10 KiB records
    box = outbox(tmp_path, clock, Down(), max_bytes=int(2.5 * size))
    for i, (name, data) in enumerate(made):
        box.put(name, data)
        os.utime(box.pending / name, (clock().timestamp() + i, clock().timestamp() + i))
    dropped = box.bound()
    assert dropped == [n for n, _ in made[:3]]
    s = box.status()
    assert s.queued == 2 and s.dropped == 3 and s.bytes <= 2.5 * size
    text, level = s.line(now=clock())
    assert level == "error" and "3 dropped" in text


def test_batches_older_than_the_retention_are_dropped(tmp_path, clock):
    box = outbox(tmp_path, clock, Down(), max_age_s=86400)
    name, data = batches(1)[0]
    box.put(name, data)
    os.utime(box.pending / name, (clock().timestamp() - 2 * 86400,) * 2)
    assert box.bound() == [name] and box.status().queued == 0


def test_a_damaged_queued_batch_is_set_aside_not_sent(tmp_path, clock):
    box = outbox(tmp_path, clock)
    (good, good_data), (bad, bad_data) = batches(2)
    box.put(good, good_data)
    box.put(bad, bad_data)
    (box.pending / bad).write_bytes(bad_data[:100])
    assert box.drain() == 1
    assert head_office(tmp_path) == {good: good_data} and (tmp_path / "outbox" / "bad" / bad).is_file()
    read_batch(good_data, good)


def test_put_refuses_what_is_not_a_batch(tmp_path, clock):
    with pytest.raises(ValueError):
        outbox(tmp_path, clock).put("notes.txt", b"x")
