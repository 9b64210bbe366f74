"""Self-test: run the bundle's own images through the model and compare with what the exporter recorded.

The exporter stores, per image in ``selftest/``, the top-k SKU labels and softmax scores it saw. On the kiosk
the same images go through the same preprocessing and the chosen backend; the bundle passes when, for every
image, each recorded label's score is within ``atol`` of the recorded one and the top-1 label is the recorded
one (or tied with it within ``atol``).

This module never loads a model itself: the caller passes the function that runs one (a :data:`ModelRunner`, e.g.
``kiosk.recognition.recognizer.selftest_runner()`` on the kiosk, an ONNX Runtime session in the exporter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk.bundle_format.bundle import Bundle, SelfTestCase
from kiosk.bundle_format.preprocess import read_image
from kiosk.errors import BundleError

DEFAULT_ATOL = 0.01

#: BGR uint8 images → softmax probabilities, shape (N, number of labels)
Probabilities = Callable[[list[np.ndarray]], np.ndarray]
#: runs ``bundle``'s model on BGR images → softmax probabilities over its labels (loads and releases the model);
#: verification calls it with ``precision="int8"`` as well for a bundle that carries an int8 model (``int8.py``)
ModelRunner = Callable[..., np.ndarray]


def softmax(logits: np.ndarray) -> np.ndarray:
    """The scores of this format: softmax over the last axis of the network's logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class CaseResult:
    image: str
    ok: bool
    max_diff: float
    expected: list[str]
    got: list[str]
    message: str = ""


@dataclass
class SelfTestReport:
    atol: float
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.cases) and all(c.ok for c in self.cases)

    @property
    def max_diff(self) -> float:
        return max((c.max_diff for c in self.cases), default=0.0)

    def failures(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.ok]

    def summary(self) -> str:
        bad = self.failures()
        if not self.cases:
            return "self-test: the bundle has no self-test images"
        if not bad:
            return (f"self-test: {len(self.cases)} images pass "
                    f"(max score difference {self.max_diff:.2e}, tolerance {self.atol})")
        first = bad[0]
        return (f"self-test: {len(bad)} of {len(self.cases)} images differ from the recorded outputs; "
                f"first: {first.image}: {first.message}")


def compare_case(case: SelfTestCase, probs: np.ndarray, labels: list[str], atol: float) -> CaseResult:
    """Whether the model's ``probs`` for one image reproduce the recorded case. A case that records nothing, a score
    per label short, or any score that is not finite (a model giving NaN, a NaN recorded) fails: NaN compares with
    nothing, so it would otherwise pass every tolerance."""
    index = {name: i for i, name in enumerate(labels)}
    k = len(case.top_labels)
    order = np.argsort(-probs, kind="stable")[:k]
    got = [labels[i] for i in order]
    if not k or len(case.top_scores) != k:
        return CaseResult(case.image, False, float("inf"), case.top_labels, got,
                          f"records {k} labels and {len(case.top_scores)} scores (needs one score per label, "
                          "at least one)")
    if not np.isfinite(probs).all():
        return CaseResult(case.image, False, float("inf"), case.top_labels, got,
                          "the model gave scores that are not finite numbers (NaN or infinity)")
    diffs = []
    for name, score in zip(case.top_labels, case.top_scores):
        if name not in index:
            return CaseResult(case.image, False, float("inf"), case.top_labels, got,
                              f"recorded label {name!r} is not an output")
        diffs.append(abs(float(probs[index[name]]) - score))
    max_diff = max(diffs, default=0.0)
    if not np.isfinite(diffs).all():
        return CaseResult(case.image, False, float("inf"), case.top_labels, got,
                          "a recorded score is not a finite number")
    if max_diff > atol:
        worst = case.top_labels[int(np.argmax(diffs))]
        return CaseResult(case.image, False, max_diff, case.top_labels, got,
                          f"score of {worst} differs by {max_diff:.4f} (> {atol})")
    if case.top_labels and got[0] != case.top_labels[0]:
        gap = float(probs[order[0]] - probs[index[case.top_labels[0]]])
        if gap > atol:
            return CaseResult(case.image, False, max_diff, case.top_labels, got,
                              f"top-1 is {got[0]}, recorded {case.top_labels[0]}")
    return CaseResult(case.image, True, max_diff, case.top_labels, got)


def run_selftest(bundle: Bundle, run_model: ModelRunner, atol: float = DEFAULT_ATOL,
                 cases: list[SelfTestCase] | None = None) -> SelfTestReport:
    """Run every self-test image of ``bundle`` through ``run_model`` and compare with the recorded outputs
    (``cases``: other recorded outputs than the manifest's own, e.g. those of its int8 model)."""
    cases = bundle.manifest.selftest if cases is None else cases
    images = []
    for case in cases:
        image = read_image(bundle.path(case.image))
        if image is None:
            raise BundleError(f"{bundle.root / case.image}: self-test image cannot be decoded")
        images.append(image)
    report = SelfTestReport(atol=atol)
    if not images:
        return report
    labels = bundle.manifest.labels
    probs = np.asarray(run_model(bundle, images))
    if probs.shape != (len(images), len(labels)):
        raise BundleError(f"{bundle.root}: the model gave outputs of shape {probs.shape} for {len(images)} self-test "
                          f"images; the manifest has {len(labels)} labels")
    report.cases = [compare_case(case, p, labels, atol) for case, p in zip(cases, probs)]
    return report


def record_selftest(probabilities: Probabilities, labels: list[str], bundle_root: Path | str, images: list[str],
                    k: int = 3) -> list[SelfTestCase]:
    """What an exporter stores: top-k labels and scores for each image (paths relative to the bundle), as
    ``probabilities`` (the model, run one image at a time like the kiosk does) gives them."""
    cases = []
    for name in images:
        image = read_image(Path(bundle_root) / name)
        if image is None:
            raise BundleError(f"{Path(bundle_root) / name}: self-test image cannot be decoded")
        probs = probabilities([image])[0]
        order = np.argsort(-probs, kind="stable")[: min(k, len(probs))]
        cases.append(SelfTestCase(name, [labels[i] for i in order], [float(probs[i]) for i in order]))
    return cases
