"""A head office with seeded data, as the kiosks of three stores would have sent it: feedback batches over four weeks
(one SKU at one store drifts in the last week: new packaging, say), products staff taught, heartbeats, audit batches
from real kiosk stores (keys enrolled; one forged batch, one kiosk wiped and started again) and a channel with a staged
release.

Used by the head-office tests and by ``tools/headoffice_screenshots.py`` (the screenshots in docs/)."""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.exchange import batch_key, write_batch
from kiosk.exchange.audit import KIND as AUDIT
from kiosk.exchange.audit import content_hash, mac_of
from tests.trainer.fleet.stores import put_heartbeat

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
SKUS = ["banana", "granny-smith", "arla-standard-milk", "oatly-oat-milk", "bravo-apple-juice", "lemon", "carrots",
        "cucumber"]
LOOKALIKE = {"banana": "lemon", "granny-smith": "lemon", "arla-standard-milk": "oatly-oat-milk",
             "oatly-oat-milk": "arla-standard-milk", "bravo-apple-juice": "arla-standard-milk", "lemon": "banana",
             "carrots": "cucumber", "cucumber": "carrots"}
KIOSKS = {"BLR-0042": ("K1", "K2"), "BLR-0107": ("K1",), "MYS-0003": ("K1",)}
DRIFTING = ("BLR-0042", "oatly-oat-milk")


@dataclass
class SeededHeadOffice:
    root: Path  # where the kiosks upload (feedback/, audit/, heartbeats/)
    keys: Path  # enrolled audit keys
    channel: Path
    users: Path
    catalog: Path  # head office's catalog: the seeded SKUs, not the ones stores taught
    password: str = "correct horse battery"


def _placement(rng: random.Random, n: int, store: str, kiosk: str, sku: str, when: datetime, rate: float) -> dict:
    right = rng.random() >= rate
    wrong, other = LOOKALIKE[sku], rng.choice([s for s in SKUS if s not in (sku, LOOKALIKE[sku])])
    top = [sku, wrong, other] if right else [wrong, sku, other] if rng.random() < 0.75 else [wrong, other, "carrots"]
    if right:
        chooser, rank, score = ("auto", None, 0.97) if rng.random() < 0.55 else ("shopper", 1, 0.8)
    elif sku in top:
        chooser, rank, score = "shopper", top.index(sku) + 1, 0.55
    else:
        chooser, rank, score = rng.choice([("search", None, 0.5), ("staff", None, 0.5)])
    took = 0 if chooser == "auto" else rng.uniform(1.5, 9.0) + (0 if right else 4)
    pid = f"{when:%Y%m%d-%H%M%S}-{store[-2:]}{kiosk}{n:05d}"
    trust = {"search": "shopper"}.get(chooser, chooser)
    return {"placement_id": pid, "revision": 2, "placed_at": when.isoformat(),
            "updated_at": (when + timedelta(seconds=took)).isoformat(), "image": "",
            "top_k": [[s, round(score if i == 0 else (1 - score) / (i + 1), 3)] for i, s in enumerate(top)],
            "recognised_sku": top[0], "model_version": 3, "grams": None, "chooser": chooser,
            "suggestion_rank": rank, "label": sku, "trust": trust, "line_id": None, "paid": True}


