"""The original service's benchmark routes: hardware, monitor, benchmark, profile, analysis.

| route | answers |
|---|---|
| ``GET /benchmark/hardware`` | the hardware report |
| ``GET /gpu-monitor`` | the monitor's recent samples (about one a second) |
| ``POST /benchmark`` | a benchmark's results (JSON; ``?format=csv`` for CSV) |
| ``POST /benchmark/profile`` | a profile's top operators, and where its trace is |
| ``GET /benchmark/trace/{job_id}`` | a profile's Chrome trace |
| ``POST /benchmark/analysis`` | what results mean for a video (JSON body) |

A benchmark or a profile waits in the app's queue for every device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.datastructures import UploadFile as StarletteUploadFile

from pipeline.evaluation import analysis, benchmark_grid
from pipeline.evaluation.hardware import hardware_report
from pipeline.jobs import JobStore, Requester
from pipeline.request import number
from ui.benchmarking import MAX_NAME_CHARS, parse_plan, profile_config, run_benchmark, run_profile
from ui.monitoring import app_monitor
from ui.rest.disconnect import unless_disconnected
from ui.rest.errors import ERROR_RESPONSES, ApiError, api_errors, quoted
from ui.rest.routes import FORM_ROUTE, Text, client_of, store_upload
from ui.settings import Settings

#: The clip a measuring route takes (none: the example clip).
Clip = Annotated[UploadFile | None, File(description="the clip (none: an example)")]
#: The body ``/docs`` shows for ``POST /benchmark/analysis``: one row as ``POST /benchmark``
#: answers it (its figures made up), which the route answers as it would a real one. No
#: value is null: the schema drops those keys, and a row without its ``size`` is refused.
ANALYSIS_EXAMPLE = {
    "rows": [
        {
            "detector": "yolo11", "size": "n", "runtime": "onnxruntime", "devices": ["cpu"],
            "batch_size": 1, "end_to_end_fps": 25.0,
            "stage_ms_per_frame": {
                "decode": 2.0, "preprocess": 1.5, "inference": 30.0, "postprocess": 0.5,
                "track": 0.3, "annotate": 2.5, "encode": 4.0,
            },
        }
    ],
    "video_seconds": 60,
    "video_fps": 30,
}  # fmt: skip


def rows_of(body: dict[str, Any]) -> list[Any]:
    """The rows of a ``POST /benchmark/analysis`` body (checked by the analysis itself).

    Raises:
        ApiError: 422 for a body without a list of rows.
    """
    rows = body.get("rows")
    if not isinstance(rows, list):
        raise ApiError(422, 'Send the results of a benchmark as JSON: {"rows": [...]}.')
    return rows


def positive(body: dict[str, Any], key: str, default: float) -> float:
    """``body[key]`` as a positive number (``default`` when absent).

    Raises:
        ApiError, ConfigError: For anything else (``api_errors`` answers both with 422).
    """
    raw = body.get(key)
    if raw is None:
        return default
    value = number(key, str(raw), float) if isinstance(raw, str | int | float) else None
    if value is None or isinstance(raw, bool) or not value > 0:
        raise ApiError(422, f"{key} must be a positive number, not {quoted(raw)}.")
    return float(value)


def build_benchmark_router(jobs: JobStore, settings: Settings) -> APIRouter:
    """The benchmark routes, measuring through ``jobs``."""
    router = APIRouter(tags=["benchmark"], responses=ERROR_RESPONSES)

    @contextlib.contextmanager
    def clip(video: UploadFile | None) -> Iterator[Path | None]:
        """The uploaded clip inside the job store (None: the example clip), removed after."""
        if not isinstance(video, StarletteUploadFile):
            yield None
            return
        path = store_upload(jobs, video, settings, None)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    @router.get("/benchmark/hardware", summary="The hardware report")
    def hardware() -> JSONResponse:
        """CPU, memory, each NVIDIA GPU (or "no NVIDIA GPU"), libraries, the app's defaults."""
        with api_errors():
            return JSONResponse(hardware_report())

    @router.get("/gpu-monitor", summary="Recent GPU, CPU and memory samples")
    def gpu_monitor() -> JSONResponse:
        """Per GPU utilisation, memory, power, temperature; CPU and memory; oldest first."""
        monitor = app_monitor()
        return JSONResponse({"interval_s": monitor.interval_s, "samples": monitor.samples()})

    @router.post(
        "/benchmark", summary="Benchmark detectors × sizes × runtimes × batches × devices",
        dependencies=FORM_ROUTE,
    )  # fmt: skip
    async def benchmark(
        request: Request,
        video: Clip = None,
        detectors: Text = None,
        sizes: Text = None,
        runtimes: Text = None,
        batch_sizes: Text = None,
        devices: Text = None,
        max_frames: Text = None,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Response:
        """Measure every combination; answer the results as JSON (or CSV with ``?format=csv``).

        Form fields are comma-separated lists; ``devices`` separates device sets
        with ``;`` (``cuda:0; cuda:0,cuda:1``). A client that disconnects cancels
        it: out of the queue, or within about a frame of the configuration it
        measures.
        """
        requester = Requester("api", client_of(request, settings))

        def measure() -> dict[str, Any]:
            frames = number("max_frames", max_frames, int)
            plan = parse_plan(
                detectors, sizes, runtimes, batch_sizes, devices, max_frames=frames,
                max_rows=settings.max_benchmark_rows,
            )  # fmt: skip
            with clip(video) as path:
                return run_benchmark(jobs, path, plan, requester)

        with api_errors():
            # Every step in a worker thread (the upload's check too): none in the event loop.
            results = await unless_disconnected(request, measure, requester.cancel)
            if format == "csv":
                return Response(benchmark_grid.to_csv(results["rows"]), media_type="text/csv")
            return JSONResponse({k: v for k, v in results.items() if k not in ("json", "csv")})

    @router.post(
        "/benchmark/profile", summary="Profile one detector", dependencies=FORM_ROUTE
    )
    async def profile(
        request: Request,
        video: Clip = None,
        detector: Text = None,
        size: Text = None,
        runtime: Text = None,
        batch_size: Text = None,
        device: Text = None,
    ) -> JSONResponse:
        """Its operators by self time over a few batches; the trace at ``trace_url``.

        A client that disconnects while it waits for the devices takes it out of the queue.
        """
        requester = Requester("api", client_of(request, settings))

        def measure() -> dict[str, Any]:
            config = profile_config(detector, size, runtime, batch_size, device)
            with clip(video) as path:
                return run_profile(jobs, path, config, requester)

        with api_errors():
            result = await unless_disconnected(request, measure, requester.cancel)
            trace_url = f"/benchmark/trace/{result['job_id']}"
            return JSONResponse(
                {**{k: v for k, v in result.items() if k != "trace"}, "trace_url": trace_url}
            )

    @router.get("/benchmark/trace/{job_id}", response_class=FileResponse, summary="A trace")
    def trace(job_id: str) -> FileResponse:
        """A profile's Chrome trace (open it in ``chrome://tracing`` or Perfetto)."""
        with api_errors():
            path = jobs.get(job_id).outputs.get("trace")
            if path is None or not path.is_file():
                raise ApiError(404, "This job has no trace.")
            return FileResponse(
                path, media_type="application/json", filename=f"{job_id}-trace.json"
            )

    @router.post("/benchmark/analysis", summary="What benchmark results mean")
    def benchmark_analysis(
        # Optional, so that no body gets this route's own message, not a schema error's.
        body: Annotated[dict[str, Any] | None, Body(examples=[ANALYSIS_EXAMPLE])] = None,
    ) -> JSONResponse:
        """The bottleneck, the best batch size and the expected time for a video.

        The body: ``{"rows": [...], "video_seconds": 60, "video_fps": 30}``, with
        ``rows`` as ``POST /benchmark`` answered them.
        """
        with api_errors():
            body = body or {}
            rows = rows_of(body)
            seconds = positive(body, "video_seconds", analysis.VIDEO_SECONDS)
            fps = positive(body, "video_fps", analysis.VIDEO_FPS)
            return JSONResponse(
                analysis.analyze_sent(
                    rows, most=settings.max_benchmark_rows, name_chars=MAX_NAME_CHARS,
                    video_seconds=seconds, video_fps=fps,
                )
            )  # fmt: skip

    return router
