"""CPU runtimes: every detector takes ``runtime``, OpenVINO, int8 and bf16 that keep accuracy.

The int8 and bf16 check uses the real YOLOX-Nano on the real TUD-Campus clip: person
precision and recall at IoU 0.5 may not fall more than one point below float32's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from synthetic import make_video

import models
from models import openvino_models, precision_check, runtimes
from models.detectors import ultralytics_common, yolox_nano
from models.detectors.base import Detector
from models.onnx_sessions import FrameParallelSession, usable_cpus
from models.openvino_models import OpenVinoModel, bf16_supported, precision_runs_here
from pipeline.cli.main import main
from pipeline.configs import DetectionConfig
from pipeline.errors import ConfigError
from pipeline.evaluation.detection import score_detections
from pipeline.io.video import iter_frames

#: "Within one point" of float32's precision and recall.
ACCURACY_TOLERANCE = 0.01
CONFIDENCE = 0.3
needs_bf16 = pytest.mark.skipif(not bf16_supported(), reason="no bfloat16 instructions on this CPU")


@pytest.fixture(scope="module")
def tud_frames(tud_campus_video: Path) -> list[np.ndarray]:
    return [frame.image for frame in iter_frames(tud_campus_video)]


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``auto`` measures (the suite turns that off), with no choice from an earlier test."""
    monkeypatch.setenv(runtimes.MEASURE_ENV_VAR, "true")
    runtimes.forget_choices()
    yield
    runtimes.forget_choices()


@pytest.mark.parametrize("detector", models.available("detector"))
def test_every_detector_takes_runtime(detector: str) -> None:
    offered = runtimes.runtimes_for("detector", detector)
    assert offered[0] == "auto"
    for runtime in offered:
        options = DetectionConfig(detector=detector, runtime=runtime).model_options()
        # Only what the factory takes is passed on: "auto" is its default, and a
        # PyTorch-only detector has no runtime option at all.
        assert options.get("runtime") in (None, runtime)
    with pytest.raises(ConfigError, match=r"cannot run on 'tensorrt'; it runs on: auto"):
        DetectionConfig(detector=detector, runtime="tensorrt")