def seed_feedback(root: Path, *, seed: int = 7, days: int = 28, per_day: int = 40) -> int:
    """Four weeks of placements per kiosk, one batch a day; returns how many placements."""
    rng = random.Random(seed)
    total = 0
    for store, kiosks in KIOSKS.items():
        for kiosk in kiosks:
            for day in range(days):
                start = NOW - timedelta(days=days - day)
                records = []
                for i in range(per_day):
                    sku = SKUS[(i * 3 + day) % len(SKUS)]
                    rate = 0.04 + 0.03 * (sku in ("granny-smith", "lemon"))
                    if (store, sku) == DRIFTING and day >= days - 7:
                        rate = 0.45  # new packaging: the model no longer knows it
                    records.append(_placement(rng, total + i, store, kiosk, sku,
                                              start + timedelta(minutes=8 * i + rng.randint(0, 5)), rate))
                name, data = write_batch("feedback", {"kiosk_id": kiosk, "store_id": store}, records)
                path = root / batch_key("feedback", store, kiosk, name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                total += len(records)
    return total


def _heartbeats(root: Path) -> None:
    now = datetime.now(timezone.utc)  # staleness is judged against the clock the dashboard reads
    day = now.date().isoformat()
    put_heartbeat(root, "BLR-0042", "K1", at=now - timedelta(minutes=3), version=3, placements=280, labelled=280,
                  corrected=31, corrections=6, sales=(day, 37, 1234600))
    put_heartbeat(root, "BLR-0042", "K2", at=now - timedelta(minutes=7), version=3, placements=270, labelled=270,
                  corrected=28, corrections=4, sales=(day, 29, 987450))
    put_heartbeat(root, "BLR-0107", "K1", at=now - timedelta(minutes=2), version=2, placements=260, labelled=258,
                  corrected=12, state="downloading", available=3)
    put_heartbeat(root, "MYS-0003", "K1", at=now - timedelta(hours=5), version=2, placements=240, labelled=240,
                  corrected=10, state="error", error="head office unreachable")


def _channel(path: Path) -> None:
    """An index with one group and its release's archive (only its manifest.json: the labels it knows)."""
    import io
    import tarfile

    (path / "bundles").mkdir(parents=True, exist_ok=True)
    manifest = json.dumps({"labels": SKUS}).encode()
    with tarfile.open(path / "bundles" / "v000003-x.tar", "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    index = {"signed": {"type": "channel-index", "version": 4, "created_at": "2026-11-28T09:00:00Z",
                        "expires_at": "2026-12-28T09:00:00Z",
                        "groups": {"default": {"model_version": 3, "archive": "bundles/v000003-x.tar", "sha256": "-",
                                               "size": 1, "rollout_percent": 100,
                                               "published_at": "2026-11-28T09:00:00Z"}}},
             "signatures": []}
    (path / "index.json").write_text(json.dumps(index))


#: the catalog rows the kiosks sent with their enrollments (CSV text); the oldest avocado enrollment sent none
PRODUCTS = {"avocado": {"sku": "avocado", "name": "Hass Avocado", "group": "Fruit", "sold_by": "unit",
                        "price_paise": "12000", "gst_percent": "0", "hsn": "0804", "active": "1"},
            "garlic": {"sku": "garlic", "name": "Garlic", "group": "Vegetables", "sold_by": "weight",
                       "price_paise": "24000", "gst_percent": "0", "hsn": "0703", "active": "1"},
            "banana": {"sku": "banana", "name": "Banana", "group": "Fruit", "sold_by": "weight",
                       "price_paise": "6950", "gst_percent": "0", "hsn": "0803", "active": "1"}}
#: (store, kiosk, enrollment id, SKU, demo photo folder, photos, staff, days ago, withdrawn)
TAUGHT = [("BLR-0042", "K1", 1, "avocado", "avocado", 6, "101", 9, False),
          ("BLR-0107", "K1", 1, "avocado", "avocado", 5, "207", 4, False),
          ("MYS-0003", "K1", 1, "garlic", "garlic", 4, "311", 2, True),
          ("BLR-0042", "K2", 1, "banana", "banana", 3, "102", 1, False)]  # taught again: the release knows it


def _photo(folder: str, n: int) -> bytes:
    import cv2

    from tests.conftest import REPO

    files = sorted((REPO / "assets" / "demo" / "train" / folder).glob("*.jpg"))
    image = cv2.imread(str(files[n % len(files)]))
    image = cv2.resize(image, (160, 160), interpolation=cv2.INTER_AREA)
    return cv2.imencode(".png", image)[1].tobytes()


