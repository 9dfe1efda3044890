"""The Benchmark tab's work: hardware report, monitor, benchmarks, profiles, analysis.

Measured on this CPU with the bundled YOLOX-Nano and YOLO11 from its architecture
file (random weights, real compute), through the Python API, the named
endpoints, the REST routes, and in Chromium.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin

import gradio as gr
import httpx
import numpy as np
import pytest
import synthetic
from chromium import chromium
from job_helpers import left_while, start_job
from test_detectors import tiny_detr  # noqa: F401 - a fixture

import models
from models.runtimes import AUTO
from pipeline import ConfigError, DetectionConfig, PipelineError, RunStopped
from pipeline.evaluation import analysis, benchmark, benchmark_grid, profiling
from pipeline.evaluation.analysis import analyze
from pipeline.evaluation.benchmark_grid import STAGES, BenchmarkPlan, run_grid
from pipeline.evaluation.hardware import NO_GPU, hardware_report
from pipeline.evaluation.monitor import HardwareMonitor
from pipeline.jobs import JobStatus
from ui.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
CLIP = REPO_ROOT / "assets" / "one_by_one_person.mp4"


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def check_rows(rows: list[dict]) -> None:
    """Figures that hold for any benchmark, whatever the machine."""
    for row in rows:
        assert row["end_to_end_fps"] == pytest.approx(row["frames"] / row["seconds"])
        assert row["model_only_fps"] > 0 and row["first_preview_s"] > 0
        assert all(row["stage_seconds"][s] >= 0 for s in STAGES)
        assert set(row["stage_ms_per_frame"]) == set(STAGES)
        # Each stage is timed in one thread; together they cannot exceed them all.
        assert sum(row["stage_seconds"].values()) <= row["seconds"] * row["threads"]
        assert row["peak_rss_mib"] > 0


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    plan = BenchmarkPlan(
        detectors=("yolox_nano", "yolo11"),
        runtimes=(None, "torch"),
        batch_sizes=(1, 4),
        weights="yolo11n.yaml",
        max_frames=16,
    )
    return run_grid(plan, CLIP, tmp_path_factory.mktemp("grid"))


def test_the_hardware_report_without_a_gpu() -> None:
    report = hardware_report()
    assert report["gpus"] == NO_GPU and report["nvidia_driver"] is None
    assert report["cpu"]["logical_cores"] >= 1 and report["memory"]["total_mib"] > 0
    assert "CPUExecutionProvider" in report["libraries"]["onnxruntime_providers"]
    assert report["defaults"] == {"devices": ["cpu"], "yolo_runtime": {"cpu": "onnxruntime"}}


def test_the_monitor_samples_into_a_bounded_buffer_without_nvml() -> None:
    monitor = HardwareMonitor(interval_s=0.05, max_samples=4).start()
    try:
        deadline = time.monotonic() + 5
        while len(monitor.samples()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        samples = monitor.samples()
    finally:
        monitor.stop()
    assert len(samples) == 4, "the buffer holds the newest samples only"
    assert [s["time"] for s in samples] == sorted(s["time"] for s in samples)
    assert all(s["gpus"] == [] and 0 <= s["cpu_percent"] <= 100 for s in samples)
    assert monitor.samples(since=samples[1]["time"]) == samples[2:]


def test_a_grid_measures_every_combination_with_consistent_figures(grid: list[dict]) -> None:
    # YOLOX-Nano has no runtime choice: it is measured once per batch size.
    assert [benchmark_grid.label(row) for row in grid] == [
        "yolox_nano onnxruntime b1 cpu",
        "yolox_nano onnxruntime b4 cpu",
        "yolo11-m onnxruntime b1 cpu",
        "yolo11-m onnxruntime b4 cpu",
        "yolo11-m torch b1 cpu",
        "yolo11-m torch b4 cpu",
    ]
    check_rows(grid)
    csv = benchmark_grid.to_csv(grid).splitlines()
    assert csv[0].split(",")[:4] == ["detector", "size", "runtime", "batch_size"]
    assert len(csv) == len(grid) + 1


def test_the_analysis_names_the_bottleneck_best_batch_and_expected_time(grid: list[dict]) -> None:
    result = analyze(grid, video_seconds=10, video_fps=10)
    best = max(grid, key=lambda r: r["end_to_end_fps"])
    stages = best["stage_ms_per_frame"]
    assert result["bottleneck"]["stage"] == max(stages, key=stages.get)
    assert result["expected_seconds"] == pytest.approx(100 / best["end_to_end_fps"], abs=0.05)

    def group(row: dict) -> tuple:
        return row["detector"], row["size"], row["runtime"], tuple(row["devices"])

    by_group = {group(e): e["batch_size"] for e in result["best_batch_size"]}
    assert len(by_group) == len(result["best_batch_size"]) == 3
    for key, batch in by_group.items():
        fastest = max((r for r in grid if group(r) == key), key=lambda r: r["end_to_end_fps"])
        assert fastest["batch_size"] == batch, key
    assert "bound" in result["text"] and "about" in result["text"]
    with pytest.raises(ConfigError, match="no benchmark results"):
        analyze([])


def test_a_grid_asked_to_stop_ends_between_configurations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = BenchmarkPlan(detectors=("yolox_nano",), batch_sizes=(1, 2, 4), max_frames=4)
    measured: list[int] = []

    def measure(config, video, images, workdir, stopped=None) -> dict:
        measured.append(config.batch_size)
        return {}

    monkeypatch.setattr(benchmark_grid, "measure", measure)
    with pytest.raises(RunStopped, match="stopped after 1 of 3 configurations"):
        run_grid(plan, CLIP, tmp_path, stopped=lambda: bool(measured))
    assert measured == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-0"], "measured past the stop"


def test_the_page_and_gradio_client_keep_to_the_row_limit_and_the_client_share(
    tmp_path: Path,
) -> None:
    """Not only REST: the tab's endpoint is as open to a script as ``POST /benchmark``."""
    from pipeline.jobs import JobStore
    from ui.tabs.benchmark import BenchmarkHandlers

    limits = Settings(output_dir=tmp_path, max_benchmark_rows=2, max_queued_per_client=1)
    store = JobStore(
        tmp_path, devices=1, max_queued=4, max_queued_per_client=1, sweep_interval_s=None
    )
    try:
        handlers = BenchmarkHandlers(limits, store)
        grid = handlers.benchmark(None, ["yolox_nano"], "", [], "1, 2, 3", "", 1)
        with pytest.raises(gr.Error, match="3 combinations; the limit is 2"):
            next(grid)
        # One place in the queue each: this address's benchmark counts against it.
        busy = store.submit(
            synthetic.make_video(tmp_path / "busy.mp4", frames=30, width=64, height=64),
            DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 1.0),)),
        )  # fmt: skip
        request = SimpleNamespace(headers={}, client=SimpleNamespace(host="203.0.113.9"))
        mine = store.submit(
            synthetic.make_video(tmp_path / "mine.mp4", frames=2, width=64, height=64),
            DetectionConfig(detector="test_shapes"), client="address:203.0.113.9",
        )  # fmt: skip
        with pytest.raises(gr.Error, match="the most one client may"):
            handlers.benchmark_profile(None, "yolox_nano", "", "", 1, "cpu", request)
        store.delete(mine.id)
        store.delete(busy.id)
    finally:
        store.close()


