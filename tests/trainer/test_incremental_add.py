"""``checkout train --incremental --add MANIFEST`` checks the new photos before it trains (probe-teach finding 4): an
empty --add, a new SKU with too few DISTINCT photos, and photos of an old SKU relabelled as a new one are refused in
one line naming the manifest, the row and the SKU (the hashes and duplicate groups of ``checkout data check``)."""

from __future__ import annotations

import json
import shutil

import cv2
import pytest

from kiosk.errors import UserError
from tests.onboarding_kit import NEW, TRAINED, build_world, write_manifest


@pytest.fixture(scope="module")
def world():
    return build_world()


def _prepare(base, add, out):
    from trainer.incremental import prepare
    from trainer.options import get_args_parser

    return prepare(get_args_parser().parse_args(["--incremental", "--from", str(base), "--add", str(add),
                                                 "--out", str(out)]))


def _rows(manifest, sku=None):
    from trainer.data.manifest import read_manifest

    return [r for r in read_manifest(manifest) if sku is None or r.sku == sku]


def test_an_add_without_photos_is_refused(world, tmp_path):
    add = write_manifest(tmp_path / "add.csv", [])
    with pytest.raises(UserError, match=r"add\.csv: no photos \(a header only\)"):
        _prepare(world.bundle, add, tmp_path / "out")


def test_a_new_sku_needs_the_enrollment_minimum_of_distinct_photos(world, tmp_path):
    from kiosk.gallery import EnrollPolicy
    from trainer.data.added import MIN_NEW_PHOTOS

    assert MIN_NEW_PHOTOS == EnrollPolicy().min_photos  # the till's minimum to teach a product
    one = _rows(world.new_train, NEW[0])[0].path
    copies, near = [], []
    for i in range(10):  # one photo ten times, under ten names
        shutil.copy(one, tmp_path / f"copy{i}.jpg")
        copies.append((f"copy{i}.jpg", "teal-cup"))
    image = cv2.imread(str(one))
    for i, side in enumerate((150, 170, 180, 200, 230)):  # one photo at five sizes: near copies (pHash)
        cv2.imwrite(str(tmp_path / f"near{i}.png"), cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA))
        near.append((f"near{i}.png", "teal-mug"))
    cases = [([(str(one), "teal-cup")], r"new SKU teal-cup has 1 distinct readable photo\(s\) of 1"),
             (copies, r"new SKU teal-cup has 1 distinct readable photo\(s\) of 10 \(first: line 2, copy0\.jpg"),
             (near, r"new SKU teal-mug has 1 distinct readable photo\(s\) of 5")]
    for i, (rows, message) in enumerate(cases):
        add = write_manifest(tmp_path / f"add{i}.csv", rows)
        with pytest.raises(UserError, match=rf"add{i}\.csv: {message}.*at least {MIN_NEW_PHOTOS}"):
            _prepare(world.bundle, add, tmp_path / f"out{i}")


def test_photos_of_a_base_sku_relabelled_as_a_new_one_are_refused(world, tmp_path):
    old = _rows(world.train, TRAINED[0])[:6]
    add = write_manifest(tmp_path / "mislabel.csv", [(str(r.path), "teal-cup") for r in old])
    with pytest.raises(UserError, match=rf"mislabel\.csv line 2 \({old[0].path.name}, SKU teal-cup\): the same photo "
                                        rf"as the base's training manifest .*labelled {TRAINED[0]}"):
        _prepare(world.bundle, add, tmp_path / "out")
    small = cv2.resize(cv2.imread(str(old[1].path)), (150, 150), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(tmp_path / "small.png"), small)  # the same photo, smaller: a near copy
    add = write_manifest(tmp_path / "near.csv", [("small.png", "teal-cup")] + [(str(r.path), r.sku) for r in
                                                                               _rows(world.new_train, NEW[0])])
    with pytest.raises(UserError, match=rf"near\.csv line 2 \(small\.png, SKU teal-cup\): a near copy of the base's "
                                        rf"training manifest .*{old[1].path.name} labelled {TRAINED[0]}"):
        _prepare(world.bundle, add, tmp_path / "out2")


def test_without_the_base_training_photos_the_replay_exemplars_are_compared_and_it_says_so(world, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(world.run, run, ignore=shutil.ignore_patterns("tb", "checkpoint.pt"))
    args = json.loads((run / "args.json").read_text())
    args["train"] = str(tmp_path / "elsewhere" / "train.csv")  # trained on another machine
    (run / "args.json").write_text(json.dumps(args))
    from trainer.data.manifest import write_manifest as write_rows

    write_rows(_rows(world.run / "exemplars.csv"), run / "exemplars.csv")  # its photos where they are
    exemplar = _rows(run / "exemplars.csv")[0]
    add = write_manifest(tmp_path / "add.csv", [(str(exemplar.path), "teal-cup")])
    with pytest.raises(UserError, match=rf"add\.csv line 2 .*replay exemplars.*labelled {exemplar.sku}"):
        _prepare(run, add, tmp_path / "out")
    assert "checked against its" in capsys.readouterr().out


def test_the_worlds_new_photos_pass(world):
    from trainer.data.added import check_added

    check_added(world.new_train, _rows(world.new_train), TRAINED, _rows(world.train), "train")
