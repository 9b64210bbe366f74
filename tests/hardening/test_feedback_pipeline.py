"""The kiosk's feedback pipeline under hostile conditions: nothing recorded is lost, nothing says "up to date" while
feedback is not leaving, and no single bad file, clock, server or setting stops the feedback thread."""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import threading
import time
from datetime import datetime, timezone

import pytest

from kiosk.config import KioskConfig
from kiosk.doctor import OK, WARN, Context
from kiosk.doctor.feedback import check_feedback
from kiosk.exchange import batch, read_batch, write_batch
from kiosk.feedback.loop import FeedbackLoop, read_token
from kiosk.feedback.outbox import _iso, read_outbox_status
from kiosk.feedback.settings import FeedbackConfigError, FeedbackSettings
from kiosk.feedback.transports import TransportError
from kiosk.feedback.transports.http import HttpTransport
from kiosk.store import SalesStore
from tests.feedback.conftest import FakeClock
from tests.feedback.head_office import HeadOfficeServer
from tests.feedback.test_loop import make_loop, received
from tests.feedback.test_outbox import Down, batches, outbox
from tests.feedback.test_retention import place

UTC = timezone.utc


@pytest.fixture
def clock():
    return FakeClock()


def rows(store) -> int:
    return store._conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]


def sold(tmp_path, clock, n=3, size=5000):
    store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
    for i in range(n):
        place(store, tmp_path / "captures", f"20261201-1000{i:02d}-aaaa", size)
    return store


# -- 1: batches cut by bytes; write_batch refuses what read_batch refuses ---------------------------------------------
def test_batches_are_cut_by_bytes_and_every_one_reads_back_at_head_office(tmp_path, clock):
    store = sold(tmp_path, clock, n=12, size=40_000)
    store.pay(store.open_cart().cart_id)
    loop = make_loop(tmp_path, clock, store, batch_records=5000)
    loop.packer.max_bytes = 100_000  # two photos a batch
    assert loop.run_once().sent >= 6
    got = received(tmp_path)
    assert all(len((tmp_path / "ho/feedback/S1/K1" / n).read_bytes()) <= 100_000 + 20_480 for n in got)
    ids = sorted(r["placement_id"] for b in got.values() for r in b.records)
    assert len(ids) == 12 == len(set(ids)) and all(len(b.files) == len(b.records) for b in got.values())


def test_batches_are_cut_to_what_head_office_reads_whatever_max_bytes_says(tmp_path, clock, monkeypatch):
    """The cut (kiosk.exchange.cut, shared with the audit and enrollment packers) never makes a batch larger than
    head office reads, even when the packer's own max_bytes (32 MiB) is larger: before, BatchTooLarge at every
    round and no feedback sent."""
    store = sold(tmp_path, clock, n=6, size=40_000)
    store.pay(store.open_cart().cart_id)
    monkeypatch.setattr(batch, "MAX_BATCH_BYTES", 200_000)
    loop = make_loop(tmp_path, clock, store, batch_records=5000)
    assert loop.run_once().sent >= 2
    got = received(tmp_path)
    assert all(len((tmp_path / "ho/feedback/S1/K1" / n).read_bytes()) <= 200_000 for n in got)
    assert sorted(len(b.files) for b in got.values())[-1] >= 2 and sum(len(b.files) for b in got.values()) == 6


def test_write_batch_refuses_a_batch_head_office_would_refuse(monkeypatch):
    name, data = write_batch("feedback", {}, [], {"images/a.jpg": b"x" * 30_000})
    read_batch(data, name)
    monkeypatch.setattr(batch, "MAX_BATCH_BYTES", 20_000)
    with pytest.raises(batch.BatchTooLarge):
        write_batch("feedback", {}, [], {"images/a.jpg": b"x" * 30_000})
    monkeypatch.setattr(batch, "MAX_FILES", 2)
    with pytest.raises(batch.BatchTooLarge):
        write_batch("feedback", {}, [], {f"images/{i}.jpg": b"x" for i in range(3)})


