"""Dataset manifests: one CSV per split listing photos and their SKU.

Format (UTF-8, header required)::

    path,sku[,group][,split][,source][,sha256][,any other column]
    train/Fruit/Apple/Granny-Smith/Granny-Smith_001.jpg,granny-smith,apple,train,grocery-store,

* ``path``: the photo, relative to the folder holding the manifest (``/`` separators; absolute paths are
  accepted when reading but never written).
* ``sku``: the catalog SKU id, lower-case ``[a-z0-9][a-z0-9._-]*``.
* ``group`` (e.g. the coarse class), ``split``, ``source`` (where the photo came from) and ``sha256`` (64 hex
  digits, the content hash) are optional; other columns are kept as they are in :attr:`ManifestRow.extra`.

:func:`read_manifest` returns rows with **absolute** paths; :func:`write_manifest` writes them relative to
the new manifest's folder, so rows can move between manifests in different folders. Only the standard library.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePosixPath

from catalog.csv_io import formula_safe, restore_formula
from kiosk.bundle_format.atomic import atomic_open
from kiosk.errors import DataError
from kiosk.exchange.fields import sku_problem
from kiosk.inputfiles import MB, path_kind, read_bounded

REQUIRED_COLUMNS = ("path", "sku")
OPTIONAL_COLUMNS = ("group", "split", "source", "sha256")
SHA256_RE = re.compile(r"^[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class ManifestRow:
    """One photo of a manifest. ``path`` is absolute once read (see :func:`read_manifest`)."""

    path: Path
    sku: str
    group: str = ""
    split: str = ""
    source: str = ""
    sha256: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    line: int = field(default=0, compare=False, hash=False)  #: the manifest line the row starts on (0: not read)

    def with_(self, **changes) -> ManifestRow:
        return replace(self, **changes)


def sku_from_name(name: str) -> str:
    """The SKU id for a class/folder name: lower case, spaces to ``-`` (``Granny-Smith`` → ``granny-smith``)."""
    return re.sub(r"\s+", "-", name.strip()).lower()


def validate_sku(sku: str) -> str | None:
    """Why ``sku`` is not a valid SKU id (the catalog's rule, :func:`kiosk.exchange.fields.sku_problem`), or None."""
    return sku_problem(sku)


def resolve_path(manifest_dir: str | os.PathLike, path: str) -> Path:
    """Absolute path of a manifest ``path`` entry (relative to ``manifest_dir``), normalised, links kept."""
    return Path(os.path.normpath(os.path.join(os.path.abspath(manifest_dir), path)))


def relative_path(path: str | os.PathLike, manifest_dir: str | os.PathLike) -> str:
    """``path`` relative to ``manifest_dir`` with ``/`` separators (what a manifest stores)."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(manifest_dir))
    return PurePosixPath(*Path(rel).parts).as_posix()


def check_out_folder(out: str | os.PathLike) -> Path:
    """``out`` as a Path, or :class:`DataError` ``--out X: not a folder`` when it, or the nearest part of it that
    exists, is something else (a file): said before any work starts."""
    out = Path(out)
    for part in (out, *out.parents):
        if part.exists() or part.is_symlink():
            if not part.is_dir():
                raise DataError(f"--out {out}: not a folder" if part == out else
                                f"--out {out}: not a folder ({part} is {path_kind(part)})")
            break
    return out


def _bad_field(path: Path, line: int, header: list[str], record: dict[str, str], column: str, why: str) -> DataError:
    """The error for one field of a manifest row: file, line, column (number and name), its value and why."""
    number = header.index(column) + 1
    return DataError(f"{path} line {line}, column {number} '{column}': {record[column]!r} {why}")


def read_manifest(path: str | os.PathLike) -> list[ManifestRow]:
    """Rows of the manifest at ``path``, with absolute photo paths.

    Raises :class:`DataError` naming the file, line and column for: a missing file, a missing or duplicated
    header column, a row with too many or too few fields, an empty path, an invalid SKU or sha256; a NUL byte (not
    text: no path holds one) or more than 4 GB.
    Blank lines are skipped. Files are not checked for existence here (that is ``checkout data check``).
    """
    path = Path(path)
    try:
        text = read_bounded(path, 4096 * MB, "a manifest", text=True, error=DataError).decode("utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{path}: manifest not found") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: empty manifest (expected a header line 'path,sku,…')") from None
    except csv.Error as exc:
        raise DataError(f"{path} line 1: {exc}") from None
    header = [h.strip() for h in header]
    for column in REQUIRED_COLUMNS:
        if column not in header:
            raise DataError(f"{path} line 1: missing column '{column}' (header is {','.join(header)!r})")
    seen: set[str] = set()
    for number, name in enumerate(header, start=1):
        if not name:
            raise DataError(f"{path} line 1, column {number}: empty column name")
        if name in seen:
            raise DataError(f"{path} line 1, column {number}: duplicate column '{name}'")
        seen.add(name)

    base = path.parent
    rows: list[ManifestRow] = []
    line = 1
    while True:
        first = line + 1  # the line this record starts on
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataError(f"{path} line {first}: {exc}") from None
        line = reader.line_num
        if not fields or all(not f.strip() for f in fields):
            continue
        if _quote_left_open(fields, header):
            raise DataError(f"{path} line {first}: {_quote_problem(line, first)}")
        if len(fields) != len(header):
            raise DataError(
                f"{path} line {line}: expected {len(header)} columns ({','.join(header)}), found {len(fields)}"
            )
        record = {name: value.strip() for name, value in zip(header, fields)}
        bad = partial(_bad_field, path, line, header, record)
        if not record["path"]:
            raise bad("path", "is empty")
        problem = validate_sku(record["sku"])
        if problem:
            raise bad("sku", problem if problem != "empty" else "is empty")
        sha = record.get("sha256", "").lower()
        if sha and not SHA256_RE.match(sha):
            raise bad("sha256", "is not 64 hexadecimal digits")
        record = {k: v if k == "path" else restore_formula(v) for k, v in record.items()}
        extra = {k: v for k, v in record.items() if k not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS}
        rows.append(
            ManifestRow(
                path=resolve_path(base, record["path"]),
                sku=record["sku"],
                group=record.get("group", ""),
                split=record.get("split", ""),
                source=record.get("source", ""),
                sha256=sha,
                extra=extra,
                line=first,
            )
        )
    return rows


def _check_utf8(path: Path) -> None:
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        raise DataError(f"{shown}: the file name is not UTF-8, so a manifest cannot name it: rename it") from None


def _quote_left_open(fields: list[str], header: list[str]) -> bool:
    """A field runs over a line break (legal when quoted) and the record is broken with it: too few or too many
    fields, or a SKU holding the rest of the file -- a quote opened and never closed."""
    if not any("\n" in f or "\r" in f for f in fields):
        return False
    return len(fields) != len(header) or validate_sku(fields[header.index("sku")].strip()) is not None


def _quote_problem(last: int, first: int) -> str:
    """Why a record starting on line ``first`` ran to line ``last``: a quote opened and not closed on its line."""
    runs_on = f" (its field runs on to line {last})" if last > first else ""
    return f"a quote opened on this line is never closed{runs_on}"


def write_manifest(rows: Iterable[ManifestRow], path: str | os.PathLike) -> Path:
    """Write ``rows`` to ``path`` (paths relative to its folder); optional columns only when some row uses them.

    Written atomically (temporary file + rename), so a reader never sees half a manifest.
    """
    path = Path(path)
    rows = list(rows)
    base = path.parent
    base.mkdir(parents=True, exist_ok=True)
    columns = list(REQUIRED_COLUMNS)
    columns += [c for c in OPTIONAL_COLUMNS if any(getattr(r, c) for r in rows)]
    for r in rows:
        columns += [k for k in r.extra if k not in columns]
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            _check_utf8(r.path)
            values = {"sku": r.sku, "group": r.group, "split": r.split, "source": r.source, "sha256": r.sha256,
                      **r.extra}
            values = dict(zip(values, formula_safe(values.values())))  # read_manifest gives them back exactly
            values["path"] = relative_path(r.path, base)
            writer.writerow([values.get(c, "") for c in columns])
    return path
