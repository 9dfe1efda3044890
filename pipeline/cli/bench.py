"""``python -m pipeline bench VIDEO ...``: the throughput benchmark.

The measurements live in :mod:`pipeline.evaluation.benchmark`; this module
reads the options (the detection settings come from
:class:`~pipeline.configs.DetectionConfig`, as for ``detect``), prints the
figures and saves them as JSON.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.cli.options import add_config_options, config_argv, config_from_args
from pipeline.configs import DetectionConfig

#: The detection settings the benchmark takes, as ``python -m pipeline detect`` does.
CONFIG_OPTIONS = (
    "detector",
    "size",
    "weights",
    "queries",
    "confidence",
    "runtime",
    "devices",
    "batch_size",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's arguments: the clip, the detection settings, what to measure."""
    parser.add_argument("video", type=Path)
    add_config_options(parser, DetectionConfig, only=CONFIG_OPTIONS)
    parser.add_argument(
        "--no-cuda-graphs",
        action="store_true",
        help="torch runtime on CUDA: run the network eagerly",
    )
    parser.add_argument(
        "--loops",
        type=int,
        default=10,
        help="memory: also run the clip looped this many times (1: skip)",
    )
    parser.add_argument("--skip-plain", action="store_true", help="skip the plain-loop baseline")
    parser.add_argument(
        "--frames-per-call",
        type=int,
        default=None,
        metavar="N",
        help="also measure the run split into calls of N frames (the ZeroGPU path) against "
        "the whole run",
    )
    parser.add_argument(
        "--compare-runtimes",
        action="store_true",
        help="measure every runtime and precision the detector offers side by side instead "
        "(model-only and end-to-end fps, ratios to ONNX Runtime float32, auto's pick)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)


def add_command(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand."""
    from pipeline.evaluation import benchmark

    parser = subparsers.add_parser(
        "bench",
        help="measure throughput: decode, encode, model-only, end to end, plain loop, memory",
        description=benchmark.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=run_bench_command)
    return parser


def _detector_options(args: argparse.Namespace) -> tuple[tuple[str, Any], ...]:
    options: list[tuple[str, Any]] = []
    if args.no_cuda_graphs:
        options.append(("cuda_graphs", False))
    return tuple(options)


def _model_argv(args: argparse.Namespace) -> list[str]:
    words = config_argv(DetectionConfig, args)
    if args.no_cuda_graphs:
        words.append("--no-cuda-graphs")
    return words


def run_bench_command(args: argparse.Namespace) -> int:
    """Measure as the parsed arguments say; print (and save) the figures."""
    from pipeline.evaluation import benchmark

    config = config_from_args(
        DetectionConfig, args, max_duration_s=None, detector_options=_detector_options(args)
    )
    if args.compare_runtimes:
        from pipeline.evaluation import runtime_comparison

        comparison = runtime_comparison.compare_runtimes(config, args.video)
        print(runtime_comparison.table(comparison))
        if args.json:
            args.json.write_text(json.dumps(comparison, indent=2))
        return 0
    if args.memory_probe:
        print(json.dumps(benchmark.memory_probe(config, args.video)))
        return 0
    results = benchmark.run(
        config, args.video, loops=args.loops, plain=not args.skip_plain,
        model_argv=_model_argv(args), frames_per_call=args.frames_per_call,
    )  # fmt: skip
    _print(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _print(results: dict[str, Any]) -> None:
    width = max(len(k) for k in results)
    for key, value in results.items():
        if isinstance(value, float):
            value = f"{value:.3f}"
        elif isinstance(value, dict):
            value = json.dumps({k: round(v, 3) for k, v in value.items()})
        print(f"{key:<{width}}  {value}")


def main(argv: Sequence[str] | None = None) -> int:
    """The benchmark on its own parser (what ``python -m pipeline bench`` runs)."""
    parser = argparse.ArgumentParser(prog="python -m pipeline bench")
    add_arguments(parser)
    return run_bench_command(parser.parse_args(argv))
