"""A path `checkout` cannot use -- missing, a file where a folder should be, a folder where a file should be, no
permission, not the kind of file asked for -- is one line naming it (exit 2), never a traceback. A sweep of every leaf
command, each required value and each path option set to a bad path (missing, a folder, random bytes, empty, a broken
CSV or JSON), found these kinds; each is checked here through a real command."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from kiosk.cli import main as checkout
from kiosk.cli import os_error

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"


@pytest.fixture
def a_file(tmp_path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


def _argv(kind: str, a_file: Path, tmp_path: Path) -> tuple[list[str], str]:
    under_a_file = a_file / "x"
    return {
        "train --out under a file": (["train", "--train", str(DEMO / "catalog.csv"), "--out", str(under_a_file),
                                      "--no-progress"], f"{under_a_file}"),
        "catalog import --db under a file": (["catalog", "import", "--db", str(under_a_file),
                                              str(DEMO / "catalog.csv")], f"{a_file}"),
        "data split --out under a file": (["data", "split", str(a_file), "--out", str(under_a_file)], f"{a_file}"),
        "staff list --store of a file that is no database": (["staff", "list", "--store", str(a_file)],
                                                              f"{a_file}: not a usable sales database"),
    }[kind]


@pytest.mark.parametrize("kind", ["train --out under a file", "catalog import --db under a file",
                                  "data split --out under a file",
                                  "staff list --store of a file that is no database"])
def test_a_path_the_command_cannot_use_is_one_line(kind, a_file, tmp_path, capsys):
    argv, named = _argv(kind, a_file, tmp_path)
    assert checkout(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("checkout: error: ") and named in err, err


def test_only_errors_naming_a_path_become_a_line():
    assert os_error(PermissionError(errno.EACCES, "Permission denied", "/srv/x")) == "/srv/x: Permission denied"
    assert os_error(OSError(errno.EXDEV, "Invalid cross-device link", "/a", None, "/b")) == (
        "/a -> /b: Invalid cross-device link")
    assert os_error(OSError("a socket went away")) is None  # no path: a bug or a network fault, not the user's input
    assert os_error(ValueError("x")) is None
