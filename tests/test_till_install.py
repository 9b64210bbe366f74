"""A till installs without the trainer: ``pip install '.[kiosk]'`` (non-editable) into a fresh venv has no torch,
runs the headless demo on an exported bundle to a printed bill, and a head-office command there names the extra
to install instead of a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"


def run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DISPLAY")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def clean_copy(dest: Path) -> Path:
    """The project's files as a fresh clone has them (tracked, plus new files git does not ignore): no ``build/``
    left over from an earlier install can slip stale modules into the wheel."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def till_venv(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("till")
    source, venv = clean_copy(root / "src"), root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               f"{source}[kiosk]"], cwd=root, timeout=600)  # pip's cache is allowed
    assert pip.returncode == 0, pip.stderr[-2000:]
    return venv


def test_till_venv_has_no_torch_and_bills_the_demo_basket(till_venv, demo_bundle, tmp_path):
    python, checkout = till_venv / "bin" / "python", till_venv / "bin" / "checkout"
    probe = run([str(python), "-c", "import torch"], cwd=tmp_path)
    assert probe.returncode != 0 and "No module named 'torch'" in probe.stderr
    installed = run([str(python), "-c", "import kiosk; print(kiosk.__file__)"], cwd=tmp_path)
    assert str(till_venv) in installed.stdout  # the installed package, not the checkout
    db = tmp_path / "catalog.sqlite"
    assert run([str(checkout), "catalog", "import", str(DEMO / "catalog.csv"), "--db", str(db)],
               cwd=tmp_path).returncode == 0
    bill = run([str(checkout), "kiosk", "--headless", "--bundle", str(demo_bundle), "--catalog", str(db),
                "--store", str(tmp_path / "kiosk.sqlite"), "--captures", str(tmp_path / "captures"),
                "--camera", f"folder:{DEMO}/camera?fps=8&hold=8", "--scale", f"script:{DEMO}/scale.txt"],
               cwd=tmp_path)
    assert bill.returncode == 0, bill.stderr
    assert "TOTAL" in bill.stdout and "₹917.00" in bill.stdout and "Traceback" not in bill.stderr


def test_head_office_commands_name_the_extra_on_a_till(till_venv, tmp_path):
    trained = run([str(till_venv / "bin" / "checkout"), "train", "--train", "a.csv", "--val", "b.csv"], cwd=tmp_path)
    assert trained.returncode == 2 and "Traceback" not in trained.stderr
    assert "pip install 'edge-checkout-kiosk[trainer]'" in trained.stderr


def test_checkout_doctor_runs_on_a_till_without_torch(till_venv, demo_bundle, tmp_path):
    db = tmp_path / "catalog.sqlite"
    assert run([str(till_venv / "bin" / "checkout"), "catalog", "import", str(DEMO / "catalog.csv"), "--db", str(db)],
               cwd=tmp_path).returncode == 0
    doctor = run([str(till_venv / "bin" / "checkout"), "doctor", "--bundle", str(demo_bundle), "--catalog", str(db),
                  "--store", str(tmp_path / "kiosk.sqlite"), "--captures", str(tmp_path / "captures"),
                  "--camera", f"folder:{DEMO}/camera", "--scale", f"script:{DEMO}/scale.txt"], cwd=tmp_path)
    assert doctor.returncode == 0 and "Traceback" not in doctor.stderr, doctor.stdout + doctor.stderr
    names = [line.split()[1] for line in doctor.stdout.splitlines()]
    assert names == ["config", "camera", "scale", "printer", "bundle", "runtime", "catalog", "state", "disk", "clock",
                     "feedback"]
    assert "FAIL" not in doctor.stdout and "labels of the model are active SKUs" in doctor.stdout
