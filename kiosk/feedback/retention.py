"""How long feedback stays on the kiosk: by age (``keep_days``) and by size (``keep_mb``), and room on a full disk.

:meth:`Retention.purge` (the feedback loop, off the checkout's threads, in small transactions) deletes feedback rows
and their photos older than ``keep_days``, photos beyond ``keep_mb`` oldest first (their rows stay, without a
photo), and any other file in the captures folder older than ``keep_days`` (full frames an older version kept,
leftovers of a crash; files a row still points to go with their row). :meth:`Retention.make_room` is asked before
a new photo is written: when the disk is below ``min_free`` it deletes the oldest photos first, and says no when
that is not enough (the photo is then not kept; the cart line never depends on it). Cart lines, sales, payments
and corrections are never touched.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

__all__ = ["PurgeResult", "Retention"]

log = logging.getLogger(__name__)
CHUNK = 200


@dataclass
class PurgeResult:
    rows: int = 0  # feedback rows deleted (older than keep_days)
    photos: int = 0  # photos deleted (by age, by size or for room)
    orphans: int = 0  # other old files in the captures folder
    freed: int = 0  # bytes


def _unlink(path: str | Path) -> int:
    try:
        size = os.stat(path).st_size
        os.unlink(path)
        return size
    except OSError:
        return 0


class Retention:
    def __init__(self, store, captures: str | os.PathLike, *, keep_days: float, keep_bytes: int, min_free: int,
                 clock: Callable[[], datetime], disk_usage: Callable[[str], object] = shutil.disk_usage) -> None:
        self.store, self.captures = store, Path(captures)
        self.keep_s, self.keep_bytes, self.min_free = keep_days * 86400, keep_bytes, min_free
        self._clock, self._disk_usage = clock, disk_usage
        self._lock = threading.Lock()  # one purge at a time (the loop, and make_room on the recognition thread)

    def purge(self, *, by_age: bool = True, spare_from_ts: float | None = None) -> PurgeResult:
        """Delete by age (unless not ``by_age``: the wall clock just moved, ages are not known this round), by size
        and orphans. ``spare_from_ts``: no row placed at or after this time is deleted by age (the oldest row not
        packed yet: the feedback loop never lets age delete what head office has not been given)."""
        with self._lock:
            result = PurgeResult()
            if by_age:
                self._by_age(result, spare_from_ts)
            self._by_size(result)
            if by_age:
                self._orphans(result)
        if result.rows or result.photos or result.orphans:
            log.info("retention: %d feedback rows, %d photos, %d other files deleted (%d bytes)", result.rows,
                     result.photos, result.orphans, result.freed)
        return result

    def _by_age(self, result: PurgeResult, spare_from_ts: float | None = None) -> None:
        cutoff = int(self._clock().timestamp() - self.keep_s)
        if spare_from_ts is not None:
            cutoff = min(cutoff, int(spare_from_ts))
        while True:
            rows, photos = self.store.delete_feedback_before(cutoff, CHUNK)
            result.rows += rows
            for path in photos:
                result.freed += _unlink(path)
                result.photos += 1
            if rows < CHUNK:
                return

    def _drop_oldest_until(self, done: Callable[[], bool], result: PurgeResult,
                           on_drop: Callable[[int], None] = lambda size: None) -> None:
        """Delete the oldest photos one by one (their rows stay, without a photo) until ``done()``."""
        while not done():
            oldest = self.store.oldest_feedback_photos(32)
            if not oldest:
                return
            gone = []
            for pid, path, size in oldest:
                if done():
                    break
                result.freed += _unlink(path)
                result.photos += 1
                gone.append(pid)
                on_drop(size)
            self.store.forget_feedback_photos(gone)

    def _by_size(self, result: PurgeResult) -> None:
        total = [self.store.feedback_photo_bytes()]
        self._drop_oldest_until(lambda: total[0] <= self.keep_bytes, result,
                                lambda size: total.__setitem__(0, total[0] - size))

    def _orphans(self, result: PurgeResult) -> None:
        if not self.captures.is_dir():
            return
        cutoff = self._clock().timestamp() - self.keep_s
        known = self.store.feedback_photo_paths()  # those go with their rows, by the store's own times
        for folder, _dirs, names in os.walk(self.captures, topdown=False):
            for name in names:
                path = Path(folder) / name
                if str(path) in known:
                    continue
                try:
                    old = path.stat().st_mtime < cutoff
                except OSError:
                    continue
                if old:
                    result.freed += _unlink(path)
                    result.orphans += 1
            if Path(folder) != self.captures and not os.listdir(folder):
                try:
                    os.rmdir(folder)
                except OSError:
                    pass

    def make_room(self, need: int) -> bool:
        """Room for ``need`` more bytes with ``min_free`` left over, deleting the oldest photos if it must."""
        def enough() -> bool:
            try:
                free = int(self._disk_usage(str(self._existing(self.captures))).free)
            except OSError:
                return False
            return free - need >= self.min_free

        if enough():
            return True
        with self._lock:
            result = PurgeResult()
            self._drop_oldest_until(enough, result)
        if result.photos:
            log.warning("disk nearly full: %d oldest feedback photos deleted (%d bytes)", result.photos, result.freed)
        return enough()

    @staticmethod
    def _existing(path: Path) -> Path:
        path = path.absolute()
        while not path.exists() and path != path.parent:
            path = path.parent
        return path
