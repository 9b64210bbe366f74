"""Sharded streaming training data: tar shards in the WebDataset layout, an index, and the loader that streams them.

Writing (``checkout data shard MANIFEST --out DIR --shard-size 1GB``)
    The manifest's rows are shuffled once (seeded, so shards mix SKUs) and packed into ``shard-000000.tar`` …
    Each sample is two consecutive members sharing a key, as WebDataset expects: ``<key>.jpg`` (the photo's
    bytes, unchanged; ``.png`` etc. keep their extension) and ``<key>.json`` (``sku``, ``group``, manifest
    ``line`` and ``path``). The key is the manifest row number (0-based, nine digits), which is also the
    sample id used in logs. ``index.json`` (written last, atomically) lists every shard with its sample count,
    bytes, sha256 and per-SKU counts, plus the labels and rows that could not be read.

Reading (``checkout train --shards DIR_OR_URL``)
    Every process computes the same *epoch plan* from the index alone (never from reading data): the shards are
    put in a seeded per-epoch order, their samples form one sequence, and that sequence is cut into contiguous
    spans, one per (rank, DataLoader worker). Every rank gets ``ceil(N / (world × batch))`` batches whose sizes
    differ by at most one, so no sample is repeated or dropped and DDP never waits for a rank that ran dry.
    A span covers whole shards except at most one at each end. Each worker shuffles its span through a buffer
    (``--shuffle-buffer``) and emits its batches; batch ``j`` of a rank comes from worker ``j mod workers``, which
    is the order ``torch.utils.data.DataLoader`` returns them in.

    The position in the data is one number, the batch index within the epoch. Resuming at batch ``p`` replays
    the plan without decoding anything that was already consumed, so an interrupted epoch continues exactly
    where it stopped (the checkpoint stores ``p`` with the world size, workers and batch size it refers to).

    A member that cannot be decoded, a sample whose metadata is broken, or a truncated shard is reported with the
    shard and member names and skipped; the batch is one smaller, and every rank still runs the same number of
    steps because the plan does not depend on what the data turns out to contain.

Local paths are read with :func:`open`; any other URL (``s3://…``, ``gs://…``, ``https://…``) through
``fsspec`` (imported only then; ``s3://`` needs ``s3fs``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import random
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch

from kiosk.errors import DataError, UserError

log = logging.getLogger(__name__)

INDEX = "index.json"
FORMAT = "checkout-shards"
VERSION = 1
IMAGE_EXTS = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff")
IGNORE = -100  # target of a placeholder sample (nn.CrossEntropyLoss's default ignore_index)

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
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
        self.path, self.tmp = out / self.name, out / (self.name + ".tmp")
        self.fh = open(self.tmp, "wb")
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
        self.fh.flush()
        os.fsync(self.fh.fileno())
        self.fh.close()
        os.replace(self.tmp, self.path)
        return {"name": self.name, "count": self.count, "bytes": self.hw.n, "sha256": self.hw.sha.hexdigest(),
                "per_sku": dict(sorted(self.per_sku.items()))}


def shrink_jpeg(data: bytes, max_side: int, quality: int = 90) -> bytes | None:
    """The photo re-encoded as JPEG with its *shorter* side at most ``max_side`` (None if it does not decode).

    Training crops come from a square of the shorter side resized to ``--train-resize`` (default 256), so
    storing more pixels than that only costs I/O and decode time: a 1.5 MP, 375 KB catalogue photo becomes
    ~30 KB at 288 px, a 10× smaller epoch to read and decode.
    """
    import cv2

    from kiosk.recognition.preprocess import decode_image, resize_shorter

    image = decode_image(data)
    if image is None:
        return None
    if min(image.shape[:2]) > max_side:
        image = resize_shorter(image, max_side, "area")
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return buf.tobytes() if ok else None


def write_shards(manifest: Path, out: Path, shard_size: int, seed: int = 0, shuffle: bool = True,
                 force: bool = False, progress: bool = True, max_side: int | None = None) -> dict:
    """Pack the photos of ``manifest`` into tar shards of at most ``shard_size`` bytes (one sample can exceed it).

    ``max_side``: re-encode each photo as JPEG with its shorter side at most this many pixels (see
    :func:`shrink_jpeg`); photos that do not decode are then left out here rather than at training time.
    """
    from tqdm import tqdm

    from trainer.data.manifest import read_manifest

    manifest, out = Path(manifest), Path(out)
    rows = read_manifest(manifest)
    if not rows:
        raise DataError(f"{manifest}: no rows to shard")
    out.mkdir(parents=True, exist_ok=True)
    old = sorted(out.glob("shard-*.tar")) + ([out / INDEX] if (out / INDEX).exists() else [])
    if old and not force:
        raise UserError(f"{out}: already holds shards ({old[0].name} …); pass --force to replace them")
    for p in old:
        p.unlink()
    order = list(range(len(rows)))
    if shuffle:
        random.Random(seed).shuffle(order)
    labels = sorted({r.sku for r in rows})
    groups = {r.sku: r.group for r in rows if r.group}
    shards, skipped, per_sku = [], [], {}
    writer: _ShardWriter | None = None
    for i in tqdm(order, desc="shard", unit="img", disable=not progress, dynamic_ncols=True):
        row = rows[i]
        try:
            data = row.path.read_bytes()
        except OSError as exc:
            skipped.append({"line": i + 2, "path": str(row.path), "reason": exc.strerror or str(exc)})
            log.warning("%s line %d: %s: %s, left out", manifest, i + 2, row.path, exc.strerror or exc)
            continue
        if not data:
            skipped.append({"line": i + 2, "path": str(row.path), "reason": "empty file"})
            log.warning("%s line %d: %s: empty file, left out", manifest, i + 2, row.path)
            continue
        if max_side:
            data = shrink_jpeg(data, max_side)
            if data is None:
                skipped.append({"line": i + 2, "path": str(row.path), "reason": "undecodable"})
                log.warning("%s line %d: %s: undecodable image, left out", manifest, i + 2, row.path)
                continue
        ext = "jpg" if max_side else (row.path.suffix.lower().lstrip(".") or "jpg")
        ext = "jpg" if ext in ("jpeg", "jpe") else ext
        if ext not in IMAGE_EXTS:
            ext = "jpg"  # the decoder sniffs the content; the name only marks the image member
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
    if not shards:
        raise DataError(f"{manifest}: none of the {len(rows)} photos could be read")
    index = {"format": FORMAT, "version": VERSION, "manifest": str(manifest), "seed": seed, "shuffled": shuffle,
             "shard_size": shard_size, "max_side": max_side, "labels": labels, "groups": groups, "total": sum(s["count"] for s in shards),
             "per_sku": dict(sorted(per_sku.items())), "shards": shards, "skipped": skipped}
    tmp = out / (INDEX + ".tmp")
    tmp.write_text(json.dumps(index, indent=1))
    os.replace(tmp, out / INDEX)
    return index


# ----------------------------------------------------------------------------- opening local files or URLs

def is_url(location: str) -> bool:
    return "://" in str(location) and not str(location).startswith("file://")


def join(root: str, name: str) -> str:
    root = str(root)
    if root.startswith("file://"):
        root = root[len("file://"):]
    return f"{root.rstrip('/')}/{name}" if is_url(root) else os.path.join(root, name)


def open_binary(location: str):
    """A readable binary file for a local path or an fsspec URL (``s3://`` needs ``s3fs``)."""
    if not is_url(location):
        return open(str(location).removeprefix("file://"), "rb")
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec is a dependency of the trainer's extras
        raise UserError(f"{location}: reading URLs needs fsspec (pip install fsspec)") from None
    try:
        return fsspec.open(location, "rb").open()
    except ImportError as exc:
        raise UserError(f"{location}: {exc} (for s3:// install s3fs)") from None


@dataclass(frozen=True)
class ShardIndex:
    root: str
    labels: list[str]
    groups: dict[str, str]
    names: list[str]
    counts: list[int]
    skipped: list[dict] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts)


