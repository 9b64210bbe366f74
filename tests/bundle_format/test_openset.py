"""The embedding / fusion / open-set sections of a manifest, their arithmetic, and the model contract for a second
output."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from kiosk.bundle_format.bundle import file_entry, read_manifest, write_manifest
from kiosk.bundle_format.contract import ModelSignature, TensorInfo, contract_problems
from kiosk.bundle_format.openset import (
    Fusion,
    auroc,
    embedding_info,
    fuse,
    gallery_similarity,
    item_scores,
    l2_normalise,
    open_set_rule,
    open_set_scores,
    softmax,
    trained_similarity,
)
from kiosk.errors import BundleError
from tests.bundles.factory import TINY_LABELS, build_tiny_bundle


def test_auroc_is_the_share_of_known_unknown_pairs_ranked_right():
    rng = np.random.default_rng(0)
    known, unknown = rng.normal(1, 1, 40).round(1), rng.normal(0, 1, 30).round(1)  # rounded: ties too
    pairs = [(k > u) + 0.5 * (k == u) for k, u in itertools.product(known, unknown)]
    assert auroc(known, unknown) == pytest.approx(np.mean(pairs))
    assert auroc([2, 3], [0, 1]) == 1.0 and auroc([0, 1], [2, 3]) == 0.0 and auroc([1], [1]) == 0.5


def test_gallery_similarity_mean_and_max():
    q = l2_normalise(np.array([[1.0, 0.0], [0.0, 1.0]]))
    g = l2_normalise(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    owner = np.array([0, 0, 1])
    best = gallery_similarity(q, g, owner, 2, "max")
    assert np.allclose(best, [[1.0, 0.0], [np.sqrt(0.5), 1.0]])
    mean = gallery_similarity(q, g, owner, 2, "mean")  # the SKU's normalised mean row
    assert np.allclose(mean[:, 0], l2_normalise(g[0] + g[1]) @ q.T)


def test_fuse_appends_enrolled_skus_and_a_trained_one_keeps_its_head_logit():
    logits = np.array([[2.0, 1.0, 0.0]])
    fused = fuse(logits, ["a", "b", "c"], np.array([[0.5, 0.9]]), ["b", "new"], Fusion(10.0, -4.0))
    assert fused.labels == ["a", "b", "c", "new"]
    assert np.allclose(fused.logits, [[2.0, 1.0, 0.0, 5.0]])  # b's gallery logit 1.0 is not larger than 1.0
    assert fused.from_gallery.tolist() == [[False, False, False, True]]
    # a trained SKU taught again: its gallery logit (4.0) would beat the head's (1.0); the head's answer stands, not
    # flagged as the gallery's, so its auto-add still follows the head's calibrated score (was 4.0, from the gallery)
    for form, trained in (("absolute", None), ("relative", np.array([0.5]))):
        fused = fuse(logits, ["a", "b", "c"], np.array([[0.8, 0.0]]), ["b", "new"], Fusion(10.0, -4.0, form=form),
                     trained)
        assert fused.logits[0, 1] == pytest.approx(1.0) and not fused.from_gallery[0, :3].any()
        assert fused.from_gallery[0, 3]


def test_relative_fusion_measures_the_gallery_against_the_trained_prototypes():
    logits = np.array([[3.0, 1.0], [3.0, 1.0]])
    relative = Fusion(10.0, -1.0, form="relative")
    # item 0 is nearer the enrolled SKU's gallery (0.9) than any trained prototype (0.6): it takes the top logit
    # plus 10 * 0.3 - 1; item 1 is nearer a trained SKU's prototype (0.95): the gallery stays below the head's top
    fused = fuse(logits, ["a", "b"], np.array([[0.9], [0.9]]), ["new"], relative, np.array([0.6, 0.95]))
    assert np.allclose(fused.logits[:, 2], [3.0 + 3.0 - 1.0, 3.0 - 0.5 - 1.0])
    assert fused.logits[0].argmax() == 2 and fused.logits[1].argmax() == 0
    with pytest.raises(ValueError, match="trained"):
        fuse(logits, ["a", "b"], np.array([[0.9], [0.9]]), ["new"], relative)
    absolute = fuse(logits, ["a", "b"], np.array([[0.9], [0.9]]), ["new"], Fusion(10.0, -1.0), np.array([0.6, 0.95]))
    assert np.allclose(absolute.logits[:, 2], 8.0)  # a bundle from before the form: as it always was


def test_trained_similarity_takes_the_prototypes_or_the_nearest_exemplar():
    q = l2_normalise(np.array([[1.0, 0.0], [0.0, 1.0]]))
    protos = l2_normalise(np.array([[1.0, 1.0]]))
    exemplars = l2_normalise(np.array([[1.0, 0.0], [1.0, 2.0]]))
    assert np.allclose(trained_similarity(q, protos, exemplars, "mean"), [np.sqrt(0.5)] * 2)
    assert np.allclose(trained_similarity(q, protos, exemplars, "max"), [1.0, 2 / np.sqrt(5)])
    assert np.allclose(trained_similarity(q, protos, None, "max"), [np.sqrt(0.5)] * 2)  # no exemplars: prototypes


def test_knn_score_is_the_nearest_exemplar_or_gallery_row():
    z = np.zeros((2, 3))
    emb = np.array([[2.0, 0.0], [1.0, 1.0]])
    bank = l2_normalise(np.array([[1.0, 0.0], [0.6, 0.8]]))
    s = open_set_scores(z, emb, None, None, bank)
    assert np.allclose(s["knn"], [1.0, (0.6 + 0.8) / np.sqrt(2)])
    assert "knn" not in open_set_scores(z, emb, None, None, None)  # a bundle without exemplars: no knn


def test_open_set_scores():
    z = np.array([[5.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    emb = np.array([[1.0, 0.0], [0.0, 1.0]])
    protos = l2_normalise(np.array([[1.0, 0.0], [1.0, 1.0]]))
    s = open_set_scores(z, emb, protos, {"energy": (0.0, 1.0), "prototype": (0.0, 1.0)})
    assert s["msp"][0] > s["msp"][1] and s["msp"][1] == pytest.approx(1 / 3)
    assert s["energy"][1] == pytest.approx(1 + np.log(3))
    assert np.allclose(s["prototype"], [1.0, np.sqrt(0.5)])
    assert np.allclose(s["combined"], s["energy"] + s["prototype"])
    assert "prototype" not in open_set_scores(z)  # no embedding: softmax and energy only


@pytest.mark.parametrize("seed", range(5))
def test_the_tills_one_item_scores_are_the_batch_scores(seed):
    """item_scores (the till's per-frame path) gives what head office's batch arithmetic gives, item by item."""
    rng = np.random.default_rng(seed)
    z = (rng.normal(size=(4, 30)) * rng.uniform(0.5, 8)).astype(np.float32)
    emb = rng.normal(size=(4, 16)).astype(np.float32) * rng.uniform(0.1, 30)
    protos, bank = l2_normalise(rng.normal(size=(30, 16))), l2_normalise(rng.normal(size=(90, 16)))
    stats = {"energy": (float(rng.normal(5)), float(rng.uniform(0.5, 3))), "prototype": (0.5, 0.1)}
    batch = open_set_scores(z, emb, protos, stats, bank)
    probs = softmax(z)
    for i in range(4):
        p, one = item_scores(z[i], emb[i], protos, stats, bank)
        assert sorted(one) == sorted(batch) and all(isinstance(v, float) for v in one.values())
        for name, value in one.items():
            assert value == pytest.approx(float(batch[name][i]), rel=1e-5, abs=1e-5), name
        assert np.allclose(p, probs[i], rtol=1e-6, atol=1e-8) and p.argmax() == probs[i].argmax()
    _p, bare = item_scores(z[0])
    assert sorted(bare) == ["energy", "msp"]  # no embedding: softmax and energy only


def _with_sections(root, embedding=None, open_set=None):
    m = read_manifest(root)
    extra = dict(m.extra)
    if embedding is not None:
        extra["embedding"] = embedding
    if open_set is not None:
        extra["open_set"] = open_set
    m = dataclasses.replace(m, extra=extra)
    write_manifest(root, m)
    return m


def test_sections_are_read_and_malformed_ones_refused(tmp_path):
    root = build_tiny_bundle(tmp_path / "b")
    assert embedding_info(read_manifest(root)) is None and open_set_rule(read_manifest(root)) is None
    m = _with_sections(root, {"output": "embedding", "dim": 8, "fusion": {"scale": 9, "bias": -3}},
                       {"score": "energy", "thresholds": {"energy": 1.5, "msp": 0.3}})
    info, rule = embedding_info(m), open_set_rule(m)
    assert info.dim == 8 and info.fusion.scale == 9 and info.fusion.similarity == "mean"
    assert info.fusion.form == "absolute" and info.exemplars is None  # older bundles fuse as before
    assert rule.threshold == 1.5 and rule.known({"energy": np.array([1.4, 1.6])}).tolist() == [False, True]
    assert rule.usable({"msp": np.array([0.5])}) == "msp"  # a till without embeddings falls back
    for bad in ({"output": "embedding"}, {"output": "embedding", "dim": 8, "prototypes": "missing.npy"},
                {"output": "embedding", "dim": 8, "fusion": {"scale": 1, "bias": 0, "similarity": "median"}},
                {"output": "embedding", "dim": 8, "fusion": {"scale": 1, "bias": 0, "form": "sideways"}},
                {"output": "embedding", "dim": 8, "exemplars": "missing.npy"},
                {"output": "embedding", "dim": 8, "fusion": {"scale": 1, "bias": 0, "form": "relative"}}):
        with pytest.raises(BundleError, match="embedding"):
            embedding_info(_with_sections(root, bad))
    np.save(root / "prototypes.npy", np.eye(len(TINY_LABELS), 8, dtype=np.float16))
    listed = read_manifest(root)
    write_manifest(root, dataclasses.replace(listed, files={**listed.files,
                                                            "prototypes.npy": file_entry(root / "prototypes.npy")}))
    m = _with_sections(root, {"output": "embedding", "dim": 8, "prototypes": "prototypes.npy",
                              "fusion": {"scale": 9, "bias": -3, "form": "relative"}})
    assert embedding_info(m).fusion.form == "relative"
    assert embedding_info(m).fusion.to_json()["form"] == "relative"
    with pytest.raises(BundleError, match="open_set"):
        open_set_rule(_with_sections(root, {"output": "embedding", "dim": 8}, {"score": "magic", "thresholds": {}}))


def test_the_contract_wants_the_declared_embedding_output(tmp_path):
    root = build_tiny_bundle(tmp_path / "b")
    n = len(TINY_LABELS)
    x = (TensorInfo("input", "float32", ("N", 3, 32, 32)),)
    logits = TensorInfo("logits", "float32", ("N", n))
    plain = _with_sections(root)
    declared = _with_sections(root, {"output": "embedding", "dim": 8})
    good = ModelSignature(x, (logits, TensorInfo("embedding", "float32", ("N", 8))), (1, n), "float32", True,
                          ((1, n), (1, 8)))
    assert contract_problems(good, declared) == []
    assert "has 2 outputs" in contract_problems(good, plain)[0]  # an undeclared second output
    assert "has 1 outputs" in contract_problems(ModelSignature(x, (logits,), (1, n)), declared)[0]
    wrong = ModelSignature(x, (logits, TensorInfo("features", "float32", ("N", 16))), (1, n), "float32", True,
                           ((1, n), (1, 16)))
    problems = " ".join(contract_problems(wrong, declared))
    assert "not 'embedding'" in problems and "(batch, 8)" in problems
    assert file_entry(root / "model.onnx")["size"] > 0
