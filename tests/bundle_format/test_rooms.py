"""The shared bundle format stays a leaf: no recogniser, no till, no trainer, no torch (but its architecture table)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOM = REPO / "kiosk" / "bundle_format"
#: kiosk.errors and kiosk.inputfiles (bounded reads of the files a user names) are standard-library-only, every room's
ALLOWED = ("kiosk.errors", "kiosk.inputfiles", "kiosk.bundle_format", "numpy", "cv2", "cryptography", "simplejpeg")
TORCH_MODULES = {"architectures.py"}  # imported only by the torch backend and trainer.models


def imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def is_stdlib(name: str) -> bool:
    return name.split(".")[0] in sys.stdlib_module_names or name == "__future__"


def test_bundle_format_imports_only_the_format_numpy_opencv_and_cryptography():
    bad = {}
    for path in sorted(ROOM.glob("*.py")):
        extra = ("torch", "torchvision") if path.name in TORCH_MODULES else ()
        wrong = sorted(n for n in imports(path)
                       if not is_stdlib(n) and not n.startswith(ALLOWED) and not n.startswith(extra))
        if wrong:
            bad[path.name] = wrong
    assert bad == {}


def test_importing_the_format_loads_no_model_code():
    modules = [f"kiosk.bundle_format.{p.stem}" for p in sorted(ROOM.glob("*.py"))
               if p.name != "__init__.py" and p.name not in TORCH_MODULES]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in ["kiosk.bundle_format", *modules])
            + "loaded = [m for m in ('torch', 'torchvision', 'onnxruntime', 'kiosk.recognition', 'kiosk.bundles', "
              "'trainer') if m in sys.modules]\nprint(loaded)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]", out.stderr


PRIVATE_KEY_NAMES = {"Ed25519PrivateKey", "load_pem_private_key", "private_bytes", "SigningKey", "sign_bundle",
                     "make_rotation", "write_keypair", "load_signing_key"}


def test_the_till_holds_no_private_key_code():
    """Key generation, PEM private keys, signing and publishing live in trainer.release, never in kiosk/."""
    found = []
    for path in sorted((REPO / "kiosk").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else (
                node.name if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.alias)) else None)
            if name in PRIVATE_KEY_NAMES:
                found.append(f"{path.relative_to(REPO)}:{getattr(node, 'lineno', '?')} {name}")
    assert found == []


def _importers_of(prefix: str, rooms=("kiosk", "catalog", "trainer", "tools")) -> list[str]:
    found = []
    for room in rooms:
        for path in sorted((REPO / room).rglob("*.py")):
            if any(n == prefix or n.startswith(prefix + ".") for n in imports(path)):
                found.append(str(path.relative_to(REPO)))
    return found


def test_the_till_never_imports_the_trainer():
    assert _importers_of("trainer", rooms=("kiosk", "catalog")) == []


def test_only_the_torch_backend_and_the_trainer_build_networks():
    """The architecture table imports torch: the format's other modules, and the rest of the till, never load it."""
    assert _importers_of("kiosk.bundle_format.architectures") == [
        "kiosk/recognition/backends/torch_backend.py", "trainer/models.py"]


def test_the_torch_backend_builds_the_networks_the_trainer_exports():
    import torch

    from kiosk.bundle_format.architectures import build_network
    from trainer.models import build_model

    for arch in ("tiny_cnn", "mobilenet_v2", "resnet18"):
        kiosk_side, trainer_side = build_network(arch, 7).state_dict(), build_model(arch, 7).state_dict()
        assert {k: v.shape for k, v in kiosk_side.items()} == {k: v.shape for k, v in trainer_side.items()}
        assert kiosk_side[next(reversed(kiosk_side))].shape == torch.Size([7])  # the new head's bias


def test_backends_do_not_import_each_other():
    """Shared ONNX Runtime set-up lives in backends/ort_session.py (not a backend), never in another backend."""
    from kiosk.recognition.backends.base import BACKEND_MODULES

    modules = set(BACKEND_MODULES.values())
    found = {}
    for module in sorted(modules):
        path = REPO / (module.replace(".", "/") + ".py")
        others = sorted((imports(path) & modules) - {module})
        if others:
            found[module] = others
    assert found == {}
    assert "kiosk.recognition.backends.ort_session" not in modules


def test_the_trainer_uses_only_the_shared_rooms_of_the_kiosk():
    """Head office code reaches the till's code only through the bundle format and the exchange format (plus errors,
    the bounded reader of input files and the CLI helper)."""
    shared = ("kiosk.bundle_format", "kiosk.exchange", "kiosk.errors", "kiosk.inputfiles", "kiosk.cli",
              "kiosk.subcommands")
    # the one exception pyproject's contract names: store takings rebuild receipts with the till's own GST code
    also = {"trainer/headoffice/takings.py": ("kiosk.domain",)}
    found = {}
    for path in sorted((REPO / "trainer").rglob("*.py")):
        kiosk = [n for n in imports(path) if n == "kiosk" or n.startswith("kiosk.")]
        allowed = shared + also.get(str(path.relative_to(REPO)), ())
        wrong = sorted(n for n in kiosk if not n.startswith(allowed))
        if wrong:
            found[str(path.relative_to(REPO))] = wrong
    assert found == {}