def load_index(root: str | os.PathLike) -> ShardIndex:
    root = str(root)
    where = join(root, INDEX)
    try:
        with open_binary(where) as fh:
            data = json.loads(fh.read().decode())
    except FileNotFoundError:
        raise DataError(f"{where}: no shard index (make shards with `checkout data shard MANIFEST --out DIR`)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{where}: cannot read the shard index ({exc})") from None
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise DataError(f"{where}: not a version-{VERSION} {FORMAT} index")
    names = [s["name"] for s in data["shards"]]
    counts = [int(s["count"]) for s in data["shards"]]
    return ShardIndex(root, list(data["labels"]), dict(data.get("groups", {})), names, counts,
                      list(data.get("skipped", [])))


# ----------------------------------------------------------------------------- the epoch plan

@dataclass(frozen=True)
class Piece:
    shard: int  # index into ShardIndex.names
    start: int  # first sample position in the shard
    stop: int  # one past the last


def shard_order(n_shards: int, seed: int, epoch: int, shuffle: bool = True) -> list[int]:
    order = list(range(n_shards))
    if shuffle:
        random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return order


def batches_per_rank(total: int, world: int, batch: int) -> int:
    return max(1, math.ceil(total / (world * batch))) if total else 0


def batch_sizes(total: int, world: int, batch: int, rank: int) -> list[int]:
    """Sizes of rank ``rank``'s batches: the same count on every rank, sizes ≤ batch differing by at most one."""
    n_batches = batches_per_rank(total, world, batch)
    n_rank = total // world + (rank < total % world)
    return [n_rank // n_batches + (j < n_rank % n_batches) for j in range(n_batches)]


def _rank_start(total: int, world: int, rank: int) -> int:
    return rank * (total // world) + min(rank, total % world)


def worker_span(counts: list[int], order: list[int], start: int, stop: int) -> list[Piece]:
    """Global positions [start, stop) of the shards taken in ``order`` as pieces of shards."""
    pieces, offset = [], 0
    for s in order:
        lo, hi = max(start, offset), min(stop, offset + counts[s])
        if lo < hi:
            pieces.append(Piece(s, lo - offset, hi - offset))
        offset += counts[s]
        if offset >= stop:
            break
    return pieces


@dataclass(frozen=True)
class WorkerPlan:
    pieces: list[Piece]  # what this worker reads, in order
    batch_ids: list[int]  # the rank's batch indices this worker emits, ascending
    sizes: list[int]  # their sizes

    @property
    def n(self) -> int:
        return sum(self.sizes)


def worker_plan(counts: list[int], world: int, rank: int, workers: int, batch: int, seed: int, epoch: int,
                residue: int, shuffle: bool = True) -> WorkerPlan:
    """What the worker emitting batches ``j ≡ residue (mod workers)`` of rank ``rank`` reads in ``epoch``."""
    total = sum(counts)
    sizes = batch_sizes(total, world, batch, rank)
    before = sum(sz for j, sz in enumerate(sizes) if j % workers < residue)
    mine = [j for j in range(len(sizes)) if j % workers == residue]
    start = _rank_start(total, world, rank) + before
    n = sum(sizes[j] for j in mine)
    order = shard_order(len(counts), seed, epoch, shuffle)
    return WorkerPlan(worker_span(counts, order, start, start + n), mine, [sizes[j] for j in mine])


def buffer_order(n: int, buffer: int, rng: random.Random) -> list[int]:
    """The output order of a shuffle buffer of ``buffer`` items fed positions 0..n-1 (read order)."""
    out, buf = [], []
    for i in range(n):
        buf.append(i)
        if len(buf) >= buffer:
            j = rng.randrange(len(buf))
            buf[j], buf[-1] = buf[-1], buf[j]
            out.append(buf.pop())
    while buf:
        j = rng.randrange(len(buf))
        buf[j], buf[-1] = buf[-1], buf[j]
        out.append(buf.pop())
    return out


# ----------------------------------------------------------------------------- reading shards

@dataclass
class RawSample:
    shard: str
    key: str
    members: dict[str, bytes]  # extension → bytes


def iter_shard(location: str, shard_name: str, start: int, stop: int, want: Callable[[int], bool],
               on_error: Callable[[str, str, str], None]) -> Iterator[tuple[int, RawSample | None]]:
    """Samples at positions [start, stop) of one shard: ``(position, sample)`` (``None`` when not wanted).

    Members of positions < start or not ``want``-ed are stepped over without reading their data (local files
    seek past them). A truncated or corrupt tar is reported through ``on_error(shard, member, reason)`` and the
    rest of the range is given up.
    """
    url = join(location, shard_name)
    mode = "r|" if is_url(location) else "r:"
    pos, key, members = -1, None, {}
    broken = reached = False
    last = "(start of shard)"
    try:
        with open_binary(url) as fh, tarfile.open(fileobj=fh, mode=mode) as tar:
            while True:
                try:
                    ti = tar.next()
                except (tarfile.TarError, EOFError, OSError) as exc:
                    on_error(shard_name, f"after {last}", f"corrupt tar ({exc.__class__.__name__}: {exc})")
                    broken = True
                    break
                if ti is None:
                    break
                last = ti.name
                if not ti.isfile():
                    continue
                k, _, ext = ti.name.rsplit("/", 1)[-1].partition(".")
                if k != key:
                    if key is not None and start <= pos:
                        yield pos, (RawSample(shard_name, key, members) if want(pos) else None)
                    pos, key, members = pos + 1, k, {}
                    if pos >= stop:
                        reached = True
                        break
                if start <= pos and want(pos):
                    try:
                        members[ext.lower()] = tar.extractfile(ti).read()
                    except (tarfile.TarError, EOFError, OSError) as exc:
                        on_error(shard_name, ti.name, f"cannot read member ({exc.__class__.__name__}: {exc})")
                        broken = True
                        break
            if not broken and not reached and key is not None and start <= pos < stop:
                yield pos, (RawSample(shard_name, key, members) if want(pos) else None)
    except FileNotFoundError:
        on_error(shard_name, "-", "shard file missing")
        return
    except (tarfile.TarError, OSError) as exc:
        on_error(shard_name, "-", f"cannot open shard ({exc.__class__.__name__}: {exc})")
        return
    complete = stop if reached else (pos if broken else pos + 1)
    if not broken and complete < stop:
        on_error(shard_name, f"after {last}", f"shard ends after {complete} samples; the index promised {stop}")


def decode_sample(sample: RawSample, label_index: dict[str, int]):
    """(BGR image, label, id) or raise ValueError naming what is wrong with the sample."""
    from kiosk.recognition.preprocess import decode_image

    meta_bytes = sample.members.get("json")
    if meta_bytes is None:
        raise ValueError("no .json member")
    meta = json.loads(meta_bytes.decode())
    sku = meta.get("sku")
    if sku not in label_index:
        raise ValueError(f"SKU {sku!r} not in the index labels")
    ext = next((e for e in sample.members if e in IMAGE_EXTS), None)
    if ext is None:
        raise ValueError("no image member")
    image = decode_image(sample.members[ext])
    if image is None:
        raise ValueError(f"{sample.key}.{ext}: undecodable image")
    return image, label_index[sku], int(sample.key)


# ----------------------------------------------------------------------------- the dataset

class ShardStream(torch.utils.data.IterableDataset):
    """An IterableDataset yielding whole batches ``(uint8 NCHW, targets, meta)`` of one rank, per the epoch plan.

    ``meta`` holds ``ids`` (sample ids, int64), ``batch`` (index in the epoch) and ``errors`` (reports of
    skipped members as ``{"shard", "member", "reason"}``).
    """

    def __init__(self, index: ShardIndex, rank: int, world: int, batch: int, workers: int, seed: int,
                 resize: int, transform=None, crop_size: int | None = None, shuffle_buffer: int = 1000,
                 interpolation: str = "area", shuffle: bool = True):
        self.index, self.rank, self.world, self.batch = index, rank, world, batch
        self.workers, self.seed, self.resize, self.transform = max(1, workers), seed, resize, transform
        self.shuffle_buffer, self.interpolation, self.shuffle = max(1, shuffle_buffer), interpolation, shuffle
        self.crop_size = crop_size or resize  # size of what the transform returns (for a placeholder sample)
        self.label_index = {s: i for i, s in enumerate(index.labels)}
        self.epoch, self.start_batch = 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def __len__(self) -> int:
        return max(0, batches_per_rank(self.index.total, self.world, self.batch) - self.start_batch)

    def plan(self, residue: int) -> WorkerPlan:
        return worker_plan(self.index.counts, self.world, self.rank, self.workers, self.batch, self.seed,
                           self.epoch, residue, self.shuffle)

    def _prepare(self, image, sample_id: int):
        import cv2
        import numpy as np

        from kiosk.recognition.preprocess import center_crop, resize_shorter

        square = center_crop(resize_shorter(image, self.resize, self.interpolation), self.resize)
        x = torch.from_numpy(np.ascontiguousarray(cv2.cvtColor(square, cv2.COLOR_BGR2RGB))).permute(2, 0, 1)
        if self.transform is not None:  # seeded by (seed, epoch, id), as CachedDataset: resume-exact
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed((self.seed * 1_000_003 + self.epoch * 10_007 + sample_id) % (2**63))
                x = self.transform(x)
        return x

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is None:  # no DataLoader workers: run the planned workers here, taking batches in their order
            gens = [self._worker_batches(r) for r in range(self.workers)]
            for j in range(self.start_batch, self.start_batch + len(self)):
                yield next(gens[j % self.workers])
            return
        if info.num_workers != self.workers:
            raise RuntimeError(f"ShardStream planned for {self.workers} workers, the DataLoader has {info.num_workers}")
        # the loader asks worker 0 first, and wants batch start_batch first
        yield from self._worker_batches((info.id + self.start_batch) % self.workers)

    def _worker_batches(self, residue: int):
        plan = self.plan(residue)
        rng = random.Random(f"{self.seed}/{self.epoch}/{self.rank}/{residue}")
        out = buffer_order(plan.n, self.shuffle_buffer, rng)
        skip = sum(sz for j, sz in zip(plan.batch_ids, plan.sizes) if j < self.start_batch)
        outpos = [0] * plan.n
        for k, p in enumerate(out):
            outpos[p] = k
        errors: list[dict] = []

        def on_error(shard, member, reason):
            errors.append({"shard": shard, "member": member, "reason": reason})
            log.warning("shard %s member %s: %s; skipped", shard, member, reason)

        reader = self._read(plan, outpos, skip, on_error)
        pending: dict[int, RawSample] = {}
        exhausted = False
        cursor = skip
        for j, size in zip(plan.batch_ids, plan.sizes):
            if j < self.start_batch:
                continue
            xs, ys, ids = [], [], []
            for p in out[cursor : cursor + size]:
                while p not in pending and not exhausted:
                    try:
                        rp, raw = next(reader)
                        pending[rp] = raw
                    except StopIteration:
                        exhausted = True
                raw = pending.pop(p, None)
                if raw is None:
                    continue  # never arrived: its shard is truncated or missing (already reported)
                try:
                    image, label, sid = decode_sample(raw, self.label_index)
                except (ValueError, UnicodeDecodeError) as exc:
                    member = next((f"{raw.key}.{e}" for e in raw.members if e in IMAGE_EXTS), f"{raw.key}.json")
                    on_error(raw.shard, member, str(exc))
                    continue
                xs.append(self._prepare(image, sid))
                ys.append(label)
                ids.append(sid)
            cursor += size
            if not xs:  # every sample of the batch was unreadable: one ignored placeholder keeps DDP in step
                xs = [torch.zeros(3, self.crop_size, self.crop_size, dtype=torch.uint8)]
                ys, ids = [IGNORE], [-1]
            meta = {"ids": torch.tensor(ids, dtype=torch.int64), "batch": j, "errors": list(errors)}
            errors.clear()
            yield torch.stack(xs), torch.tensor(ys, dtype=torch.int64), meta

    def _read(self, plan: WorkerPlan, outpos: list[int], skip: int, on_error):
        """(worker position, raw sample) in read order for the samples still to be emitted."""
        base = 0
        for piece in plan.pieces:
            offset = base - piece.start

            def want(pos, offset=offset):
                return outpos[pos + offset] >= skip

            name = self.index.names[piece.shard]
            if all(outpos[p] < skip for p in range(base, base + piece.stop - piece.start)):
                base += piece.stop - piece.start
                continue  # nothing of this piece is left to emit: do not even open it
            for pos, raw in iter_shard(self.index.root, name, piece.start, piece.stop, want, on_error):
                if raw is not None:
                    yield pos + offset, raw
            base += piece.stop - piece.start


class ShardLoader:
    """The main-process side: a DataLoader over :class:`ShardStream`, yielding ``(images, targets)``.

    Remembers the ids of the batch last handed out (``last_ids``) for the sample log, and writes skipped-member
    reports to ``errors_path`` (one JSON line each) besides logging them.
    """

    def __init__(self, dataset: ShardStream, workers: int, pin_memory: bool = False, errors_path: Path | None = None):
        self.dataset, self.workers, self.pin_memory, self.errors_path = dataset, workers, pin_memory, errors_path
        self.last_ids: list[int] = []
        self.errors: list[dict] = []

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.dataset.set_epoch(epoch, start_batch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self):
        # a generator of its own: the loader's seed draw must not move the global RNG (dropout) mid-epoch
        seed = torch.Generator().manual_seed(self.dataset.seed * 1_000_003 + self.dataset.epoch)
        loader = torch.utils.data.DataLoader(self.dataset, batch_size=None, num_workers=self.workers,
                                             pin_memory=self.pin_memory, persistent_workers=False, generator=seed)
        for images, targets, meta in loader:
            self.last_ids = [int(i) for i in meta["ids"].tolist() if i >= 0]
            for e in meta["errors"]:
                e = {**e, "epoch": self.dataset.epoch, "batch": int(meta["batch"]), "rank": self.dataset.rank}
                self.errors.append(e)
                if self.errors_path is not None:
                    with open(self.errors_path, "a") as fh:
                        fh.write(json.dumps(e) + "\n")
            yield images, targets


class IgnoreEmptyLoss:
    """Wrap a criterion so a batch whose targets are all ``IGNORE`` gives a zero loss (and zero gradients)."""

    def __init__(self, criterion):
        self.criterion = criterion

    def __call__(self, logits, targets):
        valid = targets != IGNORE
        if bool(valid.all()):
            return self.criterion(logits, targets)
        if not bool(valid.any()):
            return logits.sum() * 0.0
        return self.criterion(logits[valid], targets[valid])


# ----------------------------------------------------------------------------- the sample log

class SampleLog:
    """``RUN/samples/rank<R>.jsonl``: one line per optimizer step with the ids of the samples it trained on.

    Opening it at resume step ``s`` drops the lines of steps after ``s`` (steps the checkpoint does not
    contain), so the log always describes exactly what the saved model has seen.
    """

    def __init__(self, run: Path, rank: int, keep_until_step: int):
        folder = Path(run) / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"rank{rank}.jsonl"
        kept = []
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill
                if rec.get("step", 1 << 62) <= keep_until_step:
                    kept.append(line)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(x + "\n" for x in kept))
        os.replace(tmp, self.path)
        self.fh = open(self.path, "a")

    def record(self, epoch: int, step: int, batch: int, ids: list[int]) -> None:
        self.fh.write(json.dumps({"epoch": epoch, "step": step, "batch": batch, "ids": ids}) + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


def read_sample_logs(run: Path) -> dict[int, list[int]]:
    """epoch → every sample id trained on in it, over all ranks (duplicates kept, for checking)."""
    seen: dict[int, list[int]] = {}
    for p in sorted((Path(run) / "samples").glob("rank*.jsonl")):
        for line in p.read_text().splitlines():
            rec = json.loads(line)
            seen.setdefault(rec["epoch"], []).extend(rec["ids"])
    return seen
