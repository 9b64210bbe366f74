"""Child process for test_crash.py: edits the kiosk store in a loop until it is SIGKILLed.

Protocol on stdout (one line each, flushed): an intent line BEFORE the call, a result line
only AFTER the call returned (i.e. after the commit):

    ADDING                      SHOWN <line_id> <sku> <total>
    REMOVING <line_id>          REMOVED <line_id>
    PAYING <cart_id>            PAID <cart_id> <receipt_no> <total>

usage: crash_child.py DB SEED lines|pay
"""

import random
import sys

from kiosk.store import SalesStore

PRODUCTS = [("arla-standard-milk", "Arla Standard Milk 1 l", 7200, 0, None),
            ("bravo-apple-juice", "Bravo Apple Juice 2 l", 25000, 1200, None),
            ("arla-natural-yoghurt", "Arla Natural Yoghurt 1 l", 16000, 500, None),
            ("banana", "Banana", 6950, 0, "weight"),
            ("granny-smith", "Granny Smith Apple", 26000, 0, "weight")]


def say(*parts):
    # one write call per line: with PYTHONUNBUFFERED print() would write the pieces separately
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


def add(store, rng):
    sku, name, price, gst, kind = rng.choice(PRODUCTS)
    say("ADDING")
    if kind == "weight":
        line = store.add_weighed(sku, name, price, gst, rng.randint(1, 3000))
    else:
        line = store.add_unit(sku, name, price, gst, rng.randint(1, 5))
    say("SHOWN", line.line_id, line.sku, line.total)
    return line


def lines_mode(store, rng):
    shown = [line.line_id for line in store.open_cart().lines]
    while True:
        if shown and rng.random() < 0.35:
            victim = shown.pop(rng.randrange(len(shown)))
            say("REMOVING", victim)
            store.remove_line(victim)
            say("REMOVED", victim)
        else:
            shown.append(add(store, rng).line_id)


def pay_mode(store, rng):
    while True:
        cart = store.open_cart()
        for _ in range(rng.randint(1, 3) - len(cart.lines)):
            add(store, rng)
        say("PAYING", cart.cart_id)
        sale = store.pay(cart.cart_id, method="cash")
        say("PAID", cart.cart_id, sale.receipt_no, sale.total)


def main():
    db, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    store = SalesStore.open(db)
    say("READY")
    rng = random.Random(seed)
    (lines_mode if mode == "lines" else pay_mode)(store, rng)


if __name__ == "__main__":
    main()
