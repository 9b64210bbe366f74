"""Where batches and heartbeats go: one file per kind of head office, one shape for each (:class:`Transport`).

=================  ==========================================================================================
``file:/…``, path  :mod:`~.directory` — a directory (a mounted share); written atomically, never created
``http(s)://…``    :mod:`~.http` — ``PUT`` to ``<url>/<key>``; ``If-None-Match: *`` makes a batch idempotent
``s3://…``         :mod:`~.fsspec_store` — any fsspec store (``s3://`` needs the ``[s3]`` extra: s3fs)
=================  ==========================================================================================

:func:`open_transport` picks by scheme; the transport's library is imported only then.
"""

from __future__ import annotations

from kiosk.feedback.transports.base import Transport, TransportError, TransportRefused

__all__ = ["Transport", "TransportError", "TransportRefused", "open_transport"]


def open_transport(url: str, *, timeout_s: float = 30.0, token: str = "") -> Transport:
    """The transport for head-office location ``url`` (see the module docstring)."""
    text = url.strip()
    if text.startswith(("http://", "https://")):
        from kiosk.feedback.transports.http import HttpTransport

        return HttpTransport(text, timeout_s=timeout_s, token=token)
    if "://" in text and not text.startswith("file:"):
        from kiosk.feedback.transports.fsspec_store import FsspecTransport

        return FsspecTransport(text)
    from kiosk.feedback.transports.directory import DirectoryTransport

    return DirectoryTransport(text)
