"""What staff change from the Teach page -- a catalog row (a price the till will charge), a product taught, an
enrollment withdrawn (what the recogniser suggests) -- and the till's audit log (probe audit-gaps): each change was
committed in its own file (the catalog, the gallery) and its row (``staff.catalog_add``, ``staff.teach``,
``staff.teach_withdrawn``) written after, in the sales file, so a kiosk stopped between the two kept the change
with no row saying who made it.

Now the row is committed inside the change's own open transaction, as its last step: a row that cannot be written
rolls the change back, and only a stop during the other file's very commit can leave a row without its change --
never a change without its row. The real service, catalog, gallery and demo model.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from tests.services.conftest import PIN, Clock
from tests.services.test_staff_line_changes import _fail_on

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "var" / "demo" / "bundle"  # `make demo-bundle`: it exports embeddings
FIELDS = {"sku": "mango-alphonso", "name": "Alphonso mango", "price_paise": "4550", "sold_by": "unit",
          "gst_percent": "5", "hsn": "0804"}


@pytest.fixture
def till(tmp_path):
    from catalog.csv_io import import_csv
    from catalog.repository import Catalog
    from kiosk.bundles.active import ActiveModel
    from kiosk.config import KioskConfig
    from kiosk.recognition.recognizer import Recognizer
    from kiosk.services.checkout import CheckoutService, open_catalog
    from kiosk.services.teaching import open_gallery
    from kiosk.store import SalesStore
    from tests.services.conftest import PIN_HASH

    db = tmp_path / "catalog.sqlite"
    with Catalog.open(db) as cat:
        import_csv(cat, REPO / "assets" / "demo" / "catalog.csv")
    config = KioskConfig(catalog=str(db), store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                         gallery=str(tmp_path / "gallery"), staff_pin_hash=PIN_HASH, weight_check=False,
                         weight_rerank=False)
    store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, clock=Clock())
    service = CheckoutService(config, catalog=open_catalog(db), store=store, scale=None, clock=Clock(),
                              recognizer_holder=ActiveModel(Recognizer.load(BUNDLE, threads=1)),
                              gallery=open_gallery(config.gallery))
    assert service.teaching.available is None and service.staff_unlock(PIN)
    yield service
    service.close()


def frames() -> list:
    return [cv2.imread(str(p)) for p in sorted((REPO / "assets" / "demo" / "train" / "banana").glob("*.jpg"))[:8]]


def rows(service, kind: str) -> list[tuple[str, dict]]:
    return [(r["actor"], r["detail"]) for r in service.store.audit_rows() if r["kind"] == kind]


def test_a_catalog_row_is_made_with_its_row_or_not_at_all(till):
    _fail_on(till.store, "staff.catalog_add")
    with pytest.raises(RuntimeError, match="killed"):
        till.teaching.create_sku(FIELDS)
    assert till.catalog.find("mango-alphonso") is None and rows(till, "staff.catalog_add") == []
    till.store._append = type(till.store)._append.__get__(till.store)
    assert till.teaching.create_sku(FIELDS) == "mango-alphonso"
    (actor, detail), = rows(till, "staff.catalog_add")
    assert (actor, detail["sku"], detail["price_paise"]) == ("staff", "mango-alphonso", 4550)


def test_a_product_is_taught_with_its_row_or_not_at_all(till):
    _fail_on(till.store, "staff.teach")
    with pytest.raises(RuntimeError, match="killed"):
        till.teaching.teach("banana", frames())
    assert till.teaching.enrolled() == [] and till.teaching.gallery.enrollments(active_only=False) == []
    till.store._append = type(till.store)._append.__get__(till.store)
    result = till.teaching.teach("banana", frames())
    (actor, detail), = rows(till, "staff.teach")
    assert (actor, detail["sku"], detail["enrollment"]) == ("staff", "banana", result.enrollment.enrollment_id)
    assert detail["photos"] == result.enrollment.photos and till.teaching.enrolled() == ["banana"]


def test_an_enrollment_is_withdrawn_with_its_row_or_not_at_all(till):
    till.teaching.teach("banana", frames())
    _fail_on(till.store, "staff.teach_withdrawn")
    with pytest.raises(RuntimeError, match="killed"):
        till.teaching.forget("banana")
    assert till.teaching.enrolled() == ["banana"] and rows(till, "staff.teach_withdrawn") == []
    till.store._append = type(till.store)._append.__get__(till.store)
    assert till.teaching.forget("banana") == 1
    assert till.teaching.enrolled() == [] and [d["enrollments"] for _, d in rows(till, "staff.teach_withdrawn")] == [1]


def test_the_row_is_committed_inside_the_changes_transaction(till):
    """When the row is written the change is there but not committed: the catalog's and the gallery's own
    connections hold it, another reader does not see it yet."""
    import sqlite3

    seen = []
    real = type(till.store)._append

    def append(self, c, kind, actor, detail):
        if kind in ("staff.catalog_add", "staff.teach"):
            with sqlite3.connect(till.config.catalog) as cat, \
                    sqlite3.connect(Path(till.config.gallery) / "gallery.sqlite") as gallery:
                seen.append((kind, cat.execute("SELECT count(*) FROM skus WHERE sku = 'mango-alphonso'").fetchone()[0],
                             gallery.execute("SELECT count(*) FROM enrollments").fetchone()[0]))
        return real(self, c, kind, actor, detail)

    till.store._append = append.__get__(till.store)
    till.teaching.create_sku(FIELDS)
    till.teaching.teach("banana", frames())
    assert seen == [("staff.catalog_add", 0, 0), ("staff.teach", 1, 0)]


def test_audit_verify_holds_staff_teach_rows_against_the_gallery(till, capsys):
    """With the kiosk's gallery (``--gallery``, or ``gallery`` of ``--config``): an enrollment made at the staff
    screen after the log began auditing teaching has its staff.teach row, and each such row its enrollment."""
    import numpy as np

    from kiosk.cli import main

    first = till.teaching.teach("banana", frames()).enrollment.enrollment_id
    verify = ["audit", "verify", "--store", till.config.store, "--gallery", till.config.gallery]
    assert main(verify) == 0, capsys.readouterr().out
    gallery = till.teaching.gallery
    cut = gallery.add("lime", [b"lime photo"], np.zeros((1, 4), np.float32), "fk", staff="staff",
                      source="staff screen")  # as a kiosk stopped between the two left it, before rows came first
    gallery.add("lime", [b"another lime"], np.zeros((1, 4), np.float32), "fk", staff="cli:root",
                source="checkout sku enroll")  # taught at a shell: not a staff-screen action
    till.store.audit("staff.teach", "staff", sku="carrots", photos=5, refused=0, enrollment=first + 9)
    assert main(verify) == 1
    out = capsys.readouterr().out
    assert out.count("missing: ") == 1 and f"enrollment {cut.enrollment_id} of lime" in out, out
    assert out.count("unfinished: ") == 1 and f"names enrollment {first + 9} of carrots" in out, out
