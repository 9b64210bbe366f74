"""Products taught at a kiosk go to head office (kiosk.gallery.packer, kiosk.exchange.enrollment): one batch per
enrollment, exactly once through a kill, photos checked against their hashes; a batch that is not one whole
enrollment is refused by head office, whole."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from kiosk.exchange import BatchError, read_batch, write_batch
from kiosk.exchange.enrollment import KIND, read_enrollment_batch
from kiosk.gallery import Gallery
from kiosk.gallery.packer import EnrollmentPacker
from tests.gallery.test_gallery_state import KEY, embed_mean, png


class Outbox:
    def __init__(self) -> None:
        self.batches: dict[str, bytes] = {}

    def put(self, name: str, data: bytes) -> bool:
        new = name not in self.batches
        self.batches[name] = data
        return new


def teach(g: Gallery, sku: str, values, **kw):
    photos = [png(v) for v in values]
    images = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in photos]
    return g.add(sku, photos, embed_mean(images), KEY, staff="101", source="teach-screen", **kw)


@pytest.fixture
def gallery(tmp_path):
    g = Gallery.open(tmp_path / "gallery", clock=lambda: "2026-12-01T10:15:02+05:30")
    yield g
    g.close()


def test_each_enrollment_is_one_batch_sent_once(gallery):
    first = teach(gallery, "kiwi", (10, 60, 110), refused=2)
    teach(gallery, "lime", (20, 70))
    gallery.withdraw("lime")
    box = Outbox()
    packer = EnrollmentPacker(gallery, box, kiosk_id="K1", store_id="BLR-7")
    assert packer.pack() == 2 and packer.pack() == 0 and gallery.unsent() == []
    batches = [read_enrollment_batch(data, name) for name, data in sorted(box.batches.items())]
    kiwi = next(b for b in batches if b.meta["sku"] == "kiwi")
    assert kiwi.meta | {} == {"kiosk_id": "K1", "store_id": "BLR-7", "gallery_id": gallery.gallery_id,
                              "enrollment_id": first.enrollment_id,
                              "sku": "kiwi", "created_at": "2026-12-01T10:15:02+05:30", "staff": "101",
                              "source": "teach-screen", "refused": 2, "withdrawn_at": None}
    assert sorted(hashlib.sha256(b).hexdigest() for b in kiwi.files.values()) == sorted(
        r["sha256"] for r in kiwi.records) and len(kiwi.records) == 3
    lime = next(b for b in batches if b.meta["sku"] == "lime")
    assert lime.meta["withdrawn_at"] is not None  # head office leaves it out


def test_a_kill_between_queueing_and_marking_sent_queues_the_same_batch(gallery, monkeypatch):
    teach(gallery, "kiwi", (10, 60))
    box = Outbox()
    packer = EnrollmentPacker(gallery, box, kiosk_id="K1", store_id="BLR-7")
    monkeypatch.setattr(gallery, "mark_sent", lambda ids: (_ for _ in ()).throw(KeyboardInterrupt("killed")))
    with pytest.raises(KeyboardInterrupt):
        packer.pack()
    monkeypatch.undo()
    assert packer.pack() == 1 and len(box.batches) == 1  # the same name: stored once


def test_a_photo_gone_or_changed_holds_the_enrollment_back_never_sent_short(gallery):
    teach(gallery, "kiwi", (10, 60, 110))
    photos = sorted((gallery.root / "photos" / "kiwi").glob("*.png"))
    kept = [p.read_bytes() for p in photos[:2]]
    photos[0].unlink()
    photos[1].write_bytes(png(250))
    box = Outbox()
    packer = EnrollmentPacker(gallery, box, kiosk_id="K1", store_id="BLR-7")
    assert packer.pack() == 0 and box.batches == {} and len(gallery.unsent()) == 1
    for p, data in zip(photos, kept):
        p.write_bytes(data)
    assert packer.pack() == 1 and gallery.unsent() == []
    (batch,) = [read_enrollment_batch(d, n) for n, d in box.batches.items()]
    assert len(batch.records) == 3


def _rewrite(data: bytes, change) -> tuple[str, bytes]:
    b = read_batch(data)
    meta, records, files = dict(b.meta), [dict(r) for r in b.records], dict(b.files)
    change(meta, records, files)
    return write_batch(b.kind, meta, records, files)


@pytest.mark.parametrize(("change", "says"), [
    (lambda m, r, f: m.update(sku="Kiwi Fruit!"), "meta field(s) sku"),
    (lambda m, r, f: m.update(enrollment_id=True), "meta field(s) enrollment_id"),
    (lambda m, r, f: m.update(created_at="yesterday"), "created_at"),
    (lambda m, r, f: m.update(staff="1\n2"), "staff"),
    (lambda m, r, f: r.clear(), "0 photo records"),
    (lambda m, r, f: r[0].update(image="images/../../etc/passwd"), "is not images/e"),
    (lambda m, r, f: r[0].update(sha256="0" * 64), "sha256 missing or not the photo's"),
    (lambda m, r, f: f.update({r[0]["image"]: b"other bytes"}), "not the one enrolled"),
    (lambda m, r, f: r[0].update(sharpness=-1), "sharpness"),
    (lambda m, r, f: r[0].update(sharpness="sharp"), "sharpness"),
    (lambda m, r, f: r.append(dict(r[0])), "listed twice"),
])
def test_head_office_refuses_a_batch_that_is_not_one_whole_enrollment(gallery, change, says):
    teach(gallery, "kiwi", (10, 60))
    box = Outbox()
    EnrollmentPacker(gallery, box, kiosk_id="K1", store_id="BLR-7").pack()
    ((name, data),) = box.batches.items()
    bad_name, bad = _rewrite(data, change)
    with pytest.raises(BatchError) as info:
        read_enrollment_batch(bad, bad_name)
    assert says in str(info.value) and bad_name in str(info.value) and "\n" not in str(info.value)
    assert read_enrollment_batch(data, name).meta["sku"] == "kiwi"  # the kiosk's own batch reads


def test_only_enrollment_batches_are_read_as_enrollments(gallery):
    name, data = write_batch("feedback", {"kiosk_id": "K1", "store_id": "BLR-7"}, [])
    with pytest.raises(BatchError, match=f"a 'feedback' batch, not '{KIND}'"):
        read_enrollment_batch(data, name)


def test_the_skus_catalog_row_goes_with_its_enrollment(gallery):
    """What staff created on the teach screen (name, price, GST …) reaches head office with the photos; a catalog
    that cannot be read costs the row, never the enrollment."""
    teach(gallery, "kiwi", (10, 60))
    teach(gallery, "lime", (20, 70))
    rows = {"kiwi": {"sku": "kiwi", "name": "Kiwi", "sold_by": "unit", "price_paise": "2500"}}

    def product(sku):
        if sku == "lime":
            raise OSError("catalog locked")
        return rows.get(sku)

    box = Outbox()
    assert EnrollmentPacker(gallery, box, kiosk_id="K1", store_id="BLR-7", product=product).pack() == 2
    metas = {b.meta["sku"]: b.meta for b in (read_enrollment_batch(d, n) for n, d in box.batches.items())}
    assert metas["kiwi"]["product"] == rows["kiwi"] and "product" not in metas["lime"]


# -- an enrollment larger than a batch goes in parts; head office joins them into the one enrollment -----------------
HEAD_OFFICE_READS = 100_000  # a batch head office takes here (MAX_BATCH_BYTES, 512 MiB for real)


class HeadOfficeBox:
    """An outbox that puts each batch where the directory transport would, under head office's folder."""

    def __init__(self, root) -> None:
        self.root = root

    def put(self, name: str, data: bytes) -> bool:
        from kiosk.exchange import batch_key

        path = self.root / batch_key(KIND, "BLR-7", "K1", name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return True


def noise(seed: int, side: int = 64) -> bytes:
    """A photo PNG cannot squeeze: ``side``² × 3 bytes and a little more."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), np.uint8)
    return cv2.imencode(".png", pixels)[1].tobytes()


def teach_noise(g: Gallery, sku: str, sides: list[int]):
    photos = [noise(i, side) for i, side in enumerate(sides)]
    images = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in photos]
    return g.add(sku, photos, embed_mean(images), KEY, staff="101", source="teach-screen"), photos


def test_an_enrollment_larger_than_a_batch_goes_in_parts_that_head_office_joins(gallery, tmp_path, monkeypatch):
    """Before: one batch of all twelve photos (150 kB), over what head office reads: BatchTooLarge, the enrollment
    never marked sent, tried again at every round. Now: parts under the limit, all queued before it is marked sent;
    head office's Taught report and feedback collect read one enrollment with every photo, as from one batch."""
    from kiosk.exchange import batch
    from trainer.fleet.collect import CollectReport, _read_enrollments
    from trainer.fleet.location import HeadOffice
    from trainer.headoffice.taught import taught_report

    enrollment, photos = teach_noise(gallery, "kiwi", [64] * 12)
    whole = EnrollmentPacker(gallery, HeadOfficeBox(tmp_path / "whole"), kiosk_id="K1", store_id="BLR-7")
    assert whole.pack() == 1  # head office's real limit: one batch
    one = taught_report(str(tmp_path / "whole"))
    gallery._conn.execute("UPDATE enrollments SET sent_at = NULL")
    monkeypatch.setattr(batch, "MAX_BATCH_BYTES", HEAD_OFFICE_READS)
    made = EnrollmentPacker(gallery, HeadOfficeBox(tmp_path / "ho"), kiosk_id="K1", store_id="BLR-7").pack()
    assert made >= 4 and gallery.unsent() == []
    tars = sorted((tmp_path / "ho/enrollment/BLR-7/K1").iterdir())
    assert len(tars) == made and all(p.stat().st_size <= HEAD_OFFICE_READS for p in tars)
    parts = [read_enrollment_batch(p.read_bytes(), p.name) for p in tars]
    assert sorted(b.meta.get("part", 0) for b in parts) == list(range(made))
    assert {b.meta["parts"] for b in parts} == {made} and sum(len(b.records) for b in parts) == 12
    cut = taught_report(str(tmp_path / "ho"))
    (e,), (w,) = cut.enrollments, one.enrollments
    assert cut.skipped == [] and (e.enrollment_id, e.photos, e.missing_parts) == (enrollment.enrollment_id, 12, 0)
    assert {**vars(e), "batch": ""} == {**vars(w), "batch": ""} and [vars(s) for s in cut.skus] == [
        vars(s) for s in one.skus]
    report = CollectReport(str(tmp_path / "ho"), "")
    found = _read_enrollments(HeadOffice(str(tmp_path / "ho")), report, tmp_path / "out")
    assert (report.enrollments, report.enrolled_photos) == (1, 12)
    assert sorted(f.path.read_bytes() for f in found) == sorted(photos)
    tars[-1].unlink()  # a part still on its way: the rest count, the gap is said
    (e,) = taught_report(str(tmp_path / "ho")).enrollments
    assert e.missing_parts == 1 and 0 < e.photos < 12


def test_a_photo_larger_than_a_batch_is_left_out_and_blocks_nothing(gallery, tmp_path, monkeypatch, caplog):
    """A photo over the limit on its own: left out with a warning naming it; the enrollment's other photos, and the
    enrollments after it, leave."""
    from kiosk.exchange import batch

    teach_noise(gallery, "kiwi", [64, 200, 64])  # 200² × 3 = 120 kB: more than head office reads
    teach(gallery, "lime", (20, 70))
    monkeypatch.setattr(batch, "MAX_BATCH_BYTES", HEAD_OFFICE_READS)
    box = Outbox()
    assert EnrollmentPacker(gallery, box, kiosk_id="K1", store_id="BLR-7").pack() == 2 and gallery.unsent() == []
    got = {b.meta["sku"]: b for b in (read_enrollment_batch(d, n) for n, d in box.batches.items())}
    assert len(got["kiwi"].records) == 2 and len(got["lime"].records) == 2 and "parts" not in got["kiwi"].meta
    assert "enrollment 1 (kiwi): photo" in caplog.text and "more than a batch holds" in caplog.text
