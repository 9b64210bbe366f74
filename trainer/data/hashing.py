"""Per-image facts for data checks: decodability, size, content hash and perceptual hash.

Only numpy and OpenCV (imported here, so import this module inside command handlers).

* :func:`inspect_image` reads one file and returns an :class:`ImageFacts`: whether it is empty, undecodable
  or truncated, its width/height, the SHA-256 of its bytes and a 64-bit DCT perceptual hash (pHash).
* :func:`inspect_images` does that for many files in a process pool with a tqdm bar, reusing a
  :class:`HashCache` (SQLite, keyed by absolute path, size and mtime) so a re-run only reads new or changed files.
* :func:`hamming` / :func:`near_pairs` compare pHashes.
* :func:`thumbnail` / :func:`pixel_difference` / :func:`same_photo`: whether two near pHashes are one photo (a
  re-encoded, resized or brightened copy) or two photos that only share a layout (pHash is grey and coarse: two
  products of one shape and brightness in one place on a tray hash alike).

pHash: grayscale → 32x32 (area resampling) → 2-D DCT → the 8x8 lowest frequencies → one bit per coefficient,
set when the coefficient is above the median of the 63 AC coefficients (the DC term is forced to 0, it only
carries mean brightness). A resized or re-encoded copy changes a few bits; different photos differ in ~32.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: Bump when :func:`phash` or the checks change, so cached facts are recomputed.
HASH_VERSION = "phash-dct32x8-v3"

#: Default Hamming distance (of 64 bits) at or below which two images count as near-duplicates.
#: Chosen by measuring the clean grocery-store train+val: see ``trainer/data/README.md``.
DEFAULT_PHASH_THRESHOLD = 4

OK, EMPTY, MISSING, UNDECODABLE, TRUNCATED = "ok", "empty", "missing", "undecodable", "truncated"


@dataclass(frozen=True)
class ImageFacts:
    """What :func:`inspect_image` found out about one file.

    ``status``: ``ok``, ``empty`` (0 bytes), ``missing``, ``undecodable`` or ``truncated`` (no end marker).
    ``phash`` is the 64-bit pHash as an unsigned int (None when the image could not be decoded);
    ``width``/``height`` are 0 when unknown; ``detail`` explains a non-ok status.
    """

    path: str
    size: int
    mtime_ns: int
    status: str
    sha256: str | None = None
    phash: int | None = None
    width: int = 0
    height: int = 0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def min_side(self) -> int:
        return min(self.width, self.height)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def phash(gray: np.ndarray) -> int:
    """64-bit DCT perceptual hash of a 2-D grayscale image (any size, any dtype)."""
    import cv2

    if gray.ndim != 2:
        raise ValueError(f"phash needs a 2-D grayscale image, got shape {gray.shape}")
    small = cv2.resize(gray.astype(np.float32), (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:8, :8].flatten()
    low[0] = 0.0
    median = np.median(low[1:])
    bits = low > median
    bits[0] = False
    return int(np.packbits(bits).view(">u8")[0])


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit hashes."""
    return (a ^ b).bit_count()


def _truncation(data: bytes) -> str:
    """Why ``data`` looks cut short ('' when its format's end marker is there or the format has none we check)."""
    if data[:2] == b"\xff\xd8":  # JPEG: must end with EOI (FFD9); tolerate a little trailing padding
        tail = data[-64:].rstrip(b"\x00\r\n ")
        if not tail.endswith(b"\xff\xd9"):
            return "JPEG without end-of-image marker (FFD9)"
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-16:]:
            return "PNG without IEND chunk"
    return ""


def inspect_bytes(data: bytes) -> dict:
    """Status, sha256, pHash and size of an encoded image held in memory (see :class:`ImageFacts`), decoded as the
    trainer and the kiosk decode it (:func:`kiosk.bundle_format.preprocess.decode_frame`: the size read from the
    header first, so a decompression bomb is refused before a byte is decoded; libjpeg's warnings refuse it too)."""
    import cv2

    from kiosk.bundle_format.preprocess import decode_frame

    if not data:
        return {"status": EMPTY, "detail": "0 bytes"}
    sha = sha256_bytes(data)
    cut = _truncation(data)
    image, problem = decode_frame(data)
    if image is None:
        return {"status": TRUNCATED if cut else UNDECODABLE, "sha256": sha,
                "detail": f"{cut}: {problem}" if cut else problem}
    height, width = image.shape[:2]
    facts = {"sha256": sha, "width": int(width), "height": int(height)}
    if cut:
        return {**facts, "status": TRUNCATED, "detail": cut}
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return {**facts, "status": OK, "phash": phash(gray)}


def inspect_image(path: str | os.PathLike) -> ImageFacts:
    """Read ``path`` once and return its :class:`ImageFacts` (never raises for a bad or missing file)."""
    from kiosk.bundle_format.preprocess import read_photo

    path = os.fspath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ImageFacts(path, 0, 0, MISSING, detail="file not found")
    except OSError as exc:
        return ImageFacts(path, 0, 0, MISSING, detail=f"cannot read: {exc.strerror or exc}")
    data, why = read_photo(path)
    if data is None:  # a folder, a device, a pipe, a file too large to be a photo
        return ImageFacts(path, st.st_size, st.st_mtime_ns, UNDECODABLE, detail=why)
    return ImageFacts(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, **inspect_bytes(data))


