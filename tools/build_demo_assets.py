"""Copy what the demo needs from the shared grocery-store dataset into assets/demo/ (run once by a developer).

- ``assets/demo/products/<sku>.jpg``: every product's iconic catalogue photo, shrunk for the UI buttons.
- ``assets/demo/train/<sku>/NNN.jpg`` + ``train.csv`` / ``val.csv``: a few *training-split* photos of the demo
  SKUs (resized to 256 px, which is all the demo model sees), for ``make demo`` to fit its model on.
The demo camera replays *val* photos (see camera/), so the demo never recognises a photo it was trained on.

    .venv/bin/python tools/build_demo_assets.py ../shared/datasets/grocery-store
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
# the basket's nine items and the products a shopper could confuse them with
DEMO_SKUS = [
    "banana", "granny-smith", "golden-delicious", "pink-lady", "royal-gala", "satsumas", "orange", "lemon",
    "lime", "avocado", "kiwi", "yellow-onion", "garlic", "carrots", "regular-tomato", "red-bell-pepper",
    "floury-potato", "oatly-oat-milk", "arla-standard-milk", "arla-medium-fat-milk", "god-morgon-orange-juice",
    "god-morgon-apple-juice", "tropicana-apple-juice", "arla-natural-yoghurt",
]
TRAIN_PER_SKU, VAL_PER_SKU, SIZE = 24, 3, 256


def shrink(src: Path, dst: Path, size: int, quality: int = 90) -> None:
    im = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if im is None:
        raise SystemExit(f"{src}: cannot decode")
    h, w = im.shape[:2]
    s = size / min(h, w)
    if s < 1:
        im = cv2.resize(im, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    dst.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(dst), im, [cv2.IMWRITE_JPEG_QUALITY, quality])


def main(src: Path, out: Path = DEMO, train_per_sku: int = TRAIN_PER_SKU) -> None:
    classes = list(csv.reader(open(src / "classes.csv")))[1:]
    by_sku = {row[0].lower(): row for row in classes}
    for sku, row in by_sku.items():
        shrink(src / row[4].lstrip("/"), out / "products" / f"{sku}.jpg", 160, 85)
    fine_to_sku = {int(row[1]): row[0].lower() for row in classes}
    photos: dict[str, list[str]] = {}
    for line in open(src / "train.txt"):
        path, fine, _ = [x.strip() for x in line.split(",")]
        photos.setdefault(fine_to_sku[int(fine)], []).append(path)
    rows = {"train": [], "val": []}
    for sku in DEMO_SKUS:
        group = by_sku[sku][2].lower()
        chosen = sorted(photos[sku])
        # the val photos are the last few of the evenly spaced picks, so they never move into train
        step = max(1, len(chosen) // (train_per_sku + VAL_PER_SKU))
        picked = chosen[::step][: train_per_sku + VAL_PER_SKU]
        n_train = len(picked) - VAL_PER_SKU
        for i, rel in enumerate(picked):
            name = f"{sku}/{i:03d}.jpg"
            shrink(src / rel, out / "train" / name, SIZE)
            rows["train" if i < n_train else "val"].append((name, sku, group))
    for split, items in rows.items():
        with open(out / "train" / f"{split}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["path", "sku", "group"])
            w.writerows(items)
    print(f"{len(by_sku)} product photos, {len(rows['train'])} train + {len(rows['val'])} val photos of "
          f"{len(DEMO_SKUS)} SKUs written under {out}")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", nargs="?", type=Path, default=REPO.parent / "shared" / "datasets" / "grocery-store")
    ap.add_argument("--out", type=Path, default=DEMO, help="demo assets folder (default: %(default)s)")
    ap.add_argument("--train-per-sku", type=int, default=TRAIN_PER_SKU,
                    help="training photos per SKU (default: %(default)s)")
    a = ap.parse_args()
    main(a.src, a.out, a.train_per_sku)
