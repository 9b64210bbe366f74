"""Child process for test_upload_crash.py: a kiosk that sells, packs feedback and uploads it, until SIGKILLed.

Protocol on stdout (one line each, flushed): ``READY``, then per round ``SOLD <n>`` (placements sold), ``PACK``
(packing batches), ``DRAIN`` (uploading), ``ROUND``; with ``finish`` it packs and drains once and prints ``DONE``.

usage: upload_child.py DB CAPTURES OUTBOX HEAD_OFFICE SEED run|finish
"""

import random
import sys
from datetime import datetime, timezone
from pathlib import Path

from kiosk.domain.cart import CartLine
from kiosk.feedback.outbox import Outbox
from kiosk.feedback.packer import FeedbackPacker
from kiosk.feedback.transports import open_transport
from kiosk.store import LineProvenance, SalesStore

SKUS = ["banana", "lemon", "granny-smith", "arla-standard-milk", "oatly-oat-milk"]


def say(*parts):
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


def sell(store, captures: Path, rng: random.Random) -> int:
    n = rng.randint(1, 4)
    for _ in range(n):
        pid = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{rng.getrandbits(48):012x}"
        photo = captures / pid[:8] / f"{pid}.jpg"
        photo.parent.mkdir(parents=True, exist_ok=True)
        photo.write_bytes(rng.randbytes(rng.randint(20_000, 120_000)))
        shown = tuple(rng.sample(SKUS, 3))
        prov = LineProvenance(pid, str(photo), shown[0], tuple((s, 0.5) for s in shown), 7, rng.randint(1, 900), "",
                              shown)
        store.record_placement(prov)
        sku = rng.choice(shown)
        store.add_line(CartLine.unit(sku, sku, 1000, 0), LineProvenance(*[getattr(prov, f) for f in (
            "placement_id", "image_path", "recognised_sku", "top_k", "model_version", "scale_grams")],
            rng.choice(["auto", "shopper", "staff"]), shown))
    store.pay(store.open_cart().cart_id)
    return n


def main():
    db, captures, outbox_dir, head_office, seed, mode = sys.argv[1:7]
    store = SalesStore.open(db, kiosk_id="K1")
    clock = lambda: datetime.now(timezone.utc)  # noqa: E731
    outbox = Outbox(outbox_dir, open_transport(head_office, timeout_s=10), store_id="S1", kiosk_id="K1",
                    max_bytes=1 << 40, max_age_s=1e9, clock=clock)
    packer = FeedbackPacker(store, outbox, kiosk_id="K1", store_id="S1", settle_s=0, batch_records=3, clock=clock)
    rng = random.Random(int(seed))
    say("READY")
    if mode == "finish":
        packer.pack()
        outbox.drain()
        say("DONE", outbox.status().queued)
        return
    while True:
        say("SOLD", sell(store, Path(captures), rng))
        say("PACK")
        packer.pack()
        say("DRAIN")
        outbox.drain()
        say("ROUND")


if __name__ == "__main__":
    main()
