"""Shards live in a local folder or behind an fsspec URL (``s3://…``, ``gs://…``, ``https://…``)."""

from __future__ import annotations

import os

from kiosk.errors import UserError


def is_url(location: str) -> bool:
    return "://" in str(location) and not str(location).startswith("file://")


def join(root: str, name: str) -> str:
    root = str(root)
    root = root.removeprefix("file://")
    return f"{root.rstrip('/')}/{name}" if is_url(root) else os.path.join(root, name)


def open_binary(location: str):
    """A readable binary file for a local path or an fsspec URL (``s3://`` needs ``s3fs``)."""
    if not is_url(location):
        return open(str(location).removeprefix("file://"), "rb")
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec is a dependency of the trainer's extras
        raise UserError(f"{location}: reading URLs needs fsspec (pip install fsspec)") from None
    try:
        return fsspec.open(location, "rb").open()
    except ImportError as exc:
        raise UserError(f"{location}: {exc} (for s3:// install s3fs)") from None
