"""A head office that is an fsspec store: ``s3://bucket/prefix`` (the ``[s3]`` extra: s3fs), ``gs://``, ``memory://``.

An object store's PUT is atomic (the object appears whole or not at all); a batch already there is not sent again.
Credentials come from the store's usual places (environment, instance role, ~/.aws), never from the URL.
"""

from __future__ import annotations

from kiosk.feedback.transports.base import TransportError

__all__ = ["FsspecTransport"]


class FsspecTransport:
    def __init__(self, url: str) -> None:
        try:
            from fsspec.core import url_to_fs

            self._fs, self._root = url_to_fs(url)
        except ImportError as exc:
            raise TransportError(f"{url}: needs {exc.name or 'fsspec'}: pip install "
                                 "'edge-checkout-kiosk[s3]'") from None
        except Exception as exc:  # noqa: BLE001 - a store that cannot be opened is "not reachable now"
            raise TransportError(f"{url}: {type(exc).__name__}: {exc}") from None
        self.url = url
        self._root = self._root.rstrip("/")

    def put(self, key: str, data: bytes, *, overwrite: bool = False) -> bool:
        path = f"{self._root}/{key}"
        try:
            if not overwrite and self._fs.exists(path):
                return False
            self._fs.pipe_file(path, data)
        except Exception as exc:  # noqa: BLE001 - botocore, aiohttp, OSError…: retried at the next round
            raise TransportError(f"{self.url}/{key}: {type(exc).__name__}: {exc}") from None
        return True
