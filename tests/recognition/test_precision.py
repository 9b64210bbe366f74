"""Which model the till runs: int8 only where the CPU has VNNI and the bundle carries one, unless configured."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from kiosk.bundle_format.bundle import load_bundle, write_manifest
from kiosk.bundle_format.int8 import INT8_KEY, int8_model
from kiosk.config import ConfigError, KioskConfig
from kiosk.errors import BundleError, UserError
from kiosk.recognition import precision
from kiosk.recognition.precision import choose_model, cpu_flags
from kiosk.recognition.recognizer import Recognizer
from tests.bundles.factory import build_tiny_bundle

VNNI = frozenset({"sse4_2", "avx512f", "avx512_vnni"})
AVX_VNNI = frozenset({"avx2", "avx_vnni"})
NO_VNNI = frozenset({"sse4_2", "avx2", "avx512f"})
INT8_CAPABLE = ("fp32", "int8")
BF16_CAPABLE = ("fp32", "bf16", "int8")
BF16 = frozenset({"avx512_bf16"})


@pytest.fixture(scope="module")
def fp32_bundle(tmp_path_factory) -> Path:
    return build_tiny_bundle(tmp_path_factory.mktemp("fp32") / "bundle")


@pytest.mark.parametrize("flags, want", [(VNNI, "int8"), (AVX_VNNI, "int8"), (NO_VNNI, "fp32"), (frozenset(), "fp32")])
def test_auto_picks_int8_only_where_the_cpu_has_vnni(int8_bundle, flags, want):
    choice = choose_model(load_bundle(int8_bundle), "auto", "onnxruntime", INT8_CAPABLE, flags=flags)
    assert choice.precision == want
    assert choice.file == ("model.int8.onnx" if want == "int8" else "model.onnx")
    assert choice.why == ("CPU has VNNI" if want == "int8" else "CPU has no VNNI")


def test_auto_stays_fp32_without_an_int8_model_or_an_int8_backend(int8_bundle, fp32_bundle):
    assert str(choose_model(load_bundle(fp32_bundle), "auto", "onnxruntime", INT8_CAPABLE, flags=VNNI)) == \
        "fp32 (bundle has no int8 model)"
    bundle = load_bundle(int8_bundle)
    assert choose_model(bundle, "auto", "torch", ("fp32",), flags=VNNI).precision == "fp32"
    assert choose_model(bundle, "auto", "onnxruntime", INT8_CAPABLE, device="cuda", flags=VNNI).precision == "fp32"


def test_forced_precisions(int8_bundle, fp32_bundle):
    bundle = load_bundle(int8_bundle)
    assert choose_model(bundle, "fp32", "onnxruntime", INT8_CAPABLE, flags=VNNI).precision == "fp32"
    assert choose_model(bundle, "int8", "onnxruntime", INT8_CAPABLE, flags=NO_VNNI).precision == "int8"
    with pytest.raises(BundleError, match="carries no int8 model .*checkout bundle quantize"):
        choose_model(load_bundle(fp32_bundle), "int8", "onnxruntime", INT8_CAPABLE, flags=VNNI)
    with pytest.raises(UserError, match="backend 'torch' runs fp32 models only"):
        choose_model(bundle, "int8", "torch", ("fp32",), flags=VNNI)
    with pytest.raises(UserError, match="precision 'fp16'"):
        choose_model(bundle, "fp16", "onnxruntime", INT8_CAPABLE)
    with pytest.raises(UserError, match="precision bf16: backend 'onnxruntime' has no bf16 arithmetic"):
        choose_model(bundle, "bf16", "onnxruntime", INT8_CAPABLE)
    assert str(choose_model(bundle, "bf16", "openvino", BF16_CAPABLE, flags=NO_VNNI)) == "bf16 (bf16 asked for)"


@pytest.mark.parametrize("flags, bundle_has_int8, want", [
    (VNNI | BF16, True, "int8 (CPU has VNNI)"),
    (VNNI | BF16, False, "bf16 (bundle has no int8 model; bf16: the CPU computes it)"),
    (NO_VNNI | BF16, True, "bf16 (CPU has no VNNI; bf16: the CPU computes it)"),
    (NO_VNNI, True, "fp32 (CPU has no VNNI)"),
])
def test_auto_computes_the_fp32_model_in_bf16_where_backend_and_cpu_can(int8_bundle, fp32_bundle, flags,
                                                                       bundle_has_int8, want):
    bundle = load_bundle(int8_bundle if bundle_has_int8 else fp32_bundle)
    choice = choose_model(bundle, "auto", "openvino", BF16_CAPABLE, flags=flags)
    assert str(choice) == want
    assert choice.file == ("model.int8.onnx" if want.startswith("int8") else "model.onnx")
    assert choose_model(bundle, "auto", "onnxruntime", INT8_CAPABLE, flags=NO_VNNI | BF16).precision == "fp32"


def test_cpu_flags_come_from_the_first_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse4_2 avx512_vnni\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(info) == {"fpu", "sse4_2", "avx512_vnni"}
    assert precision.has_vnni(cpu_flags(info))
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_the_recogniser_runs_and_names_the_model_it_picked(int8_bundle, monkeypatch):
    monkeypatch.setattr(precision, "cpu_flags", lambda *a: VNNI)
    rec = Recognizer.load(int8_bundle)
    assert rec.backend.describe().endswith("· int8 (CPU has VNNI)")
    assert rec.backend.session._model_path.endswith("model.int8.onnx")
    rec.close()
    monkeypatch.setattr(precision, "cpu_flags", lambda *a: NO_VNNI)
    rec = Recognizer.load(int8_bundle)
    assert rec.backend.describe().endswith("· fp32 (CPU has no VNNI)")
    rec.close()
    rec = Recognizer.load(int8_bundle, precision="int8")
    assert rec.backend.describe().endswith("· int8 (int8 asked for)")
    rec.close()


def test_the_kiosk_setting_reaches_the_recogniser(int8_bundle, monkeypatch):
    from kiosk.services.model_updates import recognizer_loader
    from kiosk.services.views import model_description

    monkeypatch.setattr(precision, "cpu_flags", lambda *a: VNNI)
    for setting, want in (("auto", "int8 (CPU has VNNI)"), ("fp32", "fp32 (fp32 asked for)")):
        config = KioskConfig.from_dict({"bundle": str(int8_bundle), "precision": setting})
        rec = recognizer_loader(config)(int8_bundle)
        assert model_description(rec)[1].endswith(want)
        rec.close()
    with pytest.raises(ConfigError, match="precision='fast'"):
        KioskConfig.from_dict({"precision": "fast"})


def test_kiosk_precision_option_overrides_the_config_file(tmp_path):
    import argparse

    from kiosk.commands import register
    from kiosk.config import config_from_args

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(), {})
    (tmp_path / "kiosk.toml").write_text('precision = "int8"\n')
    args = parser.parse_args(["kiosk", "--config", str(tmp_path / "kiosk.toml")])
    assert config_from_args(args).precision == "int8"
    args = parser.parse_args(["kiosk", "--config", str(tmp_path / "kiosk.toml"), "--precision", "fp32"])
    assert config_from_args(args).precision == "fp32"


def _signed_copy(src: Path, dest: Path, change=None):
    from trainer.release.keys import SigningKey
    from trainer.release.signing import sign_bundle

    shutil.copytree(src, dest)
    if change is not None:
        write_manifest(dest, change(load_bundle(dest).manifest))
    key = SigningKey.generate("head-office")
    sign_bundle(dest, key)
    return key


def test_verification_self_tests_the_int8_model_against_its_own_outputs(int8_bundle, tmp_path):
    from kiosk.bundle_format.trust import TrustStore
    from kiosk.bundle_format.verify import BundleRefused, VerifyPolicy, verify_bundle
    from kiosk.recognition.recognizer import selftest_runner

    key = _signed_copy(int8_bundle, tmp_path / "good")
    policy = VerifyPolicy(TrustStore.from_keys(key.public), run_model=selftest_runner())
    assert verify_bundle(tmp_path / "good", policy).selftest.ok

    def wrong_int8_scores(m):
        section = int8_model(m).to_json()
        for case in section["selftest"]:
            case["top_scores"] = [s * 0.5 for s in case["top_scores"]]
        return dataclasses.replace(m, extra={**m.extra, INT8_KEY: section})

    key = _signed_copy(int8_bundle, tmp_path / "bad", wrong_int8_scores)
    policy = VerifyPolicy(TrustStore.from_keys(key.public), run_model=selftest_runner())
    with pytest.raises(BundleRefused) as info:
        verify_bundle(tmp_path / "bad", policy)
    assert info.value.reason == "selftest" and "int8 model" in str(info.value)
