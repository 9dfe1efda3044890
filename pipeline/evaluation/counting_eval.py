"""How close the app's counts come to the crossings of ground-truth trajectories.

``python -m pipeline.evaluation.counting_eval`` tracks every MOT15 sequence in
``../shared/assets/mot`` as ``pipeline track`` does (its ``det_frcnn.txt``, Faster R-CNN
detections with scores in 0..1) and ``tud_campus.mp4`` with the real YOLOX-Nano as a
Detection run does, then feeds the tracks, frame by frame, through the app's own
:class:`pipeline.stages.counting.CountingStage`. Each sequence gets six lines across the
whole frame (vertical and horizontal, at a quarter, half and three quarters) and two zones.
The ground truth is counted on ``gt.txt``'s trajectories: a **crossing** is a change of side
of the rule's anchor point between two consecutive observations of one ground-truth id, in
the direction the app names it; a zone **entry** is an observation inside (by the bottom
centre, as the app's zones) after one outside. It prints per sequence and line the app's counts
and the ground truth's, and the total absolute error as a share of the ground-truth
crossings and entries.

Example (the app's rule, then several rules side by side)::

    python -m pipeline.evaluation.counting_eval
    python -m pipeline.evaluation.counting_eval --rule corners/2/forget --rule bottom_center/3
"""

from __future__ import annotations

import argparse
import configparser
import json
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME
from pipeline.evaluation.mot import track_detections_file
from pipeline.evaluation.mot_sequences import (
    MOT15_SEQUENCES,
    MotSequence,
    default_mot_root,
    find_sequences,
)
from pipeline.io.mot_files import read_mot_detections, read_mot_rows, rows_to_detections
from pipeline.stages.counting import (
    CROSSING_ANCHORS,
    CROSSING_RULE,
    CountingLine,
    CountingStage,
    CountingZone,
    CrossingRule,
)
from pipeline.stages.tracker_registry import DEFAULT_TRACKER

#: The class every MOT15 object is counted as (the sequences box pedestrians only).
PERSON = "person"
#: Detections of this file are tracked (Faster R-CNN, scores in 0..1).
DETECTIONS_FILE = "det_frcnn.txt"
#: The clip of TUD-Campus, run through the real YOLOX-Nano.
VIDEO_SEQUENCE = "TUD-Campus"
VIDEO_DETECTOR = "yolox_nano"
#: Its runtime, fixed: ``auto`` picks the fastest by timing, and on a loaded machine that
#: can be the int8 model, whose detections differ (268 tracked boxes against 294).
VIDEO_RUNTIME = "onnxruntime"
#: Where the lines go across the frame, as shares of its width or height.
LINE_FRACTIONS = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Source:
    """One sequence's tracks and ground truth, frame by frame.

    Attributes:
        name: The sequence and how it was tracked, e.g. ``TUD-Campus (det_frcnn)``.
        width: Frame width in pixels.
        height: Frame height in pixels.
        fps: Frame rate.
        tracks: Per frame, the app's tracked detections (``tracker_id`` from 1).
        truth: Per frame, the ground-truth boxes (``tracker_id``: the gt id).
    """

    name: str
    width: int
    height: int
    fps: float
    tracks: list[sv.Detections]
    truth: list[sv.Detections]


@dataclass
class Tally:
    """Counts of one line (``in``, ``out``) or one zone (``entries``)."""

    counts: dict[str, int] = field(default_factory=dict)

    def error(self, truth: Tally) -> int:
        """Absolute difference to ``truth``, summed over directions."""
        return sum(abs(self.counts.get(k, 0) - n) for k, n in truth.counts.items())