def test_a_runtime_a_model_cannot_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    clip = Path(__file__).resolve().parents[1] / "assets" / "calibration" / "car_detection.mp4"
    assert main(["bench", str(clip), "--detector", "yolox_nano", "--runtime", "torch"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        "error: YOLOX-Nano cannot run on 'torch'; it runs on: "
        "auto, onnxruntime, onnxruntime-int8, openvino, openvino-int8, openvino-bf16."
    )


@pytest.mark.slow
def test_yolox_nano_takes_each_of_its_runtimes(
    tud_frames: list[np.ndarray], models_cache: Path
) -> None:
    """The same persons on every runtime; its model info names the runtime and precision."""
    reference = None
    for runtime in filter(precision_runs_here, yolox_nano.RUNTIMES[1:]):
        detector = models.create("detector", "yolox_nano", device="cpu", runtime=runtime)
        engine, precision = runtimes.split_runtime(runtime)
        assert detector.runtime == runtime
        assert (detector.info()["runtime"], detector.info()["precision"]) == (engine, precision)
        [persons] = detector.detect(tud_frames[:1], confidence=CONFIDENCE, queries="person")
        if reference is None:
            reference = persons
        # int8 and bf16 move boxes a little and scores a little more, never whole persons.
        assert abs(len(persons) - len(reference)) <= 1, runtime
    assert list(models_cache.glob("int8/*.onnx")), "the int8 model is cached"


def same_detections(batched: list, alone: list) -> None:
    assert len(batched) == len(alone)
    for together, single in zip(batched, alone, strict=True):
        np.testing.assert_allclose(together.xyxy, single.xyxy, rtol=1e-4, atol=1e-3)
        np.testing.assert_array_equal(together.class_id, single.class_id)


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_yolox_nano_runs_a_batch_one_frame_per_core_with_the_same_detections(
    tud_frames: list[np.ndarray], runtime: str
) -> None:
    """Several frames at once on a CPU: what each frame alone gives, in order."""
    detector = models.create("detector", "yolox_nano", device="cpu", runtime=runtime)
    model = detector.session if runtime == "onnxruntime" else detector.openvino
    assert isinstance(model, FrameParallelSession | OpenVinoModel)
    assert detector.default_batch_size == model.workers == usable_cpus()
    frames = tud_frames[:5]  # more frames than cores, and not a multiple of two
    alone = [detector.detect([f], confidence=CONFIDENCE)[0] for f in frames]
    same_detections(detector.detect(frames, confidence=CONFIDENCE), alone)
    assert sum(len(d) for d in alone) > 10  # persons, not empty frames


def test_a_single_usable_core_runs_frames_in_turn(
    tud_frames: list[np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    from models import onnx_sessions

    monkeypatch.setattr(onnx_sessions, "usable_cpus", lambda: 1)
    detector = models.create("detector", "yolox_nano", device="cpu", runtime="onnxruntime")
    assert detector.default_batch_size == detector.session.workers == 1
    [persons] = detector.detect(tud_frames[:1], confidence=CONFIDENCE)
    assert len(persons) > 0


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_yolo_on_a_cpu_runtime_splits_a_batch_among_the_cores(
    tud_frames: list[np.ndarray], runtime: str
) -> None:
    detector = models.create(
        "detector", "yolo11", device="cpu", weights="yolo11n.yaml", imgsz=96, runtime=runtime
    )
    assert detector.runtime == runtime
    assert detector.default_batch_size == usable_cpus()
    network = detector.network
    blob = network.preprocess(tud_frames[:3])
    if runtime == "onnxruntime":
        assert isinstance(network.session, FrameParallelSession)
        alone = [network.session.run(None, {"images": blob[i : i + 1]})[0] for i in range(3)]
    else:
        alone = [network.model.run(blob[i : i + 1]) for i in range(3)]
    # Random weights find no boxes to compare: compare the raw head outputs.
    np.testing.assert_allclose(network.infer(blob), np.concatenate(alone), rtol=1e-4, atol=1e-4)


def test_openvino_compiles_a_dynamic_model_for_each_input_shape(
    tud_frames: list[np.ndarray],
) -> None:
    """The same outputs as the dynamic model, each shape compiled once, the last two kept."""
    detector = models.create(
        "detector", "yolo11", device="cpu", weights="yolo11n.yaml", imgsz=160, runtime="openvino"
    )
    model = detector.network.model
    assert -1 in model.input_shape and model.compiled_shapes == []
    blob = detector.network.preprocess(tud_frames[:2])
    dynamic = model.compiled.create_infer_request()
    dynamic.infer({0: blob[:1]})
    np.testing.assert_allclose(
        model.run(blob[:1]), dynamic.get_output_tensor(0).data, rtol=1e-4, atol=1e-4
    )
    assert model.compiled_shapes == [tuple(blob[:1].shape)]
    detector.network.infer(blob)  # two frames at once: the same shape, nothing compiled
    assert model.compiled_shapes == [tuple(blob[:1].shape)]
    for side in (96, 224):
        model.run(np.zeros((1, 3, side, side), np.float32))
    assert model.compiled_shapes == [(1, 3, 96, 96), (1, 3, 224, 224)]


#: Four threads make their first OpenVINO inferences at the same moment, in a fresh process.
FIRST_CALLS_TOGETHER = """
import threading
import numpy as np
from models.detectors.yolox_nano import BUNDLED_WEIGHTS
from models.openvino_models import OpenVinoModel

models = [OpenVinoModel(BUNDLED_WEIGHTS) for _ in range(4)]
start = threading.Barrier(len(models))

def first_call(model):
    blob = np.zeros(model.input_shape, np.float32)
    start.wait()
    model.run(blob)

threads = [threading.Thread(target=first_call, args=(m,)) for m in models]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


@pytest.mark.slow
def test_openvino_first_calls_from_several_threads_do_not_deadlock() -> None:
    """OpenVINO's binding deadlocked in 5 of 15 such processes unless the first call is alone.

    Eight processes: were the guard gone, all eight would pass about one time in 25.
    """
    repo = Path(__file__).resolve().parents[1]
    for _ in range(8):
        try:
            done = subprocess.run(
                [sys.executable, "-c", FIRST_CALLS_TOGETHER],
                cwd=repo, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            pytest.fail("four threads' first OpenVINO inferences deadlocked")
        assert done.returncode == 0, done.stderr[-2000:]


def test_bf16_on_a_cpu_without_it_is_refused_or_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """OpenVINO would run float32 and call it bf16: YOLOX-Nano refuses, YOLO runs float32."""
    monkeypatch.setattr(openvino_models, "bf16_supported", lambda: False)
    with pytest.raises(runtimes.InvalidRuntimeError, match="needs a CPU with bfloat16"):
        models.create("detector", "yolox_nano", device="cpu", runtime="openvino-bf16")
    with pytest.raises(models.ModelError, match="no bfloat16 instructions"):
        OpenVinoModel(yolox_nano.BUNDLED_WEIGHTS, precision=runtimes.BF16)
    yolo = models.create(
        "detector", "yolo11", device="cpu", weights="yolo11n.yaml", imgsz=96,
        runtime="openvino-bf16",
    )  # fmt: skip
    assert (yolo.runtime, yolo.info()["precision"]) == ("openvino", "fp32")
    assert "no bfloat16 instructions; running float32" in caplog.text


@needs_bf16
def test_yolo_bf16_that_loses_boxes_runs_float32(
    models_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Real weights are held to float32's boxes on the bundled clip; too few agree: float32."""
    from ultralytics import YOLO

    yolo = YOLO("yolo11n.yaml", task="detect")
    build = dict(label="YOLO11n", device="cpu", imgsz=96, cache=True, explicit=True)
    kept = ultralytics_common._cpu_network(yolo, "openvino-bf16", **build)
    assert kept is not None and kept.model.precision == "bf16"  # random boxes agree with themselves
    ultralytics_common._AGREEMENT.clear()
    monkeypatch.setattr(ultralytics_common, "agreement", lambda reference, reduced: 0.9)
    fallen = ultralytics_common._cpu_network(yolo, "openvino-bf16", **build)
    assert fallen is not None and fallen.model.precision == "fp32"
    assert "bfloat16 agrees with float32 on 90.0 % of the boxes" in caplog.text
    ultralytics_common._AGREEMENT.clear()


def test_agreement_matches_boxes_one_to_one_by_class() -> None:
    person = [0, 0, 10, 20, 0.9, 0]
    reference = [np.array([person, [50, 50, 60, 60, 0.8, 2]], np.float32)]
    same_place_other_class = [np.array([[0, 0, 10, 20, 0.9, 1], [50, 50, 60, 60, 0.8, 2]])]
    assert precision_check.agreement(reference, same_place_other_class) == pytest.approx(0.5)
    # Two candidates on one reference box: one match only.
    doubled = [np.array([person, person], np.float32)]
    assert precision_check.agreement([np.array([person], np.float32)], doubled) == pytest.approx(
        2 / 3
    )
    assert precision_check.agreement([np.zeros((0, 6))], [np.zeros((0, 6))]) == 1.0


def score_on_tud(detector: Detector, frames: list[np.ndarray], gt: Path) -> dict:
    by_frame = {
        k + 1: detector.detect([image], confidence=CONFIDENCE, queries="person")[0]
        for k, image in enumerate(frames)
    }
    return score_detections(gt, by_frame, iou=0.5)


@pytest.mark.slow
def test_int8_and_bf16_keep_person_precision_and_recall_on_tud_campus(
    tud_frames: list[np.ndarray], shared_assets: Path, models_cache: Path
) -> None:
    gt = shared_assets / "mot" / "TUD-Campus" / "gt.txt"
    if not gt.is_file():
        pytest.skip(f"{gt} not found")
    # OpenVINO float32 gives ONNX Runtime's detections (docs/cpu-runtimes.md): one baseline.
    scores = {
        runtime: score_on_tud(
            models.create("detector", "yolox_nano", device="cpu", runtime=runtime), tud_frames, gt
        )
        for runtime in ("onnxruntime", "onnxruntime-int8", "openvino-int8", "openvino-bf16")
        if precision_runs_here(runtime)
    }
    base = scores.pop("onnxruntime")
    assert base["tp"] > 250, base  # the float model finds most persons (0.62 / 0.78 measured)
    for reduced in scores.values():
        assert reduced["precision"] >= base["precision"] - ACCURACY_TOLERANCE, scores
        assert reduced["recall"] >= base["recall"] - ACCURACY_TOLERANCE, scores


def test_fastest_measures_once_per_key_and_keeps_the_choice(measured: None) -> None:
    builds: list[str] = []

    def build(runtime: str) -> Callable[[], None] | None:
        builds.append(runtime)
        if runtime == "missing":
            return None
        delay = {"slow": 0.02, "fast": 0.0}[runtime]
        return lambda: time.sleep(delay)

    assert runtimes.fastest("model", ("slow", "fast", "missing"), build) == "fast"
    assert runtimes.fastest("model", ("slow", "fast", "missing"), build) == "fast"
    assert builds == ["slow", "fast", "missing"]  # the second call measured nothing


def test_fastest_takes_the_default_unmeasured_when_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runtimes.MEASURE_ENV_VAR, "false")
    runtimes.forget_choices()
    assert runtimes.fastest("other", ("first", "second"), pytest.fail) == "first"
    runtimes.forget_choices()


@pytest.mark.slow
def test_auto_picks_a_measured_runtime_for_yolox_nano(
    measured: None, models_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    detector = models.create("detector", "yolox_nano", device="cpu")
    assert detector.runtime in yolox_nano.RUNTIMES[1:]
    # Kept for the process: a second load builds the chosen runtime only.
    built: list[str] = []
    original = yolox_nano._build

    def counting(path: Path, device: str, weights: str, runtime: str) -> object:
        built.append(runtime)
        return original(path, device, weights, runtime)

    monkeypatch.setattr(yolox_nano, "_build", counting)
    again = models.create("detector", "yolox_nano", device="cpu")
    assert built == [detector.runtime] and again.runtime == detector.runtime


@pytest.mark.slow
def test_a_comparison_says_what_auto_runs_without_choosing_again(
    measured: None, models_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``auto`` chooses once, at the first load; the comparison names that choice.

    It measured again instead (and replaced the process's choice): on a loaded machine
    it named onnxruntime-int8 while every run, and its own table, said openvino bf16.
    """
    from pipeline.evaluation import runtime_comparison
    from pipeline.runs.detection import load_detector

    # The first measurement finds OpenVINO fastest, any later one int8.
    winners = iter(["openvino", "onnxruntime-int8"])

    def seconds(calls: dict[str, Callable[[], object]]) -> dict[str, float]:
        winner = next(winners)
        return {name: 0.001 if name == winner else 0.01 for name in calls}

    monkeypatch.setattr(runtimes, "_interleaved_seconds", seconds)
    clip = make_video(tmp_path / "clip.mp4", frames=4, width=160, height=128)
    config = DetectionConfig(detector="yolox_nano", max_frames=4)
    models.clear_cache()
    try:
        run = load_detector(config, "cpu")  # what the app's warm-up, or a first run, loads
        figures = runtime_comparison.compare_runtimes(config, clip, rounds=1)
        again = load_detector(config, "cpu")
    finally:
        models.clear_cache()
    assert run.runtime == figures["auto_picks"] == again.runtime == "openvino"
    ran_on = {entry["ran_on"] for entry in figures["runtimes"]}
    assert figures["fastest_end_to_end"] in ran_on


@pytest.mark.slow
def test_bench_compares_every_runtime(
    tmp_path: Path, models_cache: Path, yolox_runtime_rows: set[tuple[str, str, int]]
) -> None:
    import json

    clip = make_video(tmp_path / "clip.mp4", frames=8, width=160, height=128)
    out = tmp_path / "runtimes.json"
    argv = ["bench", str(clip), "--detector", "yolox_nano", "--compare-runtimes"]
    assert main([*argv, "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    rows = {(r["runtime"], r["precision"], r["frames_at_once"]): r for r in figures["runtimes"]}
    assert set(rows) == yolox_runtime_rows
    reference = rows[("onnxruntime", "fp32", 1)]
    assert reference["ratio_model_only_over_onnxruntime"] == 1.0
    for row in rows.values():
        assert row["model_only_fps"] > 0 and row["end_to_end_fps"] > 0
        assert row["ratio_model_only_over_onnxruntime"] == pytest.approx(
            row["model_only_fps"] / reference["model_only_fps"]
        )
        assert row["ratio_end_to_end_over_onnxruntime"] == pytest.approx(
            row["end_to_end_fps"] / reference["end_to_end_fps"]
        )
    assert figures["auto_picks"] == "onnxruntime"  # the suite does not measure (conftest)


def test_the_app_loads_the_default_detector_before_the_first_run(
    measured: None,
    models_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from models import instances
    from ui.settings import Settings
    from ui.warm_up import _load_default_detector, warm_up

    assert warm_up(Settings(output_dir=tmp_path, warm_up=False)) is None
    models.clear_cache()
    thread = warm_up(Settings(output_dir=tmp_path))
    assert thread is not None
    thread.join(timeout=600)
    assert not thread.is_alive()

    # The first run's load finds it: nothing is built, measured or calibrated again.
    def loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the first run loaded the detector itself")

    monkeypatch.setattr(instances, "create", loading)
    config = DetectionConfig(detector=models.default_detector())
    detector = models.get_cached(
        "detector", config.detector, device="cpu", **config.model_options()
    )
    assert detector.runtime in yolox_nano.RUNTIMES[1:]
    # A detector that cannot load is a warning in the log; the app serves all the same.
    models.clear_cache()
    with caplog.at_level("WARNING", logger="ui.warm_up"):
        _load_default_detector()
    assert "not loaded ahead" in caplog.text
