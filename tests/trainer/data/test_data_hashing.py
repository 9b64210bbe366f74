import os

import cv2
import numpy as np
import pytest

from trainer.data import hashing
from trainer.data.duplicates import UnionFind, duplicate_groups, duplicate_pairs


def jpeg(img: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def photos(grocery_root):
    """Three real photos of different products."""
    names = ("train/Fruit/Kiwi/Kiwi_001.jpg", "train/Fruit/Banana/Banana_001.jpg",
             "train/Packages/Milk/Arla-Standard-Milk/Arla-Standard-Milk_001.jpg")
    return [cv2.imread(str(grocery_root / n)) for n in names]


def test_phash_is_64_bits_with_31_set_and_stable(photos):
    gray = cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY)
    h = hashing.phash(gray)
    assert 0 <= h < 2**64 and h.bit_count() == 31  # bits above the median of 63 AC terms
    assert hashing.phash(gray) == h
    with pytest.raises(ValueError):
        hashing.phash(photos[0])


def test_resized_reencoded_copy_is_near_other_photos_are_far(photos):
    t = hashing.DEFAULT_PHASH_THRESHOLD
    for img in photos:
        original = hashing.inspect_bytes(jpeg(img))["phash"]
        copy = hashing.inspect_bytes(jpeg(cv2.resize(img, (300, 300), interpolation=cv2.INTER_AREA), 75))["phash"]
        brighter = hashing.inspect_bytes(jpeg(cv2.convertScaleAbs(img, beta=20), 60))["phash"]
        assert hashing.hamming(original, copy) <= t
        assert hashing.hamming(original, brighter) <= t
    hashes = [hashing.inspect_bytes(jpeg(img))["phash"] for img in photos]
    assert min(hashing.hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1:]) > 3 * t


