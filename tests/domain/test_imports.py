import subprocess
import sys


def test_domain_imports_stdlib_only():
    """The domain must import without Qt, torch, numpy or sqlite (it runs anywhere, tests run without them)."""
    code = (
        "import sys, kiosk.domain, kiosk.domain.receipt\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sqlite3', 'PySide6', 'torch', 'numpy', 'cv2', 'sqlite_utils', 'catalog'})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
