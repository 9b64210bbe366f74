"""A legacy ``captures/index.jsonl`` with values no record ever held (probe-camera finding 7): a list where the grams
belong stopped the kiosk starting ("catalog.sqlite, k.sqlite: Error binding parameter 7", exit 2). Each bad line is
skipped with a warning naming file:line; the good ones are still restored."""

from __future__ import annotations

import json
import logging

import pytest

from kiosk.services.captures import LEGACY_INDEX, CaptureFolder
from kiosk.store import SalesStore


class Cart:
    def __init__(self, lines):
        self.all_lines = lines


@pytest.mark.parametrize("field, value", [("scale_grams", [1, 2]), ("recognised_sku", {"a": 1}),
                                          ("model_version", 2**70), ("scale_grams", True), ("placement_id", 7),
                                          ("image", "../../../etc/passwd"), ("image", "/etc/passwd")])
def test_a_bad_legacy_record_is_skipped_naming_its_line(tmp_path, caplog, field, value):
    captures = tmp_path / "captures"
    captures.mkdir()
    store = SalesStore.open(tmp_path / "k.sqlite")
    try:
        bad = store.add_unit("oatly-oat-milk", "Oatly Oat Milk 1 l", 27500, 1800)
        good = store.add_unit("banana", "Banana", 4000, 0)
        photo = str(captures / "20240101" / "p2.jpg")
        records = [{"line_id": bad.line_id, "placement_id": "p1", "image": str(captures / "p1.jpg"),
                    "recognised_sku": "oatly-oat-milk", "model_version": 1, "scale_grams": 1062, field: value},
                   {"line_id": good.line_id, "placement_id": "p2", "image": photo, "recognised_sku": "banana",
                    "model_version": 1, "scale_grams": 420}]
        (captures / LEGACY_INDEX).write_text("".join(json.dumps(r) + "\n" for r in records))
        caplog.set_level(logging.WARNING)
        assert CaptureFolder(captures, emit=lambda *a: None).restore_provenance(store, Cart([bad, good])) == 1
        assert store.provenance(bad.line_id) is None
        assert store.provenance(good.line_id).image_path == photo
    finally:
        store.close()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert f"{captures / LEGACY_INDEX}:1: " in warning and field in warning
