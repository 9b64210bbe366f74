"""Decode and resize every photo once; epochs then read uint8 arrays from a memory map.

A 348×348 JPEG costs ~3 ms to decode on this class of CPU; 12 epochs would decode each photo 12
times. The cache stores square uint8 RGB crops of ``size`` pixels in one ``.npy`` file, keyed by
the manifest rows, their file sizes/mtimes and the preprocessing, so a changed photo rebuilds it.
Rows whose image cannot be decoded are reported by manifest line and left out (never a crash mid-epoch).

A cache directory is kept under a budget (``CHECKOUT_CACHE_MAX_GB``, default 20): before a new entry is written the
least recently used ones go, as pip's and torch's caches do. A new entry's blocks are reserved before decoding
starts, so a full disk is one clear error and never a SIGBUS from a page of the memory map half-way through.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kiosk.bundle_format.atomic import AtomicFile, atomic_open, atomic_write
from kiosk.bundle_format.preprocess import PreprocessSpec, center_crop, eval_crop, load_image, resize_shorter
from kiosk.errors import DataError, UserError

log = logging.getLogger(__name__)
CACHE_VERSION = 1
BUDGET_ENV, DEFAULT_BUDGET_GB = "CHECKOUT_CACHE_MAX_GB", 20.0
GB = 1024**3


@dataclass
class CachedImages:
    images: np.ndarray  # (N, S, S, 3) uint8 RGB, memory-mapped
    labels: np.ndarray  # (N,) int64 class index
    paths: list[str]
    bad: list[tuple[int, str, str]]  # (manifest line, path, reason) left out


def _key(items: list[tuple[Path, int]], mode: str, spec: PreprocessSpec) -> str:
    h = hashlib.sha256(json.dumps([CACHE_VERSION, mode, spec.to_json()]).encode())
    for path, label in items:
        try:
            st = path.stat()
            h.update(f"{path}|{label}|{st.st_size}|{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{path}|{label}|missing\n".encode())
    return h.hexdigest()[:20]


def _load_one(path: Path, mode: str, spec: PreprocessSpec) -> tuple[np.ndarray | None, str]:
    """The cache row for ``path``, or ``(None, why it is left out)``."""
    import cv2

    image, why = load_image(path, spec.resize_size)
    if image is None:
        return None, why
    if mode == "eval":
        return eval_crop(image, spec), ""
    # train: keep more context than the eval crop so random-resized-crop has room to move
    square = center_crop(resize_shorter(image, spec.resize_size, spec.interpolation), spec.resize_size)
    return cv2.cvtColor(square, cv2.COLOR_BGR2RGB), ""


def _decode_into(out: np.ndarray, items: list[tuple[Path, int]], mode: str, spec: PreprocessSpec,
                 workers: int | None, lines: list[int], desc: str) -> tuple[list[int], list[tuple]]:
    """Decode ``items`` into the rows of ``out`` in order, skipping unreadable ones; returns (kept indexes, bad)."""
    keep, bad = [], []
    workers = workers or min(8, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(workers) as pool:  # OpenCV releases the GIL while decoding
        results = pool.map(lambda it: _load_one(it[0], mode, spec), items)
        for i, (arr, reason) in enumerate(tqdm(results, total=len(items), desc=desc, unit="img", leave=False,
                                               disable=None)):
            path = items[i][0]
            if arr is None:
                log.warning("manifest line %d: %s: %s, left out", lines[i], path, reason)
                bad.append((lines[i], str(path), reason))
                continue
            out[len(keep)] = arr
            keep.append(i)
    return keep, bad


def cache_budget() -> int:
    """Bytes one cache directory may hold (``CHECKOUT_CACHE_MAX_GB``; a single larger entry is still built)."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    try:
        gb = float(raw) if raw else DEFAULT_BUDGET_GB
    except ValueError:
        gb = -1.0
    if not gb >= 0:  # also NaN
        raise UserError(f"{BUDGET_ENV}={raw!r}: not a size in GB (e.g. 20 or 2.5)")
    return int(gb * GB)


STALE_TMP_S = 24 * 3600


