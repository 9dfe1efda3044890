"""The app's own detectors, as a guard on every tracker's defaults.

A tracker's defaults are what the app's detection runs would use. Tuned on MOT15's
public detections alone, the score thresholds fall to values that suit those (mapped ACF)
scores but not the app's detectors: ByteTrack's four-sequence optimum lets YOLOX-Nano's
many confident false positives start tracks (on TUD-Campus, MOTA 0.67 -> 0.40, IDF1
0.80 -> 0.58), BoT-SORT's starts too few (MOTA 0.35). So
:mod:`pipeline.evaluation.tune_trackers` only considers settings that keep the two real
detectors of ``tests/test_tracking.py`` at the floors that file holds the default tracker
to: YOLOX-Nano run on the TUD-Campus clip (persons, score >= 0.3) and the Faster R-CNN
detections of TUD-Campus, both tracked and scored with motmetrics as those tests do.
Tuning on Faster R-CNN's probabilities of four sequences (``--detections det_frcnn.txt``)
needs the guard too: the YOLOX-Nano case scores from 0.3, under every Faster R-CNN score
(0.5 and up), so only the guard sees how a setting treats a light detector's weak boxes.
:mod:`pipeline.evaluation.compare_trackers` holds the default tracker to the floors
themselves (:func:`own_floors`).

A floor that a tracker reaches at no setting of its grid (SORT, with no second
association round, keeps YOLOX-Nano's IDF1 under 0.74) is lowered for that tracker to
:data:`GUARD_SLACK` under the best it reaches: as close to the app's floors as it can get.

Example:
    cases = build_guard(assets, work_dir)
    check("bytetrack", {"minimum_iou_threshold": 0.3}, cases)
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.evaluation.mot import score_mot, track_detections_file
from pipeline.evaluation.mot_sequences import FRCNN_DETECTIONS, MotSequence, read_sequence

#: How far under the best a tracker reaches an unreachable floor is set (MOTA, IDF1).
GUARD_SLACK = 0.01
#: YOLOX-Nano's score threshold and class, as in ``tests/test_tracking.py``.
YOLOX_CONFIDENCE = 0.3
YOLOX_QUERY = "person"


@dataclass(frozen=True)
class GuardCase:
    """Real detections of TUD-Campus (scores in 0..1) and the floors their tracks must reach.

    Attributes:
        name: The detector.
        detections: Its MOTChallenge detections file.
        sequence: TUD-Campus (ground truth, frame rate, length).
        min_mota: Least MOTA (motmetrics, IoU 0.5).
        min_idf1: Least IDF1.
    """

    name: str
    detections: Path
    sequence: MotSequence
    min_mota: float
    min_idf1: float


def build_guard(assets: Path, work_dir: Path) -> list[GuardCase]:
    """The guard's detections: Faster R-CNN's file, and YOLOX-Nano run on the clip now.

    Args:
        assets: The shared assets folder (``mot/TUD-Campus``, ``video/tud_campus.mp4``).
        work_dir: Where YOLOX-Nano's detections file is written.

    Returns:
        One case per detector, with the floors of ``tests/test_tracking.py``
        (``test_track_command_on_tud_campus_frcnn`` and
        ``test_yolox_nano_detects_and_tracks_tud_campus``).

    Raises:
        FileNotFoundError: The clip or the Faster R-CNN file is missing.
    """
    import models
    from pipeline.io.video import iter_frames

    sequence = read_sequence(assets / "mot" / "TUD-Campus")
    frcnn = sequence.folder / FRCNN_DETECTIONS
    video = assets / "video" / "tud_campus.mp4"
    for path in (frcnn, video):
        if not path.is_file():
            raise FileNotFoundError(f"the tracker guard needs {path}")
    detector = models.create("detector", "yolox_nano", device="cpu")
    yolox = Path(work_dir) / "yolox_nano_tud_campus.txt"
    with open(yolox, "w", encoding="utf-8") as handle:
        for frame in iter_frames(video):
            found = detector.detect([frame.image], confidence=YOLOX_CONFIDENCE, queries=YOLOX_QUERY)
            for (x1, y1, x2, y2), score in zip(found[0].xyxy, found[0].confidence, strict=True):
                # Frame k of the clip (from 0) is MOT frame k + 1; MOT pixels are 1-based.
                handle.write(
                    f"{frame.index + 1},-1,{x1 + 1:.2f},{y1 + 1:.2f},{x2 - x1:.2f},"
                    f"{y2 - y1:.2f},{score:.4f},-1,-1,-1\n"
                )
    return [
        GuardCase("yolox_nano", yolox, sequence, min_mota=0.64, min_idf1=0.75),
        GuardCase("faster_rcnn", frcnn, sequence, min_mota=0.56, min_idf1=0.58),
    ]


def check(
    tracker: str, params: Mapping[str, Any], cases: Sequence[GuardCase]
) -> dict[str, dict[str, float]]:
    """Track each case's detections with one setting and score the tracks.

    Args:
        tracker: A tracker name.
        params: Overrides of its defaults.
        cases: From :func:`build_guard`.

    Returns:
        Per case: ``mota`` and ``idf1`` (motmetrics, IoU 0.5).
    """
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="tracker-guard-") as out:
        for case in cases:
            result = Path(out) / f"{case.name}.txt"
            track_detections_file(
                case.detections,
                result,
                fps=case.sequence.fps,
                num_frames=case.sequence.length,
                tracker=tracker,
                params=params,
            )
            scores = score_mot(case.sequence.gt, result)
            results[case.name] = {"mota": scores["mota"], "idf1": scores["idf1"]}
    return results


def own_floors(cases: Sequence[GuardCase]) -> dict[str, dict[str, float]]:
    """The floors of ``tests/test_tracking.py`` themselves, never lowered: the default's.

    The default tracker is held to these by those tests, so a tracker that misses one
    of them cannot be the default.

    Args:
        cases: The guard's cases.

    Returns:
        Per case, its ``mota`` and ``idf1`` floors.
    """
    return {case.name: {"mota": case.min_mota, "idf1": case.min_idf1} for case in cases}


def floors(
    cases: Sequence[GuardCase], results: Sequence[Mapping[str, Mapping[str, float]]]
) -> dict[str, dict[str, float]]:
    """The floors one tracker is held to, given :func:`check`'s results for its whole grid.

    Args:
        cases: The guard's cases.
        results: One :func:`check` result per setting of the tracker's grid.

    Returns:
        Per case, ``mota`` and ``idf1`` floors: the case's own where some setting
        reaches it, else :data:`GUARD_SLACK` under the best the grid reaches.
    """
    held: dict[str, dict[str, float]] = {}
    for case in cases:
        held[case.name] = {}
        for metric, floor in own_floors([case])[case.name].items():
            best = max(result[case.name][metric] for result in results)
            held[case.name][metric] = floor if best >= floor else best - GUARD_SLACK
    return held


def passes(
    result: Mapping[str, Mapping[str, float]], held: Mapping[str, Mapping[str, float]]
) -> bool:
    """Whether one :func:`check` result reaches every floor of :func:`floors`."""
    return all(
        result[name][metric] >= floor
        for name, metrics in held.items()
        for metric, floor in metrics.items()
    )
