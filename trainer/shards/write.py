"""Packing a manifest's photos into tar shards plus ``index.json`` (``checkout data shard``), and ``--shard-size``."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import random
import re
import tarfile
from pathlib import Path

from kiosk.bundle_format.atomic import AtomicFile, atomic_write
from kiosk.errors import DataError, UserError
from trainer.shards.layout import FORMAT, IMAGE_EXTS, INDEX, VERSION

log = logging.getLogger(__name__)

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*\Z", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
          "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}


def parse_size(text: str) -> int:
    """``"1GB"`` → 10**9, ``"512MiB"`` → 512·2**20, ``"4096"`` → 4096 (bytes)."""
    m = _SIZE_RE.match(str(text))
    if not m:
        raise UserError(f"--shard-size {text!r}: expected a size such as 1GB, 500MB, 64MiB or a number of bytes")
    unit = (m.group(2) or "").lower().rstrip("b")
    size = int(float(m.group(1)) * _UNITS[unit])
    if size < 1024:
        raise UserError(f"--shard-size {text!r}: at least 1KB")
    return size


# ----------------------------------------------------------------------------- writing

class _HashingWriter(io.RawIOBase):
    """A write-only file that hashes and counts what goes through it (for tarfile's stream mode)."""

    def __init__(self, fh):
        self.fh, self.sha, self.n = fh, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.fh.write(data)
        self.sha.update(data)
        self.n += len(data)
        return len(data)


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = size, 0o644, 0, 0, 0, "", ""
    return ti


def _member_bytes(size: int) -> int:
    return 512 + (size + 511) // 512 * 512


class _ShardWriter:
    def __init__(self, out: Path, number: int):
        self.name = f"shard-{number:06d}.tar"
        self.path = out / self.name
        self.target = AtomicFile(self.path)
        self.fh = open(self.target.tmp, "wb")
        self.hw = _HashingWriter(self.fh)
        self.tar = tarfile.open(fileobj=self.hw, mode="w|", format=tarfile.USTAR_FORMAT)
        self.count, self.bytes, self.per_sku = 0, 0, {}

    def file_size_with(self, extra: int) -> int:
        """The shard's file size if ``extra`` more member bytes go in (end-of-archive blocks, record padding)."""
        return -(-(self.bytes + extra + 1024) // tarfile.RECORDSIZE) * tarfile.RECORDSIZE

    def add(self, key: str, ext: str, image: bytes, meta_bytes: bytes, sku: str) -> None:
        for name, data in ((f"{key}.{ext}", image), (f"{key}.json", meta_bytes)):
            self.tar.addfile(_tarinfo(name, len(data)), io.BytesIO(data))
            self.bytes += _member_bytes(len(data))
        self.count += 1
        self.per_sku[sku] = self.per_sku.get(sku, 0) + 1

    def close(self) -> dict:
        self.tar.close()
        self.fh.close()
        self.target.commit()
        return {"name": self.name, "count": self.count, "bytes": self.hw.n, "sha256": self.hw.sha.hexdigest(),
                "per_sku": dict(sorted(self.per_sku.items()))}


def shrink_jpeg(data: bytes, max_side: int, quality: int = 90) -> bytes | None:
    """The photo re-encoded as JPEG with its *shorter* side at most ``max_side`` (None if it does not decode).

    Training crops come from a square of the shorter side resized to ``--train-resize`` (default 256), so
    storing more pixels than that only costs I/O and decode time: a 1.5 MP, 375 KB catalogue photo becomes
    ~30 KB at 288 px, a 10× smaller epoch to read and decode.
    """
    import cv2

    from kiosk.bundle_format.preprocess import decode_image, resize_shorter

    image = decode_image(data)
    if image is None:
        return None
    if min(image.shape[:2]) > max_side:
        image = resize_shorter(image, max_side, "area")
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else None



def _photo_bytes(path: Path, max_side: int | None) -> tuple[bytes | None, str]:
    """(what to store, its extension), or (None, why the photo is left out)."""
    from kiosk.bundle_format.preprocess import read_photo

    data, why = read_photo(path)
    if data is None:
        return None, why
    if not data:
        return None, "empty file"
    if max_side:
        data = shrink_jpeg(data, max_side)
        return (data, "jpg") if data is not None else (None, "undecodable")
    ext = path.suffix.lower().lstrip(".") or "jpg"
    ext = "jpg" if ext in ("jpeg", "jpe") else ext
    return data, ext if ext in IMAGE_EXTS else "jpg"  # the decoder sniffs the content; the name marks the member


def _clear(out: Path, force: bool) -> None:
    old = sorted(out.glob("shard-*.tar")) + ([out / INDEX] if (out / INDEX).exists() else [])
    if old and not force:
        raise UserError(f"{out}: already holds shards ({old[0].name} …); pass --force to replace them")
    for p in old:
        p.unlink()


def _pack(manifest: Path, rows: list, order: list[int], out: Path, shard_size: int, max_side: int | None,
          progress: bool) -> tuple[list[dict], list[dict], dict[str, int]]:
    """Write the rows in ``order`` into shards: (the shards' index entries, rows left out, samples per SKU)."""
    from tqdm import tqdm

    shards, skipped, per_sku = [], [], {}
    writer: _ShardWriter | None = None
    for i in tqdm(order, desc="shard", unit="img", disable=None if progress else True, dynamic_ncols=True):
        row = rows[i]
        data, ext = _photo_bytes(row.path, max_side)
        if data is None:
            skipped.append({"line": i + 2, "path": str(row.path), "reason": ext})
            log.warning("%s line %d: %s: %s, left out", manifest, i + 2, row.path, ext)
            continue
        meta = json.dumps({"sku": row.sku, "group": row.group, "line": i + 2, "path": str(row.path)},
                          sort_keys=True).encode()
        need = _member_bytes(len(data)) + _member_bytes(len(meta))
        if writer is not None and writer.count and writer.file_size_with(need) > shard_size:
            shards.append(writer.close())
            writer = None
        if writer is None:
            writer = _ShardWriter(out, len(shards))
        writer.add(f"{i:09d}", ext, data, meta, row.sku)
        per_sku[row.sku] = per_sku.get(row.sku, 0) + 1
    if writer is not None:
        shards.append(writer.close())
    return shards, skipped, per_sku


def write_shards(manifest: Path, out: Path, shard_size: int, seed: int = 0, shuffle: bool = True,
                 force: bool = False, progress: bool = True, max_side: int | None = None) -> dict:
    """Pack the photos of ``manifest`` into tar shards of at most ``shard_size`` bytes (one sample can exceed it).

    ``max_side``: re-encode each photo as JPEG with its shorter side at most this many pixels (see
    :func:`shrink_jpeg`); photos that do not decode are then left out here rather than at training time.
    """
    from trainer.data.manifest import read_manifest

    manifest, out = Path(manifest), Path(out)
    rows = read_manifest(manifest)
    if not rows:
        raise DataError(f"{manifest}: no rows to shard")
    out.mkdir(parents=True, exist_ok=True)
    _clear(out, force)
    order = list(range(len(rows)))
    if shuffle:
        random.Random(seed).shuffle(order)
    shards, skipped, per_sku = _pack(manifest, rows, order, out, shard_size, max_side, progress)
    if not shards:
        raise DataError(f"{manifest}: none of the {len(rows)} photos could be read")
    index = {"format": FORMAT, "version": VERSION, "manifest": str(manifest), "seed": seed, "shuffled": shuffle,
             "shard_size": shard_size, "max_side": max_side, "labels": sorted({r.sku for r in rows}),
             "groups": {r.sku: r.group for r in rows if r.group}, "total": sum(s["count"] for s in shards),
             "per_sku": dict(sorted(per_sku.items())), "shards": shards, "skipped": skipped}
    atomic_write(out / INDEX, json.dumps(index, indent=1))
    return index
