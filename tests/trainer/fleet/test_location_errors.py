"""``checkout fleet status SRC`` at a location that is not one: one line, exit 2. Before: an ftp:// host that is
not found or refuses was a ``socket.gaierror`` / ``ConnectionRefusedError`` traceback (an OSError without a file
name, which the CLI's handler passes on), and a location without ``heartbeats/`` — the heartbeats folder itself
given by mistake, or ``memory://x`` — printed "0 kiosk(s)", exit 0."""

from __future__ import annotations

import socket

import pytest

from kiosk.cli import main as checkout
from kiosk.errors import DataError
from tests.trainer.fleet.stores import NOW, put_heartbeat
from trainer.fleet.location import HeadOffice
from trainer.fleet.status import fleet_status


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_a_url_whose_host_cannot_be_reached_is_one_line_naming_it_and_what_is_supported(capsys, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on: refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"ftp://127.0.0.1:{port}/y"
    assert checkout(["fleet", "status", url]) == 2
    err = _one_line(capsys)
    assert url in err and "s3://" in err and "a directory" in err and "http(s)://" in err

    def no_such_host(*a, **kw):
        raise socket.gaierror(-2, "Name or service not known")
    monkeypatch.setattr(socket, "create_connection", no_such_host)
    assert checkout(["fleet", "status", "ftp://nowhere.invalid/y"]) == 2
    assert "ftp://nowhere.invalid/y: cannot be read (Name or service not known)" in _one_line(capsys)


def test_an_unknown_scheme_names_what_is_supported(capsys):
    assert checkout(["fleet", "status", "zz://x"]) == 2
    assert "zz://x" in (err := _one_line(capsys)) and "s3://" in err


def test_a_listing_that_fails_is_one_line(monkeypatch):
    ho = HeadOffice("memory://fleet-listing")
    monkeypatch.setattr(ho._fs, "find", lambda *a, **kw: (_ for _ in ()).throw(ConnectionResetError(104, "reset")))
    with pytest.raises(DataError, match="memory://fleet-listing: cannot be read"):
        ho.keys("heartbeats", ".json")


@pytest.mark.parametrize("where", ["heartbeats", "heartbeats/", "elsewhere"])
def test_a_location_without_heartbeats_is_one_line_not_an_empty_fleet(tmp_path, capsys, where):
    ho = tmp_path / "ho"
    put_heartbeat(ho, "BLR-0042", "K1", at=NOW, version=12, placements=1, labelled=1, corrected=0, corrections=0)
    (ho / "elsewhere").mkdir()
    src = str(ho / where)
    assert checkout(["fleet", "status", src]) == 2
    err = _one_line(capsys)
    assert f"{src}: no heartbeats/ folder" in err
    assert ("the heartbeats/ folder itself" in err) == where.startswith("heartbeats")
    assert fleet_status(src) == ([], [])  # the dashboard's view of a fresh head office: empty, no error


def test_a_url_without_heartbeats_is_one_line(capsys):
    assert checkout(["fleet", "status", "memory://no-fleet-here"]) == 2
    assert "memory://no-fleet-here: no heartbeats/ folder" in _one_line(capsys)


def test_an_empty_heartbeats_folder_is_an_empty_fleet(tmp_path, capsys):
    (tmp_path / "heartbeats").mkdir()
    assert checkout(["fleet", "status", str(tmp_path)]) == 0
    assert "0 kiosk(s)" in capsys.readouterr().out
