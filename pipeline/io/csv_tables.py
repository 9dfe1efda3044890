"""The detection run's CSV exports: one row per object per frame, and one row per track.

Both are for spreadsheets and pandas: plain columns, seconds from the frames'
own timestamps, one header line. The per-track table reads the same
:class:`~pipeline.stages.track_ledger.TrackLedger` and
:class:`~pipeline.stages.counting.CountingStage` as the run's summary, so the
three agree.

Example:
    import pandas as pd
    tracks = pd.read_csv("tracks.csv")
    tracks.groupby("class")["door in"].sum()
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

import supervision as sv

from pipeline.io.tracks_json import frame_objects
from pipeline.stages.counting import CountingStage
from pipeline.stages.speed import SpeedStage
from pipeline.stages.track_ledger import TrackLedger

#: The per-frame table's columns (``depth`` only when depth is measured).
OBJECT_COLUMNS = ("frame", "time_s", "track_id", "class", "score", "x1", "y1", "x2", "y2")
#: The per-track table's first columns; then ``<line> in``, ``<line> out`` per line,
#: ``<zone> seconds`` per zone, ``median_depth`` when depth is measured, and the
#: speed columns (:meth:`SpeedStage.columns`) when speed is measured.
TRACK_COLUMNS = (
    "track_id", "class", "first_frame", "last_frame", "first_time_s", "last_time_s",
    "frames_seen", "mean_score", "crossings",
)  # fmt: skip


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


class ObjectsCsvWriter:
    """Streams one row per tracked object per frame.

    Args:
        path: The ``.csv`` file.
        with_depth: Add a ``depth`` column (the run measures depth).
        with_predicted: Add a ``predicted`` column, 1 on boxes the tracker
            predicted between detected frames (the run has a detection stride).
    """

    def __init__(self, path: str | Path, *, with_depth: bool, with_predicted: bool = False) -> None:
        self.path = Path(path)
        self.with_depth = with_depth
        self.with_predicted = with_predicted
        self._file: TextIO = self.path.open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file)
        self._csv.writerow(
            OBJECT_COLUMNS
            + (("depth",) if with_depth else ())
            + (("predicted",) if with_predicted else ())
        )

    def write(self, frame_index: int, timestamp: float, detections: sv.Detections) -> None:
        """Append one frame's objects (call once per frame, in order)."""
        for obj in frame_objects(detections):
            row = [frame_index, f"{timestamp:.4f}", obj["track_id"], obj["class"],
                   _number(obj["score"], 4), *obj["box"]]  # fmt: skip
            if self.with_depth:
                row.append(obj.get("depth", ""))
            if self.with_predicted:
                row.append(int(obj.get("predicted", False)))
            self._csv.writerow(row)

    def close(self) -> None:
        """Finish the file."""
        self._file.close()

    def abort(self) -> None:
        """Close the file unfinished (the caller removes it)."""
        self._file.close()


class TracksCsvWriter:
    """Writes one row per track when the run ends, from the run's ledger and counts.

    Args:
        path: The ``.csv`` file (created now, so a bad path fails before the run).
        ledger: The run's track ledger.
        counting: The run's counting stage (its lines and zones give columns).
        with_depth: Add a ``median_depth`` column (the run measures depth).
        speed: The run's speed stage: adds each track's mean and highest
            speed (px/s, and km/h with a speed area); None: not measured.
    """

    def __init__(
        self,
        path: str | Path,
        ledger: TrackLedger,
        counting: CountingStage,
        *,
        with_depth: bool,
        speed: SpeedStage | None = None,
    ) -> None:
        self.path = Path(path)
        self.ledger = ledger
        self.counting = counting
        self.with_depth = with_depth
        self.speed = speed
        self._file: TextIO = self.path.open("w", encoding="utf-8", newline="")

    def columns(self) -> list[str]:
        """The header: :data:`TRACK_COLUMNS`, then a column per line direction and zone."""
        columns = list(TRACK_COLUMNS)
        for line in self.counting.lines:
            columns += [f"{line.name} in", f"{line.name} out"]
        columns += [f"{zone.name} seconds" for zone in self.counting.zones]
        columns += ["median_depth"] if self.with_depth else []
        return columns + (self.speed.columns() if self.speed is not None else [])

    def close(self) -> None:
        """Write every track's row and finish the file."""
        table = csv.writer(self._file)
        table.writerow(self.columns())
        for track_id, record in self.ledger.records.items():
            crossings = self.counting.crossings.get(track_id, [])
            row: list[object] = [
                track_id, record.class_name, record.first_frame, record.last_frame,
                f"{record.first_time:.4f}", f"{record.last_time:.4f}", record.frames_seen,
                f"{record.mean_score:.4f}",
                " ".join(f"{line}:{direction}" for line, direction in crossings),
            ]  # fmt: skip
            for line in self.counting.lines:
                row += [crossings.count((line.name, d)) for d in ("in", "out")]
            for zone in self.counting.zones:
                seconds = self.counting.seconds_in_zone[zone.name].get(track_id, 0.0)
                row.append(f"{seconds:.3f}")
            if self.with_depth:
                row.append(_number(record.median_depth, 4))
            if self.speed is not None:
                row += [_number(v, 2) for v in self.speed.track_columns(track_id).values()]
            table.writerow(row)
        self._file.close()

    def abort(self) -> None:
        """Close the file unfinished (the caller removes it)."""
        self._file.close()
