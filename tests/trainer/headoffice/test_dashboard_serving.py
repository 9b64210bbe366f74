"""The dashboard's server under clients that send slowly or hold connections open (slowloris), with real sockets:
half-sent requests are closed after the request timeout, one address cannot hold more than its share of
connections, the server never runs out of file descriptors, and a real sign-in still gets through."""

from __future__ import annotations

import http.client
import os
import select
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")

from tests.conftest import REPO  # noqa: E402
from tests.trainer.headoffice import browser  # noqa: E402

PASSWORD = "correct horse battery"
HALF = b"GET /login HTTP/1.1\r\nHost: x\r\n"  # the blank line that ends the headers never comes


def _from(address: str, port: int, first: bytes = HALF) -> socket.socket:
    """A connection from ``address`` (another loopback address: another client) that sent ``first``."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2, source_address=(address, 0))
    if first:
        s.sendall(first)
    return s


def _answer(s: socket.socket, within: float) -> bytes:
    """What the server sent on ``s`` before it closed it (b"" while still open after ``within`` s)."""
    s.settimeout(within)
    got = b""
    try:
        while chunk := s.recv(4096):
            got += chunk
    except TimeoutError:
        return b""
    except ConnectionResetError:
        pass
    return got or b"(closed)"


def _get(port: int, path: str = "/login", timeout: float = 2.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def _sign_in(port: int, password: str = PASSWORD) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", "/login", body=f"username=meera&password={password.replace(' ', '+')}&next=/",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.fixture
def app(tmp_path):
    from trainer.headoffice.dashboard import DashboardData
    from trainer.headoffice.users import Users
    from trainer.headoffice.web import create_app

    users = Users(tmp_path / "users.json")
    users.add("meera", PASSWORD)
    return create_app(DashboardData(str(tmp_path)), users)


def test_half_sent_requests_are_closed_and_one_address_holds_only_its_share(app):
    from trainer.headoffice.serving import Limits

    limits = Limits(request_timeout_s=0.5, per_client=3, max_connections=6, keep_alive_s=1)
    with browser.served(app, limits) as url:
        port = int(url.rsplit(":", 1)[1])
        held = [_from("127.0.0.2", port) for _ in range(3)]
        assert _answer(_from("127.0.0.2", port), 1.0).startswith(b"HTTP/1.1 503")  # a fourth from the same address
        idle = _from("127.0.0.3", port, b"")  # connected, sent nothing
        trickle = _from("127.0.0.3", port, b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
                                           b"urlencoded\r\nContent-Length: 100\r\n\r\nusername=m")  # body never ends
        started = time.monotonic()
        assert _get(port) == 200  # a real client still gets the page
        for s in held + [idle, trickle]:
            assert _answer(s, 2.0).startswith(b"HTTP/1.1 408"), "a half-sent request was left open"
            s.close()
        assert time.monotonic() - started < 1.5
        crowd = [_from(f"127.0.0.{4 + n // 3}", port) for n in range(6)]  # six addresses' worth: the whole server
        assert _answer(_from("127.0.0.9", port), 1.0).startswith(b"HTTP/1.1 503")  # never an unanswered accept
        for s in crowd:
            s.close()
        time.sleep(0.1)
        assert _get(port) == 200


@pytest.mark.slow  # starts `checkout headoffice serve` and waits for the attack's second wave (3 s)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="other loopback addresses and rlimits: Linux")
def test_a_slowloris_beyond_the_open_file_limit_does_not_keep_a_real_sign_in_out(seeded, tmp_path):
    """The probe's attack on `checkout headoffice serve` itself: more half-sent requests than the server may open
    files (here 192) — the server ran out of descriptors and a real request timed out; now the extra connections are
    answered 503 at once, the server never runs out, and the sign-in goes through."""
    import resource

    def low_file_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (192, 192))

    cmd = [sys.executable, "-c", "import sys; from kiosk.cli import main; sys.exit(main(sys.argv[1:]))",
           "headoffice", "serve", str(seeded.root), "--users", str(seeded.users), "--port", "0"]
    log = tmp_path / "serve.log"
    with open(log, "wb") as err:  # a file, never a pipe nobody reads: the server would block writing its log
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=err, preexec_fn=low_file_limit,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    attackers = []
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        line = proc.stdout.readline().decode() if ready else ""
        assert "dashboard on http://127.0.0.1:" in line, log.read_text()
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        for _ in range(300):  # all at once: the kernel's queue holds what the server has not accepted yet
            s = socket.socket()
            attackers.append(s)
            s.bind(("127.0.0.2", 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
        time.sleep(1.3)  # the connections the kernel's queue had no room for try again after a second
        for s in attackers:
            try:
                s.send(HALF)
            except OSError:  # not connected yet (or answered 503 and closed): as good
                pass
        assert _get(port, timeout=3) == 200
        assert _sign_in(port) == 303
    finally:
        for s in attackers:
            s.close()
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
    assert "Too many open files" not in log.read_text()
