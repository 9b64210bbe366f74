"""Signed bundles whose network breaks the model contract in one way each (tests only; needs the onnx package).

Each is a valid tiny bundle (tests/bundles/factory.py) whose ``model.onnx`` is replaced by a variant, re-hashed and
signed again by head office: only the network's inputs or outputs are wrong, so signature, hashes, expiry and
catalog all pass and the contract check is what must refuse it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from kiosk.bundle_format.bundle import file_entry, read_manifest, write_manifest
from tests.bundles.factory import TINY_LABELS, build_tiny_bundle, tiny_weights

#: name → what is wrong (the variants :func:`broken_onnx` makes)
BREAKS = {
    "output-count": "6 scores for 5 labels",
    "input-size": "input 64x64, the manifest's preprocessing gives 32x32",
    "extra-output": "a second output beside the logits",
    "dtype": "float64 input instead of float32",
}


def broken_onnx(kind: str, seed: int = 2) -> bytes:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    classes = len(TINY_LABELS) + (1 if kind == "output-count" else 0)
    weights = tiny_weights(classes, seed)
    inits = [numpy_helper.from_array(v, name=k) for k, v in weights.items()]
    first = "input"
    nodes = []
    if kind == "dtype":
        nodes.append(helper.make_node("Cast", ["input"], ["input_f"], to=TensorProto.FLOAT))
        first = "input_f"
    nodes += [
        helper.make_node("Conv", [first, "conv.weight", "conv.bias"], ["c"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], transB=1),
    ]
    size = 64 if kind == "input-size" else 32
    in_type = TensorProto.DOUBLE if kind == "dtype" else TensorProto.FLOAT
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])]
    if kind == "extra-output":
        outputs.append(helper.make_tensor_value_info("f", TensorProto.FLOAT, ["N", 8]))
    graph = helper.make_graph(nodes, f"broken-{kind}",
                              [helper.make_tensor_value_info("input", in_type, ["N", 3, size, size])], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests.hardening")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def build_broken_bundle(out: Path, kind: str, key, model_version: int = 2, schema_version: int = 1,
                        onnx_name: str = "model.onnx") -> Path:
    """A signed tiny bundle whose ``onnx_name`` is the ``kind`` variant (``onnx_name`` may be an extra model, e.g.
    ``model.int8.onnx``, listed beside a good ``model.onnx``)."""
    from trainer.release.signing import sign_bundle

    if kind not in BREAKS:
        raise ValueError(f"unknown break {kind!r}: one of {', '.join(BREAKS)}")
    root = build_tiny_bundle(out, model_version=model_version, schema_version=schema_version)
    (root / onnx_name).write_bytes(broken_onnx(kind))
    m = read_manifest(root)
    files = {name: file_entry(root / name) for name in {*m.files, onnx_name}}
    write_manifest(root, dataclasses.replace(m, files=files))
    sign_bundle(root, key)
    return root


def zeros_image() -> np.ndarray:
    return np.full((48, 64, 3), 120, np.uint8)


# -- manifests and channel indexes whose values are wrong, signed all the same ------------------------------------
#
# ``sign_bundle`` reads the manifest (and so refuses these), so they are signed here over the raw bytes, as a
# hand-edited manifest signed with head office's key would be. A value given as ``Raw("1e400")`` is written as it
# is (json.dumps would write ``Infinity``).


class Raw(str):
    """A JSON text written into a document verbatim."""


def _dumps(doc) -> bytes:
    raws: dict[str, str] = {}

    def mark(value):
        if isinstance(value, Raw):
            key = f"@@raw{len(raws)}@@"
            raws[key] = str(value)
            return key
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(doc), indent=2, sort_keys=True)
    for key, value in raws.items():
        text = text.replace(json.dumps(key), value)
    return (text + "\n").encode()


def resign_edited(root: Path, key, edit) -> Path:
    """``edit(manifest_dict)`` (in place) on ``root``'s manifest.json, written and signed over its raw bytes."""
    from kiosk.bundle_format.trust import CONTEXT_MANIFEST

    doc = json.loads((root / "manifest.json").read_bytes())
    edit(doc)
    data = _dumps(doc)
    (root / "manifest.json").write_bytes(data)
    sig = {"algorithm": "ed25519", "signed_file": "manifest.json", "signatures": [key.sign(CONTEXT_MANIFEST, data)]}
    (root / "manifest.sig").write_text(json.dumps(sig))
    return root


def resign_index(channel: Path, key, edit) -> Path:
    """``edit(signed)`` (in place) on the channel's index, signed again with ``key``."""
    from trainer.release.publish import sign_index

    path = channel / "index.json"
    signed = json.loads(path.read_bytes())["signed"]
    edit(signed)
    path.write_text(json.dumps(sign_index(signed, key), indent=2, sort_keys=True))
    return path
