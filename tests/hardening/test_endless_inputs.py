"""A file a command reads whole -- settings, keys, a users file, a catalog CSV, a manifest -- that is far larger than
its kind can be, or never ends (/dev/zero), is one line naming it after a bounded read; it used to fill the memory
(a MemoryError traceback, or the kernel's OOM kill). A pipe (``<(…)``) is still read like a file."""

from __future__ import annotations

import os
import threading

import pytest

from kiosk.cli import main as checkout
from kiosk.errors import UserError
from kiosk.inputfiles import KB, read_bounded


def test_read_bounded_stops_after_the_limit_and_at_a_nul_in_text(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * (9 * KB))
    assert read_bounded(path, 9 * KB, "a thing") == b"x" * (9 * KB)
    path.write_bytes(b"x" * (9 * KB + 1))
    with pytest.raises(UserError, match=r"f: more than 9 KB, too large for a thing$"):
        read_bounded(path, 9 * KB, "a thing")
    with pytest.raises(UserError, match=r"^/dev/zero: more than 64 KB, too large for a key$"):
        read_bounded("/dev/zero", 64 * KB, "a key")
    with pytest.raises(UserError, match=r"^/dev/zero: not UTF-8 text \(a NUL byte at offset 0\), so not a manifest$"):
        read_bounded("/dev/zero", 2**40, "a manifest", text=True)


def test_a_pipe_is_read_like_a_file(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as fh:
            fh.write(b"path,sku\n")

    threading.Thread(target=write, daemon=True).start()
    assert read_bounded(fifo, KB, "a manifest", text=True) == b"path,sku\n"


@pytest.mark.parametrize("argv, words", [
    (["staff", "list", "--config", "/dev/zero"], "/dev/zero: not UTF-8 text (a NUL byte at offset 0), so not a kiosk "
                                                 "settings file"),
    (["data", "split", "/dev/zero", "--out", "{tmp}/s"], "/dev/zero: not UTF-8 text (a NUL byte at offset 0), so not "
                                                         "a manifest"),
    (["bundle", "sign", "{tmp}", "--key", "/dev/zero"], "/dev/zero: more than 64 KB, too large for a private key"),
    (["headoffice", "user", "list", "--users", "/dev/zero"], "/dev/zero: not UTF-8 text (a NUL byte at offset 0), so "
                                                             "not a users file"),
    (["audit", "enroll", "s1", "k1", "--keys", "{tmp}/keys", "--key-file", "/dev/zero"],
     "/dev/zero: not UTF-8 text (a NUL byte at offset 0), so not a key"),
    (["kiosk", "update", "--channel", "{tmp}", "--state", "{tmp}/s", "--keys", "{tmp}", "--store-id", "S1",
      "--catalog-schema", "1", "--active-skus", "/dev/zero"], "/dev/zero: not UTF-8 text (a NUL byte at offset 0), "
                                                             "so not a list of SKUs"),
])
def test_commands_refuse_an_endless_file_in_one_line(argv, words, tmp_path, capsys):
    rc = checkout([a.format(tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and words in err and "Traceback" not in err, err


def test_an_empty_file_is_no_catalog_and_is_left_empty(tmp_path, capsys):
    """SQLite takes an empty file for a new database: a reader wrote a schema into it and reported every label as
    unknown (head office's --catalog), or a kiosk would have sold from an empty catalog."""
    from catalog.repository import Catalog
    from kiosk.errors import CatalogError

    empty = tmp_path / "catalog.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(CatalogError, match="an empty file, not a catalog"):
        Catalog.open(empty, create=False)
    assert checkout(["catalog", "show", "banana", "--db", str(empty)]) == 2
    assert empty.stat().st_size == 0 and "Traceback" not in capsys.readouterr().err


def test_a_scale_script_a_token_a_secret_and_an_audit_key_are_read_bounded():
    from kiosk.feedback.loop import read_token
    from kiosk.scale.base import ScaleError
    from kiosk.scale.simulated import ScriptedScale
    from kiosk.store.audit import load_key
    from trainer.headoffice.cli import _secret

    with pytest.raises(ScaleError, match="^/dev/zero: not UTF-8 text .*, so not a scale script$"):
        ScriptedScale.from_file("/dev/zero")
    with pytest.raises(UserError, match="^/dev/zero: not UTF-8 text .*, so not a secret file$"):
        _secret("/dev/zero")
    with pytest.raises(UserError, match="^/dev/zero: not UTF-8 text .*, so not an audit key$"):
        load_key("/dev/zero")
    assert read_token("/dev/zero") == ""  # logged; the kiosk sends without a token rather than not at all
