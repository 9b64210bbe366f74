"""``checkout feedback cluster DIR --bundle B``: collect's unlabelled crops grouped by the bundle's embeddings."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kiosk.cli import main as checkout
from tests.onboarding_kit import build_world
from trainer.fleet import clusters

HEADER = ["path", "store", "kiosk", "placement_id", "predicted", "chooser", "last_sku", "label", "time", "batch",
          "reason"]


def _unlabelled(folder: Path, rows: list[list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "unlabelled.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(rows)
    return folder


def _row(path: str, store: str, placement: str) -> list[str]:
    return [path, store, "k1", placement, "", "", "", "", "2024-05-01T10:00:00Z", "b.tar", "not recognised"]


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture(scope="module")
def collected(world, tmp_path_factory):
    """A collect folder: 6 crops of blue-disc, 6 of yellow-box (two products far apart to the toy model), one of
    green-disc (alone), a row without a crop, an unreadable crop and one outside the folder."""
    folder = tmp_path_factory.mktemp("collected")
    (folder / "images" / "s1" / "k1").mkdir(parents=True)
    data = Path(world.new_test).parent
    sources = [r for r in csv.DictReader(open(world.new_test)) if r["sku"] == "blue-disc"]
    sources += [r for r in csv.DictReader(open(world.unknown)) if r["sku"] == "yellow-box"]
    sources += [r for r in csv.DictReader(open(world.unknown)) if r["sku"] == "green-disc"][:1]
    rows, truth = [], {}
    for i, r in enumerate(sources):
        name = f"images/s1/k1/p{i:02d}.jpg"
        shutil.copyfile(data / r["path"], folder / name)
        store = "=HYPERLINK(\"x\")" if i == 0 else "s1"
        rows.append(_row(name, store, f"p{i:02d}"))
        truth[f"p{i:02d}"] = r["sku"]
    (folder / "images" / "s1" / "k1" / "bad.jpg").write_bytes(b"not a jpeg")
    rows += [_row("", "s1", "nocrop"), _row("images/s1/k1/bad.jpg", "s1", "bad"), _row("../outside.jpg", "s1", "out")]
    return _unlabelled(folder, rows), truth


def _clusters(folder: Path) -> list[dict]:
    with open(folder / "clusters.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_two_products_make_two_groups_and_the_odd_crop_is_alone(world, collected, capsys, caplog):
    folder, truth = collected
    assert checkout(["feedback", "cluster", str(folder), "--bundle", str(world.bundle)]) == 0
    out = capsys.readouterr()
    assert out.out.startswith("13 crops: 2 groups (largest 6), 1 alone, 2 unreadable (first: ../outside.jpg: outside")
    assert out.out.strip().endswith(f"; {folder / 'clusters.csv'}")
    assert "bad.jpg: corrupt" in caplog.text  # named, one warning line
    rows = _clusters(folder)
    assert list(rows[0]) == clusters.COLUMNS and len(rows) == 13
    by_sku: dict[str, set] = {}
    for r in rows:
        by_sku.setdefault(truth[r["placement_id"]], set()).add(int(r["cluster"]))
    assert by_sku["green-disc"] == {-1}
    assert len(by_sku["blue-disc"]) == len(by_sku["yellow-box"]) == 1 and by_sku["blue-disc"] != by_sku["yellow-box"]
    assert [r["cluster"] for r in rows] == ["0"] * 6 + ["1"] * 6 + ["-1"]  # by size, singletons last
    assert {r["size"] for r in rows if r["cluster"] != "-1"} == {"6"}
    manifest = json.loads((world.bundle / "manifest.json").read_text())
    assert {r["model_version"] for r in rows} == {str(manifest["model_version"])}
    assert {r["bundle_sha256"] for r in rows} == {manifest["files"]["model.onnx"]["sha256"]}
    assert all(r["nearest_sku"] in manifest["labels"] and -1 <= float(r["nearest_score"]) <= 1 for r in rows)
    stores = {r["store"] for r in rows}
    assert "'=HYPERLINK(\"x\")" in stores and "=HYPERLINK(\"x\")" not in stores  # formula-safe


def test_the_same_folder_gives_the_same_file_and_json_names_the_unreadable(world, collected, capsys):
    folder, _ = collected
    assert checkout(["feedback", "cluster", str(folder), "--bundle", str(world.bundle), "--json"]) == 0
    first = (folder / "clusters.csv").read_bytes()
    report = json.loads(capsys.readouterr().out)
    assert checkout(["feedback", "cluster", str(folder), "--bundle", str(world.bundle), "--json"]) == 0
    assert (folder / "clusters.csv").read_bytes() == first
    assert json.loads(capsys.readouterr().out) == report
    assert (report["crops"], report["groups"], report["alone"], report["without_crop"]) == (13, 2, 1, 1)
    assert [u["placement_id"] for u in report["unreadable"]] == ["out", "bad"]
    assert report["unreadable"][0]["why"].startswith("outside") and report["unreadable"][1]["why"]


def test_a_lower_threshold_and_min_size_split_more(world, collected, capsys):
    folder, _ = collected
    assert checkout(["feedback", "cluster", str(folder), "--bundle", str(world.bundle), "--min-size", "7",
                     "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["groups"], report["alone"]) == (0, 13)
    assert {r["cluster"] for r in _clusters(folder)} == {"-1"}


def test_only_unreadable_crops_write_an_empty_file(world, tmp_path, capsys):
    folder = _unlabelled(tmp_path / "c", [_row("a.jpg", "s1", "a"), _row("", "s1", "b")])
    (folder / "a.jpg").write_bytes(b"")
    assert checkout(["feedback", "cluster", str(folder), "--bundle", str(world.bundle)]) == 0
    assert capsys.readouterr().out.startswith("0 crops: 0 groups (largest 0), 0 alone, 1 unreadable (first: a.jpg")
    assert _clusters(folder) == []


def _refused(argv: list[str], capsys) -> str:
    assert checkout(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "Traceback" not in "\n".join(err)
    return err[-1]


def test_refusals_are_one_line(world, tmp_path, capsys):
    bundle = str(world.bundle)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "unlabelled.csv: cannot read it" in _refused(["feedback", "cluster", str(empty), "--bundle", bundle], capsys)
    damaged = _unlabelled(tmp_path / "damaged", [_row("a.jpg", "s1", "a")])
    with open(damaged / "unlabelled.csv", "a") as fh:
        fh.write("x.jpg,s1\n")
    assert "line 3: 2 cells" in _refused(["feedback", "cluster", str(damaged), "--bundle", bundle], capsys)
    (damaged / "unlabelled.csv").write_text("a,b\n1,2\n")
    assert "line 1: not the header" in _refused(["feedback", "cluster", str(damaged), "--bundle", bundle], capsys)
    (damaged / "unlabelled.csv").write_bytes(b"path,store\n\xff\xfe\n")
    assert "not UTF-8" in _refused(["feedback", "cluster", str(damaged), "--bundle", bundle], capsys)
    ok = _unlabelled(tmp_path / "ok", [_row("a.jpg", "s1", "a")])
    assert _refused(["feedback", "cluster", str(ok), "--bundle", str(empty)], capsys).startswith(
        f"checkout: error: --bundle {empty}:")
    for bad in ("0", "1", "1.5", "-0.2"):
        assert "--threshold" in _refused(["feedback", "cluster", str(ok), "--bundle", bundle, "--threshold", bad],
                                         capsys)
    assert not (ok / "clusters.csv").exists()


def test_a_bundle_without_an_embedding_output_is_refused(world, tmp_path, capsys):
    bundle = tmp_path / "bundle"
    shutil.copytree(world.bundle, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["embedding"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    ok = _unlabelled(tmp_path / "ok", [_row("a.jpg", "s1", "a")])
    line = _refused(["feedback", "cluster", str(ok), "--bundle", str(bundle)], capsys)
    assert "no embedding output" in line


def _naive_average_linkage_cut(d: np.ndarray, threshold: float) -> set[frozenset]:
    """The textbook O(n³) loop: merge the closest two groups (mean pairwise distance) while it is ≤ threshold."""
    groups = [[i] for i in range(len(d))]
    while len(groups) > 1:
        best = min((d[np.ix_(a, b)].mean(), i, j) for i, a in enumerate(groups) for j, b in enumerate(groups) if i < j)
        if best[0] > threshold:
            break
        _, i, j = best
        groups[i] = groups[i] + groups.pop(j)
    return {frozenset(g) for g in groups}


@pytest.mark.parametrize("seed", range(4))
def test_the_chain_algorithm_cuts_as_the_textbook_loop(seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, 16))
    x = np.concatenate([c + rng.normal(scale=0.5, size=(int(rng.integers(1, 8)), 16)) for c in centres])
    x = x[rng.permutation(len(x))]
    e = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = np.clip(1 - e @ e.T, 0, 2)
    merges = clusters.average_linkage(d)
    assert len(merges) == len(d) - 1 and all(a < b for a, b, _ in merges)
    for threshold in (0.05, 0.2, 0.4, 0.7):
        roots = clusters.flat_clusters(len(d), merges, threshold)
        mine = {frozenset(np.flatnonzero(roots == r).tolist()) for r in set(roots.tolist())}
        assert mine == _naive_average_linkage_cut(d, threshold)


def test_group_numbers_by_size_and_marks_small_groups():
    e = np.array([[1, 0], [0, 1], [0.01, 1], [0.02, 1], [1, 0.01], [-1, 0]], np.float32)
    cluster, size = clusters.group(e, 0.1, min_size=2)
    assert cluster.tolist() == [1, 0, 0, 0, 1, -1] and size.tolist() == [2, 3, 3, 3, 2, 1]
    assert clusters.group(np.zeros((0, 4)), 0.1)[0].tolist() == []
    assert clusters.group(np.ones((5, 3)), 0.1)[0].tolist() == [0] * 5  # all tied: one group, no endless chain


def test_max_crops_groups_the_newest_and_writes_the_older_as_not_grouped(world, collected, tmp_path, capsys):
    """--max-crops 7: the seven newest crops (the yellow boxes and the green disc) are grouped; the six blue discs
    and the unreadable crop, older, are written last with cluster -2 and counted in the summary."""
    source, truth = collected
    folder = tmp_path / "fleet"
    shutil.copytree(source / "images", folder / "images")
    with open(source / "unlabelled.csv", newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    for r in rows:  # p00-p05 (blue) and bad placed on May 1st, the rest on May 2nd
        r[8] = "2024-05-01T10:00:00Z" if r[3] in {f"p{i:02d}" for i in range(6)} | {"bad"} else "2024-05-02T10:00:00Z"
    _unlabelled(folder, rows)
    assert checkout(["feedback", "cluster", str(folder), "--bundle", str(world.bundle), "--max-crops", "7"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("7 crops: 1 groups (largest 6), 1 alone, 1 unreadable (first: ../outside.jpg")
    assert "; 7 older crops not grouped this time (--max-crops 7: cluster -2); " in line
    got = _clusters(folder)
    assert [r["cluster"] for r in got] == ["0"] * 6 + ["-1"] + ["-2"] * 7
    assert {truth[r["placement_id"]] for r in got[:6]} == {"yellow-box"}
    assert [r["placement_id"] for r in got[7:]] == [f"p{i:02d}" for i in range(6)] + ["bad"]
    assert {(r["size"], r["nearest_sku"], r["nearest_score"]) for r in got[7:]} == {("", "", "")}
    assert "--max-crops" in _refused(["feedback", "cluster", str(folder), "--bundle", str(world.bundle),
                                      "--max-crops", "0"], capsys)


def test_a_float32_matrix_merges_as_float64_does():
    rng = np.random.default_rng(7)
    x = np.concatenate([c + rng.normal(scale=0.4, size=(6, 32)) for c in rng.normal(size=(4, 32))])
    e = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = np.clip(1 - e @ e.T, 0, 2)
    wide = clusters.average_linkage(d)
    narrow_input = d.astype(np.float32)
    narrow = clusters.average_linkage(narrow_input, overwrite=True)
    assert [(a, b) for a, b, _ in narrow] == [(a, b) for a, b, _ in wide]
    assert np.allclose([h for *_, h in narrow], [h for *_, h in wide], atol=1e-5)


def test_read_clusters_reads_what_cluster_writes_and_names_a_damaged_file(world, collected, tmp_path):
    folder, _ = collected
    assert checkout(["feedback", "cluster", str(folder), "--bundle", str(world.bundle)]) == 0
    got = clusters.read_clusters(folder)
    assert [r["cluster"] for r in got.rows] == [0] * 6 + [1] * 6 + [-1] and got.rows[0]["size"] == 6
    assert '=HYPERLINK("x")' in {r["store"] for r in got.rows} and len(got.version) == 64
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    for text, says in (("a,b\n", "line 1: not the header"), (",".join(clusters.COLUMNS) + "\nx,y\n", "line 2: 2 cells"),
                       (",".join(clusters.COLUMNS) + "\n" + "a," * 4 + "zero," + "1," * 4 + "x\n", "line 2:")):
        (damaged / "clusters.csv").write_text(text)
        with pytest.raises(clusters.DataError, match=says):
            clusters.read_clusters(damaged)
