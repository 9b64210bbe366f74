"""Enrollment into the kiosk's gallery: what is refused and why, what is kept, and what the recogniser makes of it.

The world (tests/onboarding_kit.py) is a tiny_cnn trained by the real trainer and exported by the real exporter;
its NEW products were never trained."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from kiosk.cli import main as checkout
from kiosk.gallery import EnrollmentRefused, EnrollPolicy, Gallery, enroll, judge, sharpness
from tests.onboarding_kit import NEW, TRAINED, UNKNOWN, draw, onboarding_catalog, tray


class Row:
    def __init__(self, sku: str, active: bool = True) -> None:
        self.sku, self.name, self.active = sku, sku.title(), active


def photos(sku: str, n: int, seed: int = 11) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [draw(sku, rng) for _ in range(n)]


def test_sharpness_tells_blurred_photos_from_sharp_ones():
    sharp = photos("blue-disc", 5)
    assert min(sharpness(p) for p in sharp) > EnrollPolicy().min_sharpness
    assert max(sharpness(cv2.GaussianBlur(p, (0, 0), 4)) for p in sharp) < EnrollPolicy().min_sharpness


def test_judge_names_each_refused_photo():
    empty = tray()
    from kiosk.trigger import ItemTrigger

    trigger = ItemTrigger()
    trigger.background = trigger.shrink(empty)
    images = [*photos("blue-disc", 2), cv2.GaussianBlur(photos("blue-disc", 1)[0], (0, 0), 4), tray(seed=9), None]
    verdicts = judge(images, EnrollPolicy(), trigger.occupancy)
    assert [(v.usable, v.reason) for v in verdicts] == [(True, ""), (True, ""), (False, "blurred"),
                                                        (False, "empty tray"), (False, "unreadable")]


def test_enrolled_product_is_suggested_on_the_next_recognition(world, recognizer, tmp_path):
    gallery = Gallery.open(tmp_path / "gallery")
    recognizer.attach_gallery(gallery)
    probe = world.photos("blue-disc")
    before = [recognizer.recognize(p) for p in probe]
    assert all("blue-disc" not in [s.sku for s in r.suggestions] for r in before)  # never trained
    result = enroll(gallery, recognizer, "blue-disc", Row("blue-disc"), world.photos("blue-disc", world.new_train)[:10])
    assert result.usable == 10 and result.enrollment.photos == 10
    after = [recognizer.recognize(p) for p in probe]
    assert sum(r.top.sku == "blue-disc" for r in after) >= len(after) - 1, [r.suggestions for r in after]
    assert all("blue-disc" in r.from_gallery for r in after if r.top.sku == "blue-disc")
    # a trained product still goes to its own SKU
    trained = world.photos(TRAINED[0], world.val)
    assert [recognizer.recognize(p).top.sku for p in trained].count(TRAINED[0]) >= len(trained) - 1


def test_bad_input_is_refused_with_a_reason_and_nothing_is_stored(world, recognizer, tmp_path):
    gallery = Gallery.open(tmp_path / "gallery")
    good = world.photos("green-bar", world.new_train)[:10]
    cases = [
        (None, good, "unknown SKU 'green-bar'"),
        (Row("green-bar", active=False), good, "not on sale"),
        (Row("green-bar"), [cv2.GaussianBlur(p, (0, 0), 4) for p in good], "0 usable photo(s) of 10, at least 5"),
    ]
    for row, images, reason in cases:
        with pytest.raises(EnrollmentRefused, match=re.escape(reason)):
            enroll(gallery, recognizer, "green-bar", row, images)
    from kiosk.trigger import ItemTrigger

    trigger = ItemTrigger()
    trigger.background = trigger.shrink(tray())
    with pytest.raises(EnrollmentRefused, match=r"refused: 7 empty tray"):
        enroll(gallery, recognizer, "green-bar", Row("green-bar"), good[:3] + [tray(seed=s) for s in range(7)],
               occupancy=trigger.occupancy)
    assert gallery.enrollments() == [] and not list((tmp_path / "gallery" / "photos").rglob("*.png"))


def test_near_duplicates_of_another_enrolled_product_are_refused(world, recognizer, tmp_path):
    gallery = Gallery.open(tmp_path / "gallery")
    yellow = world.photos("yellow-ring", world.new_train)
    enroll(gallery, recognizer, "yellow-ring", Row("yellow-ring"), yellow[:10])
    with pytest.raises(EnrollmentRefused, match=r"photo 1, 2, 3, .*, 10 look like yellow-ring \(taught, "):
        enroll(gallery, recognizer, "gold-ring", Row("gold-ring"), yellow[:10])  # the same item under a new id
    more = enroll(gallery, recognizer, "yellow-ring", Row("yellow-ring"), yellow[10:] + yellow[:5])  # more photos
    assert more.usable == 2 and more.enrollment.photos == 2 and gallery.enrolled_skus() == ["yellow-ring"]
    assert more.summary() == "yellow-ring: enrolled 2 photo(s), refused 5 (5 already taught)"


def test_gallery_survives_a_restart_and_is_re_embedded_for_a_new_backbone(world, recognizer, tmp_path):
    root = tmp_path / "gallery"
    with Gallery.open(root) as gallery:
        enroll(gallery, recognizer, "blue-disc", Row("blue-disc"), world.photos("blue-disc", world.new_train)[:8])
    calls = []

    def embed(images):
        calls.append(len(images))
        return recognizer.embed(images)

    with Gallery.open(root) as gallery:  # a new process: the same model finds its embeddings stored
        snap = gallery.snapshot(recognizer.feature_key, embed)
        assert snap.skus == ["blue-disc"] and len(snap.owner) == 8 and calls == []
        other = gallery.snapshot("fp32-another-backbone", embed)  # a new bundle: re-embedded from the photos
        assert calls == [8] and np.allclose(other.vectors, snap.vectors, atol=1e-5)
        gallery.snapshot("fp32-another-backbone", embed)
        assert calls == [8]  # kept


def test_an_enrollment_by_another_process_counts_from_the_next_recognition(world, recognizer, tmp_path):
    """The running kiosk sees what `checkout sku enroll` wrote: the gallery's revision changes across processes."""
    root = tmp_path / "gallery"
    gallery = Gallery.open(root)
    recognizer.attach_gallery(gallery)
    probe = world.photos("green-bar")[0]
    assert recognizer.recognize(probe).top.sku != "green-bar"
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, p in enumerate(world.photos("green-bar", world.new_train)[:10]):
        cv2.imwrite(str(folder / f"{i}.png"), p)
    catalog = onboarding_catalog(tmp_path / "catalog.sqlite")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-m", "kiosk", "sku", "enroll", "green-bar", "--images", str(folder),
                           "--gallery", str(root), "--bundle", str(world.bundle), "--catalog", str(catalog)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "green-bar: enrolled 10 photo(s)" in done.stdout
    t0 = time.perf_counter()
    assert recognizer.recognize(probe).top.sku == "green-bar"
    assert time.perf_counter() - t0 < 5


