import subprocess
import sys


def test_camera_scale_trigger_import_neither_qt_nor_torch(repo_root):
    code = (
        "import sys, kiosk.camera, kiosk.camera.capture, kiosk.trigger, kiosk.scale, kiosk.scale.simulator\n"
        "from kiosk.camera import create_source\n"
        "from kiosk.scale import open_scale\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'shiboken6', 'torchvision'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_camera_package_defers_opencv(repo_root):
    code = "import sys, kiosk.camera; print('cv2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
