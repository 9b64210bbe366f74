"""A staff override or correction (``CartKeeper.replace``) is ONE store transaction: the new line, the void of the old
one and their audit rows commit together or not at all. Before, the new line was committed first and the void after:
a kill or a locked database in between left both lines on the bill (a ₹45,000 TV overridden to ₹40,000 billed
₹85,000)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.domain.cart import CartLine
from kiosk.services.cart_lines import CartKeeper
from kiosk.store import SalesStore

REPO = Path(__file__).resolve().parents[2]
TV, TV_NEW = 45_000_00, 40_000_00


def _tv(price: int) -> CartLine:
    return CartLine.unit("tv", "Television 43in", price, 1800)


def _fail_at_void(store: SalesStore, fail) -> None:
    """``fail()`` runs where the old line's void is written (after the new line's insert)."""
    event = store._event

    def patched(c, cart_id, line, kind, *a, **kw):
        if kind == "void":
            fail()
        return event(c, cart_id, line, kind, *a, **kw)

    store._event = patched


def _locked() -> None:
    raise sqlite3.OperationalError("database is locked")


def test_an_error_between_the_new_line_and_the_void_leaves_the_old_line_alone(tmp_path):
    store = SalesStore.open(tmp_path / "k.sqlite", kiosk_id="K1")
    keeper = CartKeeper(store)
    old = keeper.add(_tv(TV))
    _fail_at_void(store, _locked)
    with pytest.raises(sqlite3.OperationalError):
        keeper.replace(old.line_id, _tv(TV_NEW), "201")
    cart = store.open_cart()
    assert [(line.line_id, line.voided) for line in cart.lines] == [(old.line_id, False)]
    assert cart.bill().total == TV and keeper.cart.bill().total == TV
    assert [e["event"] for e in store.line_events(cart.cart_id)] == ["add"]


def test_a_correction_is_committed_with_its_line_or_not_at_all(tmp_path):
    store = SalesStore.open(tmp_path / "k.sqlite", kiosk_id="K1")
    keeper = CartKeeper(store)
    old = keeper.add(_tv(TV))
    _fail_at_void(store, _locked)
    with pytest.raises(sqlite3.OperationalError):
        keeper.replace(old.line_id, _tv(TV_NEW), "201", correction={"recognised_sku": "tv", "corrected_sku": "tv2",
                                                                      "image_path": ""})
    assert store.corrections() == []
    store._event = SalesStore._event.__get__(store)
    new = keeper.replace(old.line_id, _tv(TV_NEW), "201", correction={"recognised_sku": "tv", "corrected_sku": "tv2",
                                                                        "image_path": ""})
    cart = store.open_cart()
    assert cart.bill().total == TV_NEW and new.replaces == old.line_id
    (c,) = store.corrections()
    assert (c.corrected_sku, c.who, c.line_id) == ("tv2", "201", old.line_id)
    kinds = [r["kind"] for r in store.audit_rows()]
    assert kinds[-3:] == ["line.add", "line.void", "staff.correction"]


_CHILD = """
import os, sys
from kiosk.store import SalesStore
from kiosk.services.cart_lines import CartKeeper
from kiosk.domain.cart import CartLine
s = SalesStore.open(sys.argv[1], kiosk_id="K1")
k = CartKeeper(s)
old = k.add(CartLine.unit("tv", "Television 43in", 4500000, 1800))
event = s._event
def killed(c, cart_id, line, kind, *a, **kw):
    if kind == "void":
        os.kill(os.getpid(), 9)  # SIGKILL after the new line's insert, before the void
    return event(c, cart_id, line, kind, *a, **kw)
s._event = killed
k.replace(old.line_id, CartLine.unit("tv", "Television 43in", 4000000, 1800), "201")
"""


def test_a_sigkill_in_the_middle_of_an_override_bills_the_old_line_once(tmp_path):
    db = tmp_path / "k.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", _CHILD, str(db)], capture_output=True, text=True, env=env,
                         timeout=60, cwd=REPO)
    assert run.returncode == -9, run.stderr
    store = SalesStore.open(db, kiosk_id="K1")
    cart = store.open_cart()
    assert [(line.unit_price, line.voided) for line in cart.lines] == [(TV, False)]
    sale = store.pay(cart.cart_id, method="card")
    assert sale.total == TV