def test_the_tab_compares_every_runtime_of_a_detector_in_one_run(
    tmp_path: Path, models_cache: Path, yolox_runtime_rows: set[tuple[str, str, int]]
) -> None:
    from pipeline.jobs import JobStore
    from ui.tabs.benchmark import BenchmarkHandlers, detectors_with_runtimes

    assert "yolox_nano" in detectors_with_runtimes(models.available("detector"))
    assert "detr_resnet50" not in detectors_with_runtimes(["detr_resnet50"])  # torch only
    clip = synthetic.make_video(tmp_path / "clip.mp4", frames=12, width=160, height=128)
    store = JobStore(tmp_path / "jobs", devices=1, sweep_interval_s=None)
    try:
        handlers = BenchmarkHandlers(Settings(output_dir=tmp_path / "jobs"), store)
        *beats, (table, text, figures) = handlers.benchmark_runtimes(
            str(clip), "yolox_nano", "", 6
        )
        rows = {
            (r["runtime"], r["precision"], r["frames at once"]): r
            for r in table.to_dict("records")
        }
        assert set(rows) == yolox_runtime_rows
        assert rows[("onnxruntime", "fp32", 1)]["x ONNX Runtime fp32"] == 1.0
        assert all(row["model-only fps"] > 0 and row["end-to-end fps"] > 0 for row in rows.values())
        assert figures["frames"] == 6 and "`auto` picks **onnxruntime**" in text
        [job] = store.all()
        assert job.task == "runtimes" and Path(figures["json"]).parent == job.folder
        with pytest.raises(gr.Error, match="Unknown detector 'yolo12'"):
            list(handlers.benchmark_runtimes(str(clip), "yolo12", "", 6))
        with pytest.raises(gr.Error, match="The frame count must be a whole number, not 2.5"):
            list(handlers.benchmark_runtimes(str(clip), "yolox_nano", "", 2.5))
    finally:
        store.close()


