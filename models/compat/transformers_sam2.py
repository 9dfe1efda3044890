"""What this project takes from the internals of ``transformers``' SAM 2 video session.

``Sam2VideoInferenceSession`` keeps its state in attributes that its model and
processor read and write, documented nowhere:

- :func:`new_session` gives a session its frames as any mapping from frame
  index to a processed frame (``processed_frames``), so frames are made when
  the model reads them instead of the whole video being processed up front;
- :func:`add_prompt` adds a box or mask through the public processor call, then
  keeps the objects prompted earlier on the same frame pending too: the
  processor replaces ``obj_with_new_inputs`` on every call, which would leave
  the earlier objects without their first conditioning output;
- :func:`remove_object` stops following one object (the session has no such
  call), re-indexing the per-object state;
- :func:`forget_outputs_before` and :func:`drop_unread_outputs` bound the
  memory: the session keeps every tracked frame's outputs, full-size mask
  logits included, though the model only reads the last few frames' memories
  and object pointers again.

Importing this module on a transformers version other than those below raises
:class:`models.compat.IncompatibleVersionError`. The requirements give Python
3.10 transformers 5.20.2 and later Pythons 5.24.0; the two releases'
``models/sam2_video`` modeling and processing code differ only in type hints
and docstrings, as does their ``models/edgetam_video`` modeling: EdgeTAM's
model reads the same session (``Sam2VideoProcessor.init_video_session``), so
these functions serve it too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from models.compat import require_version

DISTRIBUTION = "transformers"
#: The transformers releases this module was checked against (oldest first).
VERIFIED_VERSIONS = ("5.20.2", "5.24.0")

require_version(DISTRIBUTION, VERIFIED_VERSIONS, shim=__name__)

#: The session's dicts keyed by object index (``tests/test_segmentation.py`` checks
#: that a new session has exactly these).
PER_OBJECT_STATE = (
    "point_inputs_per_obj",
    "mask_inputs_per_obj",
    "output_dict_per_obj",
    "frames_tracked_per_obj",
)
#: Output keys written for every frame but never read back from the session:
#: ``high_res_masks`` (mask logits at the model's input size) serves only the
#: memory encoding of the frame that produced it.
UNREAD_OUTPUTS = ("high_res_masks",)


def new_session(
    processor: Any, frames: Mapping[int, Any], height: int, width: int, device: str
) -> Any:
    """A ``Sam2VideoInferenceSession`` over ``frames``, everything on ``device``.

    Args:
        processor: The ``Sam2VideoProcessor``.
        frames: Frame index to processed frame (``(3, S, S)`` float tensor on
            ``device``); ``len`` is the number of frames. Read when the model
            needs a frame.
        height: Frame height (boxes are given, and masks come back, at this size).
        width: Frame width.
        device: Where the model runs and the session's state stays.

    Returns:
        The session.
    """
    import torch

    session = processor.init_video_session(inference_device=device, dtype=torch.float32)
    session.processed_frames = frames
    session.video_height = height
    session.video_width = width
    return session


def add_prompt(
    processor: Any,
    session: Any,
    frame: int,
    object_id: int,
    *,
    box: list[float] | None = None,
    mask: Any = None,
    points: list[list[float]] | None = None,
    labels: list[int] | None = None,
) -> None:
    """Prompt one object with clicks and/or a box ``[x1, y1, x2, y2]`` (frame pixels), or a mask.

    ``points`` are ``[x, y]`` clicks with ``labels`` 1 (on the object) or 0
    (off it). A new prompt for an object replaces its earlier prompt on
    ``frame``; the objects prompted before it, on this frame, stay pending.
    """
    pending = list(session.obj_with_new_inputs)
    if points:
        boxes = {"input_boxes": [[box]]} if box is not None else {}
        processor.add_inputs_to_inference_session(
            inference_session=session,
            frame_idx=frame,
            obj_ids=object_id,
            input_points=[[points]],
            input_labels=[[labels]],
            **boxes,
        )
    elif box is not None:
        processor.add_inputs_to_inference_session(
            inference_session=session, frame_idx=frame, obj_ids=object_id, input_boxes=[[box]]
        )
    else:
        processor.add_inputs_to_inference_session(
            inference_session=session, frame_idx=frame, obj_ids=object_id, input_masks=mask
        )
    session.obj_with_new_inputs = [
        *pending,
        *(i for i in session.obj_with_new_inputs if i not in pending),
    ]


def has_object(session: Any, object_id: object) -> bool:
    """Whether the session follows ``object_id``."""
    return object_id in session.obj_ids


def remove_object(session: Any, object_id: int) -> None:
    """Stop following ``object_id`` (nothing happens when it is not followed).

    The session keys its per-object state by object index, ``0..n-1`` in the
    order objects were added, and the model iterates over ``range(n)``; the
    remaining objects keep their order and their state under new indices.
    """
    if object_id not in session._obj_id_to_idx:
        return
    kept = [(i, idx) for i, idx in session._obj_id_to_idx.items() if i != object_id]
    for name in PER_OBJECT_STATE:
        state = getattr(session, name)
        old = dict(state)
        state.clear()
        for new_idx, (_, old_idx) in enumerate(kept):
            state[new_idx] = old[old_idx]
    session._obj_id_to_idx = OrderedDict((i, n) for n, (i, _) in enumerate(kept))
    session._obj_idx_to_id = OrderedDict((n, i) for n, (i, _) in enumerate(kept))
    session.obj_ids = [i for i, _ in kept]
    session.obj_with_new_inputs = [i for i in session.obj_with_new_inputs if i != object_id]


def forget_outputs_before(session: Any, frame: int) -> None:
    """Drop every object's tracked (non-conditioning) outputs of frames before ``frame``.

    Prompted frames' outputs stay: the model attends to all of them.
    """
    for outputs in session.output_dict_per_obj.values():
        tracked = outputs["non_cond_frame_outputs"]
        for old in [t for t in tracked if t < frame]:
            del tracked[old]


def drop_unread_outputs(session: Any, frame: int) -> None:
    """Drop what the session stored for ``frame`` that nothing reads again."""
    for outputs in session.output_dict_per_obj.values():
        for kind in ("cond_frame_outputs", "non_cond_frame_outputs"):
            stored = outputs[kind].get(frame)
            if stored is not None:
                for key in UNREAD_OUTPUTS:
                    stored.pop(key, None)


def close_session(session: Any) -> None:
    """Release the session's state, cached features and frames."""
    session.reset_inference_session()
    session.processed_frames = None
