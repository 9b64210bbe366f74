"""Product photos travel with the catalog: ``catalog import`` copies each row's ``image`` into the catalog's
own folder, ``images/`` beside the database file, and stores it there by SKU (``images/<sku>.jpg``). A till
that receives ``catalog.sqlite`` and ``images/`` together shows the photos wherever it is installed; nothing
is resolved against the program's files or the working directory.

In a CSV, ``image`` is a path relative to the CSV file's folder (or absolute). A relative path may not leave
that folder (``../``), and the file must be a JPEG, PNG or WebP image of at most :data:`MAX_IMAGE_BYTES`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from kiosk.bundle_format.atomic import AtomicFile
from kiosk.errors import CatalogError
from kiosk.inputfiles import open_regular

__all__ = ["IMAGE_DIR", "MAX_IMAGE_BYTES", "image_problem", "install_image", "resolve_source"]

IMAGE_DIR = "images"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_MAGIC = {b"\xff\xd8\xff": ".jpg", b"\x89PNG\r\n\x1a\n": ".png"}


def resolve_source(csv_dir: Path, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else csv_dir / p


def _kind(head: bytes) -> str | None:
    for magic, ext in _MAGIC.items():
        if head.startswith(magic):
            return ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ".webp"
    return None


def image_problem(csv_dir: Path, value: str) -> str | None:
    """Why ``value`` (a CSV ``image`` cell) cannot be used, or ``None`` when it can (or is empty)."""
    if not value:
        return None
    source = resolve_source(csv_dir, value)
    if not Path(value).is_absolute() and os.path.normpath(value).split(os.sep)[0] == os.pardir:
        return "a relative image path must stay inside the CSV file's folder"
    try:  # a FIFO, a device or a folder is refused before it is read: a FIFO's open waited for ever
        with open_regular(source, "an image file", error=CatalogError) as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(16)
    except CatalogError as exc:  # missing, a folder, a FIFO, a device, a link loop: what is there instead
        return f"cannot read the image: {exc}"
    except OSError as exc:
        return f"cannot read the image ({exc.strerror or exc})"
    if size > MAX_IMAGE_BYTES:
        return f"image is {size} bytes, more than {MAX_IMAGE_BYTES}"
    if _kind(head) is None:
        return "not a JPEG, PNG or WebP image"
    return None


def install_image(source: Path, catalog_path: Path, sku: str) -> str:
    """Copy ``source`` into the catalog's image folder as ``<sku><ext>``; returns the value to store."""
    with open_regular(source, "an image file", error=CatalogError) as fh:
        ext = _kind(fh.read(16)) or source.suffix.lower()
    folder = catalog_path.parent / IMAGE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sku}{ext}"
    if not (target.exists() and target.resolve() == source.resolve()):
        with AtomicFile(target) as out:
            shutil.copyfile(source, out.tmp)
    return f"{IMAGE_DIR}/{target.name}"
