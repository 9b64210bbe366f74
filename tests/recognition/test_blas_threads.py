"""The recogniser keeps numpy's BLAS to one thread: its per-frame products (open-set scores, gallery similarity) are
small, and OpenBLAS's threads woken next to the inference's thread pool cost milliseconds a frame."""

from __future__ import annotations

from threadpoolctl import threadpool_info, threadpool_limits

from kiosk.bundle_format.bundle import load_bundle
from kiosk.recognition.backends.base import create_backend
from kiosk.recognition.recognizer import Recognizer
from tests.bundles.factory import build_tiny_bundle, tiny_images


def blas_threads() -> set[int]:
    return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


def test_loading_a_recogniser_sets_one_blas_thread_and_none_leaves_it(tmp_path):
    bundle = build_tiny_bundle(tmp_path / "bundle")
    with threadpool_limits(2, user_api="blas"):  # the process's setting comes back afterwards
        before = blas_threads()  # {2} with a BLAS that has threads (numpy's OpenBLAS here)
        assert before
        loaded = load_bundle(bundle)
        untouched = Recognizer(loaded, create_backend("onnxruntime", loaded, threads=1), blas_threads=None)
        assert blas_threads() == before
        untouched.close()
        rec = Recognizer.load(bundle, threads=1)
        try:
            assert blas_threads() == {1}
            assert rec.recognize(tiny_images(1, seed=3)[0]).suggestions  # and it recognises as before
        finally:
            rec.close()