@pytest.mark.parametrize("sizes", [[], [0], [1], [511, 512, 513], [10_000, 7, 4096]])
def test_batch_bytes_is_the_size_write_batch_makes(sizes):
    files = {f"images/{i}.jpg": b"y" * n for i, n in enumerate(sizes)}
    _, data = write_batch("feedback", {"k": "v"}, [{"a": 1}], files)
    index = batch._json_bytes({"format": 1, "kind": "feedback", "meta": {"k": "v"}, "records": [{"a": 1}],
                               "files": {n: {"sha256": __import__("hashlib").sha256(b).hexdigest(), "size": len(b)}
                                         for n, b in sorted(files.items())}})
    assert batch.batch_bytes(len(index), sizes) == len(data)


# -- 9: a wall clock that was wrong, then set, deletes nothing unsent ------------------------------------------------
@pytest.mark.parametrize("wrong, then", [(datetime(2000, 1, 1, tzinfo=UTC), None), (None, 40)])
def test_a_wall_clock_set_by_years_or_weeks_loses_no_feedback(tmp_path, wrong, then):
    real = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    clock = FakeClock(wrong or real)
    store = sold(tmp_path, clock)  # an open cart: settles after settle_s
    loop = make_loop(tmp_path, clock, store)
    clock.step(seconds=(real - clock.now).total_seconds() if wrong else then * 86400)  # NTP, or a wrong jump
    status = loop.run_once()
    assert rows(store) == 3 and sum(len(b.records) for b in received(tmp_path).values()) == 3, status
    assert status.line(now=clock())[1] == "ok" and status.sent == 1


def test_a_queued_batch_keeps_its_age_when_the_clock_jumps(tmp_path, clock):
    store = sold(tmp_path, clock)
    store.pay(store.open_cart().cart_id)
    loop = make_loop(tmp_path, clock, store)
    real, loop.outbox.transport = loop.outbox.transport, Down()
    loop.run_once()
    assert loop.outbox.status().queued == 1
    clock.step(days=40)
    loop.run_once()
    clock.advance(minutes=5)
    loop.outbox.transport = real
    assert loop.run_once().sent == 1 and loop.outbox.status().dropped == 0


def test_rows_not_packed_are_kept_past_a_clock_step_and_deleted_after_keep_days_of_kiosk_time(tmp_path, clock):
    store = sold(tmp_path, clock)
    store.pay(store.open_cart().cart_id)
    loop = make_loop(tmp_path, clock, store)

    def full():
        raise OSError(errno.ENOSPC, "No space left on device")

    loop.packer.pack = full
    clock.step(days=40)
    loop.run_once()
    clock.advance(minutes=5)
    loop.run_once()
    assert rows(store) == 3  # 40 days old by the wall clock, minutes by the kiosk's own: kept
    clock.advance(days=31)
    loop.run_once()
    assert rows(store) == 0  # waited longer than keep_days by the kiosk's own clock: privacy wins


