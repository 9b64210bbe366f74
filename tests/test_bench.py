"""``checkout bench kiosk``: the report's shape (not its timings), and the fast preprocessing it relies on."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.bench import STAGES, format_report
from kiosk.bundle_format.preprocess import PreprocessSpec, eval_crop, preprocess, to_model_input
from kiosk.cli import main

REPO = Path(__file__).resolve().parents[1]
CAMERA = f"folder:{(REPO / 'assets' / 'demo' / 'camera').as_posix()}?hold=1"


def test_bench_kiosk_reports_every_stage_and_the_ratio(demo_bundle, capsys):
    # 25 frames: more than the 19 images of the replay, so the source is reopened once
    assert main(["bench", "kiosk", "--bundle", str(demo_bundle), "--camera", CAMERA, "--frames", "25",
                 "--warmup", "2", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["frames"] == 25 and report["warmup"] == 2
    assert set(report["stages_ms"]) == set(STAGES)
    for name, s in report["stages_ms"].items():
        assert 0 <= s["p50"] <= s["p95"], (name, s)
        assert s["mean"] >= 0
    assert report["stages_ms"]["inference"]["p50"] > 0 and report["stages_ms"]["bare_ort"]["p50"] > 0
    assert report["ratio_p50"] == pytest.approx(report["stages_ms"]["recognise"]["p50"]
                                                / report["stages_ms"]["bare_ort"]["p50"])
    assert report["providers"] == ["CPUExecutionProvider"] and report["input"][:2] == [1, 3]
    assert report["opencv_threads"] == 2  # what the recogniser sets for its resize

    text = format_report(report)
    for name in STAGES:
        assert any(line.startswith(name) for line in text.splitlines()), name
    assert "p50 ratio" in text and "OpenCV threads 2" in text


def test_bench_kiosk_refuses_zero_frames(demo_bundle, capsys):
    assert main(["bench", "kiosk", "--bundle", str(demo_bundle), "--frames", "0", "--no-progress"]) == 2
    assert "--frames" in capsys.readouterr().err


@pytest.mark.parametrize("shape", [(348, 348), (480, 640), (720, 1280), (300, 200)])
def test_fast_preprocess_is_bit_identical_to_the_reference(shape):
    """preprocess() (one look-up per pixel) == to_model_input(eval_crop()) (what the trainer's preset mirrors)."""
    rng = np.random.default_rng(sum(shape))
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    image = cv2.GaussianBlur(image, (5, 5), 0)  # some structure for the area resize
    for spec in (PreprocessSpec(), PreprocessSpec(resize_size=73, crop_size=64),
                 PreprocessSpec(resize_size=293, crop_size=256, interpolation="linear", mean=(0.5, 0.4, 0.3),
                                std=(0.2, 0.25, 0.3))):
        fast = preprocess(image, spec)
        ref = to_model_input(eval_crop(image, spec), spec)
        assert fast.dtype == np.float32 and fast.flags["C_CONTIGUOUS"]
        assert fast.tobytes() == ref.tobytes()
        out = np.empty((3, spec.crop_size, spec.crop_size), np.float32)
        assert preprocess(image, spec, out=out) is out and out.tobytes() == ref.tobytes()


def test_bench_startup_measures_a_fresh_process_to_its_first_suggestion(demo_bundle, demo_catalog_db, capsys):
    db = demo_catalog_db
    camera = f"folder:{(REPO / 'assets' / 'demo' / 'camera').as_posix()}?fps=30&hold=8"
    assert main(["bench", "startup", "--bundle", str(demo_bundle), "--catalog", str(db), "--camera", camera,
                 "--scale", f"script:{REPO / 'assets' / 'demo' / 'scale.txt'}", "--runs", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    steps = result["median_s"]
    assert 0 < steps["imported"] < steps["service_opened"] < steps["window_shown"] < steps["first_suggestion"]
    assert steps["first_suggestion"] > result["camera_first_item_s"] == 0.433  # the replay sets a floor
    assert 50 < result["rss_mb_at_first_suggestion"] <= result["peak_rss_mb"]


def test_bench_startup_without_a_bundle_is_one_line(tmp_path, capsys):
    assert main(["bench", "startup", "--bundle", str(tmp_path / "none"), "--runs", "1"]) == 2
    assert "--bundle" in capsys.readouterr().err


def test_bench_startup_with_a_broken_bundle_says_why_the_kiosk_stopped(demo_bundle, demo_catalog_db, tmp_path,
                                                                        capsys):
    import shutil

    broken = tmp_path / "bundle"
    shutil.copytree(demo_bundle, broken)
    (broken / "model.onnx").write_bytes(b"not a model")
    assert main(["bench", "startup", "--bundle", str(broken), "--catalog", str(demo_catalog_db), "--runs", "1",
                 "--timeout", "300"]) == 2
    err = capsys.readouterr().err
    assert "stopped before its first suggestion" in err and "model.onnx" in err
    assert "within 300" not in err  # it never waited that long


def test_bench_kiosk_precision_runs_the_int8_model_bare_and_in_the_recogniser(int8_bundle, capsys):
    assert main(["bench", "kiosk", "--bundle", str(int8_bundle), "--camera", CAMERA, "--frames", "5", "--warmup", "1",
                 "--precision", "int8", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (report["precision"], report["model_file"]) == ("int8", "model.int8.onnx")
    assert "int8 model.int8.onnx" in format_report(report)


def test_bench_kiosk_compare_runs_every_config_on_the_same_frames(int8_bundle, capsys):
    from kiosk.bench import format_compare

    assert main(["bench", "kiosk", "--bundle", str(int8_bundle), "--camera", CAMERA, "--frames", "6", "--warmup", "1",
                 "--compare", "onnxruntime:fp32", "onnxruntime:int8", "--json", "--no-progress"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["frames"] == 6 and [r["config"] for r in report["runs"]] == ["onnxruntime:fp32", "onnxruntime:int8"]
    first, second = report["runs"]
    assert first["ratio_p50"] == 1.0 and first["backend"].endswith("fp32 (fp32 asked for)")
    assert second["backend"].endswith("int8 (int8 asked for)")
    assert second["ratio_p50"] == pytest.approx(second["stages_ms"]["recognise"]["p50"]
                                                / first["stages_ms"]["recognise"]["p50"])
    assert second["inference_ratio_p50"] == pytest.approx(second["stages_ms"]["inference"]["p50"]
                                                          / first["stages_ms"]["inference"]["p50"])
    for run in report["runs"]:
        assert 0 < run["stages_ms"]["inference"]["p50"] <= run["stages_ms"]["recognise"]["p50"]
    text = format_compare(report)
    assert "onnxruntime:int8" in text and "vs first" in text


def test_bench_kiosk_compare_refuses_an_unknown_config(int8_bundle, capsys):
    assert main(["bench", "kiosk", "--bundle", str(int8_bundle), "--compare", "onnxruntime:int4"]) == 2
    assert "--compare 'onnxruntime:int4'" in capsys.readouterr().err


def test_bench_kiosk_compare_names_a_backend_without_bf16_in_one_line(int8_bundle, capsys):
    assert main(["bench", "kiosk", "--bundle", str(int8_bundle), "--camera", CAMERA, "--frames", "2", "--warmup", "0",
                 "--compare", "onnxruntime:fp32", "onnxruntime:bf16", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "precision bf16: backend 'onnxruntime' has no bf16 arithmetic" in err


@pytest.mark.skipif(importlib.util.find_spec("openvino") is None,
                    reason="the openvino package is not installed (pip install 'edge-checkout-kiosk[openvino]')")
def test_bench_kiosk_compare_runs_openvino_in_fp32_and_bf16(int8_bundle):
    # in a process of its own, as a till runs it: with OpenVINO's CPU plugin loaded in the pytest process, later
    # tests that fork DataLoader workers and then start torchrun (tests/trainer/ddp) died with SIGSEGV
    done = subprocess.run([sys.executable, "-m", "kiosk", "bench", "kiosk", "--bundle", str(int8_bundle), "--camera",
                           CAMERA, "--frames", "3", "--warmup", "1", "--compare", "onnxruntime:fp32", "openvino:fp32",
                           "openvino:bf16", "--json", "--no-progress"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    runs = json.loads(done.stdout.strip().splitlines()[-1])["runs"]
    assert "inference precision f32) · fp32 (fp32 asked for)" in runs[1]["backend"]
    assert runs[2]["backend"].endswith("· bf16 (bf16 asked for)")
