"""A kiosk.toml nested 1,000 deep (arrays, tables, inline tables) was a RecursionError traceback in every command
that reads it, and doctor's line did not name the file; one saved by Notepad (a UTF-8 byte-order mark) was refused as
"not valid TOML at line 1, column 1". Now the shared reader names the file ("nested too deeply", at most 32 levels,
as head office's JSON) and skips the mark."""

from __future__ import annotations

import pytest

from kiosk.cli import main
from kiosk.config import KioskConfig
from kiosk.inputfiles import read_settings_toml

DEEP = {"arrays": "q = " + "[" * 1000 + "]" * 1000 + "\n",
        "inline tables": "q = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n",
        "tables": "[" + ".".join(["a"] * 200) + "]\nx = 1\n",
        "arrays, 33 deep": "q = " + "[" * 33 + "]" * 33 + "\n"}


@pytest.mark.parametrize("kind", DEEP)
def test_settings_nested_too_deeply_are_one_line_naming_the_file(kind, tmp_path, capsys):
    path = tmp_path / "kiosk.toml"
    path.write_text('kiosk_id = "K1"\n' + DEEP[kind])
    for argv in (["audit", "verify", "--config", str(path)], ["sku", "list", "--config", str(path)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert f"{path}: nested too deeply to read (at most 32 levels)" in err and "Traceback" not in err, argv
    assert main(["doctor", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL config  {path}: nested too deeply to read" in out and "RecursionError" not in out


def test_settings_32_levels_deep_are_read(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text("q = " + "[" * 30 + "1" + "]" * 30 + "\n")  # the table, 30 arrays, the number: 32 levels
    assert read_settings_toml(path)["q"]


def test_a_byte_order_mark_is_skipped(tmp_path):
    text = 'kiosk_id = "K7"\nstore_name = "Green Basket"\n'
    path = tmp_path / "kiosk.toml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert read_settings_toml(path) == {"kiosk_id": "K7", "store_name": "Green Basket"}
    assert KioskConfig.from_file(path).kiosk_id == "K7"
