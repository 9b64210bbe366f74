"""``index.json``: the shards of a set with their sample counts, the labels, and the rows left out when writing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kiosk.errors import DataError
from kiosk.exchange.document import load_document
from trainer.shards.layout import FORMAT, INDEX, VERSION
from trainer.shards.location import join, open_binary


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
            raw = fh.read()
    except FileNotFoundError:
        raise DataError(f"{where}: no shard index (make shards with `checkout data shard MANIFEST --out DIR`)"
                        ) from None
    except OSError as exc:
        raise DataError(f"{where}: cannot read the shard index ({exc})") from None
    data = load_document(raw, where, "a shard index")  # nested 100,000 deep was a RecursionError traceback
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
        raise DataError(f"{where}: not a version-{VERSION} {FORMAT} index")
    names = [s["name"] for s in data["shards"]]
    counts = [int(s["count"]) for s in data["shards"]]
    return ShardIndex(root, list(data["labels"]), dict(data.get("groups", {})), names, counts,
                      list(data.get("skipped", [])))