def test_checkout_sku_enroll_refuses_in_one_line(world, tmp_path, capsys):
    catalog = onboarding_catalog(tmp_path / "catalog.sqlite", inactive=("blue-disc",))
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, p in enumerate(world.photos("green-bar", world.new_train)[:6]):
        cv2.imwrite(str(folder / f"{i}.png"), p)
        cv2.imwrite(str(folder / f"blurred{i}.png"), cv2.GaussianBlur(p, (0, 0), 4))
    common = ["--images", str(folder), "--gallery", str(tmp_path / "g"), "--bundle", str(world.bundle),
              "--catalog", str(catalog)]
    for sku, extra, want in [("no-such-sku", [], "unknown SKU 'no-such-sku'"),
                             ("blue-disc", [], "is not on sale"),
                             ("green-bar", ["--min-photos", "8"], "6 usable photo(s) of 12, at least 8 needed "
                                                                  "(refused: 6 blurred)")]:
        assert checkout(["sku", "enroll", sku, *common, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and want in err[0], err
    assert checkout(["sku", "enroll", "green-bar", *common]) == 0
    out = capsys.readouterr().out
    assert "green-bar: enrolled 6 photo(s), refused 6 (6 blurred)" in out
    assert checkout(["sku", "list", "--gallery", str(tmp_path / "g")]) == 0
    assert "green-bar: 6 photos" in capsys.readouterr().out
    assert checkout(["sku", "forget", "green-bar", "--gallery", str(tmp_path / "g")]) == 0
    assert checkout(["sku", "forget", "green-bar", "--gallery", str(tmp_path / "g")]) == 2


def test_unknown_products_score_lower_than_known_ones(world, recognizer):
    """The bundle's open-set rule: known products above the threshold far more often than never-taught ones."""
    known = [recognizer.recognize(p) for sku in TRAINED[:4] for p in world.photos(sku, world.val)]
    unknown = [recognizer.recognize(p) for sku in UNKNOWN for p in world.photos(sku, world.unknown)]
    assert known and unknown and NEW
    rate_known = np.mean([r.known for r in known])
    rate_unknown = np.mean([r.known for r in unknown])
    assert rate_known > rate_unknown, (rate_known, rate_unknown)
    assert all(r.open_set_score == recognizer.fusion.rule.score for r in known)


def test_prototypes_are_joined_once_per_gallery_snapshot(world, recognizer, tmp_path):
    """The open-set rule's prototypes (the trained SKUs' and the gallery's rows) are joined when the gallery changes,
    not copied on every recognition; an enrollment joins them anew."""
    fusion = recognizer.fusion
    gallery = Gallery.open(tmp_path / "gallery")
    recognizer.attach_gallery(gallery)
    probe = world.photos("blue-disc")[0]
    recognizer.recognize(probe)
    assert fusion._prototypes(fusion.gallery()) is fusion.trained  # nothing enrolled: the trained ones as they are
    enroll(gallery, recognizer, "blue-disc", Row("blue-disc"), world.photos("blue-disc", world.new_train)[:10])
    first = recognizer.recognize(probe)
    snap = fusion.gallery()
    joined = fusion._prototypes(snap)
    np.testing.assert_array_equal(joined, np.concatenate([fusion.trained, snap.vectors]))
    again = recognizer.recognize(probe)
    assert fusion._prototypes(fusion.gallery()) is joined and again.open_set == first.open_set
