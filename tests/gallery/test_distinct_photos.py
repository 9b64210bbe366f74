"""What an enrollment says it stored is what the gallery holds and suggests: a product taught again after it was
forgotten (at `checkout sku enroll` and at the kiosk's Teach screen)."""

from __future__ import annotations

import hashlib

import cv2

from kiosk.bundles.active import ActiveModel
from kiosk.cli import main as checkout
from kiosk.gallery import Gallery, enroll
from kiosk.gallery.packer import _read
from tests.onboarding_kit import onboarding_catalog


class Row:
    def __init__(self, sku: str, active: bool = True) -> None:
        self.sku, self.name, self.active = sku, sku.title(), active


def _write(folder, images, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        cv2.imwrite(str(folder / (names[i] if names else f"{i:03d}.png")), image)
    return folder


def _cli(world, tmp_path, *args):
    catalog = tmp_path / "catalog.sqlite"
    if not catalog.exists():
        onboarding_catalog(catalog)
    return checkout([*args, "--gallery", str(tmp_path / "g"), "--bundle", str(world.bundle), "--catalog",
                     str(catalog)])


def _snapshot_rows(gallery: Gallery, recognizer, sku: str) -> int:
    snap = gallery.snapshot(recognizer.feature_key, recognizer.embed)
    return int(sum(snap.skus[o] == sku for o in snap.owner)) if snap.skus else 0


def test_a_product_taught_again_after_it_was_forgotten_is_stored_and_suggested(world, recognizer, tmp_path):
    gallery = Gallery.open(tmp_path / "gallery")
    photos = world.photos("green-bar", world.new_train)[:8]
    first = enroll(gallery, recognizer, "green-bar", Row("green-bar"), photos)
    assert gallery.withdraw("green-bar") == 1 and _snapshot_rows(gallery, recognizer, "green-bar") == 0
    again = enroll(gallery, recognizer, "green-bar", Row("green-bar"), photos)
    assert again.usable == 8 and again.enrollment.photos == 8
    assert [(e.sku, e.photos) for e in gallery.enrollments()] == [("green-bar", 8)]
    assert _snapshot_rows(gallery, recognizer, "green-bar") == 8
    assert "green-bar: enrolled 8 photo(s)" == again.summary()
    # the withdrawn enrollment keeps its photos for head office, each file still matching its hash
    for enrollment in (first.enrollment, again.enrollment):
        _, files = gallery.for_head_office(enrollment.enrollment_id)
        assert len(files) == 8
        assert all(hashlib.sha256(_read(path)).hexdigest() == sha for path, sha, _ in files)
    # ... and a third time, after forgetting it again
    gallery.withdraw("green-bar")
    assert enroll(gallery, recognizer, "green-bar", Row("green-bar"), photos).enrollment.photos == 8
    assert _snapshot_rows(gallery, recognizer, "green-bar") == 8


def test_checkout_sku_enroll_after_forget_lists_and_stores_the_photos(world, tmp_path, capsys):
    folder = _write(tmp_path / "photos", world.photos("green-bar", world.new_train)[:8])
    assert _cli(world, tmp_path, "sku", "enroll", "green-bar", "--images", str(folder)) == 0
    assert checkout(["sku", "forget", "green-bar", "--gallery", str(tmp_path / "g")]) == 0
    capsys.readouterr()
    assert _cli(world, tmp_path, "sku", "enroll", "green-bar", "--images", str(folder)) == 0
    assert "green-bar: enrolled 8 photo(s)" in capsys.readouterr().out
    assert checkout(["sku", "list", "--gallery", str(tmp_path / "g")]) == 0
    assert "green-bar: 8 photos" in capsys.readouterr().out


class _Shelf:
    def find(self, sku: str):
        return Row(sku)


def test_the_teach_screen_teaches_a_product_again_after_it_was_forgotten(world, recognizer, tmp_path):
    from kiosk.services.teaching import TeachDesk

    gallery = Gallery.open(tmp_path / "gallery")
    desk = TeachDesk(gallery=gallery, model=ActiveModel(recognizer), shelf=_Shelf(), require_staff=lambda: "S1",
                     emit=lambda *a: None)
    frames = world.photos("blue-disc", world.new_train)[:10]
    assert desk.teach("blue-disc", frames).enrollment.photos == 10
    assert desk.forget("blue-disc") == 1 and desk.enrolled() == []
    result = desk.teach("blue-disc", frames)
    assert result.usable == 10 and result.enrollment.photos == 10 and desk.enrolled() == ["blue-disc"]
    assert _snapshot_rows(gallery, recognizer, "blue-disc") == 10
    probe = world.photos("blue-disc")[0]
    recognizer.attach_gallery(gallery)
    assert "blue-disc" in [s.sku for s in recognizer.recognize(probe).suggestions]
