"""A round of the feedback loop: ready rows become batches at head office exactly once, with a heartbeat."""

from __future__ import annotations

import json

from kiosk.domain.cart import CartLine
from kiosk.exchange.feedback import read_feedback_batch
from kiosk.exchange.heartbeat import correction_rate, read_heartbeat
from kiosk.feedback.loop import FeedbackLoop
from kiosk.feedback.settings import FeedbackSettings
from kiosk.feedback.transports import TransportError
from kiosk.store import LineProvenance, SalesStore
from tests.feedback.test_retention import photo


def sell(store, captures, pid, sku, chooser, shown=("banana", "lemon")):
    prov = LineProvenance(pid, photo(captures, pid, 3000), "banana", (("banana", 0.6), ("lemon", 0.3)), 4, 700, "",
                          shown)
    store.record_placement(prov)
    return store.add_line(CartLine.unit(sku, sku, 1000, 0),
                          LineProvenance(**{**{f: getattr(prov, f) for f in prov.__dataclass_fields__},
                                            "chooser": chooser}))


def make_loop(tmp_path, clock, store, head_office=None, **settings):
    ho = head_office or (tmp_path / "ho")
    ho.mkdir(exist_ok=True)
    s = FeedbackSettings(head_office=ho.as_uri(), outbox=str(tmp_path / "outbox"), **settings)
    stats = {"model_version": 4, "model_description": "v4 · test", "recognitions": 3,
             "update": {"state": "idle", "active_version": 4}}
    return FeedbackLoop(s, store=store, captures=tmp_path / "captures", kiosk_id="K1", store_id="S1", clock=clock,
                        min_free_bytes=0, stats=lambda: stats, monotonic=clock.monotonic)


def received(tmp_path):
    return {p.name: read_feedback_batch(p.read_bytes(), p.name) for p in (tmp_path / "ho").rglob("feedback-*.tar")}


def test_a_closed_sale_reaches_head_office_with_its_crops_and_a_heartbeat(tmp_path, clock):
    store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
    sell(store, tmp_path / "captures", "20261201-100000-aaaa", "lemon", "shopper")
    sell(store, tmp_path / "captures", "20261201-100001-bbbb", "banana", "auto")
    loop = make_loop(tmp_path, clock, store)
    assert loop.run_once().sent == 0  # the sale is open and nothing has settled
    store.pay(store.open_cart().cart_id)
    status = loop.run_once()
    assert status.sent == 1 and status.queued == 0
    (batch,) = received(tmp_path).values()
    by_id = {r["placement_id"]: r for r in batch.records}
    shopper = by_id["20261201-100000-aaaa"]
    assert (shopper["label"], shopper["trust"], shopper["suggestion_rank"], shopper["paid"], shopper["grams"]) == \
        ("lemon", "shopper", 2, True, 700)
    assert batch.files[shopper["image"]].startswith(b"\xff\xd8") and batch.meta["kiosk_id"] == "K1"
    heartbeat = read_heartbeat((tmp_path / "ho/heartbeats/S1/K1.json").read_bytes(), "hb")
    assert heartbeat["model"]["version"] == 4 and heartbeat["counts"]["labelled"] == 2
    assert correction_rate(heartbeat["counts"]) == 0.5 and heartbeat["outbox"]["sent"] == 1
    sale = store.last_sale()
    assert heartbeat["sales"] == {"day": clock().date().isoformat(), "count": 1, "total_paise": sale.total}
    assert json.loads((tmp_path / "outbox/heartbeat.json").read_text())["kiosk_id"] == "K1"
    assert loop.run_once().sent == 1 and len(received(tmp_path)) == 1  # nothing new: nothing sent


def test_a_crash_between_snapshot_and_outbox_makes_the_same_batch(tmp_path, clock):
    store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
    sell(store, tmp_path / "captures", "20261201-100000-aaaa", "lemon", "shopper")
    store.pay(store.open_cart().cart_id)
    loop = make_loop(tmp_path, clock, store)
    ready = store.ready_feedback(int(clock().timestamp()))
    store.begin_pack(ready)  # … and the kiosk died here
    loop.run_once()
    first = received(tmp_path)
    assert len(first) == 1 and store.open_packs() == []
    clock.advance(minutes=5)
    loop.run_once()
    assert received(tmp_path).keys() == first.keys()


def test_an_unreachable_head_office_keeps_everything_for_later(tmp_path, clock):
    store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
    sell(store, tmp_path / "captures", "20261201-100000-aaaa", "lemon", "shopper")
    store.pay(store.open_cart().cart_id)
    loop = make_loop(tmp_path, clock, store)

    class Down:
        url = "https://ho.example"

        def put(self, key, data, *, overwrite=False):
            raise TransportError("https://ho.example: unreachable (timed out)")

    real, loop.outbox.transport = loop.outbox.transport, Down()
    status = loop.run_once()
    assert status.queued == 1 and "unreachable" in status.last_error
    loop.outbox.transport = real
    assert loop.run_once().queued == 0 and len(received(tmp_path)) == 1


def test_without_a_head_office_nothing_is_packed_but_retention_runs(tmp_path, clock):
    store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
    sell(store, tmp_path / "captures", "20261201-100000-aaaa", "lemon", "shopper")
    store.pay(store.open_cart().cart_id)
    s = FeedbackSettings(outbox=str(tmp_path / "outbox"), keep_days=1)
    loop = FeedbackLoop(s, store=store, captures=tmp_path / "captures", kiosk_id="K1", store_id="S1", clock=clock,
                        min_free_bytes=0, monotonic=clock.monotonic)
    assert not loop.sends and loop.run_once().queued == 0 and store.ready_feedback(10**12)
    clock.advance(days=2)
    loop.run_once()
    assert store.feedback("20261201-100000-aaaa") is None