def test_a_measured_run_asked_to_stop_ends_within_about_a_second(tmp_path: Path) -> None:
    """A client that leaves mid-configuration frees the devices then, not at its end."""
    clip = synthetic.make_video(tmp_path / "clip.mp4", frames=30, width=160, height=128)
    # About half a second a frame: some 15 s for the whole clip.
    slow = DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 1.0),))
    asked_at = time.monotonic() + 0.5
    started = time.monotonic()
    with pytest.raises(RunStopped):
        benchmark.end_to_end(slow, clip, tmp_path, stopped=lambda: time.monotonic() > asked_at)
    assert time.monotonic() - started < 3.0
    images = [np.zeros((8, 8, 3), np.uint8)] * 4
    with pytest.raises(RunStopped):
        benchmark.model_only(slow, images, stopped=lambda: True)


def test_the_frames_a_grid_holds_decoded_are_bounded_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long clip within the video limits is never held whole (36000 4K frames: 955 GB)."""
    clip = synthetic.make_video(tmp_path / "clip.mp4", frames=20, width=160, height=128)
    frame_bytes = 160 * 128 * 3
    monkeypatch.setattr(benchmark_grid, "MODEL_ONLY_MAX_BYTES", 5 * frame_bytes)
    assert len(benchmark_grid.model_only_frames(clip, None)) == 5
    assert len(benchmark_grid.model_only_frames(clip, 3)) == 3
    monkeypatch.setattr(benchmark_grid, "MODEL_ONLY_MAX_BYTES", 1)
    assert len(benchmark_grid.model_only_frames(clip, None)) == 1  # always one to measure


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"detectors": ("nope",)}, models.UnknownModelError, "Unknown detector 'nope'"),
        ({"batch_sizes": (0,)}, ConfigError, "at least 1, not 0"),
        ({"device_sets": (("cuda:7",),)}, PipelineError, "cuda:7 is not available"),
        ({"runtimes": ("tensorrt",)}, ConfigError, "Unknown runtime 'tensorrt'"),
        # Not "no detector comes in any of the sizes asked for": no size was asked for.
        ({"runtimes": ("torch",)}, ConfigError, re.escape(
            "Nothing to measure: yolox_nano does not run on torch (its runtimes: onnxruntime, "
            "onnxruntime-int8, openvino, openvino-int8, openvino-bf16).")),
        ({"detectors": ("yolox_nano", "yolo11"), "sizes": ("zz",)}, ConfigError, re.escape(
            "Nothing to measure: yolox_nano comes in one size only, not zz; "
            "yolo11 does not come in zz (its sizes: n, s, m, l, x).")),
    ],
)  # fmt: skip
def test_bad_plans_are_clear_errors(settings: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        BenchmarkPlan(**{"detectors": ("yolox_nano",), **settings})


def test_a_pytorch_only_detector_is_measured_on_torch(
    tiny_detr: Path,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    """Its factory takes no runtime: "torch" is the config's, not an option passed on."""
    plan = BenchmarkPlan(
        detectors=("detr_resnet50",), runtimes=("torch",), weights=str(tiny_detr), max_frames=2
    )
    [row] = run_grid(plan, CLIP, tmp_path)
    assert row["runtime"] == "torch" and row["frames"] == 2


