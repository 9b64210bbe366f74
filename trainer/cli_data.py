"""``checkout data …``: import photo collections into manifests, check/cleanse them, split them.

Cheap to import: the work (OpenCV, numpy) is imported inside the handlers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.subcommands import bounded


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import group

    data = group(sub, groups, "data", "dataset manifests: import, check and cleanse, split")

    p = data.add_parser("import-folder", help="manifest for a folder with one sub-folder of photos per SKU")
    p.add_argument("root", type=Path, help="folder holding one sub-folder per SKU (folder name = SKU id)")
    p.add_argument("--out", type=Path, required=True, help="folder for manifest.csv")
    p.add_argument("--copy", action="store_true", help="copy the photos into OUT/images/<sku>/ (default: reference)")
    p.set_defaults(func=_import_folder)

    p = data.add_parser("import-grocery-store",
                        help="train/val manifests and catalog CSV from the Grocery Store dataset")
    p.add_argument("src", type=Path, help="the dataset folder (train.txt, val.txt, classes.csv)")
    p.add_argument("--out", type=Path, required=True, help="folder for train.csv, val.csv, catalog.csv")
    p.add_argument("--no-catalog", action="store_true", help="do not write catalog.csv")
    p.set_defaults(func=_import_grocery_store)

    p = data.add_parser("check", help="find broken, tiny, duplicate and leaked photos; write cleansed manifests")
    p.add_argument("manifests", type=Path, nargs="+", metavar="MANIFEST",
                   help="manifests to check together (a duplicate is kept in the first one given)")
    p.add_argument("--catalog", type=Path, help="catalog SQLite file: flag SKUs it does not know")
    p.add_argument("--out", type=Path, required=True, help="folder for report.md/json, *.clean.csv, quarantine.csv")
    _hash_options(p)
    p.add_argument("--min-side", type=bounded(int, 1, 10**5), default=64,
                   help="shorter side (px) below which a photo is tiny (64)")
    p.add_argument("--min-per-sku", type=bounded(int, 0, 10**6), default=10,
                   help="flag SKUs with fewer clean photos (10)")
    p.set_defaults(func=_check)

    p = data.add_parser("split", help="stratified train/val/test split keeping duplicate groups and shooting sequences "
                                      "together")
    p.add_argument("manifest", type=Path)
    p.add_argument("--val", type=bounded(float, 0, below=1), default=0.1, help="share of each SKU for val (0.1)")
    p.add_argument("--test", type=bounded(float, 0, below=1), default=0.1, help="share of each SKU for test (0.1)")
    p.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=0,
                   help="same seed + same photos = same split (0)")
    p.add_argument("--out", type=Path, required=True, help="folder for train.csv, val.csv, test.csv")
    p.add_argument("--no-sequences", dest="keep_sequences", action="store_false",
                   help="split photo by photo: do not keep runs of consecutively numbered shots together")
    p.add_argument("--guard", type=bounded(int, 0, 1000), default=0, metavar="N",
                   help="leave the N training photos either side of a held-out run out of training (guard.csv; 0)")
    _hash_options(p)
    p.set_defaults(func=_split)


def _hash_options(p: argparse.ArgumentParser) -> None:
    from trainer.data.hashing import DEFAULT_PHASH_THRESHOLD  # numpy only; cv2 is imported lazily there

    p.add_argument("--phash-threshold", type=bounded(int, -1, 64), default=DEFAULT_PHASH_THRESHOLD,
                   help=f"near-duplicate Hamming distance of 64 bits ({DEFAULT_PHASH_THRESHOLD}); -1 = exact only")
    p.add_argument("--workers", type=bounded(int, 1, 256), default=None, help="hashing processes (default: CPU count)")
    p.add_argument("--cache", type=Path, default=None,
                   help="hash cache file (default: ~/.cache/checkout/image-facts.sqlite)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the hash cache")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _cache(args) -> Path | None:
    from trainer.data.hashing import default_cache_path

    return None if args.no_cache else (args.cache or default_cache_path())


def _import_folder(args) -> int:
    from trainer.data.importers import import_folder

    result = import_folder(args.root, args.out, copy=args.copy)
    _print_import(result)
    return 0


def _import_grocery_store(args) -> int:
    from trainer.data.importers import import_grocery_store

    result = import_grocery_store(args.src, args.out, catalog=not args.no_catalog)
    _print_import(result)
    return 0


def _print_import(result) -> None:
    for path, n in result.manifests.items():
        print(f"wrote {path} ({n} photos)")
    if result.catalog:
        print(f"wrote {result.catalog}")
    print(f"{result.skus} SKUs")
    for note in result.notes:
        print(f"note: {note}")


def _check(args) -> int:
    from trainer.data.check import CheckOptions, run_check

    options = CheckOptions(min_side=args.min_side, phash_threshold=args.phash_threshold,
                           min_per_sku=args.min_per_sku, workers=args.workers, cache=_cache(args),
                           progress=not args.no_progress)
    report = run_check(args.manifests, args.out, catalog=args.catalog, options=options)
    print(report.summary())
    print(f"wrote {args.out / 'report.md'}, report.json, quarantine.csv and "
          + ", ".join(Path(p).name for p in report.outputs.values()))
    return 0


def _split(args) -> int:
    from trainer.data.split import split_manifest

    result = split_manifest(args.manifest, args.out, val=args.val, test=args.test, seed=args.seed,
                            phash_threshold=args.phash_threshold, keep_sequences=args.keep_sequences,
                            guard=args.guard, workers=args.workers, cache=_cache(args),
                            progress=not args.no_progress)
    print(result.table())
    print("wrote " + ", ".join(str(p) for p in result.files.values()))
    return 0
