import cv2
import numpy as np
import pytest

from kiosk.camera import Frame
from kiosk.errors import UserError
from kiosk.trigger import (
    BackgroundLearned,
    ItemPlaced,
    ItemTrigger,
    TrayCleared,
    TrayState,
    TriggerConfig,
    TriggerConfigError,
)

H, W = 240, 320


class Scene:
    """Synthetic camera: a lightly textured tray, per-frame sensor noise, optional items and lighting offset."""

    def __init__(self, seed=0, noise=6.0):
        self.rng = np.random.default_rng(seed)
        base = np.full((H, W, 3), (150, 160, 165), np.float32)
        base += cv2.GaussianBlur(self.rng.normal(0, 12, (H, W, 3)).astype(np.float32), (0, 0), 3)
        self.tray = base
        self.noise = noise
        self.light = 0.0

    def frame(self, items=()):
        img = self.tray.copy()
        for (x, y, w, h, colour) in items:
            cv2.ellipse(img, ((x + w / 2, y + h / 2), (w, h), 0), colour, -1)
        img += self.light + self.noise * self.rng.standard_normal(img.shape, dtype=np.float32)
        return np.clip(img, 0, 255).astype(np.uint8)


APPLE = (140, 90, 60, 50, (40, 170, 60))
MILK = (100, 60, 90, 120, (240, 240, 245))
LEMON = (140, 90, 60, 50, (40, 220, 235))  # same place as APPLE, different colour


def run(trigger, frames):
    """Feed frames; returns [(frame_number, event)]."""
    out = []
    for i, image in enumerate(frames):
        event = trigger.update(Frame(i, i / 10, image, "synthetic"))
        if event is not None:
            out.append((i, event))
    return out


def kinds(events):
    return [(i, type(e).__name__) for i, e in events]


def test_learns_background_fires_once_per_placement_and_rearms():
    scene = Scene()
    frames = [scene.frame() for _ in range(8)]  # 0-7 empty
    frames += [scene.frame([APPLE]) for _ in range(10)]  # 8-17 apple
    frames += [scene.frame() for _ in range(6)]  # 18-23 empty
    frames += [scene.frame([MILK]) for _ in range(10)]  # 24-33 milk
    trigger = ItemTrigger(TriggerConfig(still_frames=4, learn_frames=5, clear_frames=3))
    events = run(trigger, frames)
    assert kinds(events) == [
        (4, "BackgroundLearned"),
        (11, "ItemPlaced"),  # apple appears at 8, still frames 8,9,10,11
        (20, "TrayCleared"),  # empty 18,19,20
        (27, "ItemPlaced"),
    ]
    placed = events[1][1]
    assert placed.frame.index == 11 and not placed.swapped and placed.occupied_fraction > 0.02
    assert trigger.state is TrayState.OCCUPIED


def test_waits_for_stillness_while_the_item_moves():
    scene = Scene(1)
    frames = [scene.frame() for _ in range(6)]
    for step in range(8):  # the hand slides the item across the tray
        frames.append(scene.frame([(40 + 20 * step, 90, 60, 50, (40, 170, 60))]))
    frames += [scene.frame([(180, 90, 60, 50, (40, 170, 60))]) for _ in range(6)]
    events = run(ItemTrigger(TriggerConfig(still_frames=3)), frames)
    assert kinds(events) == [(4, "BackgroundLearned"), (15, "ItemPlaced")]  # last move at 13, still at 14 and 15


def test_swap_without_emptying_fires_again():
    scene = Scene(2)
    frames = [scene.frame() for _ in range(6)]
    frames += [scene.frame([APPLE]) for _ in range(8)]  # 6-13
    frames += [scene.frame([LEMON]) for _ in range(8)]  # 14-21: swapped in one step
    frames += [scene.frame([LEMON, MILK]) for _ in range(8)]  # 22-29: a second item added
    events = run(ItemTrigger(TriggerConfig(still_frames=3)), frames)
    assert kinds(events) == [(4, "BackgroundLearned"), (8, "ItemPlaced"), (16, "ItemPlaced"), (24, "ItemPlaced")]
    assert [e.swapped for _, e in events[1:]] == [False, True, True]


def test_brief_flicker_of_empty_tray_does_not_clear_or_refire():
    scene = Scene(3)
    frames = [scene.frame() for _ in range(6)] + [scene.frame([APPLE]) for _ in range(6)]
    frames += [scene.frame()]  # one frame where the item looks gone (glitch)
    frames += [scene.frame([APPLE]) for _ in range(8)]
    events = run(ItemTrigger(TriggerConfig(still_frames=3, clear_frames=3)), frames)
    assert kinds(events) == [(4, "BackgroundLearned"), (8, "ItemPlaced")]


def test_item_taken_away_before_settling_fires_nothing():
    scene = Scene(4)
    frames = [scene.frame() for _ in range(6)] + [scene.frame([APPLE]) for _ in range(2)]
    frames += [scene.frame() for _ in range(10)]
    events = run(ItemTrigger(TriggerConfig(still_frames=4)), frames)
    assert kinds(events) == [(4, "BackgroundLearned")]


