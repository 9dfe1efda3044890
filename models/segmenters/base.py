"""What the pipeline needs from a video segmenter, stated as protocols.

A segmenter follows object masks through a window of frames. The pipeline
opens one :class:`SegmenterSession` per window, prompts objects with boxes (a
detector's, on keyframes) or masks (carried over from the previous window),
then propagates and reads one mask per followed object per frame.

Any class with these members conforms; it need not inherit from anything
(the SAM 2 segmenter does, the tests' perfect stand-in does not). Both are
``runtime_checkable``, which checks that the members exist, not their
signatures.

Example:
    >>> session = segmenter.session(frames.__getitem__, len(frames), 480, 640)  # doctest: +SKIP
    >>> session.add_box(0, 1, np.array([10, 20, 110, 220]))  # doctest: +SKIP
    >>> for frame, masks in session.propagate(0, len(frames) - 1):  # doctest: +SKIP
    ...     masks[1].shape  # (480, 640) bool
    >>> session.close()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import supervision as sv

#: Returns frame ``i`` of a window (BGR uint8, (H, W, 3)) when the segmenter needs it.
FrameSource = Callable[[int], np.ndarray]


@runtime_checkable
class SegmenterSession(Protocol):
    """A segmenter's state over one window of frames: prompts in, masks out.

    Frame numbers are window indices, 0 to ``num_frames - 1``. Object ids are
    the caller's (the pipeline's track ids); the session keeps them as given.
    """

    @property
    def object_ids(self) -> list[int]:
        """Ids of the objects followed in this window, in the order they were added."""
        ...

    def __contains__(self, object_id: object) -> bool:
        """True when ``object_id`` is followed in this window."""
        ...

    def add_box(self, frame: int, object_id: int, box: np.ndarray) -> None:
        """Prompt an object with a box ``[x1, y1, x2, y2]`` (frame pixels) on ``frame``.

        Prompting an id that is already followed replaces its prompt on that frame.
        """
        ...

    def add_mask(self, frame: int, object_id: int, mask: np.ndarray) -> None:
        """Prompt an object with its ``(H, W)`` bool mask on ``frame``.

        The pipeline carries objects into a new window this way, on the frame
        the two windows share.
        """
        ...

    def remove(self, object_id: int) -> None:
        """Stop following an object; no error when it is not followed."""
        ...

    def propagate(self, start: int, end: int) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Masks on frames ``start`` to ``end`` (inclusive), in order.

        Args:
            start: First frame (window index).
            end: Last frame, included.

        Yields:
            ``(frame, {object_id: (H, W) bool mask})``; with no object followed,
            every frame has an empty dict.
        """
        ...

    def close(self) -> None:
        """Release the window's state; the session is not used afterwards."""
        ...


@runtime_checkable
class ClickableSession(SegmenterSession, Protocol):
    """A session that also takes objects picked by hand: clicks and boxes (SAM 2, EdgeTAM)."""

    def add_clicks(
        self,
        frame: int,
        object_id: int,
        points: np.ndarray,
        labels: np.ndarray,
        box: np.ndarray | None = None,
    ) -> None:
        """Prompt an object with ``(N, 2)`` clicks ``x, y`` labelled 1 (on it) or 0 (off it).

        A box ``[x1, y1, x2, y2]`` may come with the clicks (then N may be 0).
        """
        ...


@runtime_checkable
class Segmenter(Protocol):
    """A loaded video segmenter, as the registry's factory for kind ``"segmenter"`` returns it.

    Attributes:
        random_weights: True when the weights are random (tests, benchmarks);
            the run then says its masks are meaningless.
    """

    random_weights: bool

    def session(
        self, frame_at: FrameSource, num_frames: int, height: int, width: int
    ) -> SegmenterSession:
        """Start following objects over one window of ``num_frames`` frames.

        Args:
            frame_at: Returns frame ``i`` of the window when the segmenter needs it
                (frames are read on demand, not all held at once).
            num_frames: Frames in the window.
            height: Frame height (masks come back at this size).
            width: Frame width.

        Returns:
            The session; :meth:`SegmenterSession.close` releases it.
        """
        ...

    def info(self) -> dict[str, Any]:
        """What the output JSON records about the model (``name``, ``random_weights``...)."""
        ...


@runtime_checkable
class TextSession(Protocol):
    """A session that finds objects from text itself and follows them (SAM 3).

    It needs no boxes: it detects every instance of each query on every frame
    and keeps its own object ids, which the pipeline maps to its own
    (:mod:`pipeline.stages.text_objects`).
    """

    def add_text(self, queries: Sequence[str]) -> None:
        """Look for every instance of each query from now on."""
        ...

    def propagate(self, start: int, end: int) -> Iterator[tuple[int, sv.Detections]]:
        """Each frame's instances, frames ``start`` to ``end`` (inclusive), in order.

        Yields:
            ``(frame, detections)`` with ``mask``, ``confidence``,
            ``data["class_name"]`` (the query) and ``tracker_id`` (the
            session's own object ids, stable within the session).
        """
        ...

    def close(self) -> None:
        """Release the window's state; the session is not used afterwards."""
        ...


@runtime_checkable
class TextSegmenter(Protocol):
    """A loaded segmenter that takes the run's text queries directly (no detector).

    Attributes:
        random_weights: True when the weights are random (tests, benchmarks).
    """

    random_weights: bool

    def validate_queries(self, queries: str | Sequence[str] | None) -> tuple[str, ...]:
        """The queries, normalised; raises ``InvalidQueryError`` when there are none."""
        ...

    def text_session(
        self, frame_at: FrameSource, num_frames: int, height: int, width: int
    ) -> TextSession:
        """Start finding and following the queries over one window (like ``session``)."""
        ...

    def info(self) -> dict[str, Any]:
        """What the output JSON records about the model."""
        ...
