"""``python -m pipeline bench-grid VIDEO ...``: benchmark many settings at once.

Every combination of ``--detectors``, ``--sizes``, ``--runtimes``,
``--batch-sizes`` and ``--devices`` is measured as the Benchmark tab measures it
(:mod:`pipeline.evaluation.benchmark_grid`), with a progress bar; the results
print as a table and save as JSON and CSV, with the analysis.

Example:
    ``python -m pipeline bench-grid clip.mp4 --detectors yolo11 --sizes n,x
    --batch-sizes 1,8,32 --devices "cuda:0; cuda:0,cuda:1" --json r.json --csv r.csv``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from pipeline.configs import ConfigError
from pipeline.evaluation import analysis, benchmark_grid
from pipeline.evaluation.benchmark_grid import BenchmarkPlan
from pipeline.runtime.template import check_video


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _batch_sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in _names(text))
    except ValueError:
        raise ConfigError(f"--batch-sizes takes whole numbers, not {text!r}.") from None


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``bench-grid`` subcommand."""
    parser = subparsers.add_parser(
        "bench-grid",
        help="benchmark detectors × sizes × runtimes × batch sizes × devices at once",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", type=Path, help="the clip")
    parser.add_argument("--detectors", default="yolo11", help="comma-separated (default: yolo11)")
    parser.add_argument("--sizes", default="", help="comma-separated (default: each one's own)")
    parser.add_argument(
        "--runtimes",
        default="",
        help="runtimes: torch, onnxruntime, openvino, onnxruntime-int8... (each detector runs "
        "those it offers)",
    )
    parser.add_argument("--batch-sizes", default="1", help="comma-separated (default: 1)")
    parser.add_argument(
        "--devices",
        default="",
        help="device sets, ';' between sets and ',' within (default: every GPU, else the CPU)",
    )
    parser.add_argument("--weights", default=None, help="weights for every detector")
    parser.add_argument("--max-frames", type=int, default=None, help="frames of the clip used")
    parser.add_argument(
        "--video-seconds", type=float, default=60.0, help="the analysis plans for this long a video"
    )
    parser.add_argument("--video-fps", type=float, default=30.0, help="at this frame rate")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--csv", type=Path, default=None, help="write the rows here")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_bench_grid_command)
    return parser


def run_bench_grid_command(args: argparse.Namespace) -> int:
    """Measure, print a table and the analysis, save the files; returns the exit status.

    Raises:
        PipelineError: A bad plan or video; models.ModelError: an unknown model.
    """
    from tqdm import tqdm

    sets = tuple(_names(part) for part in args.devices.split(";") if _names(part)) or ((),)
    plan = BenchmarkPlan(
        detectors=_names(args.detectors),
        sizes=_names(args.sizes) or (None,),
        runtimes=_names(args.runtimes) or (None,),
        batch_sizes=_batch_sizes(args.batch_sizes),
        device_sets=sets,
        weights=args.weights,
        max_frames=args.max_frames,
    )
    check_video(args.video, None)
    configs = plan.configs()
    with tqdm(total=len(configs), unit="config", disable=args.no_progress) as bar:

        def progress(index: int, total: int, config: object) -> None:
            bar.n = index
            bar.set_postfix_str(f"{config.detector} b{config.batch_size}")  # type: ignore[attr-defined]
            bar.refresh()

        with tempfile.TemporaryDirectory() as work:
            rows = benchmark_grid.run_grid(plan, args.video, Path(work), progress=progress)
        bar.n = len(configs)
        bar.refresh()
    found = analysis.analyze(rows, video_seconds=args.video_seconds, video_fps=args.video_fps)
    for row in rows:
        stages = " ".join(f"{s}={v:.1f}" for s, v in row["stage_ms_per_frame"].items())
        print(
            f"{benchmark_grid.label(row):<40} e2e {row['end_to_end_fps']:7.1f} fps  "
            f"model {row['model_only_fps']:7.1f} fps  first {row['first_preview_s']:.3f} s  "
            f"ms/frame: {stages}"
        )
    print(found["text"])
    results = {"rows": rows, "scaling": benchmark_grid.scaling(rows), "analysis": found}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.csv:
        args.csv.write_text(benchmark_grid.to_csv(rows))
    sys.stdout.flush()
    return 0