def test_noise_and_slow_lighting_drift_on_an_empty_tray_fire_nothing():
    scene = Scene(5, noise=10.0)
    trigger = ItemTrigger(TriggerConfig(still_frames=3))
    frames = []
    for i in range(120):
        scene.light = 0.7 * i  # +84 levels over the run: well beyond drift_limit at the end
        frames.append(scene.frame())
    events = run(trigger, frames)
    assert kinds(events) == [(4, "BackgroundLearned")]
    assert trigger.state is TrayState.EMPTY
    # the background followed the light: an item still shows up on the brighter tray
    more = run(trigger, [scene.frame([APPLE]) for _ in range(5)])
    assert [type(e) for _, e in more] == [ItemPlaced]


def test_sudden_small_lighting_change_is_not_an_item():
    scene = Scene(6)
    trigger = ItemTrigger(TriggerConfig(still_frames=3))
    run(trigger, [scene.frame() for _ in range(6)])
    scene.light = 25.0  # a cloud moved / auto exposure stepped
    assert run(trigger, [scene.frame() for _ in range(10)]) == []


def test_learning_waits_for_a_still_tray():
    scene = Scene(7)
    frames = [scene.frame([(20 * i, 50, 40, 40, (0, 0, 200))]) for i in range(6)]  # hand waving during start-up
    frames += [scene.frame() for _ in range(5)]
    events = run(ItemTrigger(TriggerConfig(learn_frames=4)), frames)
    assert kinds(events) == [(9, "BackgroundLearned")]


def test_accepts_bare_arrays_and_grey_images():
    scene = Scene(8)
    trigger = ItemTrigger(TriggerConfig(still_frames=2, learn_frames=2))
    grey = [cv2.cvtColor(scene.frame(), cv2.COLOR_BGR2GRAY) for _ in range(3)]
    grey += [cv2.cvtColor(scene.frame([MILK]), cv2.COLOR_BGR2GRAY) for _ in range(3)]
    events = [trigger.update(g) for g in grey]
    assert isinstance(events[1], BackgroundLearned)
    placed = [e for e in events if isinstance(e, ItemPlaced)]
    assert len(placed) == 1 and placed[0].frame is grey[4]


def test_reset_relearns():
    scene = Scene(9)
    trigger = ItemTrigger(TriggerConfig(still_frames=2, learn_frames=2))
    run(trigger, [scene.frame() for _ in range(3)] + [scene.frame([APPLE]) for _ in range(3)])
    assert trigger.state is TrayState.OCCUPIED
    trigger.reset()
    assert trigger.state is TrayState.LEARNING and trigger.background is None


def test_config_validation():
    assert TriggerConfig.from_dict({"still_frames": 7, "pixel_threshold": 30}).pixel_threshold == 30.0
    with pytest.raises(TriggerConfigError, match="unknown trigger setting.*stillness"):
        TriggerConfig.from_dict({"stillness": 3})
    with pytest.raises(UserError, match="still_frames=0"):
        TriggerConfig(still_frames=0)
    with pytest.raises(TriggerConfigError, match="pixel_threshold='high': expected a number"):
        TriggerConfig.from_dict({"pixel_threshold": "high"})
    # a typo in a count is refused, not rounded (int(1.5) was 1, int(true) 1, int(inf) an OverflowError traceback)
    for typo in ("7", 1.5, True, float("inf")):
        with pytest.raises(TriggerConfigError, match=r"still_frames=.*: expected a whole number"):
            TriggerConfig.from_dict({"still_frames": typo})
    with pytest.raises(TriggerConfigError, match=r"drift_limit=nan: expected a number"):
        TriggerConfig.from_dict({"drift_limit": float("nan")})
    with pytest.raises(UserError, match="size=100000"):
        TriggerConfig(size=100_000)


# -- real photos ---------------------------------------------------------------------------------


def photo(grocery_root, rel):
    from kiosk.bundle_format.preprocess import read_image

    image = read_image(grocery_root / rel)
    assert image is not None, rel
    return image


def tray_like(shape, seed):
    rng = np.random.default_rng(seed)
    tray = np.full(shape, (200, 205, 208), np.float32)
    tray += cv2.GaussianBlur(rng.normal(0, 10, shape).astype(np.float32), (0, 0), 2)
    return tray, rng