def test_a_detector_without_weights_fails_at_once_as_a_run_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DETR, offline and not cached: a run's message, before anything loads.

    Loaded directly, transformers retried its downloads for 95 s (without the offline
    flag) and said so in a cut 300-character OSError.
    """
    from pipeline.jobs import JobStore
    from pipeline.runs import first_frame
    from ui.tabs.benchmark import BenchmarkHandlers

    config = DetectionConfig(detector="detr_resnet50")
    with pytest.raises(models.MissingWeightsError) as run:
        first_frame(CLIP, config)
    assert "no network connection" in run.value.summary

    def loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the benchmark loaded a model whose weights are not here")

    monkeypatch.setattr(benchmark, "load_detector", loading)
    monkeypatch.setattr(models, "create", loading)
    store = JobStore(tmp_path, devices=1, sweep_interval_s=None)
    try:
        handlers = BenchmarkHandlers(Settings(output_dir=tmp_path), store)
        with pytest.raises(gr.Error) as grid:
            list(handlers.benchmark(None, ["detr_resnet50"], "", [], "1", "", 8))
        with pytest.raises(gr.Error) as profile:
            handlers.benchmark_profile(None, "detr_resnet50", "", "", 1, "")
    finally:
        store.close()
    assert grid.value.message == profile.value.message == run.value.summary


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: list(h.benchmark(None, ["yolox_nano"], "", [], "1", "", "abc")),
         "max_frames must be a number, not 'abc'"),
        (lambda h: list(h.benchmark(None, ["yolox_nano"], "", [], "1", "", 0)),
         "max_frames must be at least 1, not 0"),
        (lambda h: h.benchmark_profile(None, "yolox_nano", "", "", "abc", ""),
         "The batch size must be a number, not 'abc'"),
        (lambda h: h.benchmark_profile(None, "yolox_nano", "", "", 0, ""),
         "must be at least 1, not 0"),
        (lambda h: h.benchmark_profile(None, "yolox_nano", "", "", 2.5, ""),
         "The batch size must be a whole number, not 2.5"),
        (lambda h: h.benchmark_profile(None, "yolox_nano", "", "torch", 1, ""),
         "YOLOX-Nano cannot run on 'torch'; it runs on: auto, onnxruntime"),
        (lambda h: list(h.benchmark_runtimes(None, "yolox_nano", "", "abc")),
         "The frame count must be a number, not 'abc'"),
        (lambda h: list(h.benchmark_runtimes(None, "yolox_nano", "", 0)),
         "must be at least 1, not 0"),
        (lambda h: h.benchmark_analysis({"rows": [{}]}, "abc", 30),
         "The video's length must be a number, not 'abc'"),
        (lambda h: h.benchmark_analysis({"rows": [{}]}, 60, 0),
         "The video's length and frame rate must be positive."),
        # Rows an API client made up are checked as REST checks them (were a KeyError).
        (lambda h: h.benchmark_analysis({"rows": [{"detector": "x"}]}, 60, 30),
         "Row 0 is not a benchmark's row: it lacks size, runtime"),
        (lambda h: h.benchmark_analysis({"rows": [dict.fromkeys(analysis.ROW_KEYS, 1)]}, 60, 30),
         "The rows hold values of the wrong kind"),
    ],
    ids=["frames-text", "frames-0", "batch-text", "batch-0", "batch-2.5", "runtime-lacked",
         "compare-frames-text", "compare-frames-0", "length-text", "rate-0", "row-keys",
         "row-kinds"],
)  # fmt: skip
def test_the_tab_s_numbers_are_checked_by_its_handlers(tmp_path: Path, call, message: str) -> None:
    """Text, 0 and fractions each get their message; 0 was taken for "empty" (all, the default)."""
    from pipeline.jobs import JobStore
    from ui.tabs.benchmark import BenchmarkHandlers

    store = JobStore(tmp_path, devices=1, sweep_interval_s=None)
    try:
        with pytest.raises(gr.Error, match=re.escape(message)):
            call(BenchmarkHandlers(Settings(output_dir=tmp_path), store))
        assert store.all() == [], "a bad number was refused only once measuring"
    finally:
        store.close()


def test_the_tab_starts_from_the_app_s_default_detector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Benchmark, profile and comparison (which started on drone_yolo, whose weights are
    not here) all take the detector the Detection tab does; the profile's runtime is
    auto, named."""
    from pipeline.jobs import JobStore
    from ui.tabs import benchmark as tab

    monkeypatch.setattr(models, "default_detector", lambda: "yolo11")
    store = JobStore(tmp_path, devices=1, sweep_interval_s=None)
    try:
        handlers = tab.BenchmarkHandlers(Settings(output_dir=tmp_path), store)
        with gr.Blocks() as demo, gr.Tabs():
            tab.build_benchmark_tab(handlers)
    finally:
        store.close()
    by_id = {block.elem_id: block for block in demo.blocks.values() if block.elem_id}
    assert by_id["bench-detectors"].value == ["yolo11"]
    assert by_id["bench-profile-detector"].value == "yolo11"
    assert by_id["bench-runtimes-detector"].value == "yolo11"
    runtime = by_id["bench-profile-runtime"]
    assert runtime.value == AUTO and runtime.choices[0] == (tab.AUTO_CHOICE, AUTO)
    assert all(label for label, _ in runtime.choices), "a blank choice"


