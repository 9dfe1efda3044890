"""What every loaded model shares: where it runs, what weights it holds, one lock, timing.

Detectors (:class:`models.detectors.base.Detector`), depth estimators
(:class:`models.depth.base.DepthEstimator`) and SAM 2 segmenters derive from
:class:`Model`; each adds only the call that differs (``detect``, ``predict``,
``session``).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from models.timing import timed

#: Frames per model call on a GPU unless told otherwise; on the CPU it is 1, where
#: batching only adds latency.
GPU_BATCH_SIZE = 8


def public_weights_name(weights: str | None) -> str | None:
    """How a summary names weights: a local file by its name alone (server paths stay private).

    Hub ids (``facebook/detr-resnet-50``), URLs and relative names pass as they are.

    Example:
        >>> public_weights_name("/srv/cache/yolox_nano.onnx")
        'yolox_nano.onnx'
    """
    if weights is None or not os.path.isabs(weights):
        return weights
    return os.path.basename(weights)


class Model:
    """Base class of loaded models.

    Attributes:
        name: Registry name.
        size: Model size, or None.
        device: Device the model runs on (always given by the caller).
        weights: Where the weights came from (hub id, path, URL or architecture file).
        random_weights: True when the weights are randomly initialised
            (architecture-only, for tests and benchmarks).
        license: Licence of the model and its weights, e.g. ``"Apache-2.0"``.
        default_batch_size: Batch size the pool uses unless told otherwise.
        lock: Serialises calls into this instance (a model instance is not re-entrant).

    Example:
        >>> model = Model(device="cpu", weights="yolo11n.yaml", random_weights=True)
        >>> model.info()["random_weights"], model.default_batch_size
        (True, 1)
    """

    name: str = ""

    def __init__(
        self,
        *,
        device: str,
        weights: str,
        size: str | None = None,
        random_weights: bool = False,
        license: str = "",
    ) -> None:
        self.device = device
        self.weights = weights
        self.size = size
        self.random_weights = random_weights
        self.license = license
        self.default_batch_size = 1 if device == "cpu" else GPU_BATCH_SIZE
        self.lock = threading.Lock()

    #: ``with self.stage(timing, "inference"): ...`` adds the block's seconds to
    #: ``timing["inference"]``.
    stage = staticmethod(timed)

    def info(self) -> dict[str, Any]:
        """What a run's tracks file and summary record about the model."""
        return {
            "name": self.name,
            "size": self.size,
            "weights": public_weights_name(self.weights),
            "random_weights": self.random_weights,
            "license": self.license,
            "device": self.device,
        }
