"""The parts CheckoutService is made of: provenance in the store, photos beside the catalog, weighing events."""

from __future__ import annotations

import json

from kiosk.services import AwaitingWeight, SuggestionsReady, WeighingEnded
from kiosk.services.views import Presenter
from kiosk.store import SalesStore
from tests.services.conftest import place

WEIGHT_ANSWER = [("banana", 0.95), ("granny-smith", 0.03), ("carrots", 0.01)]


def test_suggestion_photos_come_from_the_catalog_folder_wherever_the_program_runs(kit, tmp_path, monkeypatch):
    k = kit()
    monkeypatch.chdir(tmp_path)  # not the checkout: an installed kiosk runs from anywhere
    (hit,) = [s for s in k.service.search("banana") if s.sku == "banana"]
    assert hit.image_path == str(k.catalog_db.parent.resolve() / "images" / "banana.jpg")
    # a path relative to the program's own files (or the working directory) is never used
    views = Presenter(tmp_path / "elsewhere")
    assert views.image_path("assets/demo/products/banana.jpg") == ""
    assert views.image_path(hit.image_path) == hit.image_path  # an absolute path is used as it is


def test_provenance_of_every_line_is_in_the_store_not_a_side_file(kit):
    k = kit(WEIGHT_ANSWER, threshold=0.9)
    k.scale.set_weight(548)
    k.service.poll_scale()
    ready = place(k.service)
    with SalesStore.open(k.config.store) as store:
        p = store.provenance(ready.auto_added_line_id)
    assert (p.placement_id, p.recognised_sku, p.model_version, p.scale_grams, p.chooser) == (
        ready.placement_id, "banana", 1, 548, "auto")
    assert p.top_k[0] == ("banana", 0.95) and p.image_path.endswith(f"{ready.placement_id}.jpg")
    line_id = k.service.choose("oatly-oat-milk")
    assert k.service.line_capture(line_id) == {}  # a search pick has no placement
    assert not (k.tmp_path / "captures" / "index.jsonl").exists()


def test_links_from_the_old_side_file_are_moved_into_the_store_once(kit):
    k = kit()
    line_id = k.service.choose("oatly-oat-milk")  # no placement: no provenance
    k.service.close()
    index = k.tmp_path / "captures" / "index.jsonl"
    index.parent.mkdir(parents=True, exist_ok=True)
    photo = str(index.parent / "20240101" / "old.jpg")
    rec = {"line_id": line_id, "placement_id": "p-old", "image": photo, "recognised_sku": "banana",
           "model_version": 3, "scale_grams": None}
    index.write_text(json.dumps(rec) + "\n" + '{"line_id": "cut sh', encoding="utf-8")  # last line cut by a crash
    again = k.open()
    assert again.line_capture(line_id)["image"] == photo
    assert again.line_capture(line_id)["recognised_sku"] == "banana"


def test_events_say_what_was_auto_added_and_when_weighing_ends(kit):
    k = kit(WEIGHT_ANSWER, threshold=0.9)
    k.scale.set_weight(0)
    k.service.poll_scale()
    feed_ready = place(k.service)
    assert feed_ready.auto_added_sku is None  # waits for the scale
    assert k.of(WeighingEnded) == [WeighingEnded(feed_ready.placement_id, "banana", None)]  # taken away
    pid = feed_ready.placement_id
    k.service.choose("banana", pid)
    assert k.of(AwaitingWeight)[-1].sku == "banana"
    k.scale.set_weight(420)
    k.service.poll_scale()
    (line,) = k.service.cart_view().lines
    assert k.of(WeighingEnded)[-1] == WeighingEnded(pid, "banana", line.line_id) and k.of(WeighingEnded)[-1].weighed
    for grams in (0, 300):  # the bananas taken off (the 420 g load is theirs until the tray is empty), new ones on
        k.scale.set_weight(grams)
        k.service.poll_scale()
    ready = place(k.service, (30, 200, 230))
    assert (ready.auto_added_sku, ready.auto_added_line_id) == ("banana", k.service.cart_view().lines[-1].line_id)
    assert k.of(SuggestionsReady)[-1] == ready
