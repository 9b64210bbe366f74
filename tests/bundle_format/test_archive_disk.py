"""A bundle archive that cannot be written out (a full disk, a file size limit) is the machine's problem, not the
archive's: safe_extract raises the OSError naming the file it wrote, never a "corrupt archive" BundleError."""

from __future__ import annotations

import contextlib
import errno
import io
import resource
import signal
import tarfile

import pytest

from kiosk.bundle_format.archive import safe_extract
from kiosk.errors import BundleError


@contextlib.contextmanager
def file_size_limit(nbytes: int):
    """``ulimit -f`` for this process while the block runs (Python ignores SIGXFSZ: a write past it is EFBIG)."""
    if signal.getsignal(signal.SIGXFSZ) != signal.SIG_IGN:
        pytest.skip("SIGXFSZ is not ignored here: a write past the limit would kill the test run")
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def big_archive(path, size: int = 256 * 1024):
    """A tar holding a small manifest.json and a ``size``-byte big.bin (not a bundle: extraction comes first)."""
    with tarfile.open(path, "w") as tar:
        for name, data in (("big.bin", b"\x01" * size), ("manifest.json", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_write_the_disk_refuses_is_an_os_error_naming_the_file_not_a_corrupt_archive(tmp_path):
    archive = big_archive(tmp_path / "v2.tar")
    with file_size_limit(64 * 1024), pytest.raises(OSError) as info:
        safe_extract(archive, tmp_path / "out")
    assert not isinstance(info.value, BundleError)
    assert info.value.errno == errno.EFBIG and info.value.filename == str(tmp_path / "out" / "big.bin")
    assert safe_extract(archive, tmp_path / "again") == ["big.bin", "manifest.json"]  # the archive itself is fine
