"""The batch: an immutable, content-addressed tar that a kiosk sends to head office (feedback now, audit later).

Layout (POSIX ustar, no compression: the photos in it are JPEGs already)::

    batch.json      {"format": 1, "kind": "feedback", "meta": {...}, "records": [...],
                     "files": {"images/<placement>.jpg": {"sha256": "...", "size": 12345}, ...}}
    images/...      the files batch.json lists, in name order

It is written deterministically (members sorted, mtime 0, owner 0, mode 0644, JSON with sorted keys), so the same
content always gives the same bytes and the same name: ``<kind>-<sha256 of the bytes>.tar``. That name is what
makes an upload idempotent (sending a batch twice stores one file) and what lets head office refuse a batch that was
cut short or altered on the way: :func:`read_batch` checks the bytes against the name, every member against
``batch.json``, and refuses the whole batch on the first problem (:class:`BatchError`, naming the batch), so
nothing of a broken batch is ever merged.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kiosk.errors import DataError
from kiosk.exchange.document import load_document
from kiosk.exchange.layout import ID_RE, misfiled

__all__ = ["Batch", "BatchError", "BatchTooLarge", "FORMAT", "INDEX", "MAX_BATCH_BYTES", "batch_name", "batch_bytes",
           "parse_batch_name", "read_batch", "read_kiosk_batch", "write_batch"]

FORMAT = 1
INDEX = "batch.json"
KIND_RE = re.compile(r"^[a-z][a-z0-9]{0,31}\Z")
NAME_RE = re.compile(r"^(?P<kind>[a-z][a-z0-9]{0,31})-(?P<sha256>[0-9a-f]{64})\.tar\Z")
#: a member name: path segments of letters, digits, '.', '_' and '-', none starting with '.' (so never '..')
MEMBER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}(/[A-Za-z0-9_][A-Za-z0-9._-]{0,99}){0,3}\Z")
MAX_BATCH_BYTES = 512 << 20
MAX_FILES = 10_000
MAX_INDEX_BYTES = 64 << 20


class BatchError(DataError):
    """A batch that cannot be used whole: cut short, altered, renamed, or not a batch at all (names it)."""


class BatchTooLarge(ValueError):
    """:func:`write_batch` refuses a batch :func:`read_batch` would refuse (too many bytes, files or records): the
    writer must split it."""


@dataclass(frozen=True)
class Batch:
    """A batch's content: its ``kind``, ``meta`` (kiosk, store, times), ``records`` and ``files`` (name → bytes)."""

    kind: str
    meta: dict[str, Any]
    records: list[dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict)
    name: str = ""  # ``<kind>-<sha256>.tar`` once written or read

    @property
    def size(self) -> int:
        return sum(len(b) for b in self.files.values())


def batch_name(kind: str, data: bytes) -> str:
    """The content address of a batch's bytes: ``<kind>-<sha256>.tar``."""
    return f"{kind}-{hashlib.sha256(data).hexdigest()}.tar"


def parse_batch_name(name: str) -> tuple[str, str] | None:
    """``(kind, sha256)`` of a batch file name, or None when it is not one (temporaries, other files)."""
    m = NAME_RE.match(name)
    return (m.group("kind"), m.group("sha256")) if m else None


def _json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = size, 0, 0o644, 0, 0, "", ""
    return info


