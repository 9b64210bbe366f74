"""verify_bundle runs the self-test through the runner it is given (the format never loads a model itself)."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.bundle_format.selftest import run_selftest
from kiosk.bundle_format.trust import TrustStore
from kiosk.bundle_format.verify import BundleRefused, VerifyPolicy, verify_bundle
from tests.bundles.factory import build_tiny_bundle
from trainer.release.keys import SigningKey
from trainer.release.signing import sign_bundle


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    key = SigningKey.generate("head-office")
    bundle = sign_bundle(build_tiny_bundle(tmp_path_factory.mktemp("b") / "v1", model_version=1), key)
    return bundle, TrustStore.from_keys(key.public)


def recorded(bundle) -> np.ndarray:
    """Probabilities that reproduce the recorded top-k exactly (the rest of the mass spread evenly)."""
    labels = bundle.manifest.labels
    out = []
    for case in bundle.manifest.selftest:
        p = np.zeros(len(labels))
        for name, score in zip(case.top_labels, case.top_scores):
            p[labels.index(name)] = score
        rest = [i for i in range(len(labels)) if labels[i] not in case.top_labels]
        p[rest] = (1 - p.sum()) / max(len(rest), 1)
        out.append(p)
    return np.asarray(out)


def test_the_runner_gets_every_selftest_image_and_decides(signed):
    bundle, trust = signed
    calls = []

    def run(b, images):
        calls.append((b.root, [im.shape for im in images]))
        return recorded(b)

    v = verify_bundle(bundle.root, VerifyPolicy(trust, run_model=run))
    assert v.selftest.ok and v.selftest.max_diff < 1e-9
    assert calls == [(bundle.root, [(40, 40, 3)] * len(bundle.manifest.selftest))]


def test_a_runner_that_answers_differently_is_refused(signed):
    bundle, trust = signed

    def run(b, images):
        p = recorded(b)
        return p[:, ::-1].copy()  # the labels' scores reversed

    with pytest.raises(BundleRefused) as err:
        verify_bundle(bundle.root, VerifyPolicy(trust, run_model=run))
    assert err.value.reason == "selftest" and "differ from the recorded outputs" in str(err.value)


def test_outputs_of_the_wrong_shape_are_refused_by_name(signed):
    bundle, trust = signed
    with pytest.raises(BundleRefused, match=r"shape \(3, 2\) for 3 self-test images; the manifest has 5 labels"):
        verify_bundle(bundle.root, VerifyPolicy(trust, run_model=lambda b, images: np.zeros((len(images), 2))))


def test_a_selftest_needs_a_runner(signed):
    bundle, trust = signed
    with pytest.raises(ValueError, match="needs run_model"):
        verify_bundle(bundle.root, VerifyPolicy(trust))
    assert verify_bundle(bundle.root, VerifyPolicy(trust, selftest=False)).selftest is None


def test_the_kiosk_runner_reproduces_what_the_exporter_recorded(signed):
    from kiosk.recognition.recognizer import selftest_runner

    bundle, _ = signed
    report = run_selftest(bundle, selftest_runner("onnxruntime"))
    assert report.ok and len(report.cases) == len(bundle.manifest.selftest)
