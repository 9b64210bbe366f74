"""How ``checkout headoffice serve`` runs the dashboard under uvicorn so that slow or idle clients cannot lock the
others out.

uvicorn's HTTP/1.1 protocol (h11) waits for a request's headers for ever: a connection that sends half a request
(or nothing) holds a file descriptor until the client goes, and 1,100 of them left the server unable to accept a
real sign-in (``Errno 24 Too many open files``). Here each connection gets :attr:`Limits.request_timeout_s` from
its first byte (or from connecting) to send a whole request, headers and body, or it is answered 408 and closed; at
most :attr:`Limits.max_connections` are open at once and :attr:`Limits.per_client` from one address (more are
answered 503 and closed at once, so the descriptors never run out); an idle keep-alive connection is closed after
:attr:`Limits.keep_alive_s`; a request's headers may be :attr:`Limits.max_header_bytes` long. Behind a TLS proxy
every connection comes from the proxy's address: raise ``--per-client`` to the proxy's own connection limit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Limits", "fit_to_open_files", "server"]

#: file descriptors kept for everything else (the log, the users file, batches read, the listening socket)
FD_RESERVE = 64
#: connections accepted but not yet answered: asyncio accepts up to ``backlog`` a turn of its loop and closes the
#: ones refused a few turns later
IN_FLIGHT_TURNS = 4
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 32\r\n"
         b"connection: close\r\n\r\nbusy: too many connections open\n")
_TOO_SLOW = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 34\r\n"
             b"connection: close\r\n\r\nthe request took too long to send\n")


@dataclass(frozen=True)
class Limits:
    request_timeout_s: float = 10.0
    keep_alive_s: int = 5
    max_connections: int = 256
    per_client: int = 32
    max_header_bytes: int = 16 * 1024
    backlog: int = 16  # the kernel's queue of connections not yet accepted, and asyncio's accepts a turn


def fit_to_open_files(limits: Limits) -> Limits:
    """``limits`` with at most as many connections as this process may open files (less :data:`FD_RESERVE` and
    the connections accepted but not yet refused), its soft limit raised towards the hard one first."""
    try:
        import resource
    except ImportError:  # not POSIX
        return limits
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    reserve = FD_RESERVE + IN_FLIGHT_TURNS * limits.backlog
    want = limits.max_connections + reserve
    if soft != resource.RLIM_INFINITY and soft < want:
        raised = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return limits
    most = max(1, soft - reserve)
    return replace(limits, max_connections=min(limits.max_connections, most),
                   per_client=min(limits.per_client, most))


def _guarded_protocol(limits: Limits) -> type:
    """uvicorn's h11 protocol with the limits above (uvicorn has no timeout for a request's headers or body)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _timer = None
        _refused = False

        def connection_made(self, transport) -> None:  # type: ignore[override]
            peer = transport.get_extra_info("peername")
            host = peer[0] if isinstance(peer, tuple) and peer else None
            same = sum(1 for c in self.connections if c.client and c.client[0] == host) if host else 0
            if len(self.connections) >= limits.max_connections or same >= limits.per_client:
                self._refused = True
                transport.write(_BUSY)
                transport.close()
                return
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            if not self._refused:
                super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return
            super().data_received(data)
            state = self.conn.their_state
            unfinished = state is h11.SEND_BODY or (state is h11.IDLE and bool(self.conn.trailing_data[0]))
            if unfinished and not self.transport.is_closing():
                self._arm()  # from the request's first byte: a request sent a byte at a time meets the same end
            else:
                self._disarm()

        def _arm(self) -> None:
            if self._timer is None:
                self._timer = self.loop.call_later(limits.request_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _too_slow(self) -> None:
            self._timer = None
            if self.transport.is_closing():
                return
            if self.cycle is None or not self.cycle.response_started:
                if self.cycle is not None:
                    self.cycle.disconnected = True  # the app waiting for the rest of the body hears it went
                self.transport.write(_TOO_SLOW)
            self.transport.close()

    return GuardedH11Protocol


def server(app, limits: Limits = Limits(), *, log_level: str = "warning"):
    """A uvicorn server of ``app`` under ``limits`` (run it with ``.run(sockets=[listening socket])``)."""
    import uvicorn

    config = uvicorn.Config(app, http=_guarded_protocol(limits), ws="none", log_level=log_level,
                            timeout_keep_alive=limits.keep_alive_s, limit_concurrency=limits.max_connections + 1,
                            h11_max_incomplete_event_size=limits.max_header_bytes, backlog=limits.backlog)
    return uvicorn.Server(config)
