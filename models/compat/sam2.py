"""What this project takes from ``sam2``'s private internals, checked against one version.

- :func:`new_inference_state` builds the dict that ``SAM2VideoPredictor.init_state``
  builds, whose keys are read all over the predictor but documented nowhere;
- :func:`quiet_progress_bars` replaces the ``tqdm`` that
  ``sam2.sam2_video_predictor`` imported, to silence its per-call progress bar.

Importing this module on another sam2 version raises
:class:`models.compat.IncompatibleVersionError`.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any

from models.compat import require_version

DISTRIBUTION = "sam2"
#: The sam2 release this module was checked against (``tests/test_segmentation.py``
#: compares :func:`new_inference_state` with that release's ``init_state``).
VERIFIED_VERSION = "1.1.0"

require_version(DISTRIBUTION, VERIFIED_VERSION, shim=__name__)


def new_inference_state(predictor: Any, images: Any, height: int, width: int) -> dict[str, Any]:
    """The inference state ``SAM2VideoPredictor.init_state`` builds, over ``images``.

    Mirrors ``init_state`` of sam2 1.1.0 except that the frames come from
    ``images``, any sequence of normalised ``(3, S, S)`` tensors, instead of a
    folder of JPEG files loaded whole into memory.

    Args:
        predictor: The ``SAM2VideoPredictor``.
        images: Frames as SAM 2 expects them (``len`` and ``[i]``).
        height: Original frame height (masks come back at this size).
        width: Original frame width.

    Returns:
        A fresh inference state.
    """
    device = predictor.device
    return {
        "images": images,
        "num_frames": len(images),
        "offload_video_to_cpu": False,
        "offload_state_to_cpu": False,
        "video_height": height,
        "video_width": width,
        "device": device,
        "storage_device": device,
        "point_inputs_per_obj": {},
        "mask_inputs_per_obj": {},
        "cached_features": {},
        "constants": {},
        "obj_id_to_idx": OrderedDict(),
        "obj_idx_to_id": OrderedDict(),
        "obj_ids": [],
        "output_dict_per_obj": {},
        "temp_output_dict_per_obj": {},
        "frames_tracked_per_obj": {},
    }


@functools.cache
def quiet_progress_bars() -> None:
    """Turn off the progress bar ``propagate_in_video`` opens on every call (once per process).

    A run calls it once per keyframe segment, which would flood the server's
    and the CLI's stderr.
    """
    import sam2.sam2_video_predictor as video_predictor
    from tqdm import tqdm

    video_predictor.tqdm = functools.partial(tqdm, disable=True)
