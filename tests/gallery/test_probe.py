"""The gallery fusion's ``probe`` similarity (kiosk.bundle_format.probe): a ridge classifier over the frozen
embeddings, fitted on the trained SKUs' exemplars and the gallery at the till and in the export's fit alike."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from kiosk.bundle_format.openset import gallery_similarity, l2_normalise
from kiosk.bundle_format.probe import ProbeBase, class_sums
from kiosk.errors import BundleError
from kiosk.gallery import Gallery, enroll


class Row:
    def __init__(self, sku: str) -> None:
        self.sku, self.name, self.active = sku, sku.title(), True


def _look_alikes(rng: np.random.Generator, n: int, sign: float) -> np.ndarray:
    """Two packs of one product: the same look (``base``) and the same few ways of varying (light, angle: a rank-8
    nuisance, as a network's features vary), told apart by one faint direction."""
    dim = 48
    base = np.zeros(dim)
    base[0] = 1.0
    tell = np.zeros(dim)
    tell[1] = 0.12 * sign
    nuisance = np.random.default_rng(99).normal(0, 1, (8, dim)) * (np.arange(dim) >= 2) / np.sqrt(8)
    return l2_normalise(base + tell + rng.normal(0, 0.25, (n, 8)) @ nuisance)


def test_the_probe_tells_a_new_pack_from_the_old_where_the_nearest_photo_cannot():
    rng = np.random.default_rng(0)
    old, new = _look_alikes(rng, 40, +1), _look_alikes(rng, 10, -1)  # a trained pack's exemplars, ten shots
    others = l2_normalise(rng.normal(0, 1, (40, 48)))  # a trained SKU that looks like neither
    bank = np.concatenate([old, others])
    owner = np.repeat([0, 1], 40)
    probe = ProbeBase(bank, owner, ["old-pack", "other"]).fit(new, np.zeros(10, np.int64), ["new-pack"])
    queries = np.concatenate([_look_alikes(rng, 200, -1), _look_alikes(rng, 200, +1)])
    truth_new = np.repeat([True, False], 200)
    sims, best_trained = probe.similarities(queries)
    probe_says_new = sims[:, 0] > best_trained
    nearest_new = gallery_similarity(queries, new, np.zeros(10, np.int64), 1, "max")[:, 0]
    nearest_old = (queries @ bank.T).max(axis=1)
    cosine_says_new = nearest_new > nearest_old
    assert np.mean(probe_says_new == truth_new) >= 0.9
    assert np.mean(cosine_says_new == truth_new) <= 0.65  # the relative fusion's cosines: a coin toss


def test_every_sku_weighs_the_same_and_a_trained_sku_taught_again_keeps_its_column():
    rng = np.random.default_rng(1)
    rows, owner = rng.normal(size=(13, 5)), np.array([0] * 10 + [1] * 3)
    gram, targets, mass = class_sums(rows, owner, 2)
    assert mass.tolist() == [1.0, 1.0]
    np.testing.assert_allclose(gram, rows[:10].T @ rows[:10] / 10 + rows[10:].T @ rows[10:] / 3)
    np.testing.assert_allclose(targets, np.stack([rows[:10].mean(0), rows[10:].mean(0)], axis=1))
    base = ProbeBase(l2_normalise(rows), owner, ["a", "b"])
    probe = base.fit(l2_normalise(rng.normal(size=(4, 5))), np.array([0, 0, 1, 1]), ["new", "b"])
    assert probe.weights.shape == (5, 3) and probe.columns.tolist() == [2, 1] and probe.trained == 2
    sims, best = probe.similarities(l2_normalise(rows[:2]))
    assert sims.shape == (2, 2) and best.shape == (2,)
    assert base.fit(np.zeros((0, 5), np.float32), np.zeros(0, np.int64), []).weights.shape == (5, 2)


@pytest.fixture(scope="module")
def probe_bundle(world, tmp_path_factory):
    """The world's run exported with the probe fusion."""
    from trainer.export import export_bundle

    out = tmp_path_factory.mktemp("probe") / "bundle"
    export_bundle(world.run, out, model_version=1, open_set={"similarity": "probe"})
    return out


def test_a_probe_bundle_says_whose_exemplars_and_the_till_fuses_its_taught_products_by_it(world, probe_bundle,
                                                                                          tmp_path):
    from kiosk.bundle_format.openset import softmax
    from kiosk.recognition.recognizer import Recognizer

    manifest = json.loads((probe_bundle / "manifest.json").read_text())
    embedding = manifest["embedding"]
    fusion = embedding["fusion"]
    assert fusion["similarity"] == "probe" and fusion["form"] == "relative" and fusion["ridge"] > 0
    assert len(embedding["exemplar_counts"]) == len(manifest["labels"])
    assert 0.0 <= fusion["stolen_rate"] < 0.5 and fusion["enrolled_own_top1"] > 0.0  # the pretend draws, recorded
    rec = Recognizer.load(probe_bundle, threads=1)
    try:
        assert sum(embedding["exemplar_counts"]) == len(rec.fusion.exemplars)
        gallery = Gallery.open(tmp_path / "gallery")
        rec.attach_gallery(gallery)
        enroll(gallery, rec, "blue-disc", Row("blue-disc"), world.photos("blue-disc", world.new_train)[:10])
        embedded = rec.embed(world.photos("blue-disc")[:1])[0]
        head = np.linspace(0.0, 1.0, len(manifest["labels"])).astype(np.float32)
        decision = rec.fusion.decide(head, embedded)
        fitted = rec.fusion._fitted_probe(rec.fusion.gallery())
        assert rec.fusion._fitted_probe(rec.fusion.gallery()) is fitted  # fitted once per gallery snapshot
        sims, best = fitted.similarities(l2_normalise(embedded[None]))
        taught = head.max() + fusion["scale"] * (sims[0, 0] - best[0]) + fusion["bias"]
        want = softmax(np.append(head, taught))
        assert decision.labels == [*manifest["labels"], "blue-disc"] and decision.from_gallery.tolist()[-1]
        np.testing.assert_allclose(decision.probabilities, want, rtol=1e-4, atol=1e-6)
        gallery.close()
    finally:
        rec.close()


@pytest.mark.parametrize("change, says", [
    (lambda e: e.pop("exemplar_counts"), "exemplar_counts"),
    (lambda e: e.update(exemplar_counts=[1, 2]), "exemplar_counts"),
    (lambda e: e["fusion"].update(form="absolute"), "relative"),
    (lambda e: e["fusion"].update(ridge=-1), "ridge"),
])
def test_a_probe_bundle_without_what_the_probe_needs_is_refused_in_one_line(probe_bundle, tmp_path, change, says):
    from kiosk.bundle_format.bundle import load_bundle
    from kiosk.bundle_format.openset import embedding_info

    copy = tmp_path / "bundle"
    shutil.copytree(probe_bundle, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    change(manifest["embedding"])
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError) as err:
        embedding_info(load_bundle(copy, verify=False).manifest)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_exemplar_rows_the_counts_do_not_add_up_to_are_refused_at_load(probe_bundle, tmp_path):
    from kiosk.bundle_format.bundle import load_bundle
    from kiosk.bundle_format.openset import embedding_info, exemplar_owner, load_exemplars

    b = load_bundle(probe_bundle)
    info = embedding_info(b.manifest)
    bank = load_exemplars(b, info)
    assert exemplar_owner(b, info, bank).tolist() == np.repeat(np.arange(len(b.manifest.labels)),
                                                               info.details["exemplar_counts"]).tolist()
    with pytest.raises(BundleError, match="exemplar_counts"):
        exemplar_owner(b, info, bank[:-1])
