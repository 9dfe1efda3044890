"""Each track's recent path, drawn on the frames (supervision's ``TraceAnnotator``).

Example:
    >>> import numpy as np, supervision as sv
    >>> paths = PathDrawer(fps=25)
    >>> for frame in range(3):
    ...     found = sv.Detections(xyxy=np.array([[4.0 * frame, 0, 4.0 * frame + 10, 10]]),
    ...                           tracker_id=np.array([1]))
    ...     _ = paths.annotate(np.zeros((20, 30, 3), np.uint8), found)
    >>> paths.points(1).tolist()
    [[5.0, 10.0], [9.0, 10.0], [13.0, 10.0]]
"""

from __future__ import annotations

import numpy as np
import supervision as sv

#: A path shows where its track was over the last this many seconds.
PATH_SECONDS = 2.0
#: The point of each box a path follows: where the object touches the ground.
PATH_ANCHOR = sv.Position.BOTTOM_CENTER


class PathDrawer:
    """Draws each track's last :data:`PATH_SECONDS` as a line, in the track's colour.

    Call :meth:`annotate` on every frame in order: the annotator remembers the
    points of each track.

    Args:
        fps: The video's frame rate (how many points make :data:`PATH_SECONDS`).
        thickness: Line width in pixels (None: scaled to the frame).
    """

    def __init__(self, fps: float, thickness: int | None = None) -> None:
        self.length = max(2, round(PATH_SECONDS * fps))
        self.thickness = thickness
        self._annotator: sv.TraceAnnotator | None = None

    def annotate(self, image: np.ndarray, detections: sv.Detections) -> np.ndarray:
        """Draw the paths of the tracked ``detections`` on ``image`` (in place) and return it."""
        if self._annotator is None:
            thickness = self.thickness or sv.calculate_optimal_line_thickness(image.shape[1::-1])
            self._annotator = sv.TraceAnnotator(
                position=PATH_ANCHOR,
                trace_length=self.length,
                thickness=thickness,
                color_lookup=sv.ColorLookup.TRACK,
            )
        if len(detections) == 0 or detections.tracker_id is None:
            return image
        return self._annotator.annotate(image, detections)

    def points(self, track_id: int) -> np.ndarray:
        """The ``(N, 2)`` points of a track's path as drawn now (oldest first)."""
        if self._annotator is None:
            return np.empty((0, 2), dtype=np.float32)
        return self._annotator.trace.get(track_id)
