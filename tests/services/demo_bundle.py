"""Build the demo model bundle for tests with the real trainer, once, cached under ``.cache/test-demo-bundle``.

Two recipes, picked by what exists:

* **MobileNetV2** (the demo recipe of ``trainer/demo.py``, what ``make demo`` builds): when
  ``assets/demo/train/train.csv`` and the ImageNet weights ``.cache/weights/mobilenet_v2-b0353104.pth``
  (fetched by ``make test``) are both there;
* **tiny_cnn** (fallback, a few seconds): trained on augmented copies of the demo camera's own item
  photos. It recognises the demo basket, which is all the service tests need; it says nothing about
  accuracy on unseen photos.

The cache key hashes this file, the recipe and every input image, so a changed input rebuilds; a cached
bundle that no longer loads (format change) is rebuilt too. Builds go to a temporary folder first and
are renamed into place, so an interrupted build leaves no half bundle.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo"
TRAIN_MANIFEST = DEMO / "train" / "train.csv"
MOBILENET_WEIGHTS = REPO / ".cache" / "weights" / "mobilenet_v2-b0353104.pth"
CACHE = REPO / ".cache" / "test-demo-bundle"
MAKE_DEMO_BUNDLE = REPO / "var" / "demo" / "bundle"  # built by `make demo-bundle` (a prerequisite of `make test`)

TINY_ARGS = ["--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--eval-size", "64",
             "--batch-size", "16", "--threads", "2", "--epochs", "8", "--lr", "1e-2", "--rotation", "10",
             "--no-progress", "--seed", "0"]
TINY_COPIES = 16  # augmented training copies per demo item photo
TINY_VAL_COPIES = 3


def basket_rows() -> list[dict]:
    with open(DEMO / "basket.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def recipe() -> str:
    """The real demo recipe (what ``make demo`` runs; ``make test`` builds it first) when its inputs are there;
    ``CHECKOUT_TEST_DEMO_RECIPE=tiny_cnn`` picks the quick one for a fast edit-test loop."""
    want = os.environ.get("CHECKOUT_TEST_DEMO_RECIPE", "mobilenet_v2")
    if want == "mobilenet_v2" and TRAIN_MANIFEST.is_file() and MOBILENET_WEIGHTS.is_file():
        return "mobilenet_v2"
    return "tiny_cnn"


def _inputs(kind: str) -> list[Path]:
    files = [Path(__file__), DEMO / "basket.csv"] + [DEMO / "camera" / r["frame"] for r in basket_rows()]
    if kind == "mobilenet_v2":
        files += [TRAIN_MANIFEST, TRAIN_MANIFEST.with_name("val.csv"), REPO / "trainer" / "demo.py"]
        for manifest in (TRAIN_MANIFEST, TRAIN_MANIFEST.with_name("val.csv")):
            with open(manifest, newline="") as fh:
                files += sorted((manifest.parent / row["path"]) for row in csv.DictReader(fh))
    return files


def cache_key(kind: str) -> str:
    h = hashlib.sha256(kind.encode())
    for p in _inputs(kind):
        h.update(p.relative_to(REPO).as_posix().encode() if p.is_relative_to(REPO) else str(p).encode())
        h.update(p.read_bytes())
    if kind == "mobilenet_v2":
        st = MOBILENET_WEIGHTS.stat()
        h.update(f"{st.st_size}".encode())
    return h.hexdigest()[:16]


def _augment(image, rng, size: int = 128, identity: bool = False):
    import cv2
    import numpy as np

    if identity:  # the photo as the camera shows it
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    h, w = image.shape[:2]
    scale = rng.uniform(0.75, 1.0)
    ch, cw = int(h * scale), int(w * scale)
    y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
    crop = image[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    m = cv2.getRotationMatrix2D((cw / 2, ch / 2), float(rng.uniform(-15, 15)), 1.0)
    crop = cv2.warpAffine(np.ascontiguousarray(crop), m, (cw, ch), borderMode=cv2.BORDER_REFLECT)
    crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    gain, bias = rng.uniform(0.85, 1.15), rng.uniform(-15, 15)
    return np.clip(crop.astype(np.float32) * gain + bias, 0, 255).astype(np.uint8)


def _tiny_dataset(root: Path) -> tuple[Path, Path]:
    import cv2
    import numpy as np

    rng = np.random.default_rng(2024)
    rows: dict[str, list] = {"train": [], "val": []}
    for r in basket_rows():
        image = cv2.imread(str(DEMO / "camera" / r["frame"]))
        (root / r["sku"]).mkdir(parents=True, exist_ok=True)
        for i in range(TINY_COPIES + TINY_VAL_COPIES):
            name = f"{r['sku']}/{i:03d}.jpg"
            cv2.imwrite(str(root / name), _augment(image, rng, identity=i in (0, 1)), [cv2.IMWRITE_JPEG_QUALITY, 90])
            rows["train" if i < TINY_COPIES else "val"].append((name, r["sku"], r["sku"]))
    out = []
    for split in ("train", "val"):
        path = root / f"{split}.csv"
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["path", "sku", "group"])
            w.writerows(rows[split])
        out.append(path)
    return out[0], out[1]


def _check_recognises_the_basket(bundle: Path) -> None:
    """The demo bill is only right if every basket photo's top-1 is its SKU: refuse a bundle that is not."""
    from kiosk.bundle_format.preprocess import read_image
    from kiosk.recognition.recognizer import Recognizer

    rec = Recognizer.load(bundle)
    try:
        wrong = [(r["sku"], rec.recognize(read_image(DEMO / "camera" / r["frame"])).top.sku) for r in basket_rows()]
    finally:
        rec.close()
    wrong = [(want, got) for want, got in wrong if want != got]
    if wrong:
        raise RuntimeError(f"demo bundle {bundle} misrecognises the demo basket (want, got): {wrong}")


