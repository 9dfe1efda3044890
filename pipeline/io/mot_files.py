"""MOTChallenge text files: reading detections and ground truth, writing tracks.

A MOTChallenge row is ``frame,id,x,y,w,h,conf,...`` with 1-based frame numbers and, by the
benchmark's MATLAB convention, 1-based pixel coordinates (motmetrics subtracts 1 from x and y
when it loads a file). This module converts at the file boundary: detections in memory use
0-based ``xyxy`` pixels like every detector and ``supervision``, so a file read and written
again keeps its coordinates, and boxes from a detector line up with a ground-truth file.

Tracking such a file and scoring the result live in :mod:`pipeline.evaluation.mot`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import TextIO

import numpy as np
import supervision as sv

from pipeline.errors import FileFormatError, quoted
from pipeline.io.video_limits import DEFAULT_MAX_VIDEO_FRAMES

StrPath = str | PathLike[str]

_SEPARATOR = re.compile(r"[,\s]+")


def read_mot_rows(path: StrPath) -> np.ndarray:
    """Read the first seven columns of a MOTChallenge file as they are written.

    Args:
        path: A ``det.txt``, ``gt.txt`` or tracker result file (comma or whitespace
            separated).

    Returns:
        Float array of shape (N, 7): ``frame, id, x, y, w, h, conf`` with the file's own
        conventions (1-based frames and pixels). ``conf`` is 1 where a file has only six
        columns.

    Raises:
        FileFormatError: Not UTF-8 text, or a non-empty line with fewer than six
            fields or one of its first seven not a finite number; the message
            names the file and the line.
        OSError: The file cannot be opened.
    """
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_number = data.count(b"\n", 0, exc.start) + 1
        raise FileFormatError(
            f"{path}:{line_number}: not UTF-8 text; a MOTChallenge file is lines of numbers."
        ) from None
    rows: list[list[float]] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        fields = _SEPARATOR.split(line)
        if len(fields) < 6:
            raise FileFormatError(
                f"{path}:{line_number}: expected at least 6 MOTChallenge columns "
                f"(frame,id,x,y,w,h[,conf]), got {len(fields)}."
            )
        values = [_number(field, path, line_number) for field in fields[:7]]
        if len(values) == 6:
            values.append(1.0)
        rows.append(values)
    if not rows:
        return np.zeros((0, 7), dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)


def _number(field: str, path: StrPath, line_number: int) -> float:
    try:
        value = float(field)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise FileFormatError(f"{path}:{line_number}: {quoted(field)} is not a finite number.")
    return value


def rows_to_detections(rows: np.ndarray) -> sv.Detections:
    """Turn MOTChallenge rows of one frame into detections.

    Args:
        rows: Array of shape (N, 7) as returned by :func:`read_mot_rows`.

    Returns:
        Detections with 0-based ``xyxy`` and ``confidence``; ``tracker_id`` holds the
        file's ids when every row has one (ground truth, tracker results) and is None
        for detection files, whose id column is -1.
    """
    xywh = rows[:, 2:6].copy()
    xywh[:, :2] -= 1.0  # 1-based MOT pixels to 0-based
    ids = rows[:, 1].astype(int)
    return sv.Detections(
        xyxy=sv.xywh_to_xyxy(xywh) if len(rows) else np.zeros((0, 4), dtype=np.float64),
        confidence=rows[:, 6].astype(np.float32),
        tracker_id=ids if len(ids) and bool(np.all(ids >= 0)) else None,
    )


def read_mot_detections(
    path: StrPath, min_score: float | None = None, *, num_frames: int | None = None
) -> dict[int, sv.Detections]:
    r"""Read a MOTChallenge detection (or ground-truth) file, frame by frame.

    Args:
        path: The file, ``frame,id,x,y,w,h,conf,...`` per line.
        min_score: Drop rows whose confidence is below this value (scores are kept
            as in the file, which for MOT15's ACF ``det.txt`` are not in 0..1).
        num_frames: Length of the sequence, when known (``seqLength`` in
            ``seqinfo.ini``); trailing frames without rows are only present if given.

    Returns:
        A dict from 1-based frame number to that frame's detections, with one entry for
        every frame from 1 to the last frame (empty detections where a frame has no
        rows), in frame order.

    Example:
        >>> import tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> det = Path(folder.name) / "det.txt"
        >>> _ = det.write_text("1,-1,10,20,30,60,0.9,-1,-1,-1\n1,-1,99,20,30,60,0.2,-1,-1,-1\n")
        >>> read_mot_detections(det, min_score=0.5)[1].xyxy  # MOT's pixels count from 1
        array([[ 9., 19., 39., 79.]])
        >>> folder.cleanup()
    """
    rows = read_mot_rows(path)
    if min_score is not None:
        rows = rows[rows[:, 6] >= min_score]
    return mot_rows_by_frame(rows, num_frames=num_frames, source=path)


def mot_rows_by_frame(
    rows: np.ndarray, *, num_frames: int | None = None, source: StrPath = "rows"
) -> dict[int, sv.Detections]:
    """Group MOTChallenge rows into detections, frame by frame.

    Args:
        rows: Array of shape (N, 7) as returned by :func:`read_mot_rows` (possibly
            filtered, or with scores changed).
        num_frames: Length of the sequence, when known; trailing frames without rows
            are only present if given.
        source: Where the rows come from, named in errors.

    Returns:
        A dict from 1-based frame number to that frame's detections, with one entry for
        every frame from 1 to the last frame (empty detections where a frame has no
        rows), in frame order.

    Raises:
        FileFormatError: A frame number below 1, or past the longest video the app
            takes (:data:`pipeline.io.video_limits.DEFAULT_MAX_VIDEO_FRAMES`): every
            frame up to the last gets an entry.
    """
    if len(rows) and rows[:, 0].min() < 1:
        raise FileFormatError(f"{source}: MOTChallenge frame numbers start at 1.")
    if len(rows) and rows[:, 0].max() > DEFAULT_MAX_VIDEO_FRAMES:
        raise FileFormatError(
            f"{source}: frame {rows[:, 0].max():.0f} is past the longest video this app "
            f"takes ({DEFAULT_MAX_VIDEO_FRAMES} frames)."
        )
    frame_numbers = rows[:, 0].astype(int)
    last = int(frame_numbers.max()) if len(frame_numbers) else 0
    if num_frames is not None:
        last = max(last, num_frames)
    order = np.argsort(frame_numbers, kind="stable")
    rows, frame_numbers = rows[order], frame_numbers[order]
    starts = np.searchsorted(frame_numbers, np.arange(1, last + 2))
    return {
        frame: rows_to_detections(rows[starts[frame - 1] : starts[frame]])
        for frame in range(1, last + 1)
    }


class MotWriter:
    """Writes tracked detections to a MOTChallenge result file, one frame at a time.

    Rows are ``frame,id,x,y,w,h,conf,-1,-1,-1`` with 1-based frame numbers and pixels.
    Detections without a ``tracker_id`` (or with -1) are skipped: a result file holds
    tracks only.

    Args:
        path: File to create (parent folders are created; an existing file is replaced).

    Attributes:
        rows: Rows written so far.
        frames: Frames written so far (including frames with no rows).
        track_ids: The distinct track ids written so far.

    Example:
        >>> import tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> tracked = sv.Detections(
        ...     xyxy=np.array([[10.0, 20.0, 40.0, 80.0]]), confidence=np.array([0.9]),
        ...     tracker_id=np.array([1]),
        ... )
        >>> with MotWriter(Path(folder.name) / "result.txt") as writer:
        ...     writer.write(0, tracked)  # frame 0, written as MOT's frame 1
        1
        >>> print((Path(folder.name) / "result.txt").read_text(), end="")
        1,1,11.00,21.00,30.00,60.00,0.9000,-1,-1,-1
        >>> folder.cleanup()
    """

    def __init__(self, path: StrPath) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        self.rows = 0
        self.frames = 0
        self.track_ids: set[int] = set()

    def write(self, frame_index0: int, detections: sv.Detections) -> int:
        """Append one frame's tracks.

        Args:
            frame_index0: 0-based index of the frame in the video (written as
                ``frame_index0 + 1``).
            detections: Tracked detections of that frame.

        Returns:
            The number of rows written for this frame.

        Raises:
            ValueError: The writer is closed or ``frame_index0`` is negative.
        """
        if self._file is None:
            raise ValueError(f"MotWriter for {self.path} is closed")
        if frame_index0 < 0:
            raise ValueError(f"frame_index0 must be >= 0, got {frame_index0}")
        self.frames += 1
        if len(detections) == 0 or detections.tracker_id is None:
            return 0
        ids = np.asarray(detections.tracker_id, dtype=int)
        confidence = (
            np.full(len(detections), -1.0)
            if detections.confidence is None
            else np.asarray(detections.confidence, dtype=np.float64)
        )
        xyxy = np.asarray(detections.xyxy, dtype=np.float64)
        lines = []
        for i in np.argsort(ids, kind="stable"):
            if ids[i] < 0:
                continue
            x1, y1, x2, y2 = xyxy[i]
            lines.append(
                f"{frame_index0 + 1},{ids[i]},{x1 + 1:.2f},{y1 + 1:.2f},"
                f"{x2 - x1:.2f},{y2 - y1:.2f},{confidence[i]:.4f},-1,-1,-1\n"
            )
            self.track_ids.add(int(ids[i]))
        self._file.writelines(lines)
        self.rows += len(lines)
        return len(lines)

    def close(self) -> None:
        """Flush and close the file; further writes raise."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def abort(self) -> None:
        """Close the file of a run that did not finish (the caller removes it)."""
        self.close()

    def __enter__(self) -> MotWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def write_mot_results(
    tracks: Mapping[int, sv.Detections] | Iterable[tuple[int, sv.Detections]],
    path: StrPath,
) -> int:
    """Write a whole sequence of tracked detections to a MOTChallenge result file.

    Args:
        tracks: ``(frame_index0, detections)`` pairs, or a mapping of the same, with
            0-based frame indices as in :meth:`MotWriter.write` (the keys of
            :func:`read_mot_detections` are 1-based: subtract one).
        path: File to create.

    Returns:
        The number of rows written.
    """
    items = tracks.items() if isinstance(tracks, Mapping) else tracks
    with MotWriter(path) as writer:
        for frame_index0, detections in items:
            writer.write(frame_index0, detections)
    return writer.rows