def test_inspect_reports_each_problem(tmp_path, photos):
    data = jpeg(photos[0])
    cases = {
        "ok.jpg": (data, hashing.OK),
        "empty.jpg": (b"", hashing.EMPTY),
        "garbage.jpg": (os.urandom(3000), hashing.UNDECODABLE),
        "cut.jpg": (data[: len(data) * 2 // 3], hashing.TRUNCATED),
        "cut-late.jpg": (data[:-100], hashing.TRUNCATED),
        "padded.jpg": (data + b"\x00" * 10, hashing.OK),
    }
    for name, (content, _) in cases.items():
        (tmp_path / name).write_bytes(content)
    for name, (_, status) in cases.items():
        facts = hashing.inspect_image(tmp_path / name)
        assert facts.status == status, (name, facts)
    ok = hashing.inspect_image(tmp_path / "ok.jpg")
    assert (ok.width, ok.height) == (photos[0].shape[1], photos[0].shape[0]) and ok.phash is not None
    assert ok.sha256 == hashing.sha256_bytes(data)
    assert hashing.inspect_image(tmp_path / "cut.jpg").phash is None
    assert hashing.inspect_image(tmp_path / "missing.jpg").status == hashing.MISSING
    png = cv2.imencode(".png", photos[1])[1].tobytes()
    (tmp_path / "cut.png").write_bytes(png[:-20])
    assert hashing.inspect_image(tmp_path / "cut.png").status == hashing.TRUNCATED


def test_pool_cache_and_invalidation(tmp_path, photos):
    paths = []
    for i, img in enumerate(photos):
        p = tmp_path / f"{i}.jpg"
        p.write_bytes(jpeg(img))
        paths.append(p)
    direct = hashing.inspect_images(paths, workers=1, progress=False)
    pooled = hashing.inspect_images(paths + paths[:1], workers=2, progress=False)
    assert pooled == direct and list(pooled) == [str(p) for p in paths]

    cache = hashing.HashCache(tmp_path / "cache" / "facts.sqlite")
    first = hashing.inspect_images(paths, workers=1, cache=cache, progress=False)
    assert first == direct
    assert cache.get(str(paths[0])) == direct[str(paths[0])]
    # a changed file (new size/mtime) is not served from the cache
    paths[0].write_bytes(jpeg(photos[2], 50))
    assert cache.get(str(paths[0])) is None
    again = hashing.inspect_images(paths, workers=1, cache=cache, progress=False)
    assert again[str(paths[0])].sha256 != direct[str(paths[0])].sha256
    assert again[str(paths[0])] == hashing.inspect_image(paths[0])
    cache.close()


def test_near_pairs_matches_bruteforce():
    rng = np.random.default_rng(3)
    hashes = [int(x) for x in rng.integers(0, 2**63, size=300, dtype=np.uint64)]
    hashes += [h ^ (1 << int(rng.integers(64))) for h in hashes[:20]]  # 20 one-bit neighbours
    expected = [(i, j, hashing.hamming(a, b)) for i, a in enumerate(hashes) for j, b in enumerate(hashes)
                if i < j and hashing.hamming(a, b) <= 12]
    assert sorted(hashing.near_pairs(hashes, 12, block=64)) == expected
    assert len(expected) >= 20


def test_duplicate_pairs_and_groups():
    sha = ["a", "b", "a", "c", None, "d"]
    base = 0x5555_5555_0000_0000 | 0b1111_0000  # 20 bits set: not degenerate (a photo's pHash has 31)
    ph = [base, base ^ 0b1, base, base ^ 0xFFFF_0000_0000_0000, None, base ^ 0b111]
    pairs = duplicate_pairs(sha, ph, threshold=2)
    kinds = {(p.i, p.j): p.kind for p in pairs}
    # enough pairs to join each group (1-2 is not needed once 0-2 and 0-1 are joined)
    assert kinds == {(0, 2): "exact", (0, 1): "near", (1, 5): "near"}
    assert [g for g in duplicate_groups(6, pairs) if len(g) > 1] == [[0, 1, 2, 5]]
    assert {(p.i, p.j) for p in duplicate_pairs(sha, ph, threshold=-1)} == {(0, 2)}


def test_same_photo_tells_a_copy_from_photos_that_only_hash_alike(tmp_path):
    """pHash within 4 bits is a copy of a photo or another photo of the same grey layout; the colour thumbnails
    (24x24, less their mean colour) tell which."""
    from tests.trainer.tray_scenes import BLUE_LABEL, LEMON, LIME, RED_LABEL, carton, copy_of, fruit, phash_distance
    from tests.trainer.tray_scenes import jpeg as tray_jpeg

    lemon = tray_jpeg(fruit(LEMON, seed=1))
    image = cv2.imdecode(np.frombuffer(lemon, np.uint8), cv2.IMREAD_COLOR)
    copies = {"q50": jpeg(image, 50), "resized": copy_of(lemon), "brighter": jpeg(cv2.convertScaleAbs(image, beta=20)),
              "png": cv2.imencode(".png", image)[1].tobytes()}
    others = {"lime": tray_jpeg(fruit(LIME, seed=2)), "put down again": tray_jpeg(fruit(LEMON, seed=4, centre=(114, 98),
                                                                                         angle=5))}
    cartons = tray_jpeg(carton(BLUE_LABEL, seed=1)), tray_jpeg(carton(RED_LABEL, seed=2))
    small = [np.full((200, 240, 3), 170, np.uint8) for _ in range(2)]  # a small item on an empty tray
    cv2.circle(small[0], (120, 100), 12, LEMON, -1)
    cv2.circle(small[1], (120, 100), 12, (40, 40, 200), -1)

    def thumb(data: bytes, name: str):
        (tmp_path / name).write_bytes(data)
        return hashing.thumbnail(tmp_path / name)

    original = thumb(lemon, "lemon.jpg")
    for name, data in copies.items():
        assert phash_distance(lemon, data) <= hashing.DEFAULT_PHASH_THRESHOLD
        assert hashing.same_photo(original, thumb(data, name)), name
    for name, data in others.items():
        assert phash_distance(lemon, data) <= hashing.DEFAULT_PHASH_THRESHOLD
        assert not hashing.same_photo(original, thumb(data, name)), name
    assert phash_distance(*cartons) <= hashing.DEFAULT_PHASH_THRESHOLD
    assert not hashing.same_photo(thumb(cartons[0], "blue.jpg"), thumb(cartons[1], "red.jpg"))
    assert not hashing.same_photo(hashing.thumbnail_of(small[0]), hashing.thumbnail_of(small[1]))
    assert not hashing.same_photo(original, thumb(b"not a photo", "bad.jpg"))  # what cannot be read is no copy


def test_duplicate_pairs_joins_a_near_pair_only_when_confirmed():
    sha = ["a", "b", "c", "a"]
    base = 0x5555_5555_0000_0000 | 0b1111_0000
    ph = [base, base ^ 0b1, base ^ 0b11, base]
    asked = []

    def confirm(i, j, distance):
        asked.append((i, j, distance))
        return (i, j) == (1, 2)

    pairs = duplicate_pairs(sha, ph, threshold=2, confirm=confirm)
    assert {(p.i, p.j, p.kind) for p in pairs} == {(0, 3, "exact"), (1, 2, "near")}
    assert (0, 3, 0) not in asked and {(0, 1, 1), (1, 2, 1)} <= set(asked)  # exact copies are never asked about
    assert [g for g in duplicate_groups(4, pairs) if len(g) > 1] == [[0, 3], [1, 2]]


def test_union_find():
    uf = UnionFind(5)
    uf.union(3, 4)
    uf.union(0, 4)
    assert uf.groups() == [[0, 3, 4], [1], [2]]
