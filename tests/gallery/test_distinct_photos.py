"""What an enrollment says it stored is what the gallery holds and suggests: a product taught again after it was
forgotten (at `checkout sku enroll` and at the kiosk's Teach screen), the same photo given many times (copies, hard
links: counted once, the minimum applied to distinct photos, the repeats named), photos already taught (not stored
twice), and a folder of many photos (only the photos taken are read)."""

from __future__ import annotations

import hashlib
import os

import cv2
import numpy as np
import pytest

from kiosk.bundles.active import ActiveModel
from kiosk.cli import main as checkout
from kiosk.gallery import EnrollmentRefused, EnrollPolicy, Gallery, enroll
from kiosk.gallery.packer import _read
from tests.onboarding_kit import draw, onboarding_catalog


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
    assert again.summary().split("; ")[0] == "green-bar: enrolled 8 photo(s)"  # (a word on what it looks like)
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


def test_the_same_photo_given_many_times_counts_once(world, tmp_path, capsys):
    one = world.photos("green-bar", world.new_train)[0]
    copies = _write(tmp_path / "copies", [one] * 6)
    assert _cli(world, tmp_path, "sku", "enroll", "green-bar", "--images", str(copies)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "green-bar: 1 usable photo(s) of 6, at least 5 needed (refused: 5 duplicate)" in err[0]
    # hard links: five distinct photos, each linked three times
    distinct = _write(tmp_path / "distinct", world.photos("green-bar", world.new_train)[:5])
    links = tmp_path / "links"
    links.mkdir()
    for i, path in enumerate(sorted(distinct.iterdir())):
        for k in range(3):
            os.link(path, links / f"{i}-{k}.png")
    assert _cli(world, tmp_path, "sku", "enroll", "green-bar", "--images", str(links)) == 0
    out = capsys.readouterr().out
    assert "green-bar: enrolled 5 photo(s), refused 10 (10 duplicate)" in out
    assert "  refused 0-1.png: duplicate of 0-0.png" in out
    assert checkout(["sku", "list", "--gallery", str(tmp_path / "g")]) == 0
    assert "green-bar: 5 photos" in capsys.readouterr().out


def test_photos_taught_already_are_not_stored_again(world, recognizer, tmp_path):
    gallery = Gallery.open(tmp_path / "gallery")
    photos = world.photos("yellow-ring", world.new_train)
    enroll(gallery, recognizer, "yellow-ring", Row("yellow-ring"), photos[:6])
    with pytest.raises(EnrollmentRefused, match=r"yellow-ring: all 6 usable photo\(s\) are taught here already"):
        enroll(gallery, recognizer, "yellow-ring", Row("yellow-ring"), photos[:6])
    # the taught ones count towards the minimum (the product has them), only the new ones are stored
    more = enroll(gallery, recognizer, "yellow-ring", Row("yellow-ring"), photos[:4] + photos[6:8])
    assert more.usable == 2 and more.enrollment.photos == 2
    assert more.summary() == "yellow-ring: enrolled 2 photo(s), refused 4 (4 already taught)"
    assert sum(e.photos for e in gallery.enrollments()) == 8 == _snapshot_rows(gallery, recognizer, "yellow-ring")
    # Gallery.add on its own stores each distinct photo once and never makes an empty enrollment
    png = [cv2.imencode(".png", p)[1].tobytes() for p in photos[8:10]]
    vectors = recognizer.embed(photos[8:10])
    added = gallery.add("yellow-ring", png + png, np.concatenate([vectors, vectors]), recognizer.feature_key)
    assert added.photos == 2
    with pytest.raises(Exception, match="taught here already"):
        gallery.add("yellow-ring", png, vectors, recognizer.feature_key)
    assert len(gallery.enrollments()) == 3


def test_photos_taught_meanwhile_by_another_process_are_refused_with_their_counts(world, recognizer, tmp_path,
                                                                                  monkeypatch):
    """Another process (the shell's ``sku enroll`` beside the kiosk) taught the same photos between the check and
    the write: refused like the check's "all taught", with the counts a screen words in its own language."""
    gallery = Gallery.open(tmp_path / "gallery")
    photos = world.photos("yellow-ring", world.new_train)[:6]
    enroll(gallery, recognizer, "yellow-ring", Row("yellow-ring"), photos)
    monkeypatch.setattr(gallery, "taught", lambda sku: set())  # what this process read before the other one wrote
    with pytest.raises(EnrollmentRefused, match=r"yellow-ring: all 6 photo\(s\) are taught here already") as caught:
        enroll(gallery, recognizer, "yellow-ring", Row("yellow-ring"), photos)
    assert caught.value.photos == {"usable": 6, "total": 6, "needed": 5, "refused": {}, "all_taught": True}
    assert len(gallery.enrollments()) == 1


def test_enroll_reads_only_the_photos_it_takes(world, tmp_path, capsys, monkeypatch):
    import kiosk.bundle_format.preprocess as preprocess

    rng = np.random.default_rng(5)
    folder = _write(tmp_path / "many", [draw("green-bar", rng) for _ in range(40)])
    reads = []
    real = preprocess.load_image
    monkeypatch.setattr(preprocess, "load_image", lambda path, size=0: reads.append(path) or real(path, size))
    assert _cli(world, tmp_path, "sku", "enroll", "green-bar", "--images", str(folder)) == 0
    out = capsys.readouterr().out
    assert len(reads) == EnrollPolicy().max_photos, len(reads)
    assert "green-bar: enrolled 30 photo(s); 10 more photo(s) not read (the first 30 are taken)" in out


def test_enroll_takes_a_lazy_stream_only_as_far_as_it_keeps(world, recognizer, tmp_path):
    photos = world.photos("blue-disc", world.new_train)
    taken = []

    def stream():
        for i in range(10_000):
            taken.append(i)
            yield photos[i % len(photos)]

    result = enroll(Gallery.open(tmp_path / "g"), recognizer, "blue-disc", Row("blue-disc"), stream(),
                    policy=EnrollPolicy(max_photos=12))
    assert len(taken) == 12 and result.enrollment.photos == len(photos) == 12
