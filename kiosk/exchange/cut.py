"""Cutting what a kiosk sends into batches head office takes: by bytes as well as by count. One mechanism for every
packer (feedback, audit, enrollments), so no batch is ever one head office refuses (:class:`~.batch.BatchTooLarge`).

A packer hands :func:`cut` its items in order, each with what it costs in a batch (its JSON in ``batch.json`` and its
file, if any, plus :data:`RECORD_OVERHEAD` for a tar header and padding); :func:`cut` groups them, in order, into
runs that cost at most :func:`budget` -- the packer's ``max_bytes`` (:data:`BATCH_BYTES` by default: a batch is built
in memory, and a server may cap request bodies), never more than head office reads
(:data:`~.batch.MAX_BATCH_BYTES`, :data:`~.batch.MAX_INDEX_BYTES`) less :data:`BATCH_OVERHEAD`. The same items give
the same runs, so a batch made again after a kill has the same bytes and name.

An item that costs more than the budget on its own cannot travel in any batch: the packer sets it aside with a logged
reason before it cuts (a feedback photo is left out of its record, an enrollment photo left out, an audit row sent
without its detail); :func:`cut` itself never drops anything (such an item would go alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from kiosk.exchange import batch as _batch

__all__ = ["BATCH_BYTES", "BATCH_OVERHEAD", "RECORD_OVERHEAD", "budget", "cut", "record_bytes"]

T = TypeVar("T")

#: a batch's records and files come to at most this many bytes (built in memory; a server may cap request bodies)
BATCH_BYTES = 32 << 20
#: what one record adds besides its file, generously: its JSON in batch.json, a tar header, block padding
RECORD_OVERHEAD = 4096
#: what a batch holds besides its records and files: batch.json's frame and meta, the tar's end and record padding
BATCH_OVERHEAD = 64 << 10


def budget(max_bytes: int) -> int:
    """What one batch's items may cost: ``max_bytes``, but never more than head office reads (read when called)."""
    hard = min(_batch.MAX_BATCH_BYTES, _batch.MAX_INDEX_BYTES) - BATCH_OVERHEAD
    return max(0, min(int(max_bytes), hard))


def record_bytes(record: Any) -> int:
    """What a record without a file costs: its JSON exactly as ``batch.json`` holds it, and the comma after it."""
    return len(_batch._json_bytes(record)) + 1


def cut(items: Iterable[tuple[T, int]], limit: int) -> Iterator[list[T]]:
    """``items`` (each with its cost in bytes), in order, in runs whose costs add up to at most ``limit``; a run holds
    one item at least. Lazy: an item is taken only when the run before it is handed on."""
    run: list[T] = []
    size = 0
    for item, cost in items:
        if run and size + cost > limit:
            yield run
            run, size = [], 0
        run.append(item)
        size += cost
    if run:
        yield run
