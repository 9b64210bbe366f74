"""Recognizer: bundle + backend + the shared preprocessing → top-k (SKU, score).

A bundle that exports embeddings (:mod:`kiosk.bundle_format.openset`) gives them from the same forward pass; with a
gallery attached (:meth:`Recognizer.attach_gallery`), SKUs enrolled at this kiosk compete with the trained ones
(:mod:`kiosk.recognition.fusion`), and a bundle with an open-set rule says whether the item is one it knows at all
(:attr:`Recognition.known`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kiosk.bundle_format.bundle import Bundle, load_bundle
from kiosk.bundle_format.preprocess import FramePreprocessor, preprocess
from kiosk.bundle_format.selftest import ModelRunner, softmax
from kiosk.errors import BundleError
from kiosk.recognition.backends.base import InferenceBackend, create_backend
from kiosk.recognition.fusion import Decision, GalleryFusion, GallerySource


@dataclass(frozen=True)
class Suggestion:
    sku: str
    score: float  # softmax probability in [0, 1]


@dataclass(frozen=True)
class Recognition:
    suggestions: list[Suggestion]
    timings_ms: dict[str, float] = field(default_factory=dict)  # preprocess / inference / postprocess
    model_version: int = 0
    #: False when the bundle's open-set rule says the item is none the kiosk knows ("Not recognised")
    known: bool = True
    #: the open-set scores (kiosk.bundle_format.openset.SCORES) and the one the decision used
    open_set: dict[str, float] = field(default_factory=dict)
    open_set_score: str | None = None
    #: suggestions whose score came from this kiosk's gallery (enrolled, not trained)
    from_gallery: frozenset[str] = frozenset()

    @property
    def top(self) -> Suggestion:
        return self.suggestions[0]


def topk(probs: np.ndarray, labels: list[str], k: int) -> list[Suggestion]:
    """The ``k`` most probable labels, best first (ties: the earlier label first)."""
    k = min(k, probs.shape[-1])
    idx = np.argsort(-probs, kind="stable")[:k].tolist()  # a full sort of ~100 scores: one call, cheaper than two
    values = probs[idx].tolist()
    return [Suggestion(labels[i], v) for i, v in zip(idx, values)]


class Recognizer:
    """Thread-compatible (one call at a time); the capture thread never waits for it."""

    def __init__(self, bundle: Bundle, backend: InferenceBackend, top_k: int = 3, opencv_threads: int | None = 2,
                 blas_threads: int | None = 1):
        if opencv_threads is not None:
            # One frame's resize runs between two inferences, while nothing else of the recogniser does: two OpenCV
            # threads halve it (measured here, quiet, each resize right after an inference: 348 px frame `reduce` →
            # 366 px 0.24 → 0.15-0.19 ms, `area` → 329 px 1.1 → 0.59 ms, a 720p frame `reduce` 0.79 → 0.50 ms;
            # `checkout bench kiosk` recognise / bare ORT 1.090, 1.090 → 1.076, 1.071; more threads were not measured).
            # The setting is process-wide; None leaves it.
            import cv2

            cv2.setNumThreads(opencv_threads)
        if blas_threads is not None:
            # numpy's BLAS, on the other hand, stays at one thread for the per-frame products (open-set scores, gallery
            # similarity; a few million multiply-adds at most): next to the inference's thread pool, OpenBLAS's 2
            # threads took 8.0 ms to score one embedding against a 1,587 x 1,280 exemplar bank here, one thread
            # 0.10 ms. Process-wide too.
            from threadpoolctl import threadpool_limits

            threadpool_limits(blas_threads, user_api="blas")
        self.bundle = bundle
        self.backend = backend
        self.top_k = top_k
        self.labels = bundle.manifest.labels
        self.spec = bundle.manifest.preprocess
        self._input = np.empty((1, 3, self.spec.crop_size, self.spec.crop_size), np.float32)
        self._preprocess = FramePreprocessor(self.spec)  # reuses its buffers: one call at a time, as recognize
        choice = getattr(backend, "model_choice", None)
        self.fusion = GalleryFusion(bundle, choice.file if choice is not None else "model.onnx")

    @classmethod
    def load(cls, bundle_dir: Path | str, backend: str = "onnxruntime", device: str = "cpu",
             threads: int | None = None, top_k: int = 3, cache_dir: Path | str | None = None,
             precision: str = "auto") -> Recognizer:
        """``cache_dir``: where the backend may keep what it builds for this model (e.g. the kiosk's state);
        ``precision``: auto | fp32 | int8, which of the bundle's models runs (:mod:`kiosk.recognition.precision`)."""
        bundle = load_bundle(bundle_dir)
        options = {"cache_dir": Path(cache_dir)} if cache_dir is not None else {}
        recognizer = cls(bundle, create_backend(backend, bundle, device=device, threads=threads, precision=precision,
                                                **options), top_k=top_k)
        try:
            recognizer.check_outputs()
        except BaseException:
            recognizer.close()
            raise
        return recognizer

    def check_outputs(self) -> None:
        """Run one all-zero image: the backend must give one score per label (else BundleError, one line)."""
        try:
            logits = np.asarray(self.backend.run(np.zeros_like(self._input)))
        except BundleError:
            raise
        except Exception as exc:  # noqa: BLE001 - a runtime's own error types: the model does not run here
            raise BundleError(f"{self.bundle.root}: the model fails on one image ({type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:300]})") from None
        self._check_logits(logits, 1)

    def _check_logits(self, logits: np.ndarray, batch: int) -> None:
        if logits.shape != (batch, len(self.labels)):
            raise BundleError(f"{self.bundle.root}: the model gave outputs of shape {tuple(logits.shape)} for {batch} "
                              f"image(s); the manifest has {len(self.labels)} labels")

    @property
    def model_version(self) -> int:
        return self.bundle.manifest.model_version

    @property
    def auto_add_threshold(self) -> float:
        return self.bundle.manifest.auto_add_threshold

    @property
    def feature_key(self) -> str:
        """What this model's embeddings are computed with (a gallery keeps its embeddings under it)."""
        return self.fusion.feature_key

    def attach_gallery(self, gallery: GallerySource | None) -> None:
        """Fuse the SKUs enrolled in ``gallery`` from the next recognition on (``None``: detach); a bundle without
        embeddings or fusion calibration ignores it."""
        self.fusion.attach(gallery, self.embed)

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self.fusion.has_embedding or self.fusion.rule is not None:
            return self.backend.run_with_embedding(x)
        return self.backend.run(x), None

    def recognize(self, image_bgr: np.ndarray) -> Recognition:
        t0 = time.perf_counter()
        x = self._input  # one call at a time: the input buffer is reused (no page faults per frame)
        self._preprocess(image_bgr, out=x[0])
        t1 = time.perf_counter()
        logits, embedding = self._forward(x)
        if logits.shape != (1, len(self.labels)):  # never index labels past their end
            self._check_logits(np.asarray(logits), 1)
        t2 = time.perf_counter()
        if self.fusion.rule is None and not self.fusion.can_fuse:
            suggestions = topk(softmax(logits[0]), self.labels, self.top_k)
            decision = None
        else:
            decision = self.fusion.decide(logits[0], None if embedding is None else embedding[0])
            suggestions = topk(decision.probabilities, decision.labels, self.top_k)
        t3 = time.perf_counter()
        timings = {"preprocess": (t1 - t0) * 1e3, "inference": (t2 - t1) * 1e3, "postprocess": (t3 - t2) * 1e3}
        return _recognition(suggestions, timings, self.model_version, decision)

    def embed(self, images_bgr: list[np.ndarray], batch: int = 16) -> np.ndarray:
        """Embeddings ``(N, dim)`` of BGR images, as the recogniser computes them (for a gallery). BundleError when
        the bundle exports none."""
        return self.forward(images_bgr, batch)[1]

    def forward(self, images_bgr: list[np.ndarray], batch: int = 16) -> tuple[np.ndarray, np.ndarray]:
        """The head's logits ``(N, labels)`` and the embeddings ``(N, dim)`` of BGR images, one forward pass each
        (what :meth:`GalleryFusion.decide` takes: an enrollment judges its photos as the till would)."""
        if not self.fusion.has_embedding:
            raise BundleError(f"{self.bundle.root}: this model exports no embeddings (a bundle from before "
                              "enrollment); export it again to enroll new products")
        logits, out = [], []
        for i in range(0, len(images_bgr), batch):
            x = np.stack([preprocess(im, self.spec) for im in images_bgr[i : i + batch]])
            z, embedding = self.backend.run_with_embedding(x)
            if embedding is None:
                raise BundleError(f"{self.bundle.root}: backend {self.backend.key!r} gives no embeddings")
            logits.append(np.asarray(z, np.float32))
            out.append(np.asarray(embedding, np.float32))
        if not out:
            return np.zeros((0, len(self.labels)), np.float32), np.zeros((0, self.fusion.info.dim), np.float32)
        return np.concatenate(logits), np.concatenate(out)

    def probabilities(self, images_bgr: list[np.ndarray]) -> np.ndarray:
        """Batch helper for self-tests and evaluation: (N, num_classes) probabilities."""
        x = np.stack([preprocess(im, self.spec) for im in images_bgr])
        return softmax(self.backend.run(x))

    def close(self) -> None:
        self.backend.close()


def _recognition(suggestions: list[Suggestion], timings: dict[str, float], version: int,
                 decision: Decision | None) -> Recognition:
    if decision is None:
        return Recognition(suggestions, timings, version)
    from_gallery = frozenset()
    if decision.from_gallery.any():
        gallery = {decision.labels[i] for i in np.flatnonzero(decision.from_gallery)}
        from_gallery = frozenset(s.sku for s in suggestions if s.sku in gallery)
    return Recognition(suggestions, timings, version, decision.known, decision.scores, decision.score_used,
                       from_gallery)


def selftest_runner(backend: str = "onnxruntime", threads: int | None = 1) -> ModelRunner:
    """How this kiosk runs a bundle's self-test (``VerifyPolicy.run_model``): a Recognizer on ``backend``, one
    image at a time as at the till, closed afterwards; ``precision="int8"`` runs the bundle's int8 model."""

    def run(bundle: Bundle, images: list[np.ndarray], precision: str = "fp32") -> np.ndarray:
        recognizer = Recognizer(bundle, create_backend(backend, bundle, threads=threads, warmup=False,
                                                       precision=precision))
        try:
            return np.concatenate([recognizer.probabilities([image]) for image in images])
        finally:
            recognizer.close()

    return run
