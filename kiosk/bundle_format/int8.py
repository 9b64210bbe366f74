"""The int8 model a bundle may carry next to its fp32 one (``checkout bundle quantize``, head office).

Layout: ``model.int8.onnx`` beside ``model.onnx`` — ONNX Runtime static quantization, QDQ format, per-channel int8
weights, uint8 activations (what VNNI's ``vpdpbusd`` multiplies natively), the same input and output as the fp32
model. The manifest lists the file with its sha256 like every other file and describes it under the key ``int8``
(a key format 1 keeps for later revisions: kiosks that do not know it ignore it and run fp32)::

    "int8": {"file": "model.int8.onnx",
             "selftest": [{"image": "selftest/000.png", "top_labels": [...], "top_scores": [...]}, ...],
             "validation": {"manifest_sha256": "...", "n": 296, "fp32_top1": 0.88, "int8_top1": 0.8784,
                            "difference_points": -0.17, "tolerance_points": 0.5},
             "calibration": {"manifest_sha256": "...", "images": 200, "method": "minmax", ...}}

Self-test: the int8 model has outputs of its own recorded at quantization, on the same self-test images as the fp32
model (int8 scores differ from fp32 ones by more than the self-test tolerance). A kiosk checks each model the bundle
carries against its own recorded outputs (:func:`kiosk.bundle_format.verify.verify_bundle`).

Signing covers the manifest, so quantization happens before ``checkout bundle sign``:
export → quantize → sign → publish. Quantizing a signed bundle is refused (its signature would no longer match).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from kiosk.bundle_format.bundle import BundleManifest, SelfTestCase
from kiosk.errors import BundleError

INT8_KEY = "int8"
INT8_MODEL = "model.int8.onnx"


@dataclass(frozen=True)
class Int8Model:
    """What the manifest says about the bundle's int8 model."""

    file: str = INT8_MODEL
    selftest: list[SelfTestCase] = field(default_factory=list)
    validation: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"file": self.file, "selftest": [c.to_json() for c in self.selftest], "validation": self.validation,
                "calibration": self.calibration}

    @classmethod
    def from_json(cls, d, where: str = "manifest.json") -> Int8Model:
        if not isinstance(d, dict) or not isinstance(d.get("file"), str):
            raise BundleError(f"{where}: '{INT8_KEY}' must be an object naming its model 'file'")
        try:
            return cls(file=d["file"], selftest=[SelfTestCase.from_json(c) for c in d.get("selftest", [])],
                       validation=dict(d.get("validation", {})), calibration=dict(d.get("calibration", {})))
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{where}: '{INT8_KEY}' is malformed ({exc!r})") from None


def int8_model(manifest: BundleManifest, where: str = "manifest.json") -> Int8Model | None:
    """The bundle's int8 model, or ``None`` when it carries none. Its file must be one the manifest lists."""
    section = manifest.extra.get(INT8_KEY)
    if section is None:
        return None
    model = Int8Model.from_json(section, where)
    if model.file not in manifest.files:
        raise BundleError(f"{where}: '{INT8_KEY}' names {model.file}, which the manifest does not list")
    return model


def with_int8(manifest: BundleManifest, model: Int8Model, file_entry: dict) -> BundleManifest:
    """``manifest`` listing ``model``'s file (``file_entry``: its sha256 and size) and describing it."""
    files = {**manifest.files, model.file: file_entry}
    return dataclasses.replace(manifest, files=files, extra={**manifest.extra, INT8_KEY: model.to_json()})
