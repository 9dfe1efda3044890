"""Tracking MOTChallenge detections and scoring the result (CLEAR MOT, IDF1).

The ``track`` command (``python -m pipeline track --detections det.txt --out result.txt``)
is :func:`track_detections_file`; :func:`score_mot` scores its output with motmetrics.

Example:
    summary = track_detections_file("det.txt", "result.txt", fps=25.0)
    score_mot("gt.txt", "result.txt")["mota"]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.evaluation.det_scores import DEFAULT_SCORE_MAP, scores_in_unit_range, to_unit_scores
from pipeline.io.mot_files import MotWriter, StrPath, mot_rows_by_frame, read_mot_rows
from pipeline.stages.tracker_registry import DEFAULT_TRACKER, TrackerConfig
from pipeline.stages.tracking import ObjectTracker


def track_detections_file(
    det_path: StrPath,
    out_path: StrPath,
    *,
    fps: float = 25.0,
    config: TrackerConfig | None = None,
    min_score: float | None = None,
    num_frames: int | None = None,
    tracker: str = DEFAULT_TRACKER,
    params: Mapping[str, Any] | None = None,
    score_map: str = DEFAULT_SCORE_MAP,
) -> dict[str, Any]:
    """Track the detections of a MOTChallenge ``det.txt`` and write a result file.

    Scores outside 0..1 (MOT15's ACF detections) are first mapped to 0..1
    (:func:`pipeline.evaluation.det_scores.to_unit_scores`); a file whose scores all lie
    in 0..1 is tracked as it is. Every frame from 1 to the last is fed to the tracker in
    order, including frames without detections, so that lost tracks age as they would
    on the video.

    Args:
        det_path: Detections, ``frame,-1,x,y,w,h,conf,...`` per line.
        out_path: Result file to write (``frame,id,x,y,w,h,conf,-1,-1,-1``; ``conf`` is
            the score the tracker saw).
        fps: Frame rate of the sequence (``frameRate`` in ``seqinfo.ini``).
        config: ByteTrack settings; defaults when None (ByteTrack only).
        min_score: Ignore detections below this score (in 0..1, after the mapping)
            before tracking.
        num_frames: Sequence length, if frames after the last detection should count.
        tracker: Which tracker, a name from
            :func:`pipeline.stages.tracker_registry.tracker_names`.
        params: Overrides of the tracker's tuned defaults.
        score_map: How scores outside 0..1 are mapped (a name from
            :data:`pipeline.evaluation.det_scores.SCORE_MAPS`; for measuring the rule).

    Returns:
        A summary: ``frames`` (frames tracked), ``detections`` (input rows used),
        ``tracks`` (distinct ids), ``rows`` (rows written), ``output`` (the result path),
        ``fps``, ``tracker`` and ``scores`` (``"as in the file"`` or the mapping used).

    Raises:
        pipeline.errors.ConfigError: Unknown tracker or a bad parameter.

    Example:
        track_detections_file("det.txt", "result.txt", fps=25.0)
    """
    tracking = ObjectTracker(config, frame_rate=fps, tracker=tracker, params=params)
    rows = read_mot_rows(det_path)
    as_in_file = scores_in_unit_range(rows[:, 6])
    rows[:, 6] = to_unit_scores(rows[:, 6], score_map)
    if min_score is not None:
        rows = rows[rows[:, 6] >= min_score]
    frames = mot_rows_by_frame(rows, num_frames=num_frames, source=det_path)
    with MotWriter(out_path) as writer:
        for frame_number, detections in frames.items():
            writer.write(frame_number - 1, tracking.update(detections))
    return {
        "frames": len(frames),
        "detections": sum(len(d) for d in frames.values()),
        "tracks": len(writer.track_ids),
        "rows": writer.rows,
        "output": str(out_path),
        "fps": float(fps),
        "tracker": tracker,
        "scores": "as in the file" if as_in_file else f"mapped to 0..1 by {score_map}",
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
        score_mot("gt.txt", "result.txt")["idf1"]
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