def frame_geometry(
    width: int, height: int
) -> tuple[tuple[CountingLine, ...], tuple[CountingZone, ...]]:
    """The lines and zones every sequence is counted on, for a ``width`` × ``height`` frame.

    Lines span the whole frame: ``v25``, ``v50``, ``v75`` are vertical (drawn top to
    bottom), ``h25``, ``h50``, ``h75`` horizontal (left to right). Zone ``centre`` is the
    middle half in both directions, ``lower_left`` the lower left quarter.
    """
    lines = []
    for share in LINE_FRACTIONS:
        x, y = round(width * share), round(height * share)
        percent = round(share * 100)
        lines.append(CountingLine(f"v{percent}", ((x, 0), (x, height))))
        lines.append(CountingLine(f"h{percent}", ((0, y), (width, y))))
    lines.sort(key=lambda line: line.name)
    w, h = width, height
    zones = (
        CountingZone("centre", ((w // 4, h // 4), (3 * w // 4, h // 4),
                                (3 * w // 4, 3 * h // 4), (w // 4, 3 * h // 4))),
        CountingZone("lower_left", ((0, h // 2), (w // 2, h // 2), (w // 2, h), (0, h))),
    )  # fmt: skip
    return tuple(lines), zones


def count_tracks(
    source: Source,
    lines: Sequence[CountingLine],
    zones: Sequence[CountingZone],
    rule: CrossingRule,
) -> dict[str, Tally]:
    """The app's counts: ``source.tracks`` through :class:`CountingStage`, frame by frame.

    Returns:
        Per line its ``in`` and ``out`` totals, per zone its ``entries``.
    """
    stage = CountingStage(tuple(lines), tuple(zones), rule, fps=source.fps)
    for index, detections in enumerate(source.tracks):
        stage.update(detections, index / source.fps)
    summary = stage.summary()
    tallies = {
        name: Tally({"in": counts["in_total"], "out": counts["out_total"]})
        for name, counts in summary["lines"].items()
    }
    tallies.update(
        {name: Tally({"entries": zone["entries_total"]}) for name, zone in summary["zones"].items()}
    )
    return tallies


def truth_anchor(rule: CrossingRule) -> str:
    """The anchor the ground truth is counted with for ``rule``.

    A one-point rule is compared with the crossings of that same point; the four-corner
    rule stands for the box as a whole, whose crossing is that of its centre.
    """
    return rule.anchor if len(CROSSING_ANCHORS[rule.anchor]) == 1 else "center"


def truth_sides(
    source: Source,
    lines: Sequence[CountingLine],
    zones: Sequence[CountingZone],
    anchor: str,
) -> dict[str, list[np.ndarray]]:
    """Per line and zone, per ground-truth id, its side at each observation, in order.

    A line's side is True on the side ``in`` leads to; a zone's is True inside. Zones use
    the same point the app's zones use (``PolygonZone``'s, the bottom centre) and its own
    inside test.
    """
    position = CROSSING_ANCHORS[anchor][0]
    # Per gt id, its anchor at each observation, in frame order.
    paths: dict[int, list[np.ndarray]] = {}
    inside: dict[str, dict[int, list[bool]]] = {zone.name: {} for zone in zones}
    polygons = {zone.name: sv.PolygonZone(np.array(zone.points, dtype=np.int64)) for zone in zones}
    for detections in source.truth:
        if not len(detections):
            continue
        points = detections.get_anchors_coordinates(position)
        masks = {name: polygon.trigger(detections) for name, polygon in polygons.items()}
        for row, track_id in enumerate(detections.tracker_id):
            paths.setdefault(int(track_id), []).append(points[row])
            for name, mask in masks.items():
                inside[name].setdefault(int(track_id), []).append(bool(mask[row]))
    sides: dict[str, list[np.ndarray]] = {}
    for line in lines:
        (x1, y1), (x2, y2) = line.points
        xys = [np.asarray(path, dtype=float) for path in paths.values()]
        # LineZone's sign: a negative cross product is the side "in" leads to.
        sides[line.name] = [
            (x2 - x1) * (xy[:, 1] - y1) - (y2 - y1) * (xy[:, 0] - x1) < 0 for xy in xys
        ]
    for zone in zones:
        sides[zone.name] = [np.asarray(states) for states in inside[zone.name].values()]
    return sides


def count_truth(
    source: Source,
    lines: Sequence[CountingLine],
    zones: Sequence[CountingZone],
    anchor: str,
) -> dict[str, Tally]:
    """The ground truth's crossings and entries, by definition (module docstring)."""
    tallies: dict[str, Tally] = {}
    zone_names = {zone.name for zone in zones}
    for name, paths in truth_sides(source, lines, zones, anchor).items():
        ins = sum(int(np.sum(~side[:-1] & side[1:])) for side in paths)
        if name in zone_names:
            tallies[name] = Tally({"entries": ins})
        else:
            outs = sum(int(np.sum(side[:-1] & ~side[1:])) for side in paths)
            tallies[name] = Tally({"in": ins, "out": outs})
    return tallies


def short_stay_crossings(side: np.ndarray, min_frames: int, entries_only: bool = False) -> int:
    """Crossings of one path into, and back out of, stays too short for the rule.

    A stay on a new side of fewer than ``min_frames`` observations is a touch-and-return,
    or a crossing in the path's last ``min_frames - 1`` observations: a rule that waits
    ``min_frames`` observations on the new side counts neither the crossing into it nor
    the one back, by design, while the ground truth counts both. The first observation
    sets the side, as the rule's does.

    Args:
        side: The path's side at each observation.
        min_frames: The rule's observations on the new side.
        entries_only: Count only crossings to True (a zone's entries).

    Example:
        >>> short_stay_crossings(np.array([0, 0, 1, 0, 0, 1, 1, 1], bool), 3)
        2
    """
    changes = np.flatnonzero(side[1:] != side[:-1]) + 1
    starts = np.concatenate(([0], changes))
    lengths = np.diff(np.concatenate((starts, [len(side)])))
    confirmed, short = bool(side[0]), 0
    for k in range(1, len(starts)):
        value = bool(side[starts[k]])
        if value == confirmed:  # the return from an excursion, counted with it
            continue
        if lengths[k] >= min_frames:
            confirmed = value
            continue
        # A short excursion: the crossing into it and, if the path goes on, back out.
        short += int(value or not entries_only)
        if k + 1 < len(starts):
            short += int(confirmed or not entries_only)
    return short


# --- sources ---------------------------------------------------------------------------


def _frame_size(sequence: MotSequence) -> tuple[int, int]:
    parser = configparser.ConfigParser()
    parser.read(sequence.folder / "seqinfo.ini", encoding="utf-8")
    return int(parser["Sequence"]["imWidth"]), int(parser["Sequence"]["imHeight"])


def read_truth(sequence: MotSequence) -> list[sv.Detections]:
    """``gt.txt`` per frame, without the rows it marks as ignored (confidence 0)."""
    rows = read_mot_rows(sequence.gt)
    rows = rows[rows[:, 6] > 0]
    frames = rows[:, 0].astype(int)
    return [rows_to_detections(rows[frames == f]) for f in range(1, sequence.length + 1)]


def _as_people(detections: sv.Detections) -> sv.Detections:
    detections.class_id = np.zeros(len(detections), dtype=int)
    detections.data[CLASS_NAME] = np.array([PERSON] * len(detections), dtype=object)
    return detections


def mot_source(sequence: MotSequence, folder: Path, tracker: str = DEFAULT_TRACKER) -> Source:
    """The sequence's ``det_frcnn.txt`` tracked as ``pipeline track`` tracks it.

    Args:
        sequence: The sequence.
        folder: Where the tracker's result file is written.
        tracker: The tracker, at its defaults.
    """
    result = folder / f"{sequence.name}.txt"
    track_detections_file(
        sequence.folder / DETECTIONS_FILE,
        result,
        fps=sequence.fps,
        num_frames=sequence.length,
        tracker=tracker,
    )
    frames = read_mot_detections(result, num_frames=sequence.length)
    width, height = _frame_size(sequence)
    return Source(
        name=f"{sequence.name} ({Path(DETECTIONS_FILE).stem})",
        width=width,
        height=height,
        fps=sequence.fps,
        tracks=[_as_people(frames[f]) for f in range(1, sequence.length + 1)],
        truth=read_truth(sequence),
    )


def video_source(
    video: Path, sequence: MotSequence, folder: Path, tracker: str = DEFAULT_TRACKER
) -> Source:
    """``video`` (the clip of ``sequence``) through a Detection run with the real YOLOX-Nano.

    The run is the app's own (detector, tracker at its defaults); its tracks JSON holds
    the tracked objects of every frame, exactly as the run fed them to its counting.
    """
    from pipeline import output_paths, start
    from pipeline.configs import DetectionConfig
    from pipeline.runtime.events import Done

    config = DetectionConfig(
        detector=VIDEO_DETECTOR, queries=(PERSON,), tracker=tracker, runtime=VIDEO_RUNTIME
    )
    outputs = output_paths("detection", folder / "video", config)
    *_, done = start(video, config, outputs)
    if not isinstance(done, Done):
        raise RuntimeError(f"the {VIDEO_DETECTOR} run on {video} did not finish")
    data = json.loads(Path(outputs["tracks"]).read_text())
    tracks = [_json_detections(frame["objects"]) for frame in data["frames"]]
    return Source(
        name=f"{sequence.name} ({VIDEO_DETECTOR})",
        width=int(data["video"]["width"]),
        height=int(data["video"]["height"]),
        fps=float(data["video"]["fps"]),
        tracks=tracks,
        truth=read_truth(sequence),
    )


def as_perfect_tracks(source: Source) -> Source:
    """``source`` with the ground truth's own boxes and ids as its tracks.

    Counted on these, a rule's error is what the rule itself loses, whatever the
    detector and the tracker do.
    """
    return replace(
        source, name=f"{source.name} as gt", tracks=[_as_people(d[:]) for d in source.truth]
    )


def _json_detections(objects: list[dict]) -> sv.Detections:
    if not objects:
        return _as_people(sv.Detections.empty())
    detections = sv.Detections(
        xyxy=np.array([o["box"] for o in objects], dtype=float),
        confidence=np.array([o["score"] for o in objects], dtype=float),
        tracker_id=np.array([o["track_id"] for o in objects], dtype=int),
    )
    detections = _as_people(detections)
    detections.data[CLASS_NAME] = np.array([o["class"] for o in objects], dtype=object)
    return detections


def load_sources(
    mot_root: Path,
    video: Path | None,
    names: Sequence[str],
    folder: Path,
    tracker: str = DEFAULT_TRACKER,
) -> list[Source]:
    """Every named sequence tracked from its detections, then the video when given."""
    sources = [mot_source(s, folder, tracker) for s in find_sequences(mot_root, names)]
    if video is not None:
        (sequence,) = find_sequences(mot_root, (VIDEO_SEQUENCE,))
        sources.append(video_source(video, sequence, folder, tracker))
    return sources


def short_stays(sources: Iterable[Source], rule: CrossingRule, anchor: str | None = None) -> int:
    """The ground truth's crossings and entries into or back out of too-short stays.

    Summed over every source, line and zone (:func:`short_stay_crossings`), with the
    ground truth counted by ``anchor`` (None: :func:`truth_anchor` of ``rule``).
    """
    total = 0
    for source in sources:
        lines, zones = frame_geometry(source.width, source.height)
        zone_names = {zone.name for zone in zones}
        sides = truth_sides(source, lines, zones, anchor or truth_anchor(rule))
        for name, paths in sides.items():
            total += sum(
                short_stay_crossings(
                    side, rule.frames_at(source.fps), entries_only=name in zone_names
                )
                for side in paths
            )
    return total


# --- the report -------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line or zone of one sequence: the app's counts, the ground truth's, the error."""

    sequence: str
    item: str
    found: Tally
    truth: Tally

    @property
    def error(self) -> int:
        """Absolute error, summed over directions."""
        return self.found.error(self.truth)

    @property
    def truth_total(self) -> int:
        """Ground-truth crossings (or entries)."""
        return sum(self.truth.counts.values())


def evaluate(
    sources: Iterable[Source],
    rule: CrossingRule,
    geometry: tuple[tuple[CountingLine, ...], tuple[CountingZone, ...]] | None = None,
    anchor: str | None = None,
) -> list[Row]:
    """Per sequence and line or zone, the app's counts and the ground truth's.

    Args:
        sources: The tracked sequences.
        rule: The crossing rule counted with.
        geometry: Lines and zones for every source; None: :func:`frame_geometry` of each.
        anchor: The ground truth's point; None: :func:`truth_anchor` of ``rule``.
    """
    rows = []
    for source in sources:
        lines, zones = geometry or frame_geometry(source.width, source.height)
        found = count_tracks(source, lines, zones, rule)
        truth = count_truth(source, lines, zones, anchor or truth_anchor(rule))
        rows += [Row(source.name, name, found[name], truth[name]) for name in truth]
    return rows


def _counts(tally: Tally) -> str:
    return "/".join(str(n) for n in tally.counts.values())


def report(rows: Sequence[Row], rule: CrossingRule, anchor: str | None = None) -> str:
    """The table and the total error, as printed."""
    out = [f"rule {rule.name} ({RULE_SYNTAX}); ground truth by "
           f"{anchor or truth_anchor(rule)}; lines in/out, zones entries"]  # fmt: skip
    out.append(f"{'sequence':<28} {'item':<11} {'app':>9} {'truth':>9} {'error':>6}")
    for row in rows:
        out.append(
            f"{row.sequence:<28} {row.item:<11} {_counts(row.found):>9} "
            f"{_counts(row.truth):>9} {row.error:>6}"
        )
    out.append(total_line(rows, rule))
    return "\n".join(out)


def total_line(rows: Sequence[Row], rule: CrossingRule) -> str:
    """``total error E of T ground-truth crossings = P %``, lines and zones together."""
    error, truth = sum(r.error for r in rows), sum(r.truth_total for r in rows)
    share = 100.0 * error / truth if truth else 0.0
    return (
        f"rule {rule.name}: total error {error} of {truth} ground-truth crossings = {share:.1f} %"
    )


#: How ``--rule`` is written, for its help and its errors.
RULE_SYNTAX = "ANCHOR/WAIT[/forget][/band=B][/swap=R]"


def parse_rule(text: str) -> CrossingRule:
    """A rule from its name, :data:`RULE_SYNTAX` (:attr:`CrossingRule.name`).

    WAIT is frames (``3``) or seconds (``0.15s``) on the new side. ``corners/2/forget``
    is the rule before; ``/band=0.05`` adds a hysteresis band of 5 % of the box height,
    ``/swap=1.8`` restarts a track whose box height jumps 1.8-fold.
    """
    anchor, _, rest = text.partition("/")
    wait, *options = rest.split("/")
    settings: dict[str, object] = {}
    try:
        if wait.endswith("s"):
            settings["min_seconds"] = float(wait[:-1])
        else:
            settings["min_frames"] = int(wait)
        for option in options:
            key, equals, value = option.partition("=")
            if option == "forget":
                settings["remember_unseen"] = False
            elif equals and key == "band":
                settings["band"] = float(value)
            elif equals and key == "swap":
                settings["swap_ratio"] = float(value)
            else:
                raise ValueError(f"unknown option {option!r}")
        return CrossingRule(anchor, **settings)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error} ({RULE_SYNTAX})") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the evaluation and print its tables; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.evaluation.counting_eval",
        description="The app's line and zone counts against ground-truth crossings.",
    )
    parser.add_argument("--mot-root", type=Path, default=default_mot_root())
    parser.add_argument(
        "--video",
        type=Path,
        default=default_mot_root().parent / "video" / "tud_campus.mp4",
        help=f"the {VIDEO_SEQUENCE} clip for {VIDEO_DETECTOR}",
    )
    parser.add_argument("--no-video", action="store_true", help=f"skip the {VIDEO_DETECTOR} run")
    parser.add_argument("--sequence", action="append", help="only these sequences (repeatable)")
    parser.add_argument("--tracker", default=DEFAULT_TRACKER, help="the tracker, at its defaults")
    parser.add_argument(
        "--rule",
        action="append",
        type=parse_rule,
        help=f"{RULE_SYNTAX}, anchors {', '.join(CROSSING_ANCHORS)}; WAIT: frames (3) or "
        "seconds (0.15s) on the new side; /forget: forget a track unseen for WAIT, "
        "as LineZone does; /band=B: a hysteresis "
        "band of B box heights each side of a line; /swap=R: a box whose height jumps R-fold "
        f"is another object (repeatable; default the app's, {CROSSING_RULE.name})",
    )
    parser.add_argument(
        "--truth-anchor",
        choices=[name for name, points in CROSSING_ANCHORS.items() if len(points) == 1],
        help="count the ground truth by this point for every rule (default: the rule's own)",
    )
    args = parser.parse_args(argv)
    names = tuple(args.sequence or MOT15_SEQUENCES)
    rules = args.rule or [CROSSING_RULE]
    video = None if args.no_video else args.video
    with tempfile.TemporaryDirectory() as folder:
        sources = load_sources(args.mot_root, video, names, Path(folder), args.tracker)
    perfect = [as_perfect_tracks(source) for source in sources]
    totals = []
    for rule in rules:
        rows = evaluate(sources, rule, anchor=args.truth_anchor)
        print(report(rows, rule, args.truth_anchor))
        own = total_line(evaluate(perfect, rule, anchor=args.truth_anchor), rule).split(": ", 1)[1]
        print(f"the rule alone, on the ground truth's own boxes as tracks: {own}")
        print(
            f"of which by design: {short_stays(sources, rule, args.truth_anchor)} ground-truth "
            f"crossings into or back out of stays shorter than the rule's wait "
            "(touch-and-returns, crossings at a track's end)",
            end="\n\n",
        )
        totals.append(f"{total_line(rows, rule)} (rule alone: {own.split(' = ')[1]})")
    if len(rules) > 1:
        print("\n".join(totals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
