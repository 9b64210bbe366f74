"""The head-office location the kiosks upload to, read back: a local directory, or an fsspec URL (``s3://…``, the
``[s3]`` extra). Keys are ``/``-separated paths under it (:mod:`kiosk.exchange.layout`); temporaries
(``.<name>.<random>.tmp``, a kiosk's upload in progress) are never listed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kiosk.errors import DataError
from kiosk.exchange.batch import MAX_BATCH_BYTES, parse_batch_name

__all__ = ["SUPPORTED", "HeadOffice", "TooLarge"]

#: what a head-office location can be (named in a refusal)
SUPPORTED = ("a directory, file:PATH, s3://bucket/prefix (the [s3] extra) or http(s)://… (needs aiohttp); other fsspec "
             "URLs where their package is installed")


class HeadOffice:
    def __init__(self, src: str | os.PathLike) -> None:
        text = str(src)
        self.src = text
        self._fs = None
        if not text.strip():
            raise DataError("the head-office location is empty: give its directory or s3://… URL")
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
                raise DataError(f"{text}: {exc}; a head-office location is {SUPPORTED}") from None
            except OSError as exc:  # a driver that connects when made (ftp://: the host not found, refused …)
                raise _unreachable(text, exc) from None
            self._root = root.rstrip("/")
        else:
            self._local = Path(text.removeprefix("file://").removeprefix("file:"))
            if not self._local.is_dir():
                raise DataError(f"{self._local}: no such head-office directory")

    @property
    def local(self) -> Path | None:
        """The directory, when the location is one (None for a URL)."""
        return self._local if self._fs is None else None

    def keys(self, prefix: str, suffix: str) -> list[str]:
        """Keys under ``prefix`` ending in ``suffix``, sorted (hidden files and temporaries left out; linked folders
        followed once, as a mounted store's folder would be)."""
        if self._fs is None:
            found = [k for k in self._local_files(prefix) if k.endswith(suffix)]
        else:
            base = f"{self._root}/{prefix}"
            try:
                listed = self._fs.find(base)
            except OSError as exc:
                raise _unreachable(self.src, exc) from None
            found = [p[len(self._root) + 1:] for p in listed if p.endswith(suffix)]
        return sorted(k for k in found if not any(part.startswith(".") for part in k.split("/")))

    def _local_files(self, prefix: str) -> list[str]:
        base = self._local / prefix
        if base.exists() and not base.is_dir():
            raise DataError(f"{base}: a file where head office keeps its {prefix}/ folder")
        found, seen = [], set()
        for folder, dirs, files in os.walk(base, followlinks=True):
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:  # a link back up the tree
                dirs.clear()
                continue
            seen.add((st.st_dev, st.st_ino))
            rel = Path(folder).relative_to(self._local)
            found += [(rel / n).as_posix() for n in files if os.path.isfile(os.path.join(folder, n))]
        return found

    def batches(self, kind: str) -> tuple[list[tuple[str, str, str]], list[dict]]:
        """``(key, store, kiosk)`` of every batch at ``<kind>/<store>/<kiosk>/<kind>-<sha256>.tar``, and a refusal
        (``{"batch", "reason"}``) for each file under ``<kind>/`` that looks like a batch but is not one there."""
        found, misplaced = [], []
        for key in self.keys(kind, ""):
            parts = key.split("/")
            if not key.lower().endswith(".tar"):
                continue
            if len(parts) != 4 or parse_batch_name(parts[-1]) is None:
                misplaced.append({"batch": key, "reason": f"not where a batch belongs ({kind}/<store>/<kiosk>/"
                                                          f"{kind}-<sha256>.tar): not read"})
                continue
            found.append((key, parts[1], parts[2]))
        return found, misplaced

    def read(self, key: str, limit: int = MAX_BATCH_BYTES) -> bytes:
        """The bytes at ``key``, never more than ``limit`` of them held: a file larger than that (by its size, or as
        read) is :class:`TooLarge` naming the key, before it is read whole (a 6 GB file named like a batch was a
        MemoryError that stopped every store's collect)."""
        if self._fs is None:
            return _read_bounded(self._local / key, key, limit)
        path = f"{self._root}/{key}"
        try:
            size = self._fs.size(path)
        except (OSError, NotImplementedError, ValueError):
            size = None
        if size is not None and size > limit:
            raise TooLarge(key, size, limit)
        data = self._fs.cat_file(path, start=0, end=limit + 1)
        if len(data) > limit:
            raise TooLarge(key, None, limit)
        return data


class TooLarge(OSError):
    """A file at head office larger than its reader takes: refused by its key, unread (an ``OSError``, so every
    reader's "skip this batch, go on with the others" takes it)."""

    def __init__(self, key: str, size: int | None, limit: int) -> None:
        told = f"{size} bytes" if size is not None else f"more than {limit} bytes"
        super().__init__(f"{key}: {told}, larger than the {limit >> 20} MiB a batch may be: not read")

    def __str__(self) -> str:
        return str(self.args[0])


def _read_bounded(path: Path, key: str, limit: int) -> bytes:
    """A local file's bytes, its size checked before a byte is read and at most ``limit`` + 1 read (it may grow
    after the check)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{key}: not a regular file")
        if st.st_size > limit:
            raise TooLarge(key, st.st_size, limit)
        chunks, got = [], 0
        while got <= limit:
            want = st.st_size + 1 - got if got < st.st_size + 1 else 1 << 16  # its size: no larger buffer made
            chunk = os.read(fd, min(limit + 1 - got, want))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        if got > limit:
            raise TooLarge(key, None, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _unreachable(url: str, exc: OSError) -> DataError:
    """One line for a URL whose store cannot be reached or listed (a socket error has no file name to show)."""
    why = exc.strerror or str(exc) or type(exc).__name__
    return DataError(f"{url}: cannot be read ({why}); a head-office location is {SUPPORTED}")
