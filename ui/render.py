"""Pipeline events as what the page shows: RGB images and short texts.

Example:
    >>> from pipeline.runtime.events import Progress
    >>> progress_text(Progress(frame_index=35, total_frames=71, fps=12.34))
    'Processing: frame 36 / 71 (51 %) at 12.3 fps'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.runtime.events import Progress


def to_rgb(image_bgr: np.ndarray) -> np.ndarray:
    """BGR (the pipeline's order) to RGB (what ``gr.Image`` expects), contiguous."""
    return np.ascontiguousarray(image_bgr[..., ::-1])


def progress_text(progress: Progress) -> str:
    """One status line: frames done, percentage when the total is known, speed."""
    done = progress.frame_index + 1
    if progress.fraction is None:
        return f"Processing: frame {done} at {progress.fps:.1f} fps"
    percent = round(progress.fraction * 100)
    return (
        f"Processing: frame {done} / {progress.total_frames} ({percent} %) "
        f"at {progress.fps:.1f} fps"
    )


def summary_text(summary: dict[str, Any]) -> str:
    """The short Markdown summary of a finished run: frames, tracks per class, speed.

    Args:
        summary: ``Done.summary`` from the pipeline.

    Returns:
        One or two Markdown lines.

    Example:
        >>> summary_text({"frames": 71, "tracks": 3, "fps": 24.6,
        ...               "tracks_per_class": {"person": 2, "car": 1}})
        'Done: 71 frames, 3 tracks (person 2, car 1) at 24.6 fps.'
    """
    per_class = ", ".join(
        f"{name} {count}" for name, count in summary.get("tracks_per_class", {}).items()
    )
    tracks = summary.get("tracks", 0)
    text = (
        f"Done: {summary.get('frames', 0)} frames, {tracks} track{'s' if tracks != 1 else ''}"
        f"{f' ({per_class})' if per_class else ''} at {summary.get('fps', 0.0):.1f} fps."
    )
    if summary.get("near_to_far"):
        order = ", ".join(f"#{item['track_id']}" for item in summary["near_to_far"])
        text += f"\n\nNear to far: {order}."
    if summary.get("warning"):
        text += f"\n\n**Warning:** {summary['warning']}"
    return text