# -- 2: packing errors reach the status line and the doctor; the heartbeat still leaves --------------------------------
def test_a_packing_error_is_on_the_status_line_and_in_the_doctor(tmp_path, clock, monkeypatch):
    store = sold(tmp_path, clock)
    store.pay(store.open_cart().cart_id)
    loop = make_loop(tmp_path, clock, store)

    def enospc(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(loop.outbox, "put", enospc)
    monkeypatch.setattr("kiosk.feedback.loop.atomic_write", enospc)  # the heartbeat's local copy
    status = loop.run_once()
    text, level = status.line(now=clock())
    assert level == "error" and "not leaving" in text and "No space" in text
    assert (tmp_path / "ho/heartbeats/S1/K1.json").is_file()  # sent though its local copy failed
    cfg = KioskConfig(tray_region=(0.0, 0.0, 1.0, 1.0), feedback=loop.settings, store_id="S1")
    result = check_feedback(Context(cfg, now=lambda: clock().astimezone(UTC)))
    assert result.status == WARN and "not leaving" in result.found
    monkeypatch.undo()
    assert loop.run_once().line(now=clock()) == ("Head office: up to date (1 sent)", "ok")


def test_the_doctor_warns_when_the_outbox_disk_is_full(tmp_path, clock):
    settings = FeedbackSettings(head_office=(tmp_path / "ho").as_uri(), outbox=str(tmp_path / "ob"))
    cfg = KioskConfig(tray_region=(0.0, 0.0, 1.0, 1.0), feedback=settings, store_id="S1")

    class Full:
        free = 1 << 20

    result = check_feedback(Context(cfg, now=lambda: clock().astimezone(UTC), disk_usage=lambda p: Full()))
    assert result.status == WARN and "1 MiB free" in result.found


# -- 3: a head office that cannot be opened is an error, not "not configured" ----------------------------------------
def test_a_head_office_that_cannot_be_opened_is_an_error_and_feedback_waits(tmp_path, clock, monkeypatch):
    import kiosk.feedback.loop as loop_module

    def cannot(*a, **k):
        raise TransportError("s3://bucket/fb: needs s3fs: pip install 'edge-checkout-kiosk[s3]'")

    monkeypatch.setattr(loop_module, "open_transport", cannot)
    store = sold(tmp_path, clock)
    store.pay(store.open_cart().cart_id)
    settings = FeedbackSettings(head_office="s3://bucket/fb", outbox=str(tmp_path / "ob"))
    loop = FeedbackLoop(settings, store=store, captures=tmp_path / "captures", kiosk_id="K1", store_id="S1",
                        clock=clock, min_free_bytes=0, monotonic=clock.monotonic)
    status = loop.run_once()
    text, level = status.line(now=clock())
    assert level == "error" and "s3fs" in text and "not configured" not in text
    assert status.queued == 1  # packed, waiting for a head office that opens
    assert read_outbox_status(tmp_path / "ob").line(now=clock())[1] == "error"


def test_credentials_in_the_head_office_url_are_refused_at_config_load(tmp_path):
    with pytest.raises(FeedbackConfigError, match="token_file") as caught:
        FeedbackSettings(head_office="https://user:secret@ho.example/feedback")
    assert "secret" not in str(caught.value)


# -- 4: a token a header cannot carry; whatever a transport raises ----------------------------------------------------
@pytest.mark.parametrize("text", ["abc\ndef\n", "tökén€", "abc\r\nX-Evil: 1"])
def test_a_token_a_header_cannot_carry_is_refused_and_shown(tmp_path, clock, text):
    (tmp_path / "token").write_text(text)
    assert read_token(str(tmp_path / "token")) == ""
    with pytest.raises(TransportError):
        HttpTransport("http://127.0.0.1:1/ho", token=text.strip())
    store = sold(tmp_path, clock)
    settings = FeedbackSettings(head_office="http://127.0.0.1:1/ho", outbox=str(tmp_path / "ob"),
                                token_file=str(tmp_path / "token"))
    loop = FeedbackLoop(settings, store=store, captures=tmp_path / "captures", kiosk_id="K1", store_id="S1",
                        clock=clock, min_free_bytes=0, monotonic=clock.monotonic)
    text_, level = loop.run_once().line(now=clock())
    assert level == "error" and "token" in text_


def test_any_exception_from_a_transport_is_a_transport_error(tmp_path, clock):
    class Buggy:
        url = "https://ho.example"

        def put(self, key, data, *, overwrite=False):
            raise ValueError("Invalid header value b'Bearer abc\\ndef'")

    box = outbox(tmp_path, clock, Buggy())
    for name, data in batches(2):
        box.put(name, data)
    assert box.drain() == 0 and box.send_document("heartbeats/S1/K1.json", b"{}") is False
    s = box.status()
    assert s.queued == 2 and "ValueError" in s.last_error and s.line(now=clock())[1] == "warn"


# -- 6: a batch refused for good is set aside; the rest still go; drops say why ------------------------------------
class Limited(HeadOfficeServer):
    """A head office that answers 413 to bodies over 20 KB (as nginx does over its limit)."""

    def handle_put(self, h):
        length = int(h.headers.get("Content-Length", "0"))
        if length > 20_000:
            h.rfile.read(length)
            h.send_response(413, "Too \x1b[31mLarge\x00" + "x" * 5000)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        super().handle_put(h)


def test_a_batch_refused_for_good_is_set_aside_and_the_rest_are_sent(tmp_path, clock):
    with Limited(tmp_path / "hosrv") as ho:
        box = outbox(tmp_path, clock, HttpTransport(ho.url, timeout_s=5))
        big = write_batch("feedback", {"kiosk_id": "K1"}, [], {"images/a.jpg": b"x" * 50_000})
        box.put(*big)
        os.utime(box.pending / big[0], (clock().timestamp() - 10,) * 2)
        for name, data in batches(3):
            box.put(name, data)
        assert box.drain() == 3 and ho.stored == 3
    s = box.status()
    assert s.queued == 0 and s.set_aside == 1 and (tmp_path / "outbox/bad" / big[0]).is_file()
    reason = (tmp_path / "outbox/bad" / f"{big[0]}.reason.txt").read_text()
    assert "413" in reason and "\x1b" not in reason and "\x00" not in reason and len(reason) < 400
    assert "\x1b" not in (s.last_error or "") and s.line(now=clock()) == \
        ("Head office: 0 batches waiting, 1 refused by head office (set aside)", "error")


def test_batches_dropped_by_age_are_worded_so(tmp_path, clock):
    box = outbox(tmp_path, clock, Down(), max_age_s=86400)
    name, data = batches(1)[0]
    box.put(name, data)
    os.utime(box.pending / name, (clock().timestamp() - 2 * 86400,) * 2)
    box.bound()
    text, level = box.status().line(now=clock())
    assert level == "error" and "older than the retention" in text and "queue full" not in text


# -- 7: an entry that is not a batch file is that entry's problem ------------------------------------------------------
def test_a_directory_named_like_a_batch_neither_blocks_nor_breaks_the_outbox(tmp_path, clock):
    box = outbox(tmp_path, clock, max_bytes=25_000)
    odd = box.pending / f"feedback-{'0' * 64}.tar"
    odd.mkdir()
    os.utime(odd, (1, 1))
    for name, data in batches(2):
        box.put(name, data)
    assert box.drain() == 2 and box.status().queued == 0
    for name, data in batches(4, size=2000):
        box.put(name, data)
    box.bound()
    assert box.status().bytes <= 25_000 and not odd.exists() and (tmp_path / "outbox/bad" / odd.name).is_dir()


def test_a_batch_another_process_sent_meanwhile_is_skipped(tmp_path, clock, monkeypatch):
    box = outbox(tmp_path, clock)
    made = batches(3)
    for name, data in made:
        box.put(name, data)
    gone = box.pending / made[0][0]
    real = type(gone).read_bytes

    def racing(path):
        if path == gone:
            path.unlink()  # the other process took it
        return real(path)

    monkeypatch.setattr(type(gone), "read_bytes", racing)
    assert box.drain() == 2 and box.status().queued == 0 and box.status().last_error is None


# -- 8: a state.json that is not what the outbox writes ----------------------------------------------------------------
@pytest.mark.parametrize("text", ["null", "[]", '"x"', "[" * 100_000 + "]" * 100_000, '{"sent": "x"}',
                                  '{"sent": NaN, "dropped": -5}', '{"last_error": ["a"]}', "\udcff"])
def test_a_damaged_state_file_is_read_as_empty_field_by_field(tmp_path, clock, text):
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox/state.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    s = read_outbox_status(tmp_path / "outbox")
    assert (s.sent, s.dropped, s.last_error) == (0, 0, None)
    box = outbox(tmp_path, clock)
    for name, data in batches(2):
        box.put(name, data)
    assert box.drain() == 2 and box.status().sent == 2
    cfg = KioskConfig(tray_region=(0.0, 0.0, 1.0, 1.0), store_id="S1",
                      feedback=FeedbackSettings(head_office="https://ho.example/fb", outbox=str(tmp_path / "o2")))
    (tmp_path / "o2").mkdir()
    (tmp_path / "o2/state.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    result = check_feedback(Context(cfg, now=lambda: clock().astimezone(UTC)))  # no traceback, no FAIL
    assert result.status in (OK, WARN) and "0 sent" in result.found


# -- 11: an absurd file time; nothing ends the feedback thread ---------------------------------------------------------
def test_an_absurd_file_time_and_a_failing_round_never_end_the_thread(tmp_path, clock, monkeypatch):
    store = sold(tmp_path, clock)
    loop = make_loop(tmp_path, clock, store, upload_interval_s=0.05)
    name, data = batches(1)[0]
    loop.outbox.put(name, data)
    os.utime(loop.outbox.pending / name, (2**40, 2**40))
    assert loop.outbox.status().queued == 1 == read_outbox_status(tmp_path / "outbox").queued
    assert _iso(2**40) is None and _iso(float("nan")) is None  # as tmpfs, XFS or btrfs can hold
    calls = []

    def broken():
        calls.append(1)
        raise RuntimeError("a bug")

    monkeypatch.setattr(loop, "_round_steps", broken)
    loop.start()
    try:
        deadline = time.monotonic() + 5
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(calls) >= 3 and loop._thread.is_alive()
    finally:
        loop.stop()
    assert loop.run_once().line(now=clock())[1] == "error"


# -- 5: a whole-request deadline -------------------------------------------------------------------------------------
def test_a_server_that_drips_its_answer_cannot_hold_an_upload(tmp_path):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def drip():
        conn, _ = srv.accept()
        try:
            conn.recv(65536)
            for b in b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 1000:
                conn.sendall(bytes([b]))
                time.sleep(0.1)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=drip, daemon=True).start()
    t = HttpTransport(f"http://127.0.0.1:{srv.getsockname()[1]}/ho", timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(TransportError, match="within"):
        t.put("feedback/S1/K1/a.tar", b"x" * 100)
    assert time.monotonic() - started < t.deadline(100) + 2
    srv.close()


# -- 10: a kill during put leaves no temporary behind for long --------------------------------------------------------
def test_temporaries_a_killed_writer_left_are_swept_but_not_a_live_one(tmp_path, clock):
    box = outbox(tmp_path, clock)
    dead = box.pending / f".feedback-{'1' * 64}.tar.99999.abc.tmp"
    dead.write_bytes(b"x" * 100_000)
    live = box.pending / f".feedback-{'2' * 64}.tar.{os.getpid()}.def.tmp"
    live.write_bytes(b"y" * 1000)
    fd = os.open(live, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a writer still at work
        box.bound()
        assert not dead.exists() and live.exists()
        dead.write_bytes(b"x" * 100_000)
        outbox(tmp_path, clock)  # a restart sweeps too
        assert not dead.exists() and live.exists()
    finally:
        os.close(fd)


# -- 12: photos through links; what a server says --------------------------------------------------------------------
def test_a_photo_replaced_by_a_link_or_outside_the_captures_is_not_sent(tmp_path, clock):
    store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    img = place(store, tmp_path / "captures", "20261201-100000-aaaa", 5000)
    os.unlink(img)
    os.symlink(secret, img)
    place(store, tmp_path / "captures", "20261201-100001-bbbb", 5000)
    store.pay(store.open_cart().cart_id)
    loop = make_loop(tmp_path, clock, store)
    loop.run_once()
    (got,) = received(tmp_path).values()
    assert len(got.records) == 2 and len(got.files) == 1 and b"SECRET" not in b"".join(got.files.values())
