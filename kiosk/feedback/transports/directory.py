"""A head office that is a directory (``file:/mnt/ho/feedback`` or a plain path), e.g. a mounted share.

Each file is written atomically (temporary beside it, fsync, rename), so a reader there never sees half a batch and
a kill leaves at most a temporary (``.<name>.<random>.tmp``, ignored by head office, removed by the next upload of
that name). The directory itself must
exist: a share that is not mounted is "unreachable", never silently filled on the kiosk's own disk.
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write
from kiosk.feedback.transports.base import TransportError

__all__ = ["DirectoryTransport", "directory_of"]


def directory_of(url: str) -> Path:
    if url.startswith("file:"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    return Path(url)


class DirectoryTransport:
    def __init__(self, url: str) -> None:
        self.url = url
        self.root = directory_of(url)

    def put(self, key: str, data: bytes, *, overwrite: bool = False) -> bool:
        if not self.root.is_dir():
            raise TransportError(f"{self.root}: head office directory not there (not mounted?)")
        target = self.root / key
        try:
            stored = overwrite or not target.is_file()
            if stored:
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(target, data)
            for stale in target.parent.glob(f".{target.name}.*.tmp"):  # left by an upload a kill cut short
                stale.unlink(missing_ok=True)
        except OSError as exc:
            raise TransportError(f"{target}: {exc.strerror or exc}") from None
        return stored
