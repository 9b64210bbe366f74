"""Which of the bundle's models the kiosk will run, on which runtime, and whether this till could run it faster.

The same choice the kiosk makes at start (:func:`kiosk.recognition.precision.choose_model` for the configured
``backend``, ``precision`` and ``device``), made without loading the model: FAIL when the configured backend's
package is missing or the choice is refused (the kiosk would not start), OK otherwise — with a hint when the bundle
carries an int8 model, the CPU has VNNI and OpenVINO is installed but the till runs ONNX Runtime (measured on the
till's MobileNetV2 at 320 px: int8 inference in 0.45× of fp32's time through OpenVINO, 0.54× through ONNX Runtime;
README, Benchmarks).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

from kiosk.doctor.core import FAIL, OK, WARN, CheckResult, Context
from kiosk.doctor.model import model_source, read_model_manifest
from kiosk.errors import BundleError

#: the Python package each CPU/GPU backend needs (tensorrt runs through onnxruntime-gpu's provider)
PACKAGES = {"onnxruntime": "onnxruntime", "openvino": "openvino", "torch": "torch", "tensorrt": "onnxruntime"}
EXTRAS = {"onnxruntime": "kiosk", "openvino": "openvino", "torch": "torch-backend", "tensorrt": "kiosk"}


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def runtime_advice(ctx: Context) -> str:
    return (f"install the backend's extra or choose another in {ctx.setting('backend')}; "
            f"{ctx.setting('precision')} auto lets the kiosk pick the bundle's model")


def check_runtime(ctx: Context) -> CheckResult:
    from kiosk.recognition.backends.base import backend_class
    from kiosk.recognition.precision import choose_model, has_vnni

    config = ctx.config
    backend, package = config.backend, PACKAGES.get(config.backend, config.backend)
    if not installed(package):
        return CheckResult(FAIL, "runtime", f"backend {backend!r} needs the {package} package, which is not installed",
                           f"pip install 'edge-checkout-kiosk[{EXTRAS.get(backend, 'kiosk')}]' or choose another "
                           f"backend in {ctx.setting('backend')}")
    try:
        manifest = read_model_manifest(ctx)
    except BundleError as exc:
        return CheckResult(WARN, "runtime", f"no model to choose from ({exc})", "see the bundle line")
    bundle = SimpleNamespace(manifest=manifest, root=Path(model_source(ctx).path))
    choice = choose_model(bundle, config.precision, backend, backend_class(backend).precisions, config.device)
    found = f"{backend} on {config.device}, {choice.file}: {choice}"
    if choice.precision == "int8" and backend == "onnxruntime" and has_vnni() and installed("openvino"):
        found += ("; OpenVINO is installed and runs int8 faster on a CPU with VNNI (0.45x vs 0.54x of fp32 "
                  "inference, README Benchmarks): backend = \"openvino\"")
    return CheckResult(OK, "runtime", found)