def _loads(bundle: Path) -> bool:
    try:
        from kiosk.bundle_format.bundle import load_bundle

        load_bundle(bundle)
        return True
    except Exception:
        return False


def build_demo_bundle(cache: Path = CACHE, kind: str | None = None) -> Path:
    """The cached demo bundle directory (built first when missing or stale); ``kind`` defaults to :func:`recipe`."""
    from kiosk.cli import main as checkout

    kind = kind or recipe()
    if kind == "mobilenet_v2" and (MAKE_DEMO_BUNDLE / "manifest.json").is_file() and _loads(MAKE_DEMO_BUNDLE):
        # `make test` builds the demo bundle first (the very one `make demo` runs), outside pytest's timeout
        _check_recognises_the_basket(MAKE_DEMO_BUNDLE)
        return MAKE_DEMO_BUNDLE
    out = cache / f"{kind}-{cache_key(kind)}"
    if (out / "manifest.json").is_file() and _loads(out):
        return out
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{kind}-", dir=cache))
    try:
        if kind == "tiny_cnn":
            train, val = _tiny_dataset(work / "data")
            run = work / "run"
            rc = checkout(["train", "--train", str(train), "--val", str(val), "--out", str(run), *TINY_ARGS])
            if rc != 0:
                raise RuntimeError(f"demo bundle: `checkout train` exited {rc}")
            bundle = work / "bundle"
            rc = checkout(["bundle", "export", str(run), "--out", str(bundle), "--model-version", "1"])
            if rc != 0:
                raise RuntimeError(f"demo bundle: `checkout bundle export` exited {rc}")
        else:  # the very recipe `make demo` uses
            from trainer.demo import build_demo_bundle as build_real

            bundle = build_real(work, MOBILENET_WEIGHTS, progress=False, model_version=1)
        _check_recognises_the_basket(bundle)
        for old in cache.glob(f"{kind}-*"):
            shutil.rmtree(old, ignore_errors=True)
        bundle.rename(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
