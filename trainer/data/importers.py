"""Turn photo collections into manifests (see :mod:`trainer.data.manifest`). Photos are never moved.

* :func:`import_folder`: ``ROOT/<sku>/…/*.jpg`` → ``OUT/manifest.csv`` (optionally copying the photos).
* :func:`import_grocery_store`: the Grocery Store dataset's ``train.txt``/``val.txt``/``classes.csv`` →
  ``OUT/train.csv``, ``OUT/val.csv`` and, through ``catalog.grocery``, ``OUT/catalog.csv`` for the kiosk.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.bundle_format.preprocess import IMAGE_SUFFIXES
from kiosk.errors import DataError
from kiosk.inputfiles import MB, read_bounded
from trainer.data.manifest import ManifestRow, check_out_folder, sku_from_name, validate_sku, write_manifest

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset(IMAGE_SUFFIXES)


@dataclass
class ImportResult:
    """What an import wrote: manifest path(s) → row count, plus notes for the user."""

    manifests: dict[Path, int] = field(default_factory=dict)
    catalog: Path | None = None
    skus: int = 0
    notes: list[str] = field(default_factory=list)


def import_folder(root: str | os.PathLike, out: str | os.PathLike, *, copy: bool = False) -> ImportResult:
    """Write ``out/manifest.csv`` for a folder with one sub-folder per SKU (images found recursively inside).

    The SKU id is the sub-folder name in lower case. Without ``copy`` the manifest references the original
    files through paths relative to ``out``; with ``copy`` the photos are copied to ``out/images/<sku>/…``
    (existing identical copies are kept). Files at the top level or with other extensions are skipped (and
    counted in the notes). Raises :class:`DataError` for a missing root, an invalid SKU name, or no images.
    """
    root, out = Path(root).resolve(), check_out_folder(out).resolve()
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    rows: list[ManifestRow] = []
    skipped = 0
    sku_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    skipped += sum(1 for f in root.iterdir() if f.is_file())
    for sku_dir in sku_dirs:
        sku = sku_from_name(sku_dir.name)
        problem = validate_sku(sku)
        if problem:
            raise DataError(f"{sku_dir}: folder name {sku_dir.name!r} is not a valid SKU id: {problem}")
        for dirpath, dirnames, filenames in os.walk(sku_dir):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                src = Path(dirpath) / name
                if name.startswith(".") or src.suffix.lower() not in IMAGE_EXTENSIONS:
                    skipped += 1
                    continue
                target = src
                if copy:
                    target = out / "images" / sku / src.relative_to(sku_dir)
                    if not (target.exists() and target.stat().st_size == src.stat().st_size):
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(src, target)
                rows.append(ManifestRow(path=target, sku=sku, source=f"folder:{sku_dir.name}"))
    if not rows:
        raise DataError(f"{root}: no images found in per-SKU sub-folders ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    manifest = write_manifest(rows, out / "manifest.csv")
    result = ImportResult(manifests={manifest: len(rows)}, skus=len({r.sku for r in rows}))
    if skipped:
        result.notes.append(f"skipped {skipped} file(s) that are not images inside a SKU folder")
    return result


@dataclass(frozen=True)
class GroceryClass:
    name: str
    class_id: int
    coarse_name: str
    coarse_id: int


def read_grocery_classes(src: str | os.PathLike) -> dict[int, GroceryClass]:
    """``classes.csv`` of the Grocery Store dataset, by fine class id."""
    path = Path(src) / "classes.csv"
    if not path.is_file():
        raise DataError(f"{path}: not found (is {src} the grocery-store dataset?)")
    classes: dict[int, GroceryClass] = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for fields in reader:
            if not fields:
                continue
            line = reader.line_num
            if len(fields) < 4:
                raise DataError(f"{path} line {line}: expected at least 4 columns, found {len(fields)}")
            try:
                cls = GroceryClass(fields[0].strip(), int(fields[1]), fields[2].strip(), int(fields[3]))
            except ValueError:
                raise DataError(
                    f"{path} line {line}: class ids must be integers, got {fields[1]!r}/{fields[3]!r}"
                ) from None
            if cls.class_id in classes:
                first = classes[cls.class_id].name
                raise DataError(f"{path} line {line}: class id {cls.class_id} appears twice ({first} and {cls.name})")
            classes[cls.class_id] = cls
    if not classes:
        raise DataError(f"{path}: no classes (a header, then 'name, id, coarse name, coarse id' for each class)")
    return classes


def _read_grocery_split(src: Path, name: str, classes: dict[int, GroceryClass]) -> list[ManifestRow]:
    path = src / f"{name}.txt"
    if not path.is_file():
        raise DataError(f"{path}: not found")
    rows = []
    text_of = read_bounded(path, 1024 * MB, f"the dataset's {name}.txt", text=True, error=DataError)
    for line, text in enumerate(text_of.decode("utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        fields = [f.strip() for f in text.split(",")]
        if len(fields) != 3:
            raise DataError(f"{path} line {line}: expected 'path, fine_id, coarse_id', found {len(fields)} fields")
        try:
            fine, coarse = int(fields[1]), int(fields[2])
        except ValueError:
            raise DataError(
                f"{path} line {line}: class ids must be integers, got {fields[1]!r}, {fields[2]!r}"
            ) from None
        cls = classes.get(fine)
        if cls is None:
            raise DataError(f"{path} line {line}, column 2: fine class id {fine} is not in classes.csv")
        inside = os.path.normpath(fields[0])
        if os.path.isabs(inside) or inside == ".." or inside.startswith(".." + os.sep):
            raise DataError(f"{path} line {line}, column 1: {fields[0]!r} is not a photo inside the dataset's folder")
        if cls.coarse_id != coarse:
            raise DataError(
                f"{path} line {line}, column 3: coarse id {coarse} does not match classes.csv "
                f"({cls.coarse_id} for {cls.name})"
            )
        rows.append(ManifestRow(path=(src / fields[0]).resolve(), sku=sku_from_name(cls.name),
                                group=sku_from_name(cls.coarse_name), split=name, source="grocery-store"))
    return rows


def import_grocery_store(src: str | os.PathLike, out: str | os.PathLike, *, catalog: bool = True) -> ImportResult:
    """Write ``out/train.csv`` and ``out/val.csv`` (sku = fine class, group = coarse class, both lower-case)
    and, when ``catalog`` and ``catalog.grocery`` is available, ``out/catalog.csv`` for the kiosk catalog."""
    src, out = Path(src).resolve(), check_out_folder(out).resolve()
    classes = read_grocery_classes(src)
    result = ImportResult()
    skus: set[str] = set()
    for name in ("train", "val"):
        rows = _read_grocery_split(src, name, classes)
        manifest = write_manifest(rows, out / f"{name}.csv")
        result.manifests[manifest] = len(rows)
        skus.update(r.sku for r in rows)
    result.skus = len(skus)
    if catalog:
        try:
            from catalog.grocery import grocery_catalog_rows, write_catalog_csv
        except ModuleNotFoundError as exc:  # the catalog room's module is not written yet: say so, go on
            if exc.name not in ("catalog", "catalog.grocery"):
                raise
            result.notes.append("catalog CSV not written: module catalog.grocery is not available yet")
        else:
            result.catalog = out / "catalog.csv"
            write_catalog_csv(grocery_catalog_rows(src), result.catalog)
    return result
