"""Self-test: run the bundle's own images through a Recognizer and compare with what the exporter recorded.

The exporter stores, per image in ``selftest/``, the top-k SKU labels and softmax scores it saw. On the kiosk
the same images go through the same preprocessing and the chosen backend; the bundle passes when, for every
image, each recorded label's score is within ``atol`` of the recorded one and the top-1 label is the recorded
one (or tied with it within ``atol``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kiosk.errors import BundleError
from kiosk.recognition.bundle import Bundle, SelfTestCase
from kiosk.recognition.preprocess import read_image

DEFAULT_ATOL = 0.01


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
            return f"self-test: {len(self.cases)} images pass (max score difference {self.max_diff:.2e}, tolerance {self.atol})"
        first = bad[0]
        return (f"self-test: {len(bad)} of {len(self.cases)} images differ from the recorded outputs; "
                f"first: {first.image}: {first.message}")


def compare_case(case: SelfTestCase, probs: np.ndarray, labels: list[str], atol: float) -> CaseResult:
    index = {name: i for i, name in enumerate(labels)}
    k = len(case.top_labels)
    order = np.argsort(-probs, kind="stable")[:k]
    got = [labels[i] for i in order]
    diffs = []
    for name, score in zip(case.top_labels, case.top_scores):
        if name not in index:
            return CaseResult(case.image, False, float("inf"), case.top_labels, got, f"recorded label {name!r} is not an output")
        diffs.append(abs(float(probs[index[name]]) - score))
    max_diff = max(diffs, default=0.0)
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


def run_selftest(bundle: Bundle, recognizer=None, backend: str = "onnxruntime", atol: float = DEFAULT_ATOL,
                 threads: int | None = 1) -> SelfTestReport:
    """Run every self-test image of ``bundle``; a ``recognizer`` may be passed to reuse a loaded one."""
    from kiosk.recognition.recognizer import Recognizer
    from kiosk.recognition.backends.base import create_backend

    if recognizer is None:
        recognizer = Recognizer(bundle, create_backend(backend, bundle, threads=threads, warmup=False))
    report = SelfTestReport(atol=atol)
    labels = bundle.manifest.labels
    for case in bundle.manifest.selftest:
        image = read_image(bundle.path(case.image))
        if image is None:
            raise BundleError(f"{bundle.root / case.image}: self-test image cannot be decoded")
        probs = recognizer.probabilities([image])[0]
        report.cases.append(compare_case(case, probs, labels, atol))
    return report


def record_selftest(recognizer, bundle_root, images: list[str], k: int = 3) -> list[SelfTestCase]:
    """What an exporter stores: top-k labels and scores for each image (paths relative to the bundle)."""
    from pathlib import Path

    cases = []
    for name in images:
        image = read_image(Path(bundle_root) / name)
        if image is None:
            raise BundleError(f"{Path(bundle_root) / name}: self-test image cannot be decoded")
        probs = recognizer.probabilities([image])[0]
        order = np.argsort(-probs, kind="stable")[: min(k, len(probs))]
        cases.append(SelfTestCase(name, [recognizer.labels[i] for i in order], [float(probs[i]) for i in order]))
    return cases
