"""Bundle archives: the deterministic tar head office publishes, and the extraction a kiosk trusts.

An archive holds ``manifest.json``, ``manifest.sig`` and the files the manifest lists, as regular files only.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from pathlib import Path

from kiosk.bundle_format.atomic import AtomicFile, fsync_dir
from kiosk.bundle_format.bundle import MANIFEST, SIGNATURE, load_bundle
from kiosk.errors import BundleError
from kiosk.inputfiles import open_regular

MAX_MEMBERS = 10_000
MAX_TOTAL_BYTES = 4 << 30


def bundle_files(root: Path) -> list[str]:
    bundle = load_bundle(root)
    return sorted([MANIFEST, SIGNATURE, *bundle.manifest.files])


def write_archive(root: Path | str, dest: Path | str, names: list[str] | None = None) -> Path:
    """Deterministic tar of a bundle directory: sorted regular files, mtime 0, owner 0, mode 0644. ``names``: the
    files to pack (default :func:`bundle_files`, which loads and checks the bundle first)."""
    root, dest = Path(root), Path(dest)
    with AtomicFile(dest) as out, tarfile.open(out.tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(names) if names is not None else bundle_files(root):
            with open_regular(root / name, "a regular file (a bundle holds regular files only)", BundleError) as fh:
                info = tarfile.TarInfo(name)
                info.size = os.fstat(fh.fileno()).st_size
                info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = 0o644, 0, 0, 0, "", ""
                tar.addfile(info, fh)
    return dest


def _safe_member_name(name: str, where: str) -> str:
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        raise BundleError(f"{where}: unsafe path {name!r} in archive")
    norm = posixpath.normpath(name)
    parts = norm.split("/")
    if norm in (".", "") or any(p in ("", ".", "..") for p in parts) or norm != name.rstrip("/"):
        raise BundleError(f"{where}: unsafe path {name!r} in archive (path traversal)")
    return norm


def safe_extract(archive: Path | str, dest: Path | str, max_total: int = MAX_TOTAL_BYTES) -> list[str]:
    """Extract regular files only into a new directory ``dest``; refuses links, devices, FIFOs, absolute or
    ``..`` paths, duplicates, more than MAX_MEMBERS entries or ``max_total`` bytes. Files are fsynced.

    What the archive holds is a :class:`BundleError` (a refusal); an ``OSError`` is the machine's, not the
    archive's (a full disk, a file size limit, a USB stick that cannot be read) and is raised as itself, naming the
    file written (or the archive read), so an updater reports a disk problem instead of a corrupt archive."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True)
    names: list[str] = []
    total = 0
    fh = open_regular(archive, "a bundle archive", error=BundleError)  # a FIFO's read waited for ever
    try:
        tar = tarfile.open(fileobj=fh, mode="r:")
    except (tarfile.TarError, OSError) as exc:
        fh.close()
        raise BundleError(f"{archive}: not a readable tar archive ({exc})") from None
    with fh, tar:
        try:
            for count, member in enumerate(tar):
                if count >= MAX_MEMBERS:  # every entry counts: 400,000 directories cost as much to read as files
                    raise BundleError(f"{archive}: more than {MAX_MEMBERS} entries")
                if member.isdir():
                    _safe_member_name(member.name, str(archive))
                    continue
                if not member.isreg():
                    kind = "link" if (member.issym() or member.islnk()) else "device or special file"
                    raise BundleError(f"{archive}: entry {member.name!r} is a {kind}; only regular files are allowed")
                name = _safe_member_name(member.name, str(archive))
                if name in names:
                    raise BundleError(f"{archive}: entry {name!r} appears twice")
                total += member.size
                if total > max_total:
                    raise BundleError(f"{archive}: more than {max_total} bytes when extracted")
                _extract_member(tar.extractfile(member), member.size, dest / name, f"{archive}: entry {name!r}")
                names.append(name)
        except (tarfile.TarError, EOFError) as exc:
            raise BundleError(f"{archive}: corrupt archive ({exc})") from None
        except OSError as exc:  # reading the archive (writing is named by _extract_member): the machine's problem
            raise _named(exc, archive) from None
    for d in sorted({(dest / n).parent for n in names} | {dest}, key=lambda p: len(p.parts), reverse=True):
        fsync_dir(d)
    return names


def _extract_member(src, size: int, target: Path, where: str) -> None:
    """Copy ``size`` bytes of ``src`` into the new file ``target`` and fsync it; an ``OSError`` writing names
    ``target`` (``where``: the archive and entry, for a member cut short)."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except OSError as exc:
        raise _named(exc, target) from None
    try:
        remaining = size
        while remaining:
            block = src.read(min(remaining, 1 << 20))
            if not block:
                raise BundleError(f"{where} is truncated")
            view = memoryview(block)
            while view:
                try:
                    view = view[os.write(fd, view):]
                except OSError as exc:
                    raise _named(exc, target) from None
            remaining -= len(block)
        try:
            os.fsync(fd)
        except OSError as exc:
            raise _named(exc, target) from None
    finally:
        os.close(fd)


def _named(exc: OSError, path: Path) -> OSError:
    """``exc`` with ``path`` as its file name when it names none (a write's ENOSPC does not)."""
    if exc.filename is not None:
        return exc
    return OSError(exc.errno, exc.strerror or str(exc), str(path))
