"""The Benchmark tab: the hardware, a live monitor, benchmarks, profiles and their analysis.

Named endpoints: ``/hardware``, ``/gpu_monitor``, ``/benchmark``,
``/benchmark_profile`` and ``/benchmark_analysis``. A benchmark or a profile
waits in the app's queue and holds every device while it measures.

Example:
    with gr.Blocks() as demo, gr.Tabs():
        build_benchmark_tab(BenchmarkHandlers())
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

import models
from models.runtimes import AUTO, MEASURE_ENV_VAR, known_runtimes, measuring, runtimes_for
from pipeline.evaluation import analysis
from pipeline.evaluation.benchmark_grid import iter_stage_bars, label
from pipeline.evaluation.hardware import hardware_report
from pipeline.jobs import JobStore, Requester
from pipeline.request import number
from ui.background import while_connected
from ui.benchmarking import (
    COMPARISON_FRAMES,
    MAX_NAME_CHARS,
    comparison_config,
    parse_plan,
    profile_config,
    run_benchmark,
    run_profile,
    run_runtime_comparison,
)
from ui.clients import client_key
from ui.errors import as_gr_errors, user_error
from ui.jobs import job_store
from ui.layout import video_input
from ui.mcp_tools import as_tool
from ui.model_choices import UNAVAILABLE_MARK
from ui.monitoring import app_monitor
from ui.settings import Settings

INTRO = """\
What this machine does with the app's models. A **benchmark** runs every combination
of the settings under Run on the clip (an example clip when none is uploaded) and
measures, in one go, end-to-end and model-only speed, the time per stage, the time to
the first preview and peak memory. Under the results: **Hardware** (CPU, memory, GPUs,
libraries), the **monitor** (the last minutes of CPU, memory and GPU use) and a
**profile** (the operators a model spends its time in). Benchmark and profile wait for
the runs ahead of them and then use every device alone.
"""
NO_GPU = (
    "**No NVIDIA GPU on this machine**: there is no GPU use to chart. Runs and benchmarks "
    "use the CPU."
)
#: The profile's runtime ``auto``, as the dropdown offers it: what a run of the detector
#: uses (on a CPU the runtime measured fastest at its first load, docs/cpu-runtimes.md).
AUTO_CHOICE = "auto (what a run uses here)"
#: What the benchmark's event fills: results, three plots, files, analysis.
BENCHMARK_OUTPUTS = 6
MONITOR_SERIES = ("cpu_percent", "memory_percent")
GPU_SERIES = ("utilization_percent", "memory_used_mib", "power_w", "temperature_c")
#: Narrowest a chart may be drawn. Half a phone's width (the row's other half: the GPU
#: chart or its note) cut a chart's title and legend and ran its time labels together;
#: wider than that, a row of charts wraps on a phone and each takes the full width.
PLOT_MIN_WIDTH = 320


def detector_marks(names: Sequence[str]) -> list[tuple[str, str]]:
    """``(name, mark)`` per detector: the mark says when its weights cannot be had here."""
    return [
        (name, "" if models.weights_status("detector", name).available else UNAVAILABLE_MARK)
        for name in names
    ]


def gpus_in(report: dict[str, Any]) -> bool:
    """Whether a hardware report lists a GPU (else its ``gpus`` says there is none)."""
    return isinstance(report.get("gpus"), list) and bool(report["gpus"])


def monitor_frames(samples: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The monitor's samples as plot data: the machine's, and every GPU's (long format).

    Returns:
        ``(machine, gpus)``: rows of ``time``, ``series``, ``value``.
    """
    machine, gpus = [], []
    for reading in samples:
        when = datetime.datetime.fromtimestamp(reading["time"])
        for series in MONITOR_SERIES:
            machine.append({"time": when, "series": series, "value": reading[series]})
        for gpu in reading["gpus"]:
            for series in GPU_SERIES:
                if gpu[series] is not None:
                    name = f"gpu{gpu['index']} {series}"
                    gpus.append({"time": when, "series": name, "value": gpu[series]})
    columns = ["time", "series", "value"]
    return pd.DataFrame(machine, columns=columns), pd.DataFrame(gpus, columns=columns)