def test_the_devices_chart_names_each_device_set() -> None:
    """One tick per set (a count was a continuous axis: one set read "1.000000")."""
    from ui.tabs.benchmark import result_frames

    stages = dict.fromkeys(STAGES, 1.0)
    rows = [
        {"detector": "yolox_nano", "size": None, "runtime": "onnxruntime", "batch_size": 1,
         "devices": devices, "end_to_end_fps": fps, "stage_ms_per_frame": stages}
        for devices, fps in ((["cuda:0"], 50.0), (["cuda:0", "cuda:1"], 90.0))
    ]  # fmt: skip
    *_, by_devices = result_frames(rows)
    assert by_devices["devices"].tolist() == ["cuda:0", "cuda:0+cuda:1"]
    plot = gr.ScatterPlot(x="devices", y="end_to_end_fps", color="config")
    assert plot.postprocess(by_devices).datatypes["devices"] == "nominal"


def test_a_profile_on_openvino_lists_its_layers_by_type(tmp_path: Path) -> None:
    """OpenVINO's performance counters: an operator table and a trace of every layer run
    (the profile fell to torch.profiler, which saw nothing: an empty table and trace)."""
    from ui.benchmarking import profile_config

    clip = synthetic.make_video(tmp_path / "clip.mp4", frames=8, width=160, height=128)
    config = profile_config("yolox_nano", "", "openvino", 2, "cpu")
    result = profiling.profile(config, clip, tmp_path / "profile", batches=2)
    assert result["profiler"] == "openvino" and result["runtime"] == "openvino"
    ops = {op["operator"]: op for op in result["top_ops"]}
    assert "Convolution" in ops
    assert all(op["self_ms"] > 0 and op["calls"] > 0 for op in ops.values())
    assert sum(op["share"] for op in ops.values()) <= 1.0 + 1e-9
    events = json.loads(Path(result["trace"]).read_text())
    layers = [e for e in events if e["cat"] == "Node"]
    calls = [e for e in events if e["cat"] == "Session"]
    # Two batches of two frames, one inference each.
    assert len(calls) == 4 and {e["args"]["op_type"] for e in layers} >= set(ops)
    # Each operator's self_ms is rounded to the microsecond: half of one each, at most.
    rounding = 0.0005 * len(ops)
    self_ms = sum(op["self_ms"] for op in ops.values())
    assert sum(e["dur"] for e in layers) / 1000 >= self_ms - rounding


# --------------------------------------------------------------------------- over the API


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(output_dir=tmp_path_factory.mktemp("bench-jobs"), preview_interval_s=0.05)


