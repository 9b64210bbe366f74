"""The shape every head-office transport has."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Transport", "TransportError"]


class TransportError(Exception):
    """Head office could not take the upload now (unreachable, refused, full): one line, retried later."""


class Transport(Protocol):
    url: str  #: where it sends (never with a secret in it)

    def put(self, key: str, data: bytes, *, overwrite: bool = False) -> bool:
        """Store ``data`` at ``key`` whole or not at all. Returns False when ``key`` was already there and
        ``overwrite`` is False (a batch sent before: content-addressed, so the same bytes). Raises
        :class:`TransportError` when head office cannot take it now."""
        ...
