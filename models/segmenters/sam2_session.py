"""SAM 2's state over one window of frames (SAM 2.1 and EdgeTAM): prompts in, masks out.

A session's frames are not loaded up front: the model reads frame ``i`` through
:class:`~models.segmenters.sam2_frames.WindowFrames`, which takes it from the
caller (the run's frame store) when asked, and only the latest frame's features
are cached, so memory depends on the window's tracked outputs (bounded too, see
:meth:`Sam2Session.propagate`), not on the video.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from models.segmenters.inference import WindowSession, propagated
from models.segmenters.sam2_frames import WindowFrames


class Sam2Model(Protocol):
    """What a session uses of its segmenter (:class:`.sam2_video.Sam2VideoSegmenter`)."""

    model: Any
    processor: Any
    device: str

    def running(self) -> AbstractContextManager[None]:
        """Hold the model for one call."""
        ...


class Sam2Session(WindowSession):
    """SAM 2's state over one window of frames: prompts in, masks out.

    Prompts apply to the frame where the next :meth:`propagate` starts (the
    pipeline prompts on keyframes, then propagates from there). The arguments,
    the lock and :attr:`state` are :class:`~models.segmenters.inference.WindowSession`'s.
    """

    _segmenter: Sam2Model

    def _start(self, frames: WindowFrames, height: int, width: int) -> Any:
        from models.compat.transformers_sam2 import new_session

        # The session's own records start with the transformers session: masks come
        # back at the frame size, and prompted frames are checked at propagation.
        self._size = [height, width]
        self._prompted: set[int] = set()
        segmenter = self._segmenter
        return new_session(segmenter.processor, frames, height, width, segmenter.device)

    def _memory_config(self) -> Any:
        return self._segmenter.model.config

    @property
    def object_ids(self) -> list[int]:
        """Ids of the objects SAM 2 follows in this window, in the order they were added."""
        return [int(i) for i in self.state.obj_ids]

    def __contains__(self, object_id: object) -> bool:
        from models.compat.transformers_sam2 import has_object

        return has_object(self.state, object_id)

    def add_box(self, frame: int, object_id: int, box: np.ndarray) -> None:
        """Prompt an object with a box ``[x1, y1, x2, y2]`` (pixels) on ``frame``."""
        from models.compat.transformers_sam2 import add_prompt

        coordinates = [float(v) for v in np.asarray(box, dtype=np.float32).reshape(4)]
        with self._segmenter.running():
            add_prompt(
                self._segmenter.processor, self.state, frame, int(object_id), box=coordinates
            )
        self._prompted.add(frame)

    def add_clicks(
        self,
        frame: int,
        object_id: int,
        points: np.ndarray,
        labels: np.ndarray,
        box: np.ndarray | None = None,
    ) -> None:
        """Prompt an object with clicks (and a box) on ``frame``, as picked by hand.

        Args:
            frame: Window index of the frame clicked on.
            object_id: The object's id.
            points: ``(N, 2)`` click positions ``x, y`` in frame pixels (N may be 0
                when a box is given).
            labels: ``(N,)`` 1 for a click on the object, 0 for one off it.
            box: ``[x1, y1, x2, y2]`` in frame pixels, or None.
        """
        from models.compat.transformers_sam2 import add_prompt

        clicks = [
            [float(x), float(y)] for x, y in np.asarray(points, dtype=np.float32).reshape(-1, 2)
        ]
        marks = [int(v) for v in np.asarray(labels).reshape(-1)]
        coordinates = (
            None if box is None else [float(v) for v in np.asarray(box, np.float32).reshape(4)]
        )
        with self._segmenter.running():
            add_prompt(
                self._segmenter.processor,
                self.state,
                frame,
                int(object_id),
                box=coordinates,
                points=clicks,
                labels=marks,
            )
        self._prompted.add(frame)

    def add_mask(self, frame: int, object_id: int, mask: np.ndarray) -> None:
        """Prompt an object with its mask on ``frame`` (carries it into a new window)."""
        import torch

        from models.compat.transformers_sam2 import add_prompt

        tensor = torch.from_numpy(np.ascontiguousarray(mask, dtype=bool))
        with self._segmenter.running():
            add_prompt(self._segmenter.processor, self.state, frame, int(object_id), mask=tensor)
        self._prompted.add(frame)

    def remove(self, object_id: int) -> None:
        """Stop following an object (no error if it is not followed)."""
        from models.compat.transformers_sam2 import remove_object

        with self._segmenter.running():
            remove_object(self.state, int(object_id))

    def propagate(self, start: int, end: int) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Masks on frames ``start`` to ``end`` (inclusive), in order.

        Frames that hold prompts give the prompted masks; the others are SAM 2's
        tracking from its memory. With no object followed, every frame has none.
        Outputs of frames the model no longer reads are dropped as it goes.

        Args:
            start: First frame (window index).
            end: Last frame, included.

        Yields:
            ``(frame, {object_id: (H, W) bool mask})``.

        Raises:
            ValueError: A prompt waits on a frame other than ``start``.
        """
        from models.compat.transformers_sam2 import drop_unread_outputs, forget_outputs_before

        elsewhere = sorted(self._prompted - {start})
        if elsewhere:
            raise ValueError(
                f"prompts on frames {elsewhere} must be propagated from their frame, not {start}"
            )
        self._prompted.clear()
        if not self.object_ids:
            for frame in range(start, end + 1):
                yield frame, {}
            return
        segmenter = self._segmenter

        def read(output: Any) -> tuple[int, dict[int, np.ndarray]]:
            [masks] = segmenter.processor.post_process_masks([output.pred_masks], [self._size])
            masks = masks[:, 0].cpu().numpy()
            frame = int(output.frame_idx)
            drop_unread_outputs(self.state, frame)
            forget_outputs_before(self.state, frame - self._keep)
            return frame, {int(i): masks[k] for k, i in enumerate(output.object_ids)}

        yield from propagated(segmenter, self.state, start, end, read)

    def close(self) -> None:
        """Release the window's state (memories, cached features, frames view)."""
        from models.compat.transformers_sam2 import close_session

        close_session(self.state)
