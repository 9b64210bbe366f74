"""Fixtures for the data tools: a small copy of the shared grocery data, a catalog file, the CLI parser."""

from __future__ import annotations

import argparse
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from trainer.data.manifest import ManifestRow, write_manifest

#: (class folder inside train/ or val/, SKU, coarse group): none of these has a near-duplicate in the clean data.
SUBSET = (
    ("Fruit/Apple/Golden-Delicious", "golden-delicious", "apple"),
    ("Fruit/Banana", "banana", "banana"),
    ("Fruit/Kiwi", "kiwi", "kiwi"),
)


@dataclass
class Subset:
    root: Path
    train: Path  # manifest
    val: Path  # manifest
    spare: Path  # a clean photo not in any manifest, for planting problems
    skus: tuple[str, ...]


def _images(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.jpg"))


@pytest.fixture
def grocery_subset(grocery_root: Path, tmp_path: Path) -> Subset:
    """6 train + 2 val photos of 3 SKUs copied into ``tmp_path/ds`` with ``train.csv``/``val.csv`` manifests."""
    root = tmp_path / "ds"
    rows = {"train": [], "val": []}
    for folder, sku, group in SUBSET:
        for split, n in (("train", 6), ("val", 2)):
            for src in _images(grocery_root / split / folder)[:n]:
                dst = root / split / folder / src.name
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                rows[split].append(ManifestRow(path=dst, sku=sku, group=group, split=split))
    spare_src = _images(grocery_root / "train" / "Fruit/Kiwi")[10]
    spare = root / "spare" / spare_src.name
    spare.parent.mkdir(parents=True)
    shutil.copyfile(spare_src, spare)
    train, val = write_manifest(rows["train"], root / "train.csv"), write_manifest(rows["val"], root / "val.csv")
    return Subset(root, train, val, spare, tuple(s for _, s, _ in SUBSET))


@pytest.fixture
def make_catalog():
    """``make_catalog(path, skus)`` writes a catalog SQLite file knowing ``skus``."""
    return _make_catalog


def _make_catalog(path: Path, skus: list[str]) -> Path:
    """Through the catalog room's repository when it exists, else a bare ``skus`` table."""
    try:
        from catalog.model import Sku
        from catalog.repository import Catalog
    except ModuleNotFoundError:
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE skus (sku TEXT PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO skus VALUES (?, ?)", [(s, s) for s in skus])
        db.commit()
        db.close()
        return path
    with Catalog.open(path) as cat:
        cat.upsert_many([Sku(sku=s, name=s.title(), group="Fruit", sold_by="unit", price_paise=1000, gst_bp=0,
                             hsn="0803") for s in skus])
    return path


@pytest.fixture
def data_cli():
    """Run ``checkout data …`` through this room's ``register``; returns the handler's exit code."""
    from trainer.cli_data import register

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser(prog="checkout")
        sub = parser.add_subparsers(dest="command", required=True)
        register(sub, {})
        args = parser.parse_args(["data", *map(str, argv)])
        return args.func(args)

    return run
