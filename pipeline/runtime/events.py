"""Events a run yields; the UI, the CLI and the tests consume the same stream."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import supervision as sv

from models.prefetch import Download
from pipeline.runtime.summary import RunSummary

#: A model's weights being downloaded before the run loads it (the first event(s)
#: of a run whose weights are not cached yet): :class:`models.prefetch.Download`.
Downloading = Download


@dataclass(frozen=True)
class FirstFrame:
    """The first frame as the run shows it: the quick look before (or as) the run starts.

    Attributes:
        image: The annotated (or coloured) frame, BGR uint8.
        detections: What was found on it (empty for depth runs).
        depth_view: Its depth, coloured, when the run measures depth (BGR uint8).
    """

    image: np.ndarray
    detections: sv.Detections
    depth_view: np.ndarray | None = None


@dataclass(frozen=True)
class Progress:
    """How far the run is.

    Attributes:
        frame_index: Index of the last frame fully processed (0-based).
        total_frames: Frames expected (an estimate from the container; may be None).
        fps: Frames per second processed so far, end to end.
    """

    frame_index: int
    total_frames: int | None
    fps: float

    @property
    def fraction(self) -> float | None:
        """Completed fraction in [0, 1], when the total is known."""
        if not self.total_frames:
            return None
        return min(1.0, (self.frame_index + 1) / self.total_frames)


@dataclass(frozen=True)
class Preview:
    """A recent annotated frame, downscaled for display. Older ones were dropped."""

    frame_index: int
    image: np.ndarray


@dataclass(frozen=True)
class Done:
    """The run finished; its outputs are on disk. The last event of every kind of run.

    Attributes:
        outputs: Each written file by its name in the task's outputs, e.g.
            ``{"video": ..., "tracks": ..., "mot": ...}`` for detection,
            ``{"video": ..., "masks": ...}`` for segmentation; empty when the
            run was stopped before its first frame.
        summary: What the run did: frames, speed, timings, devices, model, and
            what its kind adds (tracks per class, depth ranges, windows...);
            its ``partial`` true when it was stopped before the end.
    """

    outputs: dict[str, Path]
    summary: RunSummary


Event = Downloading | FirstFrame | Progress | Preview | Done