class HashCache:
    """SQLite cache of :class:`ImageFacts` keyed by (absolute path, size, mtime_ns, :data:`HASH_VERSION`).

    A changed file has a new size or mtime and is simply looked up under a new key; stale rows for the
    same path are replaced on :meth:`put`. Not shared between processes: only the parent reads/writes it.

    It is only a cache: one that cannot be used (not SQLite, a folder, corrupt, unwritable, or an SQLite file with
    other tables -- someone else's database) is said in one warning and then not used, so every photo is hashed;
    the default cache (:func:`default_cache_path`), which is ours, is moved aside to ``….broken`` and rebuilt.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        try:
            self._db = self._open()
        except (sqlite3.Error, OSError) as exc:
            if not (self.path == default_cache_path() and self.path.is_file()):
                self._give_up(exc)
                return
            aside = self.path.with_name(self.path.name + ".broken")
            log.warning("hash cache %s cannot be used (%s): moved to %s, starting a new one", self.path, exc, aside)
            try:
                self.path.rename(aside)
                self._db = self._open()
            except (sqlite3.Error, OSError) as again:
                self._give_up(again)

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path)
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables - {"facts"}:
                raise sqlite3.DatabaseError(f"an SQLite file with other tables ({', '.join(sorted(tables)[:3])}), "
                                            "not a hash cache")
            db.execute(
                "CREATE TABLE IF NOT EXISTS facts (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
                " version TEXT, status TEXT, sha256 TEXT, phash TEXT, width INTEGER, height INTEGER, detail TEXT)"
            )
            db.execute("SELECT path FROM facts LIMIT 1").fetchall()
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _give_up(self, exc: Exception) -> None:
        """Say once that the cache is not used, and do without it."""
        log.warning("hash cache %s cannot be used (%s): hashing without it", self.path, exc)
        if self._db is not None:
            self._db.close()
        self._db = None

    def get(self, path: str) -> ImageFacts | None:
        if self._db is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        try:
            row = self._db.execute(
                "SELECT status, sha256, phash, width, height, detail FROM facts"
                " WHERE path = ? AND size = ? AND mtime_ns = ? AND version = ?",
                (path, st.st_size, st.st_mtime_ns, HASH_VERSION),
            ).fetchone()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return None
        if row is None:
            return None
        status, sha, ph, width, height, detail = row
        return ImageFacts(path, st.st_size, st.st_mtime_ns, status, sha, None if ph is None else int(ph, 16),
                          width, height, detail)

    def put_many(self, facts: Iterable[ImageFacts]) -> None:
        if self._db is None:
            return
        rows = [
            (f.path, f.size, f.mtime_ns, HASH_VERSION, f.status, f.sha256,
             None if f.phash is None else f"{f.phash:016x}", f.width, f.height, f.detail)
            for f in facts if f.status != MISSING
        ]
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO facts VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        except sqlite3.Error as exc:
            self._give_up(exc)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


def default_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "checkout" / "image-facts.sqlite"


def _worker_init() -> None:
    import cv2

    cv2.setNumThreads(1)  # one process per core; OpenCV's own threads would oversubscribe


def inspect_images(
    paths: Sequence[str | os.PathLike],
    *,
    workers: int | None = None,
    cache: HashCache | None = None,
    progress: bool = True,
    desc: str = "hashing images",
) -> dict[str, ImageFacts]:
    """:class:`ImageFacts` for every path (keys: ``os.fspath`` of each given path, duplicates hashed once).

    ``workers``: processes to use (default: CPU count, at most 8; 0 or 1 = in this process).
    ``cache``: facts of files whose (path, size, mtime) is unchanged are taken from it, new ones stored in it.
    """
    from tqdm import tqdm

    unique = list(dict.fromkeys(os.fspath(p) for p in paths))
    found: dict[str, ImageFacts] = {}
    todo: list[str] = []
    for p in unique:
        hit = cache.get(p) if cache is not None else None
        if hit is not None:
            found[p] = hit
        else:
            todo.append(p)
    if workers is None:
        workers = min(os.cpu_count() or 1, 8)
    workers = max(1, min(workers, len(todo)))
    bar = tqdm(total=len(todo), desc=desc, unit="img", disable=None if progress and todo else True, leave=False)
    fresh: list[ImageFacts] = []
    try:
        if workers == 1:
            for p in todo:
                fresh.append(inspect_image(p))
                bar.update()
        else:
            chunk = max(1, min(64, len(todo) // (workers * 8)))
            # never fork: a parent that already ran OpenCV/BLAS threads can hand a locked mutex to the child
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            context = multiprocessing.get_context(method)
            with ProcessPoolExecutor(max_workers=workers, initializer=_worker_init, mp_context=context) as pool:
                for facts in pool.map(inspect_image, todo, chunksize=chunk):
                    fresh.append(facts)
                    bar.update()
    finally:
        bar.close()
    if cache is not None:
        cache.put_many(fresh)
    found.update((f.path, f) for f in fresh)
    return {p: found[p] for p in unique}


def distance_matrix(hashes: Sequence[int]) -> np.ndarray:
    """All pairwise Hamming distances (uint8, N x N). Fine to a few thousand images; use :func:`near_pairs` beyond."""
    h = np.asarray(list(hashes), dtype=np.uint64)
    return np.bitwise_count(h[:, None] ^ h[None, :]).astype(np.uint8)


#: A pHash with fewer bits set is *degenerate*: most of its 63 AC coefficients tie at the median (a flat or nearly
#: flat image: every flat image hashes to 0 whatever its colour), so it says nothing about what the image shows and
#: is not compared (:func:`trainer.data.duplicates.duplicate_pairs`). A photo's pHash has 31 bits set (no ties).
MIN_PHASH_BITS = 16


def degenerate(h: int) -> bool:
    """Whether pHash ``h`` is too featureless to compare (see :data:`MIN_PHASH_BITS`)."""
    return h.bit_count() < MIN_PHASH_BITS


def near_pairs(hashes: Sequence[int], threshold: int, *, block: int = 2048) -> list[tuple[int, int, int]]:
    """Index pairs ``(i, j, distance)`` with ``i < j`` and Hamming distance <= ``threshold`` (a list of
    :func:`iter_near_pairs`: as many as there are pairs; use that to keep memory bounded)."""
    return list(iter_near_pairs(hashes, threshold, block=block))


def iter_near_pairs(hashes: Sequence[int], threshold: int, *, block: int = 2048) -> Iterator[tuple[int, int, int]]:
    """Yield ``(i, j, distance)`` with ``i < j`` and Hamming distance <= ``threshold``, ordered by ``i``, then ``j``.

    Exhaustive comparison in blocks of ``block`` rows (numpy popcount): ~N²/2 XORs, about a second for 10k
    hashes; memory stays at ``block`` x N bytes however many pairs match.
    """
    h = np.asarray(list(hashes), dtype=np.uint64)
    for start in range(0, len(h), block):
        rows = h[start:start + block]
        near = np.bitwise_count(rows[:, None] ^ h[None, start:]) <= threshold  # j >= start only
        for r in np.flatnonzero(near.any(axis=1)).tolist():
            js = np.flatnonzero(near[r, r + 1:]) + r + 1
            for j in js.tolist():
                yield start + r, start + j, hamming(int(h[start + r]), int(h[start + j]))


#: :func:`same_photo`: the side of the colour thumbnails compared, and the most a thumbnail pixel may differ (of 255,
#: in any channel, once each thumbnail's mean colour is taken off) for two images to be one photo. Measured
#: (``trainer/data/README.md``): copies of grocery photos (JPEG q50, resized to 300/174 px, 2x, PNG, brightness
#: +-20) differ by at most 19.6; the reviewed consecutive frames of one product (pHash 0-4) by at least 39.9; two
#: products of one shape and brightness on one tray (pHash 2) by 31.
SAME_PHOTO_SIDE = 24
SAME_PHOTO_TOLERANCE = 25.0


def decoded(path: str | os.PathLike) -> np.ndarray | None:
    """The photo at ``path`` decoded (BGR uint8, the kiosk's strict reader and decoder); None when it cannot be read
    or decoded."""
    from kiosk.bundle_format.preprocess import decode_frame, read_photo

    data, _ = read_photo(path)
    return decode_frame(data)[0] if data else None


def thumbnail(path: str | os.PathLike) -> np.ndarray | None:
    """The image at ``path`` as a :data:`SAME_PHOTO_SIDE` square colour thumbnail less its mean colour (float32, area
    resampling); None when it cannot be read or decoded."""
    image = decoded(path)
    return None if image is None else thumbnail_of(image)


def thumbnail_of(image: np.ndarray) -> np.ndarray:
    """:func:`thumbnail` of a decoded BGR image."""
    import cv2

    small = cv2.resize(image.astype(np.float32), (SAME_PHOTO_SIDE, SAME_PHOTO_SIDE), interpolation=cv2.INTER_AREA)
    return small - small.reshape(-1, 3).mean(axis=0)


def pixel_difference(a: np.ndarray, b: np.ndarray) -> float:
    """The largest difference between two :func:`thumbnail` s at any pixel, in any channel (0-255)."""
    return float(np.abs(a - b).max())


def same_photo(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    """Whether two :func:`thumbnail` s are of one photo (within :data:`SAME_PHOTO_TOLERANCE`); never when either
    could not be made."""
    return a is not None and b is not None and pixel_difference(a, b) <= SAME_PHOTO_TOLERANCE


def facts_to_json(f: ImageFacts) -> dict:
    d = asdict(f)
    d["phash"] = None if f.phash is None else f"{f.phash:016x}"
    return d
