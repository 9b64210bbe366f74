"""The head-office location the kiosks upload to, read back: a local directory, or an fsspec URL (``s3://…``, the
``[s3]`` extra). Keys are ``/``-separated paths under it (:mod:`kiosk.exchange.layout`); temporaries
(``.<name>.<random>.tmp``, a kiosk's upload in progress) are never listed."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.errors import DataError

__all__ = ["HeadOffice"]


class HeadOffice:
    def __init__(self, src: str | os.PathLike) -> None:
        text = str(src)
        self.src = text
        self._fs = None
        if "://" in text and not text.startswith("file:"):
            try:
                from fsspec.core import url_to_fs
            except ImportError:
                raise DataError(f"{text}: reading URLs needs fsspec (pip install fsspec)") from None
            try:
                self._fs, root = url_to_fs(text)
            except ImportError as exc:  # fsspec knows the scheme; its driver (s3fs, aiohttp …) is not installed
                raise DataError(f"{text}: reading this URL needs a package not installed here ({exc}); for s3:// "
                                "pip install 'edge-checkout-kiosk[s3]'") from None
            except ValueError as exc:  # an unknown protocol
                raise DataError(f"{text}: {exc}") from None
            self._root = root.rstrip("/")
        else:
            self._local = Path(text.removeprefix("file://").removeprefix("file:"))
            if not self._local.is_dir():
                raise DataError(f"{self._local}: no such head-office directory")

    def keys(self, prefix: str, suffix: str) -> list[str]:
        """Keys under ``prefix`` ending in ``suffix``, sorted (hidden files and temporaries left out)."""
        if self._fs is None:
            base = self._local / prefix
            found = [p.relative_to(self._local).as_posix() for p in base.rglob(f"*{suffix}") if p.is_file()]
        else:
            base = f"{self._root}/{prefix}"
            found = [p[len(self._root) + 1:] for p in self._fs.find(base) if p.endswith(suffix)]
        return sorted(k for k in found if not any(part.startswith(".") for part in k.split("/")))

    def read(self, key: str) -> bytes:
        if self._fs is None:
            return (self._local / key).read_bytes()
        return self._fs.cat_file(f"{self._root}/{key}")
