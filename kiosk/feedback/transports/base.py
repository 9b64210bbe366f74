"""The shape every head-office transport has."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Transport", "TransportError", "TransportRefused", "printable"]


class TransportError(Exception):
    """Head office could not take the upload now (unreachable, refused, full): one line, retried later."""


class TransportRefused(TransportError):
    """Head office refuses this one upload for good (too large, malformed …): sending it again changes nothing, so
    the outbox sets it aside and sends the rest."""


def printable(text: object, limit: int = 200) -> str:
    """``text`` as one short printable line: control characters (ESC, NUL, newlines …) become ``?``, at most
    ``limit`` characters (what a server says goes into logs, state.json, the heartbeat and the doctor)."""
    line = "".join(c if c.isprintable() else "?" for c in str(text)[:limit + 1])
    return line if len(line) <= limit else line[:limit - 1] + "…"


class Transport(Protocol):
    url: str  #: where it sends (never with a secret in it)

    def put(self, key: str, data: bytes, *, overwrite: bool = False) -> bool:
        """Store ``data`` at ``key`` whole or not at all. Returns False when ``key`` was already there and
        ``overwrite`` is False (a batch sent before: content-addressed, so the same bytes). Raises
        :class:`TransportError` when head office cannot take it now (:class:`TransportRefused`: never)."""
        ...
