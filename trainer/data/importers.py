"""Turn photo collections into manifests (see :mod:`trainer.data.manifest`). Photos are never moved.

* :func:`import_folder`: ``ROOT/<sku>/…/*.jpg`` → ``OUT/manifest.csv`` (optionally copying the photos).
* :func:`import_grocery_store`: the Grocery Store dataset's ``train.txt``/``val.txt``/``classes.csv`` →
  ``OUT/train.csv``, ``OUT/val.csv`` and, through ``catalog.grocery``, ``OUT/catalog.csv`` for the kiosk.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.bundle_format.preprocess import IMAGE_SUFFIXES
from kiosk.errors import DataError
from kiosk.exchange.fields import whole_number
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
    (an existing copy with the source's size and modification time is kept). Files at the top level, with other
    extensions or that are not regular files are skipped (and counted in the notes), so are ``out`` when it lies
    inside ``root`` and a linked folder that leads outside ``root`` (named in the notes). Raises
    :class:`DataError` for a missing root, an invalid SKU name, two folders that make one SKU id, a photo name that
    is not UTF-8, or no images.
    """
    root, out = Path(root).resolve(), check_out_folder(out).resolve()
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    result = ImportResult()
    skipped = Counter()
    skipped["not an image"] += sum(1 for f in root.iterdir() if f.is_file())
    rows: list[ManifestRow] = []
    for sku, sku_dir in _sku_dirs(root, out, result.notes).items():
        for src in _photos(sku_dir, out, skipped):
            target = src
            if copy:
                target = out / "images" / sku / src.relative_to(sku_dir)
                _copy(src, target)
            rows.append(ManifestRow(path=target, sku=sku, source=f"folder:{sku_dir.name}"))
    if not rows:
        raise DataError(f"{root}: no images found in per-SKU sub-folders ({', '.join(sorted(IMAGE_EXTENSIONS))})")
    manifest = write_manifest(rows, out / "manifest.csv")
    result.manifests, result.skus = {manifest: len(rows)}, len({r.sku for r in rows})
    if skipped["not an image"]:
        result.notes.append(f"skipped {skipped['not an image']} file(s) that are not images inside a SKU folder")
    if skipped["not a file"]:
        result.notes.append(f"skipped {skipped['not a file']} photo name(s) that are not regular files "
                            "(a pipe, a device, a link to nothing)")
    return result


def _sku_dirs(root: Path, out: Path, notes: list[str]) -> dict[str, Path]:
    """SKU id → its folder under ``root``; ``out`` (inside ``root``) and links leading outside ``root`` are left out
    with a note; two folders making one SKU id (``Apple`` and ``apple``) are refused."""
    found: dict[str, Path] = {}
    for sku_dir in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
        real = sku_dir.resolve()
        if real == out or real == out / "images" or out / "images" in real.parents:
            notes.append(f"skipped {sku_dir.name}/: it is the --out folder or inside it (earlier copies)")
            continue
        if sku_dir.is_symlink() and not real.is_relative_to(root):
            notes.append(f"skipped {sku_dir.name}/: a link to {real}, outside {root}")
            continue
        sku = sku_from_name(sku_dir.name)
        problem = validate_sku(sku)
        if problem:
            raise DataError(f"{sku_dir}: folder name {sku_dir.name!r} is not a valid SKU id: {problem}")
        if sku in found:
            raise DataError(f"{root}: folders {found[sku].name!r} and {sku_dir.name!r} both make SKU id {sku!r}: "
                            "rename or merge one")
        found[sku] = sku_dir
    return found


def _photos(sku_dir: Path, out: Path, skipped: Counter) -> Iterator[Path]:
    """The photos inside ``sku_dir`` (recursively, sorted; hidden names, ``out`` and links to folders not
    entered); what is not a photo is counted in ``skipped``."""
    for dirpath, dirnames, filenames in os.walk(sku_dir):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and (Path(dirpath) / d).resolve() != out)
        for name in sorted(filenames):
            src = Path(dirpath) / name
            if name.startswith(".") or src.suffix.lower() not in IMAGE_EXTENSIONS:
                skipped["not an image"] += 1
                continue
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                shown = os.fsencode(src).decode("utf-8", "backslashreplace")
                raise DataError(f"{shown}: the file name is not UTF-8, so a manifest cannot name it: "
                                "rename it") from None
            if not src.is_file():
                skipped["not a file"] += 1
                continue
            yield src


def _copy(src: Path, target: Path) -> None:
    """Copy ``src`` to ``target`` (through a temporary file: never half a photo) unless ``target`` already has its
    size and modification time (``copy2`` keeps the time, so a changed source -- even of the same size -- is
    copied again)."""
    st = src.stat()
    try:
        have = target.stat()
    except FileNotFoundError:
        have = None
    if have is not None and (have.st_size, have.st_mtime_ns) == (st.st_size, st.st_mtime_ns):
        return
    from kiosk.bundle_format.atomic import AtomicFile

    target.parent.mkdir(parents=True, exist_ok=True)
    with AtomicFile(target) as out:
        shutil.copy2(src, out.tmp)


