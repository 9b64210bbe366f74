"""Whether held-out photos are training photos: the one check behind ``train --val``, ``bundle export
--calibration``, ``bundle quantize --val`` and ``evaluate``'s warning.

Photos are compared, not manifest file names: a copy of ``train.csv``, a superset of it, or a manifest in another
folder reaching the same files all overlap. A photo is the same when its real path (links resolved; each manifest's
paths are relative to its own folder, :func:`~trainer.data.manifest.read_manifest`) or its file (device and inode: a
hard link) is, or when its content hash is — taken from a manifest's ``sha256`` column or from the ``data check``
hash cache where that already holds the file (nothing is hashed here, so a large catalog is read once, by
``data check``, not again by every command). Only the standard library and the manifest reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kiosk.bundle_format.atomic import shown
from trainer.data.manifest import ManifestRow, read_manifest, relative_path


@dataclass(frozen=True)
class Overlap:
    """The first held-out photo that is a training photo, and how many are."""

    held: Path
    train: Path
    held_line: int | None = None  # None: the held-out manifest is the training manifest itself
    train_line: int = 0
    photo: Path | None = None
    count: int = 0
    total: int = 0

    def text(self, option: str, what: str) -> str:
        """``--val V line 3: img/a.jpg is the same photo as --train T line 7 (24 of its 24 photos
        overlap)`` — ``what`` names the other manifest's role (``--train``, ``this run's training manifest``)."""
        if self.held_line is None:
            return f"{option} {shown(self.held)}: is {what} {shown(self.train)} itself"
        many = f" ({self.count} of its {self.total} photos overlap)" if self.count > 1 else ""
        photo = relative_path(self.photo, self.held.parent) if self.photo is not None else "?"
        return (f"{option} {shown(self.held)} line {self.held_line}: {shown(photo)} is the same photo as {what} "
                f"{shown(self.train)} line {self.train_line}{many}")


def _hash_cache():
    """The ``data check`` hash cache when there is one (never created here), else None."""
    from trainer.data import hashing

    path = hashing.default_cache_path()
    return hashing.HashCache(path) if path.is_file() else None


def _keys(row: ManifestRow, cache) -> Iterator[tuple]:
    yield "path", os.path.realpath(row.path)
    try:
        st = os.stat(row.path)
    except OSError:
        st = None
    if st is not None:
        yield "file", st.st_dev, st.st_ino
    sha = row.sha256
    if not sha and st is not None and cache is not None:
        facts = cache.get(os.fspath(row.path))
        sha = facts.sha256 if facts is not None and facts.ok else ""
    if sha:
        yield "sha256", sha


def _same_file(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def find_overlap(held: str | os.PathLike, training: Sequence[str | os.PathLike]) -> Overlap | None:
    """The first photo of manifest ``held`` that is also a photo of one of the ``training`` manifests, or None.

    ``held`` naming one of ``training`` itself is said without reading it. A manifest that cannot be read raises
    :class:`~kiosk.errors.DataError` (the command would fail on it anyway)."""
    held, training = Path(held), [Path(t) for t in training]
    for t in training:
        if _same_file(held, t):
            return Overlap(held, t)
    if not training:
        return None
    cache = _hash_cache()
    try:
        seen: dict[tuple, tuple[Path, int]] = {}
        for t in training:
            for row in read_manifest(t):
                for key in _keys(row, cache):
                    seen.setdefault(key, (t, row.line))
        rows = read_manifest(held)
        hits = [(row, hit) for row in rows
                if (hit := next((seen[k] for k in _keys(row, cache) if k in seen), None)) is not None]
    finally:
        if cache is not None:
            cache.close()
    if not hits:
        return None
    row, (t, line) = hits[0]
    return Overlap(held, t, row.line, line, row.path, len(hits), len(rows))


def training_manifests(args: dict) -> list[Path]:
    """The training manifests a run's saved options (``args.json``, a bundle's ``trainer.args``) name, those that
    are still there (paths as given when it trained)."""
    sources = args.get("train_sources") or ([[args.get("train"), 1.0]] if args.get("train") else [])
    paths = [s[0] for s in sources if isinstance(s, list) and s] if isinstance(sources, list) else []
    return [Path(p) for p in paths if isinstance(p, str) and p and Path(p).is_file()]