def result_frames(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, ...]:
    """A benchmark's rows as the tab's plot data.

    Returns:
        ``(stages, batches, devices)``: per configuration and stage its ms per
        frame (stacked bars); end-to-end fps against the batch size; and
        against the device set (``cpu``, ``cuda:0+cuda:1``).
    """
    stages = pd.DataFrame(list(iter_stage_bars(rows)), columns=["config", "stage", "ms_per_frame"])
    batches = pd.DataFrame(
        [
            {
                "batch_size": row["batch_size"],
                "end_to_end_fps": row["end_to_end_fps"],
                "config": label(row).rsplit(" b", 1)[0] + " " + "+".join(row["devices"]),
            }
            for row in rows
        ],
        columns=["batch_size", "end_to_end_fps", "config"],
    )
    devices = pd.DataFrame(
        [
            {
                # Text, which the plot draws as one tick per device set: a count (a
                # number) was drawn on a continuous axis, one set as ticks "1.000000".
                "devices": "+".join(row["devices"]),
                "end_to_end_fps": row["end_to_end_fps"],
                "config": label(row).rsplit(" ", 1)[0],
            }
            for row in rows
        ],
        columns=["devices", "end_to_end_fps", "config"],
    )
    return stages, batches, devices


#: The runtime comparison's table: one row per runtime, precision and frames at once.
RUNTIME_COLUMNS = {
    "runtime": "runtime",
    "precision": "precision",
    "frames_at_once": "frames at once",
    "model_only_fps": "model-only fps",
    "ratio_model_only_over_onnxruntime": "x ONNX Runtime fp32",
    "end_to_end_fps": "end-to-end fps",
    "ratio_end_to_end_over_onnxruntime": "x ONNX Runtime fp32 (end to end)",
    "ratio_end_to_end_over_shared_cores_bound": "end to end / shared-cores bound",
}


def runtime_frame(results: dict[str, Any]) -> pd.DataFrame:
    """A runtime comparison's rows as the tab's table (figures rounded for reading)."""
    rows = [{title: row.get(key) for key, title in RUNTIME_COLUMNS.items()}
            for row in results["runtimes"]]  # fmt: skip
    return pd.DataFrame(rows, columns=list(RUNTIME_COLUMNS.values())).round(2)


def auto_sentence(results: dict[str, Any]) -> str:
    """What ``auto`` runs and how it chose; the comparison's fastest where that differs.

    Example:
        >>> text = auto_sentence({"auto_picks": "onnxruntime", "fastest_end_to_end": "openvino"})
        >>> text.startswith("`auto` picks **onnxruntime** here"), "**openvino**" in text
        (True, True)
    """
    picks, fastest = results["auto_picks"], results.get("fastest_end_to_end")
    how = (
        "chosen once, at the detector's first load in this app: the fastest of a few "
        "model-only calls on the bundled clip, kept until a restart"
        if measuring()
        else f"unmeasured: {MEASURE_ENV_VAR} is off"
    )
    text = f"`auto` picks **{picks}** here, as every run of this detector does ({how})."
    if fastest is not None and fastest != picks:
        text += (
            f" Fastest end to end in this comparison: **{fastest}** "
            "(choose it as the Runtime to use it)."
        )
    return text


def detectors_with_runtimes(names: Sequence[str]) -> list[str]:
    """The detectors that run on more than one runtime: the ones a comparison is for."""
    return [name for name in names if len(set(runtimes_for("detector", name)) - {AUTO}) > 1]


