"""What a benchmark's results mean: the bottleneck, the best batch size, the time a video takes.

Example:
    >>> rows = [{"detector": "yolox_nano", "size": None, "runtime": "onnxruntime",
    ...          "batch_size": 1, "devices": ["cpu"], "end_to_end_fps": 50.0,
    ...          "stage_ms_per_frame": {"decode": 1.5, "inference": 12.0, "encode": 4.0}}]
    >>> result = analyze(rows, video_seconds=60, video_fps=25)
    >>> result["bottleneck"]["stage"], result["expected_seconds"]
    ('inference', 30.0)
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pipeline.configs import ConfigError
from pipeline.evaluation.benchmark_grid import label

#: The video an analysis plans for unless told: a minute at 30 fps.
VIDEO_SECONDS = 60.0
VIDEO_FPS = 30.0
#: Keys of a row that name its configuration.
NAME_KEYS = ("detector", "size", "runtime")
#: Keys of a benchmark's row that its analysis reads.
ROW_KEYS = (
    "detector", "size", "runtime", "devices", "batch_size", "end_to_end_fps",
    "stage_ms_per_frame",
)  # fmt: skip


def analyze_sent(
    rows: list[Any],
    *,
    most: int,
    name_chars: int,
    video_seconds: float = VIDEO_SECONDS,
    video_fps: float = VIDEO_FPS,
) -> dict[str, Any]:
    """:func:`analyze` of rows a client sent back (the tab's API, REST): checked first.

    Args:
        rows: What the client sent as a benchmark's rows.
        most: The most rows a benchmark gives here.
        name_chars: The longest model, size, runtime or device name a row may hold.
        video_seconds: Length of the video to plan for.
        video_fps: Its frame rate.

    Raises:
        ConfigError: Rows no benchmark gave (too many, a key missing, a name too
            long, values of the wrong kind), or as :func:`analyze`.
    """
    _check_video(video_seconds, video_fps)
    if len(rows) > most:
        raise ConfigError(f"{len(rows)} rows is more than a benchmark gives (at most {most}).")
    for index, row in enumerate(rows):
        missing = [key for key in ROW_KEYS if not isinstance(row, dict) or key not in row]
        if missing:
            raise ConfigError(
                f"Row {index} is not a benchmark's row: it lacks {', '.join(missing)}. "
                "Send the rows as the benchmark answered them."
            )
        # The analysis names each configuration by these, several times over.
        names = [row[key] for key in NAME_KEYS]
        names += row["devices"] if isinstance(row["devices"], list) else [row["devices"]]
        if any(isinstance(name, str) and len(name) > name_chars for name in names):
            raise ConfigError(
                f"Row {index} names a model, size, runtime or device longer than "
                f"{name_chars} characters; no benchmark's row does."
            )
    try:
        return analyze(rows, video_seconds=video_seconds, video_fps=video_fps)
    except ConfigError:
        raise
    except (TypeError, ValueError, AttributeError, ArithmeticError, KeyError):
        # A row with every key, holding values of the wrong kind.
        raise ConfigError(
            "The rows hold values of the wrong kind; send them as the benchmark answered them."
        ) from None


def _check_video(video_seconds: float, video_fps: float) -> None:
    if not (video_seconds > 0 and video_fps > 0):
        raise ConfigError("The video's length and frame rate must be positive.")


def analyze(
    rows: list[dict[str, Any]],
    *,
    video_seconds: float = VIDEO_SECONDS,
    video_fps: float = VIDEO_FPS,
) -> dict[str, Any]:
    """The conclusions of a benchmark, in figures and in words.

    Args:
        rows: :func:`pipeline.evaluation.benchmark_grid.run_grid`'s rows.
        video_seconds: Length of the video to plan for.
        video_fps: Its frame rate.

    Returns:
        ``best`` (the fastest configuration end to end), ``bottleneck`` (its
        slowest stage per frame and that stage's share), ``best_batch_size``
        (per detector and device set, the batch size that ran fastest),
        ``expected_seconds`` (the video through the best configuration) and
        ``text`` (all of it in sentences).

    Raises:
        ConfigError: No rows, or a video length or rate that is not positive.
    """
    if not rows:
        raise ConfigError("There are no benchmark results to analyse: run a benchmark first.")
    _check_video(video_seconds, video_fps)
    best = max(rows, key=lambda row: row["end_to_end_fps"])
    stages = best["stage_ms_per_frame"]
    slowest = max(stages, key=stages.get)
    per_frame = sum(stages.values()) or 1.0
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        key = (row["detector"], row["size"], row["runtime"], tuple(row["devices"]))
        groups[key].append(row)
    best_batch = []
    for (detector, size, runtime, devices), group in groups.items():
        fastest = max(group, key=lambda row: row["end_to_end_fps"])
        best_batch.append({
            "detector": detector, "size": size, "runtime": runtime, "devices": list(devices),
            "batch_size": fastest["batch_size"], "end_to_end_fps": fastest["end_to_end_fps"],
        })  # fmt: skip
    frames = video_seconds * video_fps
    expected = frames / best["end_to_end_fps"]
    text = (
        f"Fastest end to end: {label(best)} at {best['end_to_end_fps']:.1f} fps. "
        f"Its slowest stage is {slowest} at {stages[slowest]:.1f} ms per frame "
        f"({100 * stages[slowest] / per_frame:.0f} % of the stages' time): "
        + _advice(slowest)
        + " Best batch size: "
        + "; ".join(
            f"{_name(entry)} on {'+'.join(entry['devices'])}: {entry['batch_size']} "
            f"({entry['end_to_end_fps']:.1f} fps)"
            for entry in best_batch
        )
        + f". A {video_seconds:g} s video at {video_fps:g} fps ({frames:.0f} frames) would take "
        f"about {expected:.1f} s."
    )
    return {
        "best": {"config": label(best), "end_to_end_fps": best["end_to_end_fps"]},
        "bottleneck": {
            "stage": slowest,
            "ms_per_frame": stages[slowest],
            "share": stages[slowest] / per_frame,
        },
        "best_batch_size": best_batch,
        "expected_seconds": round(expected, 1),
        "text": text,
    }


def _name(entry: dict[str, Any]) -> str:
    size = f"-{entry['size']}" if entry["size"] else ""
    runtime = f" ({entry['runtime']})" if entry["runtime"] else ""
    return f"{entry['detector']}{size}{runtime}"


def _advice(stage: str) -> str:
    """What to try when ``stage`` bounds the run."""
    if stage in ("preprocess", "inference", "postprocess"):
        return "the model bounds the run; a smaller size, a larger batch or another device helps."
    if stage in ("decode", "encode"):
        return f"the video codec bounds the run ({stage}); more CPU cores help, the model does not."
    return f"the in-order stage ({stage}) bounds the run; it is one thread per run."