def _blocks(size: int) -> int:
    return -(-size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE


def batch_bytes(index_size: int, file_sizes: list[int] | tuple[int, ...]) -> int:
    """The exact size of the tar :func:`write_batch` makes from an index of ``index_size`` bytes and files of
    ``file_sizes`` bytes (a header and whole blocks per member, two end blocks, whole records)."""
    body = sum(tarfile.BLOCKSIZE + _blocks(n) for n in (index_size, *file_sizes)) + 2 * tarfile.BLOCKSIZE
    return -(-body // tarfile.RECORDSIZE) * tarfile.RECORDSIZE


def write_batch(kind: str, meta: Mapping[str, Any], records: list[Mapping[str, Any]],
                files: Mapping[str, bytes] | None = None) -> tuple[str, bytes]:
    """``(name, bytes)`` of a new batch; the same arguments always give the same bytes (and name)."""
    files = dict(files or {})
    if not KIND_RE.match(kind):
        raise ValueError(f"batch kind {kind!r}: lower-case letters and digits, starting with a letter")
    bad = sorted(n for n in files if not MEMBER_RE.match(n) or n == INDEX)
    if bad:
        raise ValueError(f"batch file names not allowed: {', '.join(bad)}")
    if len(files) > MAX_FILES:
        raise BatchTooLarge(f"a batch of {len(files)} files: at most {MAX_FILES} (head office refuses more)")
    doc = {"format": FORMAT, "kind": kind, "meta": dict(meta), "records": [dict(r) for r in records],
           "files": {n: {"sha256": hashlib.sha256(b).hexdigest(), "size": len(b)} for n, b in sorted(files.items())}}
    index = _json_bytes(doc)
    if len(index) > MAX_INDEX_BYTES:
        raise BatchTooLarge(f"{INDEX} of {len(index)} bytes: at most {MAX_INDEX_BYTES >> 20} MiB (head office "
                            "refuses more)")
    size = batch_bytes(len(index), [len(b) for b in files.values()])
    if size > MAX_BATCH_BYTES:
        raise BatchTooLarge(f"a batch of {size} bytes: at most {MAX_BATCH_BYTES >> 20} MiB (head office refuses "
                            "more)")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_member(INDEX, len(index)), io.BytesIO(index))
        for n in sorted(files):
            tar.addfile(_member(n, len(files[n])), io.BytesIO(files[n]))
    data = out.getvalue()
    return batch_name(kind, data), data


def _members(tar: tarfile.TarFile, where: str, budget: int) -> dict[str, bytes]:
    """Every member's bytes, in order; refuses links, devices, sparse members, odd names, duplicates, too many files
    and a member larger than the ``budget`` bytes left (checked by its header before it is read: a 3 KB tar whose
    GNU sparse member claimed 8 GiB was read whole, a MemoryError)."""
    found: dict[str, bytes] = {}
    for info in tar:
        if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or info.sparse is not None:
            raise BatchError(f"{where}: member {info.name!r} is not a regular file")
        if info.size > budget:
            raise BatchError(f"{where}: member {info.name!r} claims {info.size} bytes, more than the batch holds")
        if info.name != INDEX and not MEMBER_RE.match(info.name):
            raise BatchError(f"{where}: member name {info.name!r} is not allowed")
        if info.name in found:
            raise BatchError(f"{where}: member {info.name!r} appears twice")
        if len(found) > MAX_FILES:
            raise BatchError(f"{where}: more than {MAX_FILES} files")
        if not found and info.name != INDEX:
            raise BatchError(f"{where}: the first member is {info.name!r}, not {INDEX}")
        fh = tar.extractfile(info)
        data = fh.read(info.size) if fh is not None else b""
        budget -= len(data)
        if len(data) != info.size:
            raise BatchError(f"{where}: member {info.name!r} is cut short ({len(data)} of {info.size} bytes)")
        found[info.name] = data
    if INDEX not in found:
        raise BatchError(f"{where}: no {INDEX} (empty or not a batch)")
    return found


def _index(raw: bytes, where: str) -> dict[str, Any]:
    if len(raw) > MAX_INDEX_BYTES:
        raise BatchError(f"{where}: {INDEX} is larger than {MAX_INDEX_BYTES >> 20} MiB")
    doc = load_document(raw, where, INDEX, BatchError)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise BatchError(f"{where}: {INDEX} is not format {FORMAT} (got {str(got)[:40]!r})")
    shapes = {"kind": str, "meta": dict, "records": list, "files": dict}
    wrong = [k for k, t in shapes.items() if not isinstance(doc.get(k), t)]
    if wrong or not KIND_RE.match(doc["kind"]) or not all(isinstance(r, dict) for r in doc["records"]):
        raise BatchError(f"{where}: {INDEX} has a wrong {', '.join(wrong) or 'kind or record'}")
    return doc


def read_batch(data: bytes, name: str | None = None, *, where: str | None = None) -> Batch:
    """The batch in ``data``, checked whole: against ``name`` (its content address) when given, every member
    against ``batch.json``. Raises :class:`BatchError` naming ``where`` (default: the name) on any problem."""
    where = where or name or "batch"
    expected_kind = None
    if name is not None:
        parsed = parse_batch_name(name)
        if parsed is None:
            raise BatchError(f"{where}: not a batch name (<kind>-<sha256>.tar)")
        expected_kind, sha = parsed
        if hashlib.sha256(data).hexdigest() != sha:
            raise BatchError(f"{where}: content does not match its name ({len(data)} bytes: cut short or altered)")
    if len(data) > MAX_BATCH_BYTES:
        raise BatchError(f"{where}: larger than {MAX_BATCH_BYTES >> 20} MiB")
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            members = _members(tar, where, len(data))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BatchError(f"{where}: not a readable tar ({exc})") from None
    doc = _index(members.pop(INDEX), where)
    if expected_kind is not None and doc["kind"] != expected_kind:
        raise BatchError(f"{where}: batch.json says kind {doc['kind']!r}, the name says {expected_kind!r}")
    listed = doc["files"]
    if set(listed) != set(members):
        extra, missing = sorted(set(members) - set(listed)), sorted(set(listed) - set(members))
        raise BatchError(f"{where}: files and {INDEX} differ (missing {missing[:5]}, not listed {extra[:5]})")
    for n, data_n in members.items():
        want = listed[n]
        if not isinstance(want, dict) or want.get("size") != len(data_n) \
                or want.get("sha256") != hashlib.sha256(data_n).hexdigest():
            raise BatchError(f"{where}: {n} does not match its hash in {INDEX}")
    return Batch(doc["kind"], doc["meta"], doc["records"], members, name or "")


def read_kiosk_batch(data: bytes, name: str | None, kind: str, *, where: str | None = None,
                     filed_under: tuple[str, str] | None = None) -> Batch:
    """:func:`read_batch` for a kiosk's batch of ``kind``: the kind and the sending kiosk's and store's ids checked,
    and -- ``filed_under``, the (store, kiosk) folders it came in under -- that they are its own."""
    batch = read_batch(data, name, where=where)
    where = where or name or "batch"
    if batch.kind != kind:
        raise BatchError(f"{where}: a {batch.kind!r} batch, not {kind!r}")
    for key in ("kiosk_id", "store_id"):
        value = batch.meta.get(key)
        if not isinstance(value, str):
            raise BatchError(f"{where}: meta.{key} missing")
        if (value or key == "kiosk_id") and not ID_RE.fullmatch(value):  # two ids, one folder: mixed photos
            raise BatchError(f"{where}: meta.{key} {value[:70]!r} is not an id head office files as it is (1-64 "
                             "letters, digits, '.', '_' or '-'; not '-' alone, the folder of no store)")
    problem = misfiled(batch.meta, *filed_under) if filed_under is not None else ""
    if problem:
        raise BatchError(f"{where}: {problem}")
    return batch