def noisy(image, rng, sigma=5.0):
    noise = sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(image.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def test_real_photos_full_frame_place_clear_swap(grocery_root):
    banana = photo(grocery_root, "val/Fruit/Banana/Banana_001.jpg")
    milk = photo(grocery_root, "val/Packages/Oat-Milk/Oatly-Oat-Milk/Oatly-Oat-Milk_001.jpg")
    tray, rng = tray_like(banana.shape, 10)
    empty = lambda: noisy(tray, rng)  # noqa: E731
    frames = [empty() for _ in range(6)]  # 0-5
    frames += [noisy(banana, rng) for _ in range(6)]  # 6-11
    frames += [empty() for _ in range(4)]  # 12-15
    frames += [noisy(milk, rng) for _ in range(6)]  # 16-21
    frames += [noisy(banana, rng) for _ in range(6)]  # 22-27 swapped without emptying
    events = run(ItemTrigger(TriggerConfig(still_frames=3, clear_frames=2)), frames)
    assert kinds(events) == [
        (4, "BackgroundLearned"),
        (8, "ItemPlaced"),
        (13, "TrayCleared"),
        (18, "ItemPlaced"),
        (24, "ItemPlaced"),
    ]
    assert events[-1][1].swapped


def test_real_photos_pasted_as_items_on_a_tray(grocery_root):
    rels = [
        "val/Fruit/Apple/Granny-Smith/Granny-Smith_001.jpg",
        "val/Vegetables/Carrots/Carrots_001.jpg",
        "val/Packages/Milk/Arla-Standard-Milk/Arla-Standard-Milk_001.jpg",
    ]
    items = [cv2.resize(photo(grocery_root, r), (120, 120), interpolation=cv2.INTER_AREA) for r in rels]
    tray, rng = tray_like((360, 480, 3), 11)

    def with_item(item, x, y):
        img = tray.copy()
        img[y : y + 120, x : x + 120] = item
        return noisy(img, rng)

    frames = [noisy(tray, rng) for _ in range(6)]
    expected = [(4, "BackgroundLearned")]
    for k, item in enumerate(items):
        start = len(frames)
        frames += [with_item(item, 60 + 40 * k, 80 + 30 * k) for _ in range(6)]
        expected.append((start + 2, "ItemPlaced"))
        start = len(frames)
        frames += [noisy(tray, rng) for _ in range(4)]
        expected.append((start + 1, "TrayCleared"))
    events = run(ItemTrigger(TriggerConfig(still_frames=3, clear_frames=2)), frames)
    assert kinds(events) == expected


# -- the replayed demo basket ---------------------------------------------------------------------


def test_demo_replay_fires_once_per_basket_item_with_a_stable_aligned_weight(repo_root):
    import csv

    from kiosk.bundle_format.preprocess import read_image
    from kiosk.camera import iter_frames
    from kiosk.scale import ScriptedScale

    demo = repo_root / "assets" / "demo"
    basket = list(csv.DictReader((demo / "basket.csv").open()))
    assert len(basket) >= 8 and sum(r["sold_by"] == "weight" for r in basket) >= 3
    scale = ScriptedScale.from_file(demo / "scale.txt")
    trigger = ItemTrigger()  # the kiosk's defaults
    placed, cleared = [], 0
    for frame in iter_frames(f"folder:{demo / 'camera'}?hold=8&fps=8"):
        reading = scale.read()  # headless runs poll the scale once per frame
        assert frame.image.shape == (348, 348, 3)
        event = trigger.update(frame)
        if isinstance(event, ItemPlaced):
            placed.append((frame, reading))
        elif isinstance(event, TrayCleared):
            cleared += 1
    assert len(placed) == len(basket) and cleared == len(basket)
    for (frame, reading), row in zip(placed, basket, strict=True):
        first = int(row["first_frame"])
        assert first <= frame.index < first + 8
        assert np.array_equal(frame.image, read_image(demo / "camera" / row["frame"]))
        assert reading.usable and reading.grams == int(row["scale_grams"])
        if row["sold_by"] == "weight":
            assert int(row["grams"]) == reading.grams
        else:
            assert row["sold_by"] == "unit" and row["grams"] == ""
    assert scale.polls == scale.total_polls  # script and replay have the same length


def test_demo_assets_are_small_and_licensed(repo_root):
    demo = repo_root / "assets" / "demo"
    mine = [*(demo / "camera").iterdir(), demo / "basket.csv", demo / "scale.txt", demo / "LICENSE-grocery-store"]
    assert sum(p.stat().st_size for p in mine) < 1_000_000
    assert "MIT License" in (demo / "LICENSE-grocery-store").read_text()
    readme = (demo / "README.md").read_text()
    assert "Klasson" in readme and "LICENSE-grocery-store" in readme


def test_demo_items_come_from_val_not_train(repo_root, grocery_root):
    import csv

    train = (grocery_root / "train.txt").read_text()
    val = (grocery_root / "val.txt").read_text()
    for row in csv.DictReader((repo_root / "assets" / "demo" / "basket.csv").open()):
        assert row["source_image"] in val and row["source_image"] not in train
        same = (grocery_root / row["source_image"]).read_bytes()
        assert (repo_root / "assets" / "demo" / "camera" / row["frame"]).read_bytes() == same
        product = row["source_image"].split("/")[-2]
        info = next((grocery_root / "iconic-images-and-descriptions").rglob(f"*/{product}_Information.txt"))
        url_kg = info.read_text(encoding="utf-8-sig").strip().split()[-1].upper().endswith("_KG")
        assert (row["sold_by"] == "weight") == url_kg, row["sku"]