def test_rest_routes_answer_well_formed_figures(http: httpx.Client) -> None:
    assert http.get("/benchmark/hardware").json()["gpus"] == NO_GPU
    monitor = http.get("/gpu-monitor").json()
    assert monitor["interval_s"] == 1.0 and isinstance(monitor["samples"], list)
    answer = http.post(
        "/benchmark", data={"detectors": "yolox_nano", "batch_sizes": "1, 2", "max_frames": "12"}
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()
    assert [r["batch_size"] for r in results["rows"]] == [1, 2]
    check_rows(results["rows"])
    assert results["analysis"]["bottleneck"]["stage"] in STAGES
    status = http.get(f"/detect/status/{results['job_id']}").json()
    assert status["task"] == "benchmark" and status["status"] == "completed"
    csv = http.post(
        "/benchmark?format=csv", data={"detectors": "yolox_nano", "max_frames": "8"}
    ).text
    assert csv.startswith("detector,size,runtime") and len(csv.splitlines()) == 2
    analysis = http.post(
        "/benchmark/analysis", json={"rows": results["rows"], "video_seconds": 10}
    ).json()
    assert analysis["expected_seconds"] > 0
    profile = http.post("/benchmark/profile", data={"detector": "yolox_nano", "batch_size": "2"})
    assert profile.status_code == 200, profile.text
    top = profile.json()
    assert top["profiler"] == "onnxruntime" and top["top_ops"][0]["self_ms"] > 0
    assert sum(op["share"] for op in top["top_ops"]) <= 1.0 + 1e-9
    trace = http.get(top["trace_url"])
    assert trace.status_code == 200 and isinstance(json.loads(trace.text), list)


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"detectors": "yolo12"}, 422, "Unknown detector 'yolo12'"),
        ({"detectors": "yolox_nano", "batch_sizes": "0"}, 422, "at least 1, not 0"),
        ({"detectors": "yolox_nano", "devices": "cuda:7"}, 422, "cuda:7 is not available"),
        ({"detectors": ""}, 422, "at least one detector"),
        ({"detectors": "detr_resnet50"}, 422, "Could not load the weights of DETR ResNet-50 "
         "(no network connection, and not cached on this machine). Choose YOLOX-Nano"),
    ],
)  # fmt: skip
def test_bad_benchmark_requests(
    http: httpx.Client, settings: Settings, form: dict, status: int, message: str
) -> None:
    before = files_under(settings.output_dir)
    answer = http.post("/benchmark", data=form)
    assert answer.status_code == status and message in answer.json()["error"], answer.text
    assert files_under(settings.output_dir) == before


def test_a_non_video_is_refused_and_leaves_nothing(http: httpx.Client, settings: Settings):
    before = files_under(settings.output_dir)
    answer = http.post(
        "/benchmark",
        files={"video": ("notes.mp4", b"not a video", "video/mp4")},
        data={"detectors": "yolox_nano"},
    )
    assert answer.status_code == 415
    assert "notes.mp4 is not a readable video" in answer.json()["error"]
    assert files_under(settings.output_dir) == before


def test_a_benchmark_queued_behind_a_run_waits_for_it(
    http: httpx.Client, shared_assets: Path
) -> None:
    job = start_job(http, shared_assets / "video" / "car_detection.mp4")
    assert job["status"] == "running"
    answers: dict[str, dict] = {}

    def benchmark() -> None:
        answers["bench"] = http.post(
            "/benchmark", data={"detectors": "yolox_nano", "max_frames": "8"}
        ).json()

    thread = threading.Thread(target=benchmark)
    thread.start()
    thread.join(timeout=300)
    run = http.get(job["urls"]["status"]).json()
    bench = http.get(f"/detect/status/{answers['bench']['job_id']}").json()
    assert run["status"] == "completed"
    assert bench["started"] >= run["finished"], "the benchmark measured beside a run"


#: A grid long enough to be running when its client leaves (eight configurations).
LONG_GRID = {"detectors": "yolox_nano", "batch_sizes": "1, 2, 3, 4, 5, 6, 7, 8", "max_frames": "24"}


def running_benchmark(settings: Settings, before: set[str]):
    """The benchmark job started after ``before`` (job ids), once it runs."""
    from ui.jobs import job_store

    jobs = job_store(settings)
    for _ in range(600):
        new = [j for j in jobs.all() if j.task == "benchmark" and j.id not in before]
        if new and new[0].status is JobStatus.RUNNING:
            return new[0]
        time.sleep(0.05)
    raise AssertionError("the benchmark never started")


