"""Tracking MOTChallenge detections and scoring the result (CLEAR MOT, IDF1).

The ``track`` command (``python -m pipeline track --detections det.txt --out result.txt``)
is :func:`track_detections_file`; :func:`score_mot` scores its output with motmetrics.

Example:
    >>> summary = track_detections_file("det.txt", "result.txt", fps=25.0)  # doctest: +SKIP
    >>> score_mot("gt.txt", "result.txt")["mota"]  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from pipeline.io.mot_files import MotWriter, StrPath, read_mot_detections, read_mot_rows
from pipeline.stages.tracking import ObjectTracker, TrackerConfig


def track_detections_file(
    det_path: StrPath,
    out_path: StrPath,
    *,
    fps: float = 25.0,
    config: TrackerConfig | None = None,
    min_score: float | None = None,
    num_frames: int | None = None,
) -> dict[str, Any]:
    """Track the detections of a MOTChallenge ``det.txt`` and write a result file.

    Every frame from 1 to the last is fed to the tracker in order, including frames
    without detections, so that lost tracks age as they would on the video.

    Args:
        det_path: Detections, ``frame,-1,x,y,w,h,conf,...`` per line, scores in 0..1
            for the default :class:`TrackerConfig`.
        out_path: Result file to write (``frame,id,x,y,w,h,conf,-1,-1,-1``).
        fps: Frame rate of the sequence (``frameRate`` in ``seqinfo.ini``).
        config: Tracker settings; defaults when None.
        min_score: Ignore detections below this score before tracking.
        num_frames: Sequence length, if frames after the last detection should count.

    Returns:
        A summary: ``frames`` (frames tracked), ``detections`` (input rows used),
        ``tracks`` (distinct ids), ``rows`` (rows written), ``output`` (the result path)
        and ``fps``.

    Example:
        >>> track_detections_file("det.txt", "result.txt", fps=25.0)  # doctest: +SKIP
        {'frames': 71, 'detections': 321, 'tracks': 9, 'rows': 298, ...}
    """
    frames = read_mot_detections(det_path, min_score=min_score, num_frames=num_frames)
    tracker = ObjectTracker(config, frame_rate=fps)
    with MotWriter(out_path) as writer:
        for frame_number, detections in frames.items():
            writer.write(frame_number - 1, tracker.update(detections))
    return {
        "frames": len(frames),
        "detections": sum(len(d) for d in frames.values()),
        "tracks": len(writer.track_ids),
        "rows": writer.rows,
        "output": str(out_path),
        "fps": float(fps),
    }


def _load_mot_dataframe(path: StrPath) -> Any:
    import pandas as pd

    from pipeline.compat.motmetrics import mm

    if read_mot_rows(path).size:
        return mm.io.loadtxt(str(path), fmt="mot15-2D")
    # motmetrics cannot parse an empty file; an empty result is a valid (bad) result.
    columns = ["X", "Y", "Width", "Height", "Confidence", "ClassId", "Visibility"]
    index = pd.MultiIndex.from_arrays([[], []], names=["FrameId", "Id"])
    return pd.DataFrame(columns=columns, index=index, dtype=float)


def score_mot(gt_path: StrPath, result_path: StrPath, iou: float = 0.5) -> dict[str, float]:
    """Score a tracker result against ground truth with motmetrics (CLEAR MOT and IDF1).

    Both files are loaded as motmetrics' ``mot15-2D`` format and matched at the given
    IoU, as motmetrics' own MOTChallenge evaluation does.

    Args:
        gt_path: Ground truth, ``frame,id,x,y,w,h,conf,...``.
        result_path: Tracker result in the same format.
        iou: Minimum IoU for a ground-truth box and a track box to match.

    Returns:
        ``idf1``, ``mota``, ``motp`` (motmetrics' MOTP: mean ``1 - IoU`` of matches,
        lower is better), ``precision``, ``recall``, ``num_false_positives``,
        ``num_misses`` and ``num_switches``.

    Raises:
        ModuleNotFoundError: motmetrics (a test and evaluation dependency) is missing.

    Example:
        >>> score_mot("gt.txt", "result.txt")["idf1"]  # doctest: +SKIP
        0.557659
    """
    if not 0.0 < iou <= 1.0:
        raise ValueError(f"iou must be in (0, 1], got {iou!r}")
    from pipeline.compat.motmetrics import mm

    gt = _load_mot_dataframe(gt_path)
    result = _load_mot_dataframe(result_path)
    accumulator = mm.utils.compare_to_groundtruth(gt, result, "iou", distth=1.0 - iou)
    names = [
        "idf1",
        "mota",
        "motp",
        "precision",
        "recall",
        "num_false_positives",
        "num_misses",
        "num_switches",
    ]
    summary = mm.metrics.create().compute(accumulator, metrics=names, name="sequence")
    values = summary.loc["sequence"]
    return {
        name: int(values[name]) if name.startswith("num_") else float(values[name])
        for name in names
    }
