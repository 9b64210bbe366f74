"""A kiosk started by hand under a permissive umask (000) writes nothing other users may read or change: shopper
photos, the sales database, the outbox and the gallery stay with the kiosk's user and group (the deploy unit's
UMask=0027)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "assets" / "demo"


def test_a_kiosk_started_under_umask_000_keeps_what_it_writes_from_others(demo_bundle, demo_catalog_db, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-m", "kiosk", "kiosk", "--headless", "--bundle", str(demo_bundle),
                           "--catalog", str(demo_catalog_db), "--store", str(tmp_path / "var" / "s.sqlite"),
                           "--camera", f"folder:{DEMO.as_posix()}/camera?fps=8&hold=8",
                           "--scale", f"script:{DEMO.as_posix()}/scale.txt"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.umask(0))
    assert done.returncode == 0, done.stderr[-2000:]
    written = [p for p in (tmp_path / "var").rglob("*")]
    assert any(p.suffix == ".jpg" for p in written), "the run kept no shopper photo to check"
    open_to_others = [str(p.relative_to(tmp_path)) for p in written if stat.S_IMODE(p.lstat().st_mode) & 0o007]
    assert open_to_others == []