@dataclass(frozen=True)
class GroceryClass:
    name: str
    class_id: int
    coarse_name: str
    coarse_id: int
    line: int = 0  #: its line in classes.csv

    @property
    def sku(self) -> str:
        return sku_from_name(self.name)


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 text (a BOM dropped), or :class:`DataError` naming the line of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DataError(f"{path} line {line}: not UTF-8 text (byte {exc.start}: {data[exc.start]:#04x})") from None


def read_grocery_classes(src: str | os.PathLike) -> dict[int, GroceryClass]:
    """``classes.csv`` of the Grocery Store dataset, by fine class id. Every class must make a valid SKU id of its
    own (:func:`sku_from_name`); the line of one that does not, or of two that make the same id, is named."""
    path = Path(src) / "classes.csv"
    if not path.is_file():
        raise DataError(f"{path}: not found (is {src} the grocery-store dataset?)")
    text = _decode(read_bounded(path, 64 * MB, "the dataset's classes.csv", text=True, error=DataError), path)
    classes: dict[int, GroceryClass] = {}
    by_sku: dict[str, GroceryClass] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    for fields in reader:
        if not fields:
            continue
        line = reader.line_num
        if len(fields) < 4:
            raise DataError(f"{path} line {line}: expected at least 4 columns, found {len(fields)}")
        fine, coarse = whole_number(fields[1]), whole_number(fields[3])
        if fine is None or coarse is None:  # ASCII digits only: int() also reads '٣' as 3
            raise DataError(f"{path} line {line}: class ids must be whole numbers in ASCII digits, got "
                            f"{fields[1]!r}/{fields[3]!r}")
        cls = GroceryClass(fields[0].strip(), fine, fields[2].strip(), coarse, line)
        if cls.class_id in classes:
            first = classes[cls.class_id].name
            raise DataError(f"{path} line {line}: class id {cls.class_id} appears twice ({first} and {cls.name})")
        problem = validate_sku(cls.sku)
        if problem:
            raise DataError(f"{path} line {line}, column 1: class name {cls.name!r} does not make a valid SKU id "
                            f"({cls.sku!r}: {problem}): rename the class")
        if cls.sku in by_sku:
            other = by_sku[cls.sku]
            raise DataError(f"{path} line {line}, column 1: class {cls.name!r} makes SKU id {cls.sku!r}, as class "
                            f"{other.name!r} on line {other.line} does: rename one")
        classes[cls.class_id] = by_sku[cls.sku] = cls
    if not classes:
        raise DataError(f"{path}: no classes (a header, then 'name, id, coarse name, coarse id' for each class)")
    return classes


def _read_grocery_split(src: Path, name: str, classes: dict[int, GroceryClass]) -> list[ManifestRow]:
    path = src / f"{name}.txt"
    if not path.is_file():
        raise DataError(f"{path}: not found")
    rows = []
    text_of = read_bounded(path, 1024 * MB, f"the dataset's {name}.txt", text=True, error=DataError)
    for line, text in enumerate(_decode(text_of, path).splitlines(), start=1):
        if not text.strip():
            continue
        fields = [f.strip() for f in text.split(",")]
        if len(fields) != 3:
            raise DataError(f"{path} line {line}: expected 'path, fine_id, coarse_id', found {len(fields)} fields")
        fine, coarse = whole_number(fields[1]), whole_number(fields[2])
        if fine is None or coarse is None:  # ASCII digits only: int() also reads '٣' as 3
            raise DataError(f"{path} line {line}: class ids must be whole numbers in ASCII digits, got "
                            f"{fields[1]!r}, {fields[2]!r}")
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
        rows.append(ManifestRow(path=(src / fields[0]).resolve(), sku=cls.sku,
                                group=sku_from_name(cls.coarse_name), split=name, source="grocery-store"))
    if not rows:
        raise DataError(f"{path}: no photos (a line 'path, fine_id, coarse_id' for each); nothing imported")
    return rows


def import_grocery_store(src: str | os.PathLike, out: str | os.PathLike, *, catalog: bool = True) -> ImportResult:
    """Write ``out/train.csv`` and ``out/val.csv`` (sku = fine class, group = coarse class, both lower-case)
    and, when ``catalog`` and ``catalog.grocery`` is available, ``out/catalog.csv`` for the kiosk catalog."""
    src, out = Path(src).resolve(), check_out_folder(out).resolve()
    classes = read_grocery_classes(src)
    splits = {name: _read_grocery_split(src, name, classes) for name in ("train", "val")}  # both read, then written
    catalog_rows, result = None, ImportResult()
    if catalog:
        try:
            from catalog.grocery import grocery_catalog_rows, write_catalog_csv
        except ModuleNotFoundError as exc:  # the catalog room's module is not written yet: say so, go on
            if exc.name not in ("catalog", "catalog.grocery"):
                raise
            result.notes.append("catalog CSV not written: module catalog.grocery is not available yet")
        else:
            catalog_rows = grocery_catalog_rows(src)
    for name, rows in splits.items():
        result.manifests[write_manifest(rows, out / f"{name}.csv")] = len(rows)
    result.skus = len({r.sku for rows in splits.values() for r in rows})
    if catalog_rows is not None:
        result.catalog = out / "catalog.csv"
        write_catalog_csv(catalog_rows, result.catalog)
    return result