def _stale_temporaries(cache_dir: Path) -> list[Path]:
    """Temporaries a killed decode left (kill -9, a lost machine), untouched for a day: a live one is written to."""
    stale = []
    for tmp in cache_dir.glob(".*.npy.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if time.time() - tmp.stat().st_mtime > STALE_TMP_S:
                tmp.unlink()
                stale.append(tmp)
    return stale


def evict(cache_dir: Path, room: int, budget: int) -> list[Path]:
    """Remove the least recently used entries until the rest plus ``room`` bytes fit ``budget``; returns them."""
    entries = []
    for npy in cache_dir.glob("*.npy"):
        try:
            st = npy.stat()
        except FileNotFoundError:  # another process evicted it
            continue
        entries.append((st.st_mtime_ns, st.st_size, npy))
    removed = _stale_temporaries(cache_dir)
    total = room + sum(size for _, size, _ in entries)
    for _, size, npy in sorted(entries):
        if total <= budget:
            break
        npy.with_suffix(".json").unlink(missing_ok=True)  # the marker first: a half-removed entry is a miss
        npy.unlink(missing_ok=True)  # a process still reading it keeps its memory map (POSIX)
        total -= size
        removed.append(npy)
    if removed:
        log.info("%s: %d stale temporaries and least recently used decoded cache entries removed (budget %.1f GB)",
                 cache_dir, len(removed), budget / GB)
    return removed


def _size(n: int) -> str:
    return f"{n / GB:.2f} GB" if n >= GB / 10 else f"{n / 1024**2:.1f} MB"


def _reserve(path: Path, cache_dir: Path, count: int) -> None:
    """Allocate ``path``'s blocks now; a disk that cannot hold them is a DataError naming the sizes."""
    size = path.stat().st_size
    try:
        with open(path, "r+b") as fh:
            os.posix_fallocate(fh.fileno(), 0, size)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL):  # a filesystem without fallocate: decode and see
                return
            raise
        free = shutil.disk_usage(cache_dir).free
        raise DataError(f"{cache_dir}: the decoded cache of {count} images needs {_size(size)} and the disk has "
                        f"{_size(free)} free; free some space or point --cache-dir at a larger disk") from None


def _open(npy: Path, meta: dict) -> CachedImages:
    return CachedImages(np.load(npy, mmap_mode="r"), np.asarray(meta["labels"], np.int64), meta["paths"],
                        [tuple(b) for b in meta["bad"]])


def _hit(npy: Path, meta_path: Path) -> CachedImages:
    cached = _open(npy, json.loads(meta_path.read_text()))
    with contextlib.suppress(OSError):  # a read-only cache still serves
        os.utime(npy)  # its last use, for eviction
    return cached


def build_cache(items: list[tuple[Path, int]], cache_dir: Path, mode: str, spec: PreprocessSpec,
                workers: int | None = None, lines: list[int] | None = None, desc: str = "decode") -> CachedImages:
    """``items``: (absolute image path, class index). ``mode``: "train" (square resize_size) or "eval" (exact eval
    crop)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _key(items, mode, spec)
    npy, meta_path = cache_dir / f"{mode}-{key}.npy", cache_dir / f"{mode}-{key}.json"
    lines = lines or list(range(2, len(items) + 2))
    if npy.is_file() and meta_path.is_file():
        return _hit(npy, meta_path)
    size = spec.crop_size if mode == "eval" else spec.resize_size
    evict(cache_dir, len(items) * size * size * 3, cache_budget())
    target = AtomicFile(npy)
    try:
        out = np.lib.format.open_memmap(target.tmp, mode="w+", dtype=np.uint8, shape=(len(items), size, size, 3))
        _reserve(target.tmp, cache_dir, len(items))
        keep, bad = _decode_into(out, items, mode, spec, workers, lines, desc)
        out.flush()
        del out
        if not keep:
            raise DataError(f"none of the {len(items)} images could be read (first: {items[0][0] if items else '-'})")
        if len(keep) != len(items):  # shrink to the rows kept
            arr = np.load(target.tmp, mmap_mode="r")
            with atomic_open(npy, "wb") as fh:
                np.save(fh, np.ascontiguousarray(arr[: len(keep)]))
            del arr
            target.discard()
        else:
            target.commit()
    except BaseException:
        target.discard()  # a crashed decode leaves no gigabyte-sized temporary behind
        raise
    meta = {"labels": [items[i][1] for i in keep], "paths": [str(items[i][0]) for i in keep], "bad": bad}
    atomic_write(meta_path, json.dumps(meta))
    return _open(npy, meta)
