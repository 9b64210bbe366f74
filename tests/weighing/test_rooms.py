"""A model update can never change how weight becomes money: the weighing room, the barcode labels and the pricing
read nothing from a bundle or a recogniser — by their imports (also an import-linter contract in pyproject.toml)
and by what a fresh interpreter loads when they are imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MONEY_ROOMS = {"kiosk/weighing": ("kiosk.weighing", "kiosk.scale.base", "kiosk.errors", "kiosk.uri"),
               "kiosk/domain": ("kiosk.domain",)}
MODEL_MODULES = ("kiosk.recognition", "kiosk.bundles", "kiosk.bundle_format", "kiosk.services", "trainer",
                 "onnxruntime", "torch", "cv2", "numpy")


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_weighing_and_pricing_import_only_plain_python_and_the_scale_reading():
    bad = {}
    for room, allowed in MONEY_ROOMS.items():
        for path in sorted((REPO / room).glob("*.py")):
            wrong = sorted(n for n in imports(path) if n.split(".")[0] not in sys.stdlib_module_names
                           and n != "__future__" and not n.startswith(allowed))
            if wrong:
                bad[str(path.relative_to(REPO))] = wrong
    assert bad == {}


def test_importing_weighing_pricing_and_label_parsing_loads_no_model_code():
    code = ("import sys\nimport kiosk.weighing, kiosk.domain.pricing, kiosk.domain.cart, kiosk.barcodes.variable\n"
            f"print([m for m in sys.modules if m.startswith({MODEL_MODULES!r})])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