def seed_enrollments(root: Path) -> None:
    """Products staff taught at the kiosks, as their enrollment packers sent them (one batch each)."""
    import hashlib

    from kiosk.exchange.enrollment import KIND as ENROLLMENT
    from kiosk.exchange.enrollment import photo_member

    for k, (store, kiosk, eid, sku, folder, n, staff, days, withdrawn) in enumerate(TAUGHT):
        records, files = [], {}
        for i in range(n):
            data = _photo(folder, i + 3 * k)  # each kiosk its own shots
            sha = hashlib.sha256(data).hexdigest()
            files[photo_member(eid, sha)] = data
            records.append({"image": photo_member(eid, sha), "sha256": sha, "sharpness": 400.0 + i})
        at = NOW - timedelta(days=days)
        meta = {"kiosk_id": kiosk, "store_id": store, "enrollment_id": eid, "sku": sku, "created_at": at.isoformat(),
                "staff": staff, "source": "teach-screen", "refused": 1,
                "withdrawn_at": (at + timedelta(hours=2)).isoformat() if withdrawn else None}
        if k:  # the first kiosk taught before kiosks sent the catalog row
            meta["product"] = PRODUCTS[sku]
        name, data = write_batch(ENROLLMENT, meta, records, files)
        path = root / batch_key(ENROLLMENT, store, kiosk, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


class _Outbox:
    """An outbox that puts each batch straight where the directory transport would."""

    def __init__(self, root: Path, store: str, kiosk: str) -> None:
        self.root, self.store, self.kiosk = root, store, kiosk

    def put(self, name: str, data: bytes) -> None:
        path = self.root / batch_key(AUDIT, self.store, self.kiosk, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def kiosk_audit(root: Path, keys: Path, work: Path, store: str, kiosk: str, sales: int = 3, *,
                clock=None) -> Path:
    """A real kiosk store with a few sales; its audit rows packed into ``root`` and its key enrolled."""
    from kiosk.audit.packer import AuditPacker
    from kiosk.store import SalesStore
    from trainer.headoffice.audit_status import enroll_key

    db = work / f"{store}-{kiosk}.sqlite"
    with SalesStore.open(db, kiosk_id=kiosk, **({"clock": clock} if clock else {})) as s:
        for n in range(sales):
            s.add_unit("arla-standard-milk", "Arla Milk 1 l", 7200, 0, 1 + n % 2)
            sale = s.pay(s.open_cart().cart_id)
            s.mark_receipt_shown(sale.receipt_no)
        AuditPacker(s, _Outbox(root, store, kiosk), kiosk_id=kiosk, store_id=store, batch_rows=6).pack()
        enroll_key(keys, store, kiosk, s.audit_key_path.read_text())
    return db


def forge_audit_batch(root: Path, store: str, kiosk: str, after: dict) -> Path:
    """A batch someone made without the kiosk's key: right shape, right chain, a MAC under another key."""
    row = {"seq": after["seq"] + 1, "at": after["at"], "kind": "sale.closed", "actor": "kiosk",
           "detail": {"receipt_no": f"{kiosk}-999999", "total": 1}, "prev": after["hash"]}
    row["hash"] = content_hash(row)
    row["mac"], row["key_id"] = mac_of(secrets.token_bytes(32), row["hash"]), after["key_id"]
    name, data = write_batch(AUDIT, {"kiosk_id": kiosk, "store_id": store, "first_seq": row["seq"],
                                     "last_seq": row["seq"]}, [row])
    path = root / batch_key(AUDIT, store, kiosk, name)
    path.write_bytes(data)
    return path


def seed_audit(root: Path, keys: Path, work: Path) -> None:
    """Every kiosk's audit batches; BLR-0107/K1 also got a forged batch, MYS-0003/K1 was wiped and began again."""
    from kiosk.store import SalesStore

    for store, kiosks in KIOSKS.items():
        for kiosk in kiosks:
            db = kiosk_audit(root, keys, work, store, kiosk)
            if (store, kiosk) == ("BLR-0107", "K1"):
                with SalesStore.open(db, kiosk_id=kiosk) as s:
                    forge_audit_batch(root, store, kiosk, s.audit_rows()[-1])
    wiped = work / "wiped"
    wiped.mkdir(exist_ok=True)
    db = work / "MYS-0003-K1.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    (work / "MYS-0003-K1.audit-key.head").unlink()  # its witness too: a kiosk refuses a log behind its witness
    kiosk_audit(root, keys, work, "MYS-0003", "K1", sales=1)  # same key file, a new database: the log restarts


def _catalog(path: Path) -> None:
    """Head office's catalog: the demo catalog's rows of the seeded SKUs only."""
    import csv

    from catalog.csv_io import import_csv
    from catalog.repository import Catalog
    from tests.conftest import REPO

    lines = [x for x in (REPO / "assets" / "demo" / "catalog.csv").read_text().splitlines() if not x.startswith("#")]
    rows = [r | {"image": ""} for r in csv.DictReader(lines) if r["sku"] in SKUS]  # no photos beside it
    src = path.with_suffix(".csv")
    with src.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with Catalog.open(path) as cat:
        import_csv(cat, src)


def seed(base: Path, *, seed: int = 7) -> SeededHeadOffice:
    from trainer.headoffice.users import Users

    ho = SeededHeadOffice(base / "head-office", base / "audit-keys", base / "channel", base / "users.json",
                          base / "catalog.sqlite")
    _catalog(ho.catalog)
    ho.root.mkdir(parents=True, exist_ok=True)
    seed_feedback(ho.root, seed=seed)
    seed_enrollments(ho.root)
    _heartbeats(ho.root)
    _channel(ho.channel)
    work = base / "kiosks"
    work.mkdir(exist_ok=True)
    seed_audit(ho.root, ho.keys, work)
    Users(ho.users).add("meera", ho.password)
    return ho
