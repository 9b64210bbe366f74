"""Child process for test_payment_crash.py: the real checkout service selling and paying in a loop until SIGKILLed.

It prints a marker (one flushed line) at each step of a payment and then pauses a moment, so the parent can kill it
in that window:

    READY <completed at start> <cancelled at start>   the service is open (recovery done)
    SHOWN <receipt_no>                                 a receipt reached the screen (SaleClosed)
    PAYING <cart_id>                                   the shopper tapped Pay (no intent yet)
    INTENT <cart_id> <key>                             the payment intent is committed; the terminal is not asked yet
    APPROVED <cart_id> <approval>                      the terminal approved; the kiosk has not stored it yet
    STORED <cart_id>                                   the approval is committed; the sale is not
    COMMITTED <cart_id> <receipt_no>                   the sale is committed; its receipt is not shown yet

usage: payment_child.py WORKDIR SEED run|settle
"""

import random
import sys
import time
from pathlib import Path

from kiosk.bundles.active import ActiveModel
from kiosk.config import KioskConfig
from kiosk.payments.simulator import Terminal
from kiosk.scale import SimulatedScale
from kiosk.services import CheckoutService, SaleClosed, open_catalog
from kiosk.store import SalesStore

SKUS = ["milk-500", "curd-400", "bread-400"]
PAUSE_S = 0.03


def say(*parts) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


class MarkingTerminal(Terminal):
    def charge(self, request):
        reply = super().charge(request)
        say("APPROVED", request.reference, reply.approval_ref)
        time.sleep(PAUSE_S)
        return reply


class MarkingStore(SalesStore):
    def begin_payment(self, cart_id, amount, method, terminal):
        intent = super().begin_payment(cart_id, amount, method, terminal)
        say("INTENT", cart_id, intent.idempotency_key)
        time.sleep(PAUSE_S)
        return intent

    def record_approval(self, key, approval_ref):
        intent = super().record_approval(key, approval_ref)
        say("STORED", intent.cart_id)
        time.sleep(PAUSE_S)
        return intent

    def complete_payment(self, key):
        sale = super().complete_payment(key)
        say("COMMITTED", sale.cart_id, sale.receipt_no)
        time.sleep(PAUSE_S)
        return sale


def main() -> None:
    work, seed, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    config = KioskConfig(store=str(work / "sales.sqlite"), captures=str(work / "captures"),
                         catalog=str(work / "catalog.sqlite"), kiosk_id="K1")
    store = MarkingStore.open(config.store, kiosk_id="K1", store_info=config.store_info)
    service = CheckoutService(config, catalog=open_catalog(config.catalog), store=store,
                              recognizer_holder=ActiveModel(None), scale=SimulatedScale(0),
                              terminal=MarkingTerminal(work / "terminal.sqlite"))
    service.add_listener(lambda e: say("SHOWN", e.receipt.receipt_no) if isinstance(e, SaleClosed) else None)
    say("READY", len(service.recovered.completed), service.recovered.cancelled)
    service.announce()  # the window connects: a receipt committed before the crash is shown now
    if mode == "settle":
        say("DONE")
        service.close()
        return
    while True:
        if not service.cart.lines:
            for _ in range(rng.randint(1, 3)):
                service.choose(rng.choice(SKUS))
        say("PAYING", service.cart.cart_id)
        time.sleep(PAUSE_S)
        service.pay("card")


if __name__ == "__main__":
    main()