def job_ids(settings: Settings) -> set[str]:
    from ui.jobs import job_store

    return {j.id for j in job_store(settings).all()}


def test_a_rest_benchmark_whose_client_disconnects_is_cancelled(
    server: str, settings: Settings
) -> None:
    running = (JobStatus.RUNNING,)
    job = left_while(urljoin(server, "/benchmark"), settings, running, "benchmark", data=LONG_GRID)
    # Gone: the grid stops within about a frame, keeping nothing.
    assert job.wait_until(lambda j: j.status.finished, timeout=120)
    assert job.status is JobStatus.STOPPED, (job.status, job.error)
    assert not job.folder.exists()


def test_a_rest_profile_whose_client_leaves_while_queued_never_runs(
    server: str, http: httpx.Client, settings: Settings, shared_assets: Path
) -> None:
    run = start_job(http, shared_assets / "video" / "car_detection.mp4")
    # It waits behind the run; its client leaves then.
    queued = (JobStatus.QUEUED,)
    url, form = urljoin(server, "/benchmark/profile"), {"detector": "yolox_nano"}
    profile = left_while(url, settings, queued, "profile", data=form)
    # Gone while it waited: out of the queue, never run, its folder removed.
    assert profile.wait_until(lambda j: j.status.finished, timeout=60)
    http.post(run["urls"]["stop"])
    assert profile.started is None, "the profile ran for a client that had left"
    assert "cancelled while it waited" in (profile.error or "")
    assert not profile.folder.exists()


def test_a_page_benchmark_whose_client_disconnects_is_cancelled(
    server: str, settings: Settings
) -> None:
    """As the page does: join Gradio's queue, read the event stream, then leave."""
    with httpx.Client(base_url=server, timeout=30) as http:
        config = http.get("/config").json()
        fn_index = next(
            i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "benchmark"
        )
        data = [None, ["yolox_nano"], "", [], LONG_GRID["batch_sizes"], "", 24]
        before = job_ids(settings)
        joined = http.post(
            "/gradio_api/queue/join",
            json={"data": data, "fn_index": fn_index, "session_hash": "leaver", "trigger_id": None},
        )
        assert joined.status_code == 200, joined.text
        with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": "leaver"}):
            job = running_benchmark(settings, before)
    assert job.wait_until(lambda j: j.status.finished, timeout=120)
    assert job.status is JobStatus.STOPPED, (job.status, job.error)


def test_named_endpoints(
    server: str, tmp_path: Path, yolox_runtime_rows: set[tuple[str, str, int]]
) -> None:
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(server, verbose=False, download_files=str(tmp_path))
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/benchmark", "/benchmark_profile", "/benchmark_runtimes", "/benchmark_analysis",
            "/hardware", "/gpu_monitor"} <= names  # fmt: skip
    assert client.predict(api_name="/hardware")["gpus"] == NO_GPU
    assert "samples" in client.predict(api_name="/gpu_monitor")
    results, *_, files, text = client.predict(
        handle_file(str(CLIP)), ["yolox_nano"], "", [], "1", "", 8, api_name="/benchmark"
    )
    check_rows(results["rows"])
    assert {Path(f).suffix for f in files} == {".json", ".csv"} and "Fastest" in text
    analysis, words = client.predict(results, 20, 25, api_name="/benchmark_analysis")
    assert analysis["expected_seconds"] > 0 and words == analysis["text"]
    top, trace = client.predict(None, "yolox_nano", "", "", 1, "", api_name="/benchmark_profile")
    assert top["data"] and Path(trace).is_file()
    table, text, figures = client.predict(
        None, "yolox_nano", "", 4, api_name="/benchmark_runtimes"
    )
    assert len(table["data"]) == len(yolox_runtime_rows)
    assert "auto" in text and figures["frames"] == 4
    # Text for a number is refused by the box itself, by its name (Gradio's own
    # rounding failed on it with a bare "Error"; ui.components guards every box).
    with pytest.raises(AppError, match=r"Frames of the clip .* must be a number, not 'abc'"):
        client.predict(None, ["yolox_nano"], "", [], "1", "", "abc", api_name="/benchmark")