class BenchmarkHandlers:
    """The Benchmark tab's handlers; each is also a named endpoint.

    Args:
        settings: Deployment settings; read from the environment when None.
        jobs: The job store benchmarks queue in (default: the app's).
    """

    def __init__(self, settings: Settings | None = None, jobs: JobStore | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.jobs = jobs or job_store(self.settings)

    def _client(self, request: gr.Request | None) -> str | None:
        """Who the page's (or ``gradio_client``'s) request comes from (None: a direct call)."""
        headers = getattr(request, "headers", None)
        peer = getattr(getattr(request, "client", None), "host", None)
        if headers is None and peer is None:
            return None
        return client_key(headers or {}, peer, self.settings)

    def hardware(self) -> dict[str, Any]:
        """The machine: CPU, memory, each NVIDIA GPU (or "no NVIDIA GPU"), libraries, defaults.

        Returns:
            The hardware report (see ``pipeline.evaluation.hardware.hardware_report``).
        """
        with as_gr_errors():
            return hardware_report()

    def gpu_monitor(self) -> dict[str, Any]:
        """The monitor's recent samples, about one a second.

        Each holds per GPU its utilisation, memory, power and temperature, and
        the machine's CPU and memory use.

        Returns:
            ``{"interval_s": ..., "samples": [...]}``, oldest first.
        """
        monitor = app_monitor()
        return {"interval_s": monitor.interval_s, "samples": monitor.samples()}

    def monitor_plots(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The monitor's plots' data (the tab's timer asks for it every second)."""
        return monitor_frames(app_monitor().samples())

    def machine_plot(self) -> pd.DataFrame:
        """The machine's plot data alone, on a machine without a GPU to chart."""
        return monitor_frames(app_monitor().samples())[0]

    def benchmark(
        self,
        video: str | None = None,
        detectors: list[str] | None = None,
        sizes: str | None = None,
        runtimes: list[str] | None = None,
        batch_sizes: str | None = None,
        devices: str | None = None,
        max_frames: str | float | None = None,
        request: gr.Request | None = None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - gradio's injection idiom
    ) -> Iterator[tuple[Any, ...]]:
        """Benchmark every combination of the settings on a video.

        A client that goes away (the page closed) cancels it: out of the queue,
        or within about a frame of the configuration it measures.

        Args:
            video: The clip (none: the example clip ``one_by_one_person.mp4``).
            detectors: Detector names, e.g. ``["yolo11", "yolox_nano"]``.
            sizes: Comma-separated sizes, e.g. ``"n, x"`` (empty: each detector's default).
            runtimes: Runtimes such as ``torch``, ``onnxruntime``, ``openvino``,
                ``onnxruntime-int8`` (empty: each detector's own; each runs those it offers).
            batch_sizes: Comma-separated batch sizes, e.g. ``"1, 8, 32"``.
            devices: Device sets separated by ``;``, e.g. ``"cuda:0; cuda:0,cuda:1"``
                (empty: every GPU, else the CPU).
            max_frames: Frames of the clip used (empty: all).
            request: Injected by Gradio: who asks, for their share of the queue.
            progress: Injected by Gradio.

        Yields:
            No change while it runs (a beat that lets a disconnect be noticed),
            then ``(results, stage_bars, fps_by_batch, fps_by_devices, files,
            analysis_text)``: the results (JSON: ``rows``, ``scaling``,
            ``analysis``), the plots' data, the JSON and CSV files, and the
            analysis in words.

        Raises:
            gr.Error: An unknown model, sizes or runtimes no detector asked for has,
                weights not available here, a batch size or frame count that is no
                whole number of at least 1, a device that does not exist, a video
                that is not one, or a full queue.
        """
        with as_gr_errors():
            plan = parse_plan(
                detectors,
                sizes,
                runtimes,
                batch_sizes,
                devices,
                max_frames=number("max_frames", max_frames, int),
                max_rows=self.settings.max_benchmark_rows,
            )
            requester = Requester("app", self._client(request))
            total = len(plan.configs())
            progress(0, desc=f"Waiting for the devices ({total} configurations)...")
            results = yield from while_connected(
                lambda: run_benchmark(self.jobs, video, plan, requester),
                requester.cancel,
                beat=(gr.skip(),) * BENCHMARK_OUTPUTS,
            )
        stages, batches, device_counts = result_frames(results["rows"])
        files = [results["json"], results["csv"]]
        yield results, stages, batches, device_counts, files, results["analysis"]["text"]

    def benchmark_profile(
        self,
        video: str | None = None,
        detector: str | None = None,
        size: str | None = None,
        runtime: str | None = None,
        batch_size: str | float | None = None,
        device: str | None = None,
        request: gr.Request | None = None,
    ) -> tuple[pd.DataFrame, str]:
        """Profile a few batches of one detector: its operators by self time, and a trace.

        Args:
            video: The clip (none: the example clip).
            detector: The detector (empty: the app's default).
            size: Its size (empty: its default).
            runtime: Its runtime (empty or ``auto``: what a run uses here).
            batch_size: Frames per call (empty: its default).
            device: ``cpu``, ``cuda`` or ``cuda:N`` (empty: the first GPU, else the CPU).
            request: Injected by Gradio: who asks, for their share of the queue.

        Returns:
            ``(top_ops, trace)``: the operators (``operator``, ``self_ms``,
            ``calls``, ``share``) and the Chrome trace file (``chrome://tracing``).

        Raises:
            gr.Error: An unknown model, size or runtime, a bad batch size or device.
        """
        with as_gr_errors():
            config = profile_config(detector, size, runtime, batch_size, device)
            result = run_profile(self.jobs, video, config, Requester("app", self._client(request)))
        top = pd.DataFrame(result["top_ops"], columns=["operator", "self_ms", "calls", "share"])
        return top.round(4), result["trace"]

    def benchmark_runtimes(
        self,
        video: str | None = None,
        detector: str | None = None,
        size: str | None = None,
        max_frames: str | float | None = None,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Every CPU runtime and precision of one detector, side by side in one run.

        Model-only fps (the runtimes taking turns over the same decoded frames),
        end-to-end fps of the whole pipeline, their ratios to ONNX Runtime
        float32, and what ``auto`` picks on this machine. It holds every device
        while it measures; a client that goes away cancels it while it waits.

        Args:
            video: The clip (none: the example clip ``one_by_one_person.mp4``).
            detector: A detector with several runtimes (empty: the app's default,
                :func:`models.default_detector`).
            size: Its size (empty: its default).
            max_frames: Frames of the clip used (empty: 60).
            request: Injected by Gradio: who asks, for their share of the queue.

        Yields:
            No change while it runs, then ``(table, text, results)``: one row per
            runtime and precision, the decode and encode rates with ``auto``'s
            pick in words, and the figures (JSON).

        Raises:
            gr.Error: An unknown detector or size, a bad frame count, a video that
                is not one, or a full queue.
        """
        with as_gr_errors():
            config = comparison_config(detector, size, max_frames)
            requester = Requester("app", self._client(request))
            results = yield from while_connected(
                lambda: run_runtime_comparison(self.jobs, video, config, requester),
                requester.cancel,
                beat=(gr.skip(),) * 3,
            )
        text = (
            f"Decode {results['decode_fps']:.1f} fps, encode {results['encode_fps']:.1f} fps "
            f"on {results['frames']} frames. {auto_sentence(results)}"
        )
        yield runtime_frame(results), text, results

    def benchmark_analysis(
        self,
        results: dict[str, Any] | None,
        video_seconds: str | float | None,
        video_fps: str | float | None,
    ) -> tuple[dict[str, Any], str]:
        """What a benchmark's results mean for a video of a given length.

        Args:
            results: What ``/benchmark`` returned (its ``rows``).
            video_seconds: The video's length in seconds (empty: 60).
            video_fps: Its frame rate (empty: 30).

        Returns:
            ``(analysis, text)``: the bottleneck stage, the best batch size per
            device set and the expected time, in figures and in words.

        Raises:
            gr.Error: No results, or a length or rate that is no positive number.
        """
        rows = (results or {}).get("rows") if isinstance(results, dict) else None
        if not rows:
            raise user_error("Run a benchmark first: there are no results to analyse.")
        with as_gr_errors():
            seconds = number("The video's length", video_seconds)
            fps = number("The frame rate", video_fps)
            found = analysis.analyze_sent(
                rows if isinstance(rows, list) else [rows],
                most=self.settings.max_benchmark_rows,
                name_chars=MAX_NAME_CHARS,
                video_seconds=analysis.VIDEO_SECONDS if seconds is None else seconds,
                video_fps=analysis.VIDEO_FPS if fps is None else fps,
            )
        return found, found["text"]


def _fps_plot(plot: type[Any], x: str, by: str, elem_id: str) -> Any:
    """A plot of each configuration's end-to-end fps against ``x`` (named ``by`` in its title)."""
    return plot(
        x=x, y="end_to_end_fps", color="config", title=f"End-to-end fps by {by}",
        label=f"End-to-end fps by {by}", height=260,
        min_width=PLOT_MIN_WIDTH, elem_id=elem_id,
    )  # fmt: skip


def _monitor_plot(title: str, elem_id: str, **extra: Any) -> gr.LinePlot:
    """A live monitor's plot: each series' value over the time of day."""
    return gr.LinePlot(
        x="time", y="value", color="series", title=title, x_axis_format="%H:%M:%S",
        height=240, min_width=PLOT_MIN_WIDTH, elem_id=elem_id, **extra,
    )  # fmt: skip


def build_benchmark_tab(handlers: BenchmarkHandlers, examples: Sequence[Path] = ()) -> None:
    """Add the Benchmark tab to the current ``gr.Tabs`` and wire its events and endpoints.

    Its arguments are every tab builder's (:mod:`ui.tabs`).
    """
    app_monitor()  # sampling from now on, so the plots have a past when first looked at
    detectors = models.available("detector")
    # The Detection tab's default, read where it is decided (YOLO11 where its weights
    # can be had, else the bundled YOLOX-Nano): each measure starts from it.
    default = models.default_detector()
    with gr.Tab("Benchmark", id="benchmark"):
        gr.Markdown(INTRO)
        timer = gr.Timer(1.0)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                video = video_input("bench-", examples)
                # Where the eye is after choosing a video, in the first screen as in the
                # other tabs; the settings below it have defaults that run as they are.
                run = gr.Button("Run benchmark", variant="primary", elem_id="bench-run")
                chosen = gr.CheckboxGroup(
                    # Named as the registry does (the API takes these names), each
                    # marked when its weights cannot be had here.
                    choices=[(f"{name}{mark}", name) for name, mark in detector_marks(detectors)],
                    value=[default] if default in detectors else [],
                    label="Detectors",
                    elem_id="bench-detectors",
                )
                sizes = gr.Textbox(
                    label="Sizes (comma-separated; empty: each one's default)",
                    placeholder="n, x",
                    elem_id="bench-sizes",
                )
                runtimes = gr.CheckboxGroup(
                    choices=[r for r in known_runtimes() if r != AUTO],
                    label="Runtimes (none: each detector's own; each runs those it offers)",
                    elem_id="bench-runtimes",
                )
                batch_sizes = gr.Textbox(
                    value="1, 8", label="Batch sizes (comma-separated)", elem_id="bench-batches"
                )
                devices = gr.Textbox(
                    label="Device sets (';' between sets, ',' within; empty: every GPU, else CPU)",
                    placeholder="cuda:0; cuda:0,cuda:1",
                    elem_id="bench-devices",
                )
                # No precision on this tab's numbers: Gradio would round a value before the
                # handler sees it, and fail on text (an API client's) with a bare "Error";
                # the handler says what is wrong with it.
                max_frames = gr.Number(
                    value=60,
                    label="Frames of the clip to use (empty: all)",
                    elem_id="bench-max-frames",
                )
            with gr.Column(scale=2):
                analysis_text = gr.Markdown(label="Analysis (text)", elem_id="bench-analysis-text")
                stage_plot = gr.BarPlot(
                    x="config",
                    y="ms_per_frame",
                    color="stage",
                    title="Time per frame by stage (ms)",
                    label="Time per frame by stage",
                    x_label_angle=-20,
                    height=320,
                    elem_id="bench-stages",
                )
                with gr.Row():
                    batch_plot = _fps_plot(gr.LinePlot, "batch_size", "batch size", "bench-batch")
                    # Points, not a line: one device set is one point, which a line
                    # would not draw.
                    device_plot = _fps_plot(gr.ScatterPlot, "devices", "devices", "bench-scaling")
                files = gr.File(
                    label="Results (JSON, CSV)",
                    file_count="multiple",
                    interactive=False,
                    elem_id="bench-files",
                )
                with gr.Accordion("Results", open=False):
                    results = gr.JSON(label="Results", elem_id="bench-results")
        with gr.Accordion("Hardware", open=True):
            report = handlers.hardware()
            hardware = gr.JSON(report, label="Hardware", elem_id="bench-hardware")
            refresh = gr.Button("Refresh", elem_id="bench-hardware-button", size="sm")
        with gr.Accordion("Live monitor", open=True), gr.Row():
            machine_plot = _monitor_plot(
                "CPU and memory (%)", "bench-monitor-machine", y_lim=[0, 100]
            )
            # Without a GPU, no empty chart: a time format on an axis with no data fails
            # in the page (Vega-Lite's "invalid format"), at every tick of the timer.
            gpu_plot: gr.LinePlot | None = None
            if gpus_in(report):
                gpu_plot = _monitor_plot("GPUs", "bench-monitor-gpus")
            else:
                gr.Markdown(NO_GPU, elem_id="bench-monitor-gpus")
        with gr.Accordion("Profile one detector", open=False), gr.Row(equal_height=False):
            with gr.Column(scale=1):
                profile_detector = gr.Dropdown(
                    detectors,
                    value=default if default in detectors else None,
                    label="Detector",
                    elem_id="bench-profile-detector",
                )
                profile_size = gr.Textbox(label="Size (empty: its default)")
                profile_runtime = gr.Dropdown(
                    [(AUTO_CHOICE, AUTO), *[r for r in known_runtimes() if r != AUTO]],
                    value=AUTO,
                    label="Runtime",
                    # An API client may send any text (or none, which is auto): the
                    # handler names the runtimes the detector has.
                    allow_custom_value=True,
                    elem_id="bench-profile-runtime",
                )
                profile_batch = gr.Number(value=1, label="Batch size")
                profile_device = gr.Textbox(label="Device (empty: the first GPU, else the CPU)")
                profile = gr.Button("Profile", elem_id="bench-profile-run")
            with gr.Column(scale=2):
                top_ops = gr.Dataframe(label="Top operators by self time", elem_id="bench-top-ops")
                trace = gr.File(label="Chrome trace", interactive=False, elem_id="bench-trace")
        with gr.Accordion("Compare CPU runtimes", open=False), gr.Row(equal_height=False):
            with gr.Column(scale=1):
                with_runtimes = detectors_with_runtimes(detectors)
                compare_detector = gr.Dropdown(
                    with_runtimes,
                    value=default if default in with_runtimes else next(iter(with_runtimes), None),
                    label="Detector (those with several runtimes)",
                    elem_id="bench-runtimes-detector",
                )
                compare_size = gr.Textbox(label="Size (empty: its default)")
                compare_frames = gr.Number(
                    value=COMPARISON_FRAMES, label="Frames of the clip to use",
                    elem_id="bench-runtimes-frames",
                )  # fmt: skip
                compare = gr.Button("Compare runtimes", elem_id="bench-runtimes-run")
            with gr.Column(scale=2):
                runtime_table = gr.Dataframe(
                    label="Each runtime and precision, measured in one run",
                    elem_id="bench-runtimes-table",
                )
                runtime_text = gr.Markdown(label="Comparison (text)", elem_id="bench-runtimes-text")
                runtime_json = gr.JSON(label="Figures", visible=False)
        with gr.Accordion("Analysis for a video", open=False), gr.Row():
            video_seconds = gr.Number(value=analysis.VIDEO_SECONDS, label="Video length (s)")
            video_fps = gr.Number(value=analysis.VIDEO_FPS, label="Frame rate")
            analyse = gr.Button("Analyse the results", elem_id="bench-analyse")
            analysis_json = gr.JSON(label="Analysis", elem_id="bench-analysis")
        # The monitor's samples as JSON: an endpoint without a button.
        gr.api(as_tool(handlers.gpu_monitor, "gpu_monitor"), api_name="gpu_monitor", queue=False)

    refresh.click(as_tool(handlers.hardware, "hardware"), outputs=hardware, api_name="hardware")
    timer.tick(
        handlers.monitor_plots if gpu_plot is not None else handlers.machine_plot,
        outputs=[machine_plot, gpu_plot] if gpu_plot is not None else machine_plot,
        queue=False,
        api_visibility="private",
    )
    run.click(
        as_tool(handlers.benchmark, "benchmark"),
        inputs=[video, chosen, sizes, runtimes, batch_sizes, devices, max_frames],
        outputs=[results, stage_plot, batch_plot, device_plot, files, analysis_text],
        api_name="benchmark",
        concurrency_limit=1,
    )
    profile.click(
        as_tool(handlers.benchmark_profile, "benchmark_profile"),
        inputs=[
            video,
            profile_detector,
            profile_size,
            profile_runtime,
            profile_batch,
            profile_device,
        ],
        outputs=[top_ops, trace],
        api_name="benchmark_profile",
        concurrency_limit=1,
    )
    compare.click(
        as_tool(handlers.benchmark_runtimes, "benchmark_runtimes"),
        inputs=[video, compare_detector, compare_size, compare_frames],
        outputs=[runtime_table, runtime_text, runtime_json],
        api_name="benchmark_runtimes",
        concurrency_limit=1,
    )
    analyse.click(
        as_tool(handlers.benchmark_analysis, "benchmark_analysis"),
        inputs=[results, video_seconds, video_fps],
        outputs=[analysis_json, analysis_text],
        api_name="benchmark_analysis",
    )
