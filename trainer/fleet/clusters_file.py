"""``DIR/clusters.csv`` as ``checkout feedback cluster`` (:mod:`trainer.fleet.clusters`) writes it and the
head-office dashboard's Label page reads it: the file's name, columns and reader, apart from the clustering so that
the dashboard reads it without the model's runtime (ONNX Runtime, torch)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from kiosk.bundle_format.atomic import shown
from kiosk.errors import DataError
from kiosk.inputfiles import MB, read_bounded

__all__ = ["CLUSTERS", "COLUMNS", "NOT_GROUPED", "Clusters", "read_clusters"]

CLUSTERS = "clusters.csv"
COLUMNS = ["store", "kiosk", "placement_id", "path", "cluster", "size", "nearest_sku", "nearest_score",
           "model_version", "bundle_sha256"]
NOT_GROUPED = -2  # the cluster of a crop --max-crops left out
MAX_CSV = 256 * MB


@dataclass(frozen=True)
class Clusters:
    """clusters.csv as read: its rows (``cluster`` and ``size`` as int, ``nearest_score`` as float, 0 when empty) and
    ``version``, the sha256 of its bytes (a form made from one version must not label another's group)."""

    rows: list[dict]
    version: str


def read_clusters(folder: str | Path) -> Clusters:
    """``folder/clusters.csv`` (as :func:`trainer.fleet.clusters.cluster_unlabelled` writes it); a one-line
    :class:`DataError` naming the file and line when it is unreadable or damaged."""
    import hashlib

    from catalog.csv_io import restore_formula

    path = Path(folder) / CLUSTERS
    try:
        data = read_bounded(path, MAX_CSV, "the groups of crops", text=True, error=DataError)
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except OSError as exc:
        raise DataError(f"{shown(path)}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, csv.Error):
        raise DataError(f"{shown(path)}: not a UTF-8 CSV file (damaged): run `checkout feedback cluster` "
                        "again") from None
    if not rows or rows[0] != COLUMNS:
        raise DataError(f"{shown(path)} line 1: not the header `checkout feedback cluster` writes (damaged): run it "
                        "again")
    out = []
    for line, row in enumerate(rows[1:], start=2):
        r = dict(zip(COLUMNS, (restore_formula(c) for c in row)))
        try:
            if len(row) != len(COLUMNS):
                raise ValueError(f"{len(row)} cells, the header has {len(COLUMNS)}")
            r["cluster"], r["size"] = int(r["cluster"]), int(r["size"] or 0)
            r["nearest_score"] = float(r["nearest_score"] or 0)
            if r["cluster"] < NOT_GROUPED:
                raise ValueError(f"cluster {r['cluster']}")
        except ValueError as exc:
            raise DataError(f"{shown(path)} line {line}: {str(exc)[:80]} (damaged): run `checkout feedback cluster` "
                            "again") from None
        out.append(r)
    return Clusters(out, hashlib.sha256(data).hexdigest())
