"""ONNX Runtime sessions over a bundle's ``model.onnx`` (or its int8 model), shared by the backends that run it
(``onnxruntime``, ``tensorrt``): one place for the session options a till needs. Not a backend itself (not in
BACKEND_MODULES), so backends never import each other."""

from __future__ import annotations

from kiosk.errors import BundleError
from kiosk.recognition.backends.base import BackendUnavailable

MODEL_FILE = "model.onnx"


def import_onnxruntime(backend: str):
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - onnxruntime comes with the [kiosk] extra
        raise BackendUnavailable(f"backend {backend!r} needs the onnxruntime package ({exc}); "
                                 "pip install 'edge-checkout-kiosk[kiosk]'") from None
    return ort


def session_options(ort, threads: int | None, cpu_fallback: bool = True):
    """Full graph optimisation; ``threads`` intra-op threads that sleep when idle; ``cpu_fallback=False`` makes
    ONNX Runtime refuse a model that would put any node on the CPU instead of the providers asked for."""
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # A kiosk shares its cores with capture, UI and scale threads: idle ORT workers must sleep, not spin
    # (measured here under load: inference 36 → 12 ms; on an idle till the difference is within noise).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if not cpu_fallback:
        opts.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    return opts


def create_session(bundle, backend: str, providers: list, threads: int | None = None, fallback: bool = True,
                   model_file: str = MODEL_FILE):
    """An InferenceSession on ``bundle``'s ONNX model (``model_file``: another one it lists, e.g. its int8 model)
    with ``providers`` (names, or ``(name, options)``).

    ``fallback=False``: no silent retreat — ONNX Runtime neither retries on other providers when one fails to start
    nor places nodes on the CPU; a failure raises BundleError naming the model file and ONNX Runtime's reason.
    """
    ort = import_onnxruntime(backend)
    path = bundle.path(model_file)
    opts = session_options(ort, threads, cpu_fallback=fallback)
    try:
        return ort.InferenceSession(str(path), sess_options=opts, providers=providers, enable_fallback=int(fallback))
    except Exception as exc:  # onnxruntime raises its own exception types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BundleError(f"{path}: ONNX Runtime cannot load the model ({reason})") from None
