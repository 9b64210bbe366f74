"""Decode and resize every photo once; epochs then read uint8 arrays from a memory map.

A 348×348 JPEG costs ~3 ms to decode on this class of CPU; 12 epochs would decode each photo 12
times. The cache stores square uint8 RGB crops of ``size`` pixels in one ``.npy`` file, keyed by
the manifest rows, their file sizes/mtimes and the preprocessing, so a changed photo rebuilds it.
Rows whose image cannot be decoded are reported by manifest line and left out (never a crash mid-epoch).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kiosk.bundle_format.atomic import AtomicFile, atomic_open, atomic_write
from kiosk.bundle_format.preprocess import PreprocessSpec, center_crop, eval_crop, read_image, resize_shorter
from kiosk.errors import DataError

log = logging.getLogger(__name__)
CACHE_VERSION = 1


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


def _load_one(path: Path, mode: str, spec: PreprocessSpec) -> np.ndarray | None:
    import cv2

    image = read_image(path)
    if image is None:
        return None
    if mode == "eval":
        return eval_crop(image, spec)
    # train: keep more context than the eval crop so random-resized-crop has room to move
    square = center_crop(resize_shorter(image, spec.resize_size, spec.interpolation), spec.resize_size)
    return cv2.cvtColor(square, cv2.COLOR_BGR2RGB)


def _decode_into(out: np.ndarray, items: list[tuple[Path, int]], mode: str, spec: PreprocessSpec,
                 workers: int | None, lines: list[int], desc: str) -> tuple[list[int], list[tuple]]:
    """Decode ``items`` into the rows of ``out`` in order, skipping unreadable ones; returns (kept indexes, bad)."""
    keep, bad = [], []
    workers = workers or min(8, (os.cpu_count() or 2) * 2)
    with ThreadPoolExecutor(workers) as pool:  # OpenCV releases the GIL while decoding
        results = pool.map(lambda it: _load_one(it[0], mode, spec), items)
        for i, arr in enumerate(tqdm(results, total=len(items), desc=desc, unit="img", leave=False, disable=None)):
            path = items[i][0]
            if arr is None:
                reason = "missing" if not path.exists() else "undecodable"
                log.warning("manifest line %d: %s: %s image, left out", lines[i], path, reason)
                bad.append((lines[i], str(path), reason))
                continue
            out[len(keep)] = arr
            keep.append(i)
    return keep, bad


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
        meta = json.loads(meta_path.read_text())
        return CachedImages(np.load(npy, mmap_mode="r"), np.asarray(meta["labels"], np.int64), meta["paths"],
                            [tuple(b) for b in meta["bad"]])
    size = spec.crop_size if mode == "eval" else spec.resize_size
    target = AtomicFile(npy)
    try:
        out = np.lib.format.open_memmap(target.tmp, mode="w+", dtype=np.uint8, shape=(len(items), size, size, 3))
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
    return CachedImages(np.load(npy, mmap_mode="r"), np.asarray(meta["labels"], np.int64), meta["paths"], bad)
