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
