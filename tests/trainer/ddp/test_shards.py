"""Tar shards and the streaming loader: layout, exactly-once per epoch over ranks × workers, mid-epoch resume,
corrupt and truncated shards reported and skipped without putting ranks out of step, fsspec URLs."""

from __future__ import annotations

import collections
import json
import tarfile
from pathlib import Path

import pytest
import torch

from kiosk.cli import main as checkout
from kiosk.errors import UserError
from tests.trainer.synthetic import make_dataset
from trainer.sample_log import SampleLog, read_sample_logs
from trainer.shards.index import load_index
from trainer.shards.stream import IGNORE, IgnoreEmptyLoss, ShardLoader, ShardStream
from trainer.shards.write import parse_size, write_shards


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    train, _ = make_dataset(root / "img", per_class=16, size=48)  # 48 training photos
    return root, train


@pytest.fixture(scope="module")
def shard_dir(data):
    root, train = data
    out = root / "sh"
    assert checkout(["data", "shard", str(train), "--out", str(out), "--shard-size", "16KB", "--no-progress"]) == 0
    return out


def copy_shards(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def run_epoch(index, world: int, workers: int, batch: int, epoch: int = 0, start: int = 0, dl_workers=None):
    """Per rank: the list of batches (ids) and the reports, through the real ShardLoader (DataLoader workers)."""
    out = []
    for rank in range(world):
        ds = ShardStream(index, rank, world, batch, workers, seed=3, resize=40, shuffle_buffer=6)
        loader = ShardLoader(ds, workers if dl_workers is None else dl_workers)
        loader.set_epoch(epoch, start)
        batches = []
        for images, targets in loader:
            assert images.dtype == torch.uint8 and images.shape[1:] == (3, 40, 40)
            assert len(targets) == images.shape[0]
            batches.append(list(loader.last_ids))
        out.append((batches, loader.errors))
    return out


def test_parse_size():
    assert parse_size("1GB") == 10**9
    assert parse_size("512MiB") == 512 * 2**20
    assert parse_size("64kb") == 64_000
    assert parse_size("4096") == 4096
    with pytest.raises(UserError, match="--shard-size 'big'"):
        parse_size("big")


def test_shard_layout_and_index(data, shard_dir):
    _, train = data
    index = json.loads((shard_dir / "index.json").read_text())
    from trainer.data.manifest import read_manifest

    rows = read_manifest(train)
    assert index["total"] == len(rows) == 48
    assert sum(s["count"] for s in index["shards"]) == 48 and len(index["shards"]) > 4
    assert index["per_sku"] == dict(sorted(collections.Counter(r.sku for r in rows).items()))
    assert index["labels"] == sorted({r.sku for r in rows})
    keys = set()
    for s in index["shards"]:
        path = shard_dir / s["name"]
        assert path.stat().st_size == s["bytes"] and (s["bytes"] <= 16_000 or s["count"] == 1)
        with tarfile.open(path) as tar:
            names = tar.getnames()
        # WebDataset layout: <key>.jpg then <key>.json, consecutive
        assert [n.split(".")[1] for n in names] == ["jpg", "json"] * s["count"]
        assert [n.split(".")[0] for n in names[::2]] == [n.split(".")[0] for n in names[1::2]]
        keys |= {int(n.split(".")[0]) for n in names[::2]}
        assert sum(s["per_sku"].values()) == s["count"]
    assert keys == set(range(48))  # key = manifest row
    with pytest.raises(UserError, match="already holds shards"):
        write_shards(train, shard_dir, 16_000, progress=False)


@pytest.mark.parametrize("world,workers,batch", [(2, 2, 5), (2, 2, 4), (3, 1, 7), (1, 2, 6)])
def test_every_sample_exactly_once_per_epoch_over_ranks_and_workers(shard_dir, world, workers, batch):
    index = load_index(shard_dir)
    orders = []
    for epoch in (0, 1):
        result = run_epoch(index, world, workers, batch, epoch)
        counts = [len(b) for b, _ in result]
        assert len(set(counts)) == 1, f"ranks got different numbers of batches: {counts}"
        assert counts[0] == -(-48 // (world * batch))
        sizes = [len(x) for b, _ in result for x in b]
        assert max(sizes) <= batch and max(sizes) - min(sizes) <= 1
        seen = [i for b, _ in result for x in b for i in x]
        dup = [k for k, v in collections.Counter(seen).items() if v > 1]
        assert not dup and sorted(seen) == list(range(48)), (dup, sorted(set(range(48)) - set(seen)))
        orders.append(seen)
    assert orders[0] != orders[1]  # a new order each epoch


def test_resume_mid_epoch_continues_the_same_stream(shard_dir):
    index = load_index(shard_dir)
    full = run_epoch(index, 2, 2, 4, epoch=1)
    for start in (1, 3):  # odd: the loader's first worker then serves the other residue
        part = run_epoch(index, 2, 2, 4, epoch=1, start=start)
        for (fb, _), (pb, _) in zip(full, part):
            assert pb == fb[start:]


def test_images_are_the_decoded_cache_crops(data, shard_dir):
    """A shard sample is the same uint8 crop the manifest path's decoded cache holds for that row."""
    from kiosk.bundle_format.preprocess import PreprocessSpec
    from trainer.data.manifest import read_manifest
    from trainer.imagecache import build_cache

    _, train = data
    rows = read_manifest(train)
    index = load_index(shard_dir)
    ds = ShardStream(index, 0, 1, 8, 1, seed=0, resize=40)
    images, _, meta = next(iter(ds))
    ids = meta["ids"].tolist()
    cache = build_cache([(rows[i].path, 0) for i in ids], shard_dir.parent / "cache", "train",
                        PreprocessSpec(resize_size=40, crop_size=32))
    assert torch.equal(images, torch.from_numpy(cache.images[:].copy()).permute(0, 3, 1, 2))


def corrupt_member(shard: Path, member: str) -> None:
    with tarfile.open(shard) as tar:
        ti = tar.getmember(member)
    with open(shard, "r+b") as fh:
        fh.seek(ti.offset_data)
        fh.write(b"\x00garbage" * (ti.size // 8))


def test_corrupt_member_is_reported_and_skipped_ranks_stay_in_step(shard_dir, tmp_path):
    bad_dir = copy_shards(shard_dir, tmp_path / "bad")
    index = load_index(bad_dir)
    shard_name = index.names[2]
    with tarfile.open(bad_dir / shard_name) as tar:
        victim = tar.getnames()[0]  # "<key>.jpg"
    corrupt_member(bad_dir / shard_name, victim)
    victim_id = int(victim.split(".")[0])
    for epoch in (0, 1):
        result = run_epoch(index, 2, 2, 4, epoch)
        assert len(result[0][0]) == len(result[1][0])  # same number of steps on both ranks
        seen = [i for b, _ in result for x in b for i in x]
        assert sorted(seen) == sorted(set(range(48)) - {victim_id})  # every other sample, once
        errors = [e for _, errs in result for e in errs]
        assert len(errors) == 1, errors
        assert errors[0]["shard"] == shard_name and errors[0]["member"] == victim
        assert "undecodable" in errors[0]["reason"]


def test_a_thumbnail_too_small_for_the_crop_is_reported_and_skipped(shard_dir):
    """A sample that decodes but is more than 8x smaller than the training resize is left out like a broken one
    (it stopped the run with an error before)."""
    import json

    import cv2
    import numpy as np

    from trainer.shards.read import RawSample

    index = load_index(shard_dir)
    ds = ShardStream(index, 0, 1, 8, 1, seed=0, resize=40)
    meta = json.dumps({"sku": index.labels[0]}).encode()
    good = cv2.imencode(".png", np.full((40, 40, 3), 90, np.uint8))[1].tobytes()
    thumb = cv2.imencode(".png", np.full((4, 4, 3), 90, np.uint8))[1].tobytes()
    errors = []

    def report(*error):
        errors.append(error)

    assert ds._decode(RawSample("s.tar", "000000007", {"json": meta, "png": good}), report) is not None
    assert ds._decode(RawSample("s.tar", "000000008", {"json": meta, "png": thumb}), report) is None
    assert errors == [("s.tar", "000000008.png", "4x4 px: too small for the model's 40 px (more than 8x "
                                                 "enlargement; at least 5 px on the shorter side)")]


def test_truncated_shard_is_reported_and_the_rest_still_trains(shard_dir, tmp_path):
    bad_dir = copy_shards(shard_dir, tmp_path / "trunc")
    index = load_index(bad_dir)
    name = index.names[1]
    with tarfile.open(bad_dir / name) as tar:
        members = tar.getmembers()
    first_key = int(members[0].name.split(".")[0])
    with open(bad_dir / name, "r+b") as fh:  # cut inside the first sample's photo
        fh.truncate(members[0].offset_data + members[0].size // 2)
    lost = {int(m.name.split(".")[0]) for m in members}
    result = run_epoch(index, 2, 2, 4, 0)
    assert len(result[0][0]) == len(result[1][0])
    seen = [i for b, _ in result for x in b for i in x]
    assert sorted(seen) == sorted(set(range(48)) - lost) and first_key in lost
    errors = [e for _, errs in result for e in errs]
    assert errors and all(e["shard"] == name for e in errors), errors
    assert members[0].name in errors[0]["member"] or "after" in errors[0]["member"]


def test_all_unreadable_batch_is_an_ignored_placeholder(tmp_path):
    from torch import nn

    loss = IgnoreEmptyLoss(nn.CrossEntropyLoss(label_smoothing=0.1))
    logits = torch.randn(1, 4, requires_grad=True)
    out = loss(logits, torch.tensor([IGNORE]))
    out.backward()
    assert out.item() == 0.0 and torch.count_nonzero(logits.grad) == 0
    logits = torch.randn(3, 4)
    mixed = loss(logits, torch.tensor([1, IGNORE, 2]))
    assert torch.isclose(mixed, nn.CrossEntropyLoss(label_smoothing=0.1)(logits[[0, 2]], torch.tensor([1, 2])))


def test_reads_fsspec_urls(shard_dir):
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    for p in shard_dir.iterdir():
        fs.pipe(f"/ddp-test/{p.name}", p.read_bytes())
    index = load_index("memory://ddp-test")
    assert index.total == 48
    result = run_epoch(index, 2, 1, 6, 0, dl_workers=0)  # streamed ("r|" mode): no seeking
    seen = sorted(i for b, _ in result for x in b for i in x)
    assert seen == list(range(48))
    with pytest.raises(UserError, match="no shard index"):
        load_index("memory://nowhere")


def test_sample_log_drops_steps_after_the_checkpoint(tmp_path):
    log = SampleLog(tmp_path, 1, keep_until_step=0)
    for step in range(1, 6):
        log.record(0, step, step - 1, [step * 10])
    log.close()
    with open(log.path, "a") as fh:
        fh.write('{"epoch": 0, "st')  # a line cut short by SIGKILL
    log = SampleLog(tmp_path, 1, keep_until_step=3)
    log.record(0, 4, 3, [99])
    log.close()
    assert read_sample_logs(tmp_path) == {0: [10, 20, 30, 99]}


def test_max_side_reencodes_smaller_and_leaves_out_undecodable(data, tmp_path):
    import cv2

    from kiosk.bundle_format.preprocess import decode_image
    from trainer.data.manifest import read_manifest, write_manifest

    _, train = data
    rows = read_manifest(train)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    manifest = write_manifest([*rows, rows[0].with_(path=broken)], tmp_path / "m.csv")
    big = tmp_path / "sh-orig"
    small = tmp_path / "sh-small"
    write_shards(train, big, 10**6, progress=False)
    index = write_shards(manifest, small, 10**6, max_side=24, progress=False)
    assert index["total"] == 48 and index["max_side"] == 24
    assert index["skipped"] == [{"line": 50, "path": str(broken), "reason": "undecodable"}]

    def image_bytes(folder):
        total = 0
        for p in folder.glob("shard-*.tar"):
            with tarfile.open(p) as tar:
                total += sum(m.size for m in tar.getmembers() if m.name.endswith(".jpg"))
        return total

    assert image_bytes(small) < 0.5 * image_bytes(big)
    with tarfile.open(small / index["shards"][0]["name"]) as tar:
        first = tar.extractfile(tar.getmembers()[0]).read()
    image = decode_image(first)
    assert min(image.shape[:2]) == 24 and cv2.imdecode is not None
