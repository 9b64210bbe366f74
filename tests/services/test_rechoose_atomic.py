"""A shopper's second choice for the same placement is one store transaction with the first line's removal (a kill or
a locked database in between left neither line on the bill)."""

from __future__ import annotations

import sqlite3

import pytest

from tests.services.conftest import place


def test_a_shoppers_second_choice_removes_the_first_line_only_with_the_new_one(kit):
    """Tapping another suggestion of the same placement: the first line's removal and the new line are one
    transaction (before, the removal was committed first: a failure or kill in between left neither on the bill)."""
    k = kit([("oatly-oat-milk", 0.6), ("arla-standard-milk", 0.3)])
    ready = place(k.service, (40, 40, 220))
    first = k.service.choose("oatly-oat-milk", ready.placement_id)
    store = k.service.store
    event = store._event

    def locked_at_add(c, cart_id, line, kind, *a, **kw):
        if kind == "add":
            raise sqlite3.OperationalError("database is locked")
        return event(c, cart_id, line, kind, *a, **kw)

    store._event = locked_at_add
    with pytest.raises(sqlite3.OperationalError):
        k.service.choose("arla-standard-milk", ready.placement_id)
    assert [(x.line_id, x.sku) for x in store.open_cart().lines] == [(first, "oatly-oat-milk")]
    assert [x.line_id for x in k.service.cart_view().lines] == [first]
    store._event = event
    other = k.service.choose("arla-standard-milk", ready.placement_id)
    assert [(x.line_id, x.sku) for x in store.open_cart().lines] == [(other, "arla-standard-milk")]
    events = [(e["line_id"], e["event"]) for e in store.line_events(store.open_cart().cart_id)]
    assert events == [(first, "add"), (first, "remove"), (other, "add")]
