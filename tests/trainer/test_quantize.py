"""``checkout bundle quantize``: an int8 model beside the fp32 one, checked on val; refused beyond the tolerance."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.bundle_format.bundle import load_bundle, sha256_file
from kiosk.bundle_format.int8 import INT8_MODEL, int8_model
from kiosk.cli import main
from tests.recognition.int8_bundle import build_two_conv_bundle, photo_manifest


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def tiny(tmp_path):
    bundle = build_two_conv_bundle(tmp_path / "bundle", model_version=3)
    return bundle, photo_manifest(bundle, tmp_path / "train", 24, seed=11), photo_manifest(bundle, tmp_path / "val",
                                                                                          30, seed=12)


def test_quantize_writes_an_int8_model_the_manifest_lists_and_the_kiosk_verifies(tiny, capsys):
    import onnx

    from kiosk.bundle_format.trust import TrustStore
    from kiosk.bundle_format.verify import VerifyPolicy, verify_bundle
    from kiosk.recognition.recognizer import selftest_runner
    from trainer.release.keys import SigningKey
    from trainer.release.signing import sign_bundle

    bundle_dir, train, val = tiny
    fp32_before = sha256_file(bundle_dir / "model.onnx")
    assert main(["bundle", "quantize", str(bundle_dir), "--calibration", str(train), "--val", str(val),
                 "--images", "20", "--tolerance", "100"]) == 0
    out = capsys.readouterr().out
    assert "fp32 1.0000" in out and "int8 " in out and "difference" in out and "points" in out

    bundle = load_bundle(bundle_dir)  # every file listed with its hash, nothing unlisted
    m = bundle.manifest
    assert m.files[INT8_MODEL]["sha256"] == sha256_file(bundle_dir / INT8_MODEL)
    assert sha256_file(bundle_dir / "model.onnx") == fp32_before  # the fp32 model is untouched
    int8 = int8_model(m)
    assert [c.image for c in int8.selftest] == [c.image for c in m.selftest]
    assert int8.validation["n"] == 30 and int8.validation["fp32_top1"] == 1.0
    assert int8.calibration["images"] == 20 and int8.calibration["format"] == "QDQ"
    graph = onnx.load(str(bundle_dir / INT8_MODEL)).graph
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in graph.node}
    int8_weights = [t.name for t in graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert any(name.startswith("conv2.weight") for name in int8_weights)  # the middle layer runs in int8 ...
    assert not any(name.startswith(("conv1.", "fc.")) for name in int8_weights)  # ... the ends stay fp32
    assert int8.calibration["fp32_nodes"] and len(int8.calibration["fp32_nodes"]) == 2

    key = SigningKey.generate("head-office")
    sign_bundle(bundle_dir, key)
    verified = verify_bundle(bundle_dir, VerifyPolicy(TrustStore.from_keys(key.public), run_model=selftest_runner()))
    assert verified.selftest.ok


def test_quantize_refuses_beyond_the_tolerance_and_writes_nothing(tiny, tmp_path, capsys):
    bundle_dir, _, val = tiny
    flat = photo_manifest(bundle_dir, tmp_path / "flat", 12, seed=13, constant=True)  # no input range to calibrate
    labels = [line.split(",")[1] for line in val.read_text().splitlines()[1:]]
    assert max(labels.count(s) for s in set(labels)) <= 0.7 * len(labels)  # one answer for all cannot score well
    before, around = snapshot(bundle_dir), sorted(p.name for p in bundle_dir.parent.iterdir())
    assert main(["bundle", "quantize", str(bundle_dir), "--calibration", str(flat), "--val", str(val)]) == 2
    captured = capsys.readouterr()
    assert "points below fp32" in captured.err and "tolerance 0.5" in captured.err and "\n" not in captured.err.strip()
    assert "fp32 1.0000" in captured.out
    assert snapshot(bundle_dir) == before
    assert sorted(p.name for p in bundle_dir.parent.iterdir()) == around  # no temporary left beside it


def test_quantize_refuses_a_signed_bundle(tiny, capsys):
    from trainer.release.keys import SigningKey
    from trainer.release.signing import sign_bundle

    bundle_dir, train, val = tiny
    sign_bundle(bundle_dir, SigningKey.generate("head-office"))
    before = snapshot(bundle_dir)
    assert main(["bundle", "quantize", str(bundle_dir), "--calibration", str(train), "--val", str(val)]) == 2
    assert "quantize before `checkout bundle sign`" in capsys.readouterr().err
    assert snapshot(bundle_dir) == before


def test_calibration_photos_are_drawn_one_sku_after_another(tmp_path):
    from trainer.quantize import calibration_rows

    rows = ["path,sku"] + [f"{s}{i}.png,{s}" for s in ("a", "b", "c") for i in range(5 if s == "a" else 2)]
    manifest = tmp_path / "m.csv"
    manifest.write_text("\n".join(rows) + "\n")
    picked = calibration_rows(manifest, ["a", "b", "c"], 7)
    assert [r.sku for r in picked] == ["a", "b", "c", "a", "b", "c", "a"]
    assert len({r.path for r in picked}) == 7
    assert [r.path for r in calibration_rows(manifest, ["a", "b"], 3, seed=1)] == \
        [r.path for r in calibration_rows(manifest, ["a", "b"], 3, seed=1)]
    assert json.dumps(sorted({r.sku for r in calibration_rows(manifest, ["b"], 9)})) == '["b"]'


def test_evaluate_scores_the_int8_model_on_request(tiny, capsys):
    bundle_dir, train, val = tiny
    assert main(["evaluate", str(bundle_dir), "--manifest", str(val), "--precision", "int8", "--json"]) == 2
    assert "carries no int8 model" in capsys.readouterr().err
    assert main(["bundle", "quantize", str(bundle_dir), "--calibration", str(train), "--val", str(val),
                 "--tolerance", "100"]) == 0
    int8 = int8_model(load_bundle(bundle_dir).manifest)
    capsys.readouterr()
    assert main(["evaluate", str(bundle_dir), "--manifest", str(val), "--precision", "int8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["model"].endswith("(onnxruntime, int8)") and report["n"] == 30
    assert report["top1"] == pytest.approx(int8.validation["int8_top1"])


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None,
                    reason="the openvino package is not installed (pip install 'edge-checkout-kiosk[openvino]')")
def test_evaluate_scores_the_bundle_through_openvino(tiny, capsys):
    # each evaluation in a process of its own, as head office runs it: OpenVINO's CPU plugin loaded in the pytest
    # process made later tests that fork and start torchrun die with SIGSEGV (tests/test_bench.py)
    bundle_dir, train, val = tiny
    assert main(["bundle", "quantize", str(bundle_dir), "--calibration", str(train), "--val", str(val),
                 "--tolerance", "100"]) == 0

    def evaluate(backend: str, precision: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kiosk", "evaluate", str(bundle_dir), "--manifest", str(val),
                               "--backend", backend, "--precision", precision, "--json"], capture_output=True,
                              text=True, timeout=300)

    reports = {}
    for backend, precision in (("onnxruntime", "fp32"), ("openvino", "fp32"), ("openvino", "bf16"),
                               ("onnxruntime", "int8"), ("openvino", "int8")):
        done = evaluate(backend, precision)
        assert done.returncode == 0, done.stderr[-2000:]
        reports[backend, precision] = json.loads(done.stdout.strip().splitlines()[-1])
        assert reports[backend, precision]["model"].endswith(f"({backend}, {precision})")
    assert reports["openvino", "fp32"]["top1"] == reports["onnxruntime", "fp32"]["top1"]  # fp32 arithmetic both
    assert abs(reports["openvino", "int8"]["top1"] - reports["onnxruntime", "int8"]["top1"]) <= 0.1
    refused = evaluate("onnxruntime", "bf16")
    assert refused.returncode == 2 and "with onnxruntime runs fp32" in refused.stderr
