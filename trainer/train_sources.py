"""Several training manifests with per-source sample weights, and how far to trust shopper and auto labels
(``checkout train --train base.csv --train feedback.csv:2.0 --shopper-weight 0.5``). Torch-free: the options are
part of ``checkout --help``.

* ``--train CSV[:WEIGHT]`` (repeatable): every manifest's rows are trained on together; each row's loss counts
  ``WEIGHT`` times (default 1). ``args.train`` stays the first manifest, as before.
* ``--shopper-weight W`` / ``--auto-weight W``: rows whose ``trust`` column (``checkout feedback collect``) says
  ``shopper`` (a shopper's tap or search) or ``auto`` (added by the model itself, never confirmed) count ``W`` times
  as much again; 0 leaves them out. Staff-confirmed and barcode labels, and rows without a trust, are not touched.

The weighted loss is a weighted mean over each batch (:meth:`trainer.cached_data.CachedTrainingData.criterion`);
with every weight 1 training is exactly what it was, step for step.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

from kiosk.errors import DataError

__all__ = ["TrainManifests", "add_train_options", "balance_classes", "parse_weighted", "training_rows"]

log = logging.getLogger(__name__)


def parse_weighted(text: str) -> tuple[Path, float]:
    """``CSV`` or ``CSV:WEIGHT`` (a path may hold ':' itself; only a number after the last one is a weight)."""
    head, sep, tail = str(text).rpartition(":")
    if sep and head:
        try:
            weight = float(tail)
        except ValueError:
            return Path(text), 1.0
        if not math.isfinite(weight) or weight <= 0:
            raise argparse.ArgumentTypeError(f"--train {text}: the weight must be a number above 0")
        return Path(head), weight
    return Path(text), 1.0


class TrainManifests(argparse.Action):
    """``--train CSV[:WEIGHT]``, repeatable: ``args.train`` is the first manifest, ``args.train_sources`` every
    ``[path, weight]`` (JSON-friendly: it is saved in the run's args.json and read back by ``--resume``)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        try:
            path, weight = parse_weighted(values)
        except argparse.ArgumentTypeError as exc:
            parser.error(str(exc))
        sources = list(getattr(namespace, "train_sources", None) or [])
        sources.append([str(path), weight])
        namespace.train_sources = sources
        if len(sources) == 1:
            namespace.train = path


def _weight(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text}: a weight is a number >= 0 (0 leaves those rows out)")
    return value


def add_train_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--train", action=TrainManifests, metavar="CSV[:WEIGHT]",
                   help="training manifest (path,sku[,group]); repeat it to train on several, each with a sample "
                        "weight (e.g. --train base.csv --train feedback.csv:2.0)")
    p.add_argument("--shopper-weight", type=_weight, default=1.0, metavar="W",
                   help="rows labelled by a shopper (trust column 'shopper') count W times; 0 leaves them out")
    p.add_argument("--auto-weight", type=_weight, default=1.0, metavar="W",
                   help="rows the model added by itself, never confirmed (trust 'auto'), count W times; 0: out")
    p.add_argument("--class-balance", action=argparse.BooleanOptionalAction, default=None,
                   help="every SKU counts the same in the loss however many photos it has (each row's weight × "
                        "the mean photos a SKU / its SKU's photos); an incremental run's default, where the replay's "
                        "few photos a SKU are a budget, not the store's mix (trainer/incremental.py BALANCE)")
    p.set_defaults(train_sources=None)


def training_rows(args) -> list[dict]:
    """Every training row (``path``, ``sku``, ``group``, ``line``, ``manifest``, ``weight``) of every ``--train``
    manifest, in order; rows whose weight comes to 0 are left out."""
    from trainer.data.manifest import read_manifest

    sources = getattr(args, "train_sources", None) or [[str(args.train), 1.0]]
    by_trust = {"shopper": getattr(args, "shopper_weight", 1.0), "auto": getattr(args, "auto_weight", 1.0)}
    rows, left_out = [], 0
    for path, weight in sources:
        for i, r in enumerate(read_manifest(path)):
            w = float(weight) * by_trust.get(r.extra.get("trust", ""), 1.0)
            if w <= 0:
                left_out += 1
                continue
            rows.append({"path": r.path, "sku": r.sku, "group": r.group, "line": i + 2, "manifest": str(path),
                         "weight": w})
    if not rows:
        raise DataError(f"no training rows left in {', '.join(str(p) for p, _ in sources)} "
                        f"({left_out} left out by --shopper-weight/--auto-weight 0)")
    if len(sources) > 1 or left_out:
        log.info("training on %d rows from %d manifest(s); %d left out by their trust", len(rows), len(sources),
                 left_out)
    return balance_classes(rows) if getattr(args, "class_balance", None) else rows


def balance_classes(rows: list[dict]) -> list[dict]:
    """``rows`` with each weight × (mean weight a SKU / its SKU's summed weight): every SKU then weighs the same in
    the loss (the weighted mean over a batch), and the rows' mean weight stays 1 where it was."""
    per_sku: dict[str, float] = {}
    for r in rows:
        per_sku[r["sku"]] = per_sku.get(r["sku"], 0.0) + r["weight"]
    mean = sum(per_sku.values()) / len(per_sku)
    return [{**r, "weight": r["weight"] * mean / per_sku[r["sku"]]} for r in rows]
