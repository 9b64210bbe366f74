"""Head-office transports: a directory, HTTP(S) PUT, an fsspec store; whole or nothing, idempotent."""

from __future__ import annotations

import pytest

from kiosk.feedback.transports import TransportError, open_transport
from kiosk.feedback.transports.directory import DirectoryTransport
from kiosk.feedback.transports.fsspec_store import FsspecTransport
from kiosk.feedback.transports.http import HttpTransport
from tests.feedback.head_office import HeadOfficeServer


def test_open_transport_picks_by_scheme(tmp_path):
    assert isinstance(open_transport(str(tmp_path)), DirectoryTransport)
    assert isinstance(open_transport(tmp_path.as_uri()), DirectoryTransport)
    assert isinstance(open_transport("https://ho.example/feedback"), HttpTransport)
    assert isinstance(open_transport("memory://ho"), FsspecTransport)


def test_directory_puts_atomically_once_and_never_fills_an_unmounted_share(tmp_path):
    ho = tmp_path / "ho"
    t = open_transport(ho.as_uri())
    with pytest.raises(TransportError, match="not mounted"):
        t.put("feedback/s/k/a.tar", b"abc")
    assert not ho.exists()
    ho.mkdir()
    assert t.put("feedback/s/k/a.tar", b"abc") is True
    assert t.put("feedback/s/k/a.tar", b"abc") is False  # there already: not written again
    assert t.put("heartbeats/s/k.json", b"1", overwrite=True) and t.put("heartbeats/s/k.json", b"2", overwrite=True)
    assert (ho / "feedback/s/k/a.tar").read_bytes() == b"abc" and (ho / "heartbeats/s/k.json").read_bytes() == b"2"
    assert [p.name for p in ho.rglob("*") if p.name.endswith(".tmp")] == []


def test_http_put_is_idempotent_and_carries_the_token(tmp_path):
    with HeadOfficeServer(tmp_path / "ho", token="s3cret") as server:
        t = HttpTransport(server.url, token="s3cret", timeout_s=5)
        assert t.put("feedback/s/k/a.tar", b"abc") is True
        assert t.put("feedback/s/k/a.tar", b"abc") is False  # 412: head office has it
        assert t.put("heartbeats/s/k.json", b"{}", overwrite=True) is True
        assert (tmp_path / "ho/feedback/s/k/a.tar").read_bytes() == b"abc"
        with pytest.raises(TransportError, match="HTTP 401"):
            HttpTransport(server.url, timeout_s=5).put("feedback/s/k/b.tar", b"x")
        assert server.stored == 2 and server.refused == 1


def test_an_unreachable_head_office_is_one_line_and_never_a_password_in_the_url():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError, match="unreachable"):
        HttpTransport(f"http://127.0.0.1:{port}/ho", timeout_s=2).put("feedback/s/k/a.tar", b"x")
    with pytest.raises(TransportError, match="token_file"):
        HttpTransport("https://user:pw@ho.example/x")


def test_an_fsspec_store_takes_each_batch_once():
    t = open_transport("memory://ho-test")
    assert t.put("feedback/s/k/a.tar", b"abc") is True
    assert t.put("feedback/s/k/a.tar", b"zzz") is False
    import fsspec

    assert fsspec.filesystem("memory").cat_file("/ho-test/feedback/s/k/a.tar") == b"abc"


def test_a_head_office_answering_without_end_fills_no_memory():
    """A broken proxy or a hostile server answers the PUT with 200 and a body that never ends: the kiosk takes the
    status, reads at most 64 KiB of the answer and goes on (it used to read the whole body into memory)."""
    import socket
    import threading
    import time

    from kiosk.feedback.transports.http import MAX_REPLY

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    sent = []

    def endless():
        conn, _ = server.accept()
        conn.settimeout(5)
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            chunk = b"x" * 65536
            while len(sent) < 2000:  # up to 128 MiB if the client kept reading
                conn.sendall(chunk)
                sent.append(1)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=endless, daemon=True).start()
    started = time.monotonic()
    assert HttpTransport(f"http://127.0.0.1:{server.getsockname()[1]}/ho", timeout_s=5).put("feedback/s/k/a.tar", b"x")
    assert time.monotonic() - started < 5 and len(sent) * 65536 < 64 * MAX_REPLY * 16
    server.close()
