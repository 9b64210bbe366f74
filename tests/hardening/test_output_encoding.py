"""A terminal or pipe whose locale cannot write ₹ (a C or ISO-8859 locale without Python's UTF-8 mode) still gets the
bill, the catalog row and the report: in UTF-8, never a UnicodeEncodeError after the sale it prints was recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.store import SalesStore

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"


def narrow_env(encoding: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONUTF8")}
    env.update(LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONIOENCODING=encoding)
    return env


def checkout(*args: str, encoding: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=cwd, env=narrow_env(encoding),
                          capture_output=True, timeout=120)


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_catalog_row_prints_in_a_locale_without_the_rupee_sign(demo_catalog_db, tmp_path, encoding):
    done = checkout("catalog", "show", "arla-standard-milk", "--db", str(demo_catalog_db), encoding=encoding,
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert "₹" in done.stdout.decode("utf-8") and b"Traceback" not in done.stderr


def test_the_headless_bill_prints_in_an_ascii_locale_after_the_sale_is_recorded(demo_bundle, demo_catalog_db,
                                                                                 tmp_path):
    store = tmp_path / "s.sqlite"
    done = checkout("kiosk", "--headless", "--bundle", str(demo_bundle), "--catalog", str(demo_catalog_db),
                    "--store", str(store), "--captures", str(tmp_path / "cap"),
                    "--camera", f"folder:{DEMO.as_posix()}/camera?fps=8&hold=8",
                    "--scale", f"script:{DEMO.as_posix()}/scale.txt", encoding="ascii", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-2000:]
    bill = done.stdout.decode("utf-8")
    assert "TOTAL" in bill and "₹" in bill
    with SalesStore.open(store, kiosk_id="K1") as sales:
        assert sales.sale("K1-000001") is not None


def test_a_setting_holding_5000_characters_is_refused_in_one_readable_line(tmp_path, capsys):
    """The refusal quoted the whole value (5,000+ characters on one line); it keeps what and where."""
    from kiosk.cli import MAX_ERROR_CHARS, main

    config = tmp_path / "kiosk.toml"
    config.write_text(f'kiosk_id = "{"K" * 5000}"\n')
    rc = main(["kiosk", "--config", str(config), "--headless"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and len(err) <= MAX_ERROR_CHARS + 20
    assert "kiosk_id" in err and "characters left out" in err
