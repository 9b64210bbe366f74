"""Stepping through one tar shard (seeking past what is not wanted) and decoding one sample."""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kiosk.exchange.document import load_document
from trainer.shards.layout import IMAGE_EXTS
from trainer.shards.location import is_url, join, open_binary


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
    from kiosk.bundle_format.preprocess import decode_frame

    meta_bytes = sample.members.get("json")
    if meta_bytes is None:
        raise ValueError("no .json member")
    meta = load_document(meta_bytes, f"{sample.key}.json", "a sample's metadata", ValueError)  # no RecursionError
    sku = meta.get("sku") if isinstance(meta, dict) else None
    if sku not in label_index:
        raise ValueError(f"SKU {sku!r} not in the index labels")
    ext = next((e for e in sample.members if e in IMAGE_EXTS), None)
    if ext is None:
        raise ValueError("no image member")
    image, why = decode_frame(sample.members[ext])
    if image is None:
        raise ValueError(f"{sample.key}.{ext}: undecodable image ({why})")
    return image, label_index[sku], int(sample.key)
