"""Pipeline events as what the page shows: RGB images and short texts.

Example:
    >>> from pipeline.runtime.events import Progress
    >>> progress_text(Progress(frame_index=35, total_frames=71, fps=12.34))
    'Processing: frame 36 / 71 (51 %) at 12.3 fps'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.licenses import NON_COMMERCIAL_NOTE
from pipeline.runtime.events import Progress
from pipeline.runtime.summary import RunSummary


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


def summary_text(summary: RunSummary, *, noun: str = "track", followed: bool = False) -> str:
    """The short Markdown summary of a finished run: frames, objects per class, speed.

    Args:
        summary: ``Done.summary`` from the pipeline.
        noun: What is counted (``"track"``, ``"object"``).
        followed: Say the objects were followed (segmentation).

    Returns:
        One or more Markdown lines.

    Example:
        >>> ran = {"seconds": 3.0, "video": {}, "devices": ["cpu"], "timing_s": {},
        ...        "model": {}, "licenses": []}
        >>> summary_text(RunSummary(frames=71, fps=24.6, tracks=3,
        ...                         tracks_per_class={"person": 2, "car": 1}, **ran))
        'Done: 71 frames, 3 tracks (person 2, car 1) at 24.6 fps.'
        >>> summary_text(RunSummary(frames=40, fps=9.5, tracks=2, tracks_per_class={"person": 2},
        ...                         **ran), noun="object", followed=True)
        'Done: 40 frames, 2 objects followed (person 2) at 9.5 fps.'
    """
    text = (
        f"Done: {summary.frames} frames, "
        f"{objects_text(summary, noun=noun, followed=followed)} "
        f"at {summary.fps:.1f} fps{_runtime_text(summary.model)}."
    )
    if summary.detection_stride:
        text += "\n\n" + stride_text(summary.detection_stride)
    if summary.counting:
        text += "\n\n" + counting_text(summary.counting)
    if summary.near_to_far:
        order = ", ".join(f"#{item['track_id']}" for item in summary.near_to_far)
        text += f"\n\nNear to far: {order}."
    if summary.licenses:
        text += "\n\n" + licenses_text(summary.licenses)
    if summary.warning:
        text += f"\n\n**Warning:** {summary.warning}"
    return text


def stride_text(stride: dict[str, Any]) -> str:
    """The summary's ``"detection_stride"`` in one line.

    Example:
        >>> stride_text({"detect_every": 3, "detected_frames": 34, "predicted_frames": 66})
        'Detector on 34 of 100 frames (detect every 3); the tracker predicted the others.'
    """
    detected, predicted = stride["detected_frames"], stride["predicted_frames"]
    text = (
        f"Detector on {detected} of {detected + predicted} frames "
        f"(detect every {stride['detect_every']})"
    )
    if predicted:
        return text + "; the tracker predicted the others."
    return text + (f": {stride['note']}." if stride.get("note") else ".")


def objects_text(summary: RunSummary, *, noun: str = "track", followed: bool = False) -> str:
    """How many tracks (or objects) a run has, per class: the same words in every status line.

    Example:
        >>> ran = {"frames": 1, "fps": 1.0, "seconds": 1.0, "video": {}, "devices": ["cpu"],
        ...        "timing_s": {}, "model": {}, "licenses": []}
        >>> objects_text(RunSummary(tracks=1, tracks_per_class={"person": 1}, **ran))
        '1 track (person 1)'
        >>> objects_text(RunSummary(**ran), noun="object", followed=True)
        '0 objects followed'
    """
    per_class = ", ".join(
        f"{name} {count}" for name, count in (summary.tracks_per_class or {}).items()
    )
    count = summary.tracks or 0
    return (
        f"{count} {noun}{'s' if count != 1 else ''}{' followed' if followed else ''}"
        f"{f' ({per_class})' if per_class else ''}"
    )


def _runtime_text(model: dict[str, Any]) -> str:
    """`` on onnxruntime (int8)``: what ran the detector, when the model info says."""
    if not model.get("runtime"):
        return ""
    precision = f" ({model['precision']})" if model.get("precision") else ""
    return f" on {model['runtime']}{precision}"


def licenses_text(licenses: list[dict[str, Any]]) -> str:
    """The summary's ``"licenses"`` in one line.

    Example:
        >>> print(licenses_text([{"name": "yolo11", "size": "n", "license": "AGPL-3.0"},
        ...                      {"name": "depth_anything_v2", "size": "large",
        ...                       "license": "CC-BY-NC-4.0", "non_commercial": True}]))
        Licences: yolo11 n AGPL-3.0; depth_anything_v2 large CC-BY-NC-4.0 (non-commercial use only).
    """
    items = []
    for item in licenses:
        name = f"{item['name']} {item['size']}" if item.get("size") else str(item["name"])
        note = f" ({NON_COMMERCIAL_NOTE})" if item.get("non_commercial") else ""
        items.append(f"{name} {item['license']}{note}")
    return f"Licences: {'; '.join(items)}."


def _per_class(counts: dict[str, int]) -> str:
    return f" ({', '.join(f'{name} {n}' for name, n in sorted(counts.items()))})" if counts else ""


def counting_text(counting: dict[str, Any]) -> str:
    """The counts of a run's lines and zones, one Markdown list item each.

    Args:
        counting: The summary's ``"counting"`` (:meth:`CountingStage.summary`).

    Example:
        >>> print(counting_text({
        ...     "lines": {"door": {"in": {"person": 2}, "out": {}, "in_total": 2, "out_total": 0}},
        ...     "zones": {"desk": {"occupancy_at_end": {"person": 1}, "peak_occupancy": 2,
        ...                        "visitors": 3, "entries": {"person": 2}, "entries_total": 2,
        ...                        "seconds_by_track": {"1": 4.0}}}}))
        - Line **door**: 2 in (person 2), 0 out
        - Zone **desk**: 3 visitors, 2 came in (person 2), peak 2, 1 at the end (person 1); \
longest stay 4.0 s (#1)
    """
    items = []
    for name, line in counting.get("lines", {}).items():
        items.append(
            f"- Line **{name}**: {line['in_total']} in{_per_class(line['in'])}, "
            f"{line['out_total']} out{_per_class(line['out'])}"
        )
    for name, zone in counting.get("zones", {}).items():
        at_end = sum(zone["occupancy_at_end"].values())
        text = (
            f"- Zone **{name}**: {zone['visitors']} visitor{'s' if zone['visitors'] != 1 else ''}"
            f", {zone['entries_total']} came in{_per_class(zone['entries'])}"
            f", peak {zone['peak_occupancy']}, {at_end} at the end"
            f"{_per_class(zone['occupancy_at_end'])}"
        )
        if zone["seconds_by_track"]:
            track, seconds = max(zone["seconds_by_track"].items(), key=lambda item: item[1])
            text += f"; longest stay {seconds:.1f} s (#{track})"
        items.append(text)
    return "\n".join(items)