@pytest.mark.browser
def test_the_tab_draws_its_plots_in_chromium(server: str) -> None:

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(120_000)
        page.goto(server)
        page.get_by_role("tab", name="Benchmark").click()
        page.locator("#bench-hardware").get_by_text("no NVIDIA GPU").wait_for()
        # The monitor's line plot, drawn by the timer (not its empty placeholder).
        page.locator("#bench-monitor-machine .vega-embed").wait_for()
        page.locator("#bench-max-frames input").fill("8")
        page.locator("#bench-run").click()
        page.locator("#bench-analysis-text").get_by_text("Fastest end to end").wait_for()
        for plot_id in ("bench-stages", "bench-batch", "bench-scaling"):
            page.locator(f"#{plot_id} .vega-embed").wait_for()
        page.screenshot(path="/tmp/benchmark-tab.png", full_page=True)


@pytest.mark.browser
def test_the_monitor_chart_takes_a_phone_s_width(server: str) -> None:
    """At 390 px its row wraps: the chart is as wide as the hardware report above it
    (at half the row, 160 px, its title and legend were cut and its times ran together)."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.set_default_timeout(60_000)
        page.goto(server)
        page.locator("#run-button").wait_for()
        tab = page.get_by_role("tab", name="Benchmark")
        if not tab.is_visible():  # on a narrow page the last tabs are in a menu
            page.get_by_role("button", name="More tabs").click()
            tab = page.locator(".overflow-dropdown button").filter(has_text="Benchmark")
        tab.click()
        page.locator("#bench-monitor-machine .vega-embed").wait_for()
        chart = page.locator("#bench-monitor-machine").bounding_box()
        report = page.locator("#bench-hardware").bounding_box()
        assert chart is not None and report is not None
        assert chart["width"] >= report["width"] - 1, (chart, report)


class FakeNvml:
    """NVML's functions as nvidia-ml-py names them, for one GPU (the real one needs a driver)."""

    class NVMLError(Exception):
        pass

    NVML_TEMPERATURE_GPU = 0

    def nvmlDeviceGetCount(self):  # noqa: N802 - NVML's names
        return 1

    def nvmlDeviceGetHandleByIndex(self, index):  # noqa: N802
        return f"gpu{index}"

    def nvmlDeviceGetName(self, handle):  # noqa: N802
        return b"NVIDIA H200"

    def nvmlDeviceGetCudaComputeCapability(self, handle):  # noqa: N802
        return 9, 0

    def nvmlDeviceGetMemoryInfo(self, handle):  # noqa: N802
        return type("Memory", (), {"total": 141 * 2**30, "used": 3 * 2**30})()

    def nvmlSystemGetDriverVersion(self):  # noqa: N802
        return "580.95"

    def nvmlDeviceGetUtilizationRates(self, handle):  # noqa: N802
        return type("Rates", (), {"gpu": 87})()

    def nvmlDeviceGetPowerUsage(self, handle):  # noqa: N802
        raise self.NVMLError("not supported on this board")

    def nvmlDeviceGetTemperature(self, handle, sensor):  # noqa: N802
        return 61


def test_gpus_as_nvml_reports_them(monkeypatch) -> None:
    from pipeline.evaluation import hardware, monitor

    fake = FakeNvml()
    monkeypatch.setattr(hardware, "nvml", lambda: fake)
    monkeypatch.setattr(monitor, "nvml", lambda: fake)
    report = hardware.hardware_report()
    assert report["gpus"] == [
        {"index": 0, "name": "NVIDIA H200", "memory_total_mib": 144384, "compute_capability": "9.0"}
    ]
    assert report["nvidia_driver"] == "580.95"
    [gpu] = monitor.sample()["gpus"]
    assert gpu == {
        "index": 0,
        "utilization_percent": 87,
        "memory_used_mib": 3072,
        "memory_total_mib": 144384,
        "power_w": None,  # a board that does not report it
        "temperature_c": 61,
    }
