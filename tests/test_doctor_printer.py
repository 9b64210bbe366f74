"""``checkout doctor``'s printer line. Before: the doctor never looked at ``receipt_printer`` — a printer unplugged
(``escpos:/dev/usb/lp9``), a regular file where the device should be, a spool "file" that is a folder or whose folder
is missing, a printer out of paper: all "ready", exit 0."""

from __future__ import annotations

import dataclasses
import os

import pytest

from kiosk.config import KioskConfig
from kiosk.doctor import CHECKS, FAIL, OK, WARN, Context, run_doctor
from kiosk.printing.simulator import PrinterSimulator


def printer_line(uri: str, timeout_s: float = 2.0):
    config = dataclasses.replace(KioskConfig(), receipt_printer=uri)
    (result,) = run_doctor(Context(config, timeout_s=timeout_s), tuple(c for c in CHECKS if c.name == "printer"))
    return result


def test_the_printer_is_checked_after_the_scale():
    assert [c.name for c in CHECKS][:4] == ["camera", "scale", "printer", "bundle"]


def test_no_printer_set_is_ok_none():
    result = printer_line("")
    assert result.status == OK and result.found.startswith("none")


@pytest.mark.parametrize("make, words", [
    (lambda tmp: "escpos:/dev/usb/lp9", "/dev/usb/lp9: no such device: not connected"),
    (lambda tmp: f"escpos:{(tmp / 'lp0').write_text('') or tmp / 'lp0'}", "is a regular file, not a printer device"),
    (lambda tmp: f"escpos:{tmp}", "is a directory, not a printer device"),
    (lambda tmp: f"escpos:file:{tmp}", "is a folder, not a file"),
    (lambda tmp: "escpos:file:/nonexist/dir/spool", "no directory /nonexist/dir"),
])
def test_a_printer_that_is_not_there_fails(tmp_path, make, words):
    result = printer_line(make(tmp_path))
    assert result.status == FAIL and words in result.found, result
    assert "receipt_printer = ..." in result.fix and "\n" not in result.line()


def test_a_spool_file_in_a_writable_folder_is_ok_and_not_created(tmp_path):
    result = printer_line(f"escpos:file:{tmp_path / 'receipts.prn'}")
    assert result.status == OK and not (tmp_path / "receipts.prn").exists()


def test_a_spool_folder_not_writable_fails(tmp_path, monkeypatch):
    (tmp_path / "ro").mkdir(mode=0o555)
    real_access = os.access  # root writes anywhere: the kiosk's user would not (as os.access says for it)
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p).startswith(str(tmp_path / "ro"))
                        and mode & os.W_OK else real_access(p, mode, **kw))
    result = printer_line(f"escpos:file:{tmp_path / 'ro' / 'receipts.prn'}")
    assert result.status == FAIL and "not writable" in result.found


@pytest.fixture
def sim():
    with PrinterSimulator() as simulator:
        yield simulator


def test_a_ready_printer_is_ok(sim):
    result = printer_line(sim.uri)
    assert result.status == OK and "ready" in result.found and not sim.receipts()


@pytest.mark.parametrize("state, status, words", [
    ({"paper": "near_end"}, WARN, "paper near its end"),
    ({"paper": "out"}, FAIL, "out of paper"),
    ({"cover_open": True}, FAIL, "cover is open"),
    ({"error": "cutter"}, FAIL, "reports a fault"),
    ({"mute": True}, FAIL, "does not answer"),
])
def test_what_the_printer_says_is_its_line(sim, state, status, words):
    for key, value in state.items():
        setattr(sim, key, value)
    result = printer_line(sim.uri, timeout_s=1.0)
    assert result.status == status and words in result.found, result
    assert result.fix


def test_a_printer_that_cannot_answer_is_only_looked_for(sim):
    result = printer_line(f"{sim.uri}?status=none")
    assert result.status == OK and "not asked" in result.found
