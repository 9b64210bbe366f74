"""``checkout feedback collect``, ``checkout feedback cluster`` and ``checkout fleet status`` (head office; heavy
imports inside the handlers)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub, groups) -> None:
    from kiosk.subcommands import bounded, group

    feedback = group(sub, groups, "feedback", "what the stores send: feedback batches into training manifests")
    p = feedback.add_parser("collect", help="merge every store's feedback batches into a training manifest")
    p.add_argument("src", metavar="SRC", help="head-office location the kiosks upload to (directory or s3://…)")
    p.add_argument("--out", type=_out_folder, required=True, help="folder for feedback.csv, images/, unlabelled.csv, "
                                                                    "report.json, collect.json (not inside SRC)")
    p.add_argument("--force", action="store_true", help="replace files in --out that no collect wrote there, or a "
                                                        "manifest with more rows")
    p.add_argument("--since", metavar="DATE", help="only placements from this date (YYYY-MM-DD or ISO time) on")
    p.add_argument("--against", type=Path, action="append", default=[], metavar="MANIFEST",
                   help="existing training manifest: feedback photos that duplicate one of its photos are left out "
                        "(repeatable)")
    p.add_argument("--catalog", type=Path, help="catalog SQLite file: labels it does not know are left out and named")
    p.add_argument("--kiosks", type=Path, metavar="DIR",
                   help="the enrolled kiosks (DIR/<store>/<kiosk>.key, as `checkout audit enroll` keeps them): batches "
                        "of any other kiosk are skipped and named")
    p.add_argument("--phash-threshold", type=bounded(int, -1, 64), default=4,
                   help="near-duplicate Hamming distance (4); -1 = exact")
    p.add_argument("--workers", type=bounded(int, 1, 256), default=None, help="hashing processes (default: CPU count)")
    p.add_argument("--no-cache", action="store_true", help="do not use the image hash cache")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_collect)

    p = feedback.add_parser("cluster", help="group collect's placements for review (DIR/unlabelled.csv) by what their "
                                            "crops look like, to label a group at once: DIR/clusters.csv")
    p.add_argument("dir", type=Path, metavar="DIR", help="a `checkout feedback collect --out` folder")
    p.add_argument("--bundle", type=Path, required=True, help="model bundle whose embeddings group the crops")
    p.add_argument("--threshold", type=bounded(float, above=0, below=1), default=None, metavar="COS",
                   help="cosine distance at which groups stop merging (average linkage; default 0.2, measured)")
    p.add_argument("--min-size", type=bounded(int, 1, 10**6), default=2, metavar="N",
                   help="smaller groups are singletons, cluster -1 (default 2)")
    p.add_argument("--max-crops", type=bounded(int, 1, 10**7), default=None, metavar="N",
                   help="group only the newest N crops (default 8000: a 256 MB distance matrix); the older ones are "
                        "written with cluster -2, not grouped this time")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_cluster)

    fleet = group(sub, groups, "fleet", "the kiosks of every store, from their heartbeats")
    p = fleet.add_parser("status", help="each kiosk's model, update state, last heartbeat and correction rate")
    p.add_argument("src", metavar="SRC", help="head-office location the kiosks upload to (directory or s3://…)")
    p.add_argument("--stale-after", type=bounded(float, above=0, high=10**6), default=30.0, metavar="MINUTES",
                   help="a kiosk not heard from for longer is STALE (default 30)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_fleet_status)


def _out_folder(text: str) -> Path:
    """``--out``: a folder's name; an empty one (which would mean the current folder) is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty: name the folder for the manifest")
    return Path(text)


def _collect(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from trainer.data.hashing import HashCache, default_cache_path
    from trainer.fleet.collect import collect_feedback, parse_since

    cache = None if args.no_cache else HashCache(default_cache_path())
    try:
        report = collect_feedback(args.src, args.out, since=parse_since(args.since), against=args.against,
                                  catalog=args.catalog, phash_threshold=args.phash_threshold, workers=args.workers,
                                  cache=cache, progress=not args.json, force=args.force, kiosks=args.kiosks)
    finally:
        if cache is not None:
            cache.close()
    print(json.dumps(asdict(report)) if args.json else report.summary())
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from trainer.fleet import clusters

    threshold = clusters.DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    most = clusters.DEFAULT_MAX_CROPS if args.max_crops is None else args.max_crops
    report = clusters.cluster_unlabelled(args.dir, args.bundle, threshold=threshold, min_size=args.min_size,
                                         max_crops=most)
    print(json.dumps(report.to_dict()) if args.json else report.summary())
    return 0


def _fleet_status(args: argparse.Namespace) -> int:
    from kiosk.errors import DataError
    from kiosk.exchange.layout import HEARTBEATS
    from trainer.fleet.status import fleet_status, format_table

    rows, problems = fleet_status(args.src, stale_after_s=args.stale_after * 60, need_folder=True)
    folder = [p["reason"] for p in problems if p["heartbeat"] == HEARTBEATS]
    if folder:  # not a head office's tree: one line, exit 2
        raise DataError(f"{args.src.rstrip('/')}/{HEARTBEATS}: {folder[0]}")
    if args.json:
        print(json.dumps({"kiosks": [r.to_dict() for r in rows], "unreadable": problems}))
    else:
        print(format_table(rows, problems))
    return 0
