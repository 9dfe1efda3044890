"""The per-frame tracks file (JSON), written incrementally so memory stays flat."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME
from pipeline.io.rle import encode
from pipeline.io.video import VideoInfo
from pipeline.stages.annotation import DEPTH, SPEED_KMH, SPEED_PX_S
from pipeline.stages.tracking import PREDICTED


def frame_objects(detections: sv.Detections) -> list[dict[str, Any]]:
    """The JSON objects of one frame's tracked detections.

    Args:
        detections: Tracked detections (``tracker_id`` set).

    Returns:
        ``[{"track_id", "class", "score", "box": [x1, y1, x2, y2]}, ...]`` plus
        ``"depth"`` where measured, ``"speed_px_s"`` and ``"speed_kmh"`` where
        measured (null until a track has moved for a frame), and ``"predicted": true``
        on boxes the tracker predicted on a frame the detector skipped.
    """
    objects = []
    names = detections.data.get(CLASS_NAME)
    depths = detections.data.get(DEPTH)
    predicted = detections.data.get(PREDICTED)
    speeds = {
        key: detections.data[key] for key in (SPEED_PX_S, SPEED_KMH) if key in detections.data
    }
    for i in range(len(detections)):
        obj: dict[str, Any] = {
            "track_id": None if detections.tracker_id is None else int(detections.tracker_id[i]),
            "class": str(names[i]) if names is not None else None,
            "score": round(float(detections.confidence[i]), 4)
            if detections.confidence is not None
            else None,
            "box": [round(float(v), 2) for v in detections.xyxy[i]],
        }
        if depths is not None:
            obj["depth"] = round(float(depths[i]), 4)
        for key, values in speeds.items():
            value = float(values[i])
            obj[key] = round(value, 2) if np.isfinite(value) else None
        if predicted is not None and predicted[i]:
            obj[PREDICTED] = True
        objects.append(obj)
    return objects


class TracksWriter:
    """Streams ``{"frames": [...], "video": ..., "model": ...}`` to a file, valid JSON throughout.

    After each frame the file ends with its closing keys (the frame count so
    far), which the next frame overwrites: whenever a frame has been written,
    the file is a whole JSON document, so a run that crashes or is killed
    leaves valid tracks of every frame it wrote. Each frame's record is one
    line (frame ``k`` is line ``k + 1``), for :func:`read_frame_record`.

    Args:
        path: Output ``.json`` file.
        video: The input video; the file records its frame rate and size, and
            the frames actually written.
        model: What produced the detections.
        objects: Turns one frame's detections into its JSON objects (the
            segmentation run adds mask areas and RLE masks).
        counting: The counting lines and zones, recorded as ``"counting"``
            (:func:`pipeline.stages.counting.to_json`); None: not counting.
    """

    def __init__(
        self,
        path: str | Path,
        video: VideoInfo,
        model: dict[str, Any],
        objects: Callable[[sv.Detections], list[dict[str, Any]]] = frame_objects,
        *,
        counting: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.objects = objects
        self.video = {"fps": video.fps, "width": video.width, "height": video.height, "frames": 0}
        self.model = model
        self.counting = counting
        self.frames = 0
        self._file: BinaryIO = self.path.open("wb")
        self._file.write(b'{"frames": [\n')
        self._records_end = self._file.tell()
        self._finish()

    def _finish(self) -> None:
        """Write the closing keys after the last record (replacing the previous ones)."""
        self.video["frames"] = self.frames
        tail = ["\n],\n", f'"video": {json.dumps(self.video)},\n']
        if self.counting is not None:
            tail.append(f'"counting": {json.dumps(self.counting)},\n')
        tail.append(f'"model": {json.dumps(self.model)}\n}}\n')
        self._file.seek(self._records_end)
        self._file.truncate()
        self._file.write("".join(tail).encode())
        # At once, so the file can be read (and is whole) while the run goes on.
        self._file.flush()

    def write(
        self,
        frame_index: int,
        timestamp: float,
        detections: sv.Detections,
        events: list[dict[str, Any]] | None = None,
    ) -> None:
        """Append one frame's entry (call once per decoded frame, in order).

        Args:
            frame_index: The frame, from 0.
            timestamp: Its time in seconds.
            detections: Its objects.
            events: Its counting events (line crossings, zone entries and
                exits), recorded as ``"events"``; None when not counting.
        """
        entry: dict[str, Any] = {
            "frame": frame_index,
            "time": round(timestamp, 4),
            "objects": self.objects(detections),
        }
        if events is not None:
            entry["events"] = events
        record = json.dumps(entry, separators=(",", ":"))
        self._file.seek(self._records_end)
        self._file.write(((",\n" if self.frames else "") + record).encode())
        self._records_end = self._file.tell()
        self.frames += 1
        self._finish()

    def close(self) -> None:
        """Finish the file (its closing keys are already there)."""
        self._file.close()

    def abort(self) -> None:
        """Close the file as it is (the caller removes it)."""
        self._file.close()


def segment_objects(detections: sv.Detections) -> list[dict[str, Any]]:
    """The JSON objects of one frame: the tracks fields plus ``area`` and ``mask``.

    Args:
        detections: Followed objects with ``mask`` and ``tracker_id``.

    Returns:
        ``[{"track_id", "class", "score", "box", "area", "mask": {"size", "counts"}}, ...]``;
        ``mask`` is COCO RLE (:mod:`pipeline.io.rle`), ``area`` its pixel count.
    """
    objects = frame_objects(detections)
    if detections.mask is not None:
        for obj, mask in zip(objects, detections.mask, strict=True):
            obj["area"] = int(np.count_nonzero(mask))
            obj["mask"] = encode(mask)
    return objects


def read_frame_record(path: str | Path, frame_index: int) -> dict[str, Any] | None:
    """One frame's record from a tracks or masks file, finished or still being written.

    :class:`TracksWriter` writes one record per line, in frame order, right
    after the opening line, so frame ``k`` is line ``k + 1``.

    Args:
        path: The file.
        frame_index: The frame, from 0.

    Returns:
        ``{"frame", "time", "objects"}``, or None when the file holds no such frame (yet).
    """
    if frame_index < 0:
        return None
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number == frame_index + 1:
                text = line.rstrip().removesuffix(",")
                if not text.startswith("{"):
                    return None  # past the last record: the closing lines
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    return None  # the line is being written
    return None
