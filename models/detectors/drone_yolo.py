"""YOLOv8 fine-tuned on VisDrone: people and vehicles seen from drones.

Weights: ``weights=`` / ``$DRONE_YOLO_WEIGHTS`` (a local ``.pt``, an
architecture ``.yaml`` for random weights, or a Hub repo id), else the Hub
checkpoint ``$DRONE_YOLO_REPO`` / ``$DRONE_YOLO_FILE``.

The default checkpoints are ``mshamrai/yolov8{n,s,m,l,x}-visdrone`` (file
``best.pt``, OpenRAIL licence, ultralytics 8.0.43, VisDrone2019-DET's 10 classes:
pedestrian, people, bicycle, car, van, truck, tricycle, awning-tricycle, bus,
motor). They were chosen over other public VisDrone checkpoints because they come
in all five sizes and report their validation mAP (0.45 mAP@0.5 for ``m``), and
their pickles need nothing beyond ultralytics and torch.

A ``.pt`` checkpoint is a pickle, unpickled by ultralytics: loading one runs
whatever it says. So the default ones are pinned to the commit that uploaded
them (:data:`REVISIONS`, read off each repository's history on the Hub): a
later push to a third party's ``main`` is never loaded. Another repository
(``$DRONE_YOLO_REPO``) is pinned with ``$DRONE_YOLO_REVISION``.
"""

from __future__ import annotations

import os
import re

from models.detectors.ultralytics_common import (
    THROUGHPUT_FPS,
    YOLO_SIZES,
    UltralyticsModel,
    locate,
)
from models.registry import ModelCard
from models.weights import resolve_weights
from models.weights_sources import HubFile, WeightsLocation

CARD = ModelCard(
    label="Drone YOLO (VisDrone)",
    description="YOLOv8 fine-tuned on VisDrone aerial imagery (pedestrians, cars, bikes...).",
    # The model cards huggingface.co/mshamrai/yolov8{n,s,m,l,x}-visdrone say "license:
    # openrail"; the weights are a YOLOv8 fine-tune run by ultralytics, which is AGPL-3.0.
    license="OpenRAIL (weights), AGPL-3.0 (ultralytics)",
    sizes=YOLO_SIZES,
    default_size="m",
    throughput_fps=THROUGHPUT_FPS,
    env_var="DRONE_YOLO_WEIGHTS",
)
REPO_ENV_VAR = "DRONE_YOLO_REPO"
FILE_ENV_VAR = "DRONE_YOLO_FILE"
DEFAULT_REPO = "mshamrai/yolov8{size}-visdrone"
DEFAULT_FILE = "best.pt"
REVISION_ENV_VAR = "DRONE_YOLO_REVISION"
#: The commit of each default repository that holds its ``best.pt`` (the "Upload yolov8
#: best model" commit of 29 May 2023, or for ``n`` a later one with the same file).
REVISIONS = {
    "n": "bc6c08293d86a8002ccf671d2149cb8ea83aee83",
    "s": "523ab5140acfe3fd7b0f1ab5084ebd942159fd5f",
    "m": "dbeedcbee3b1b098887001d33f565ab55f270f0c",
    "l": "4b5b01be182f2dbb659c32a893281d0e6f9564d6",
    "x": "44532e02ac707b6a1a57fe96a2ea59e996c92832",
}
VISDRONE_CLASSES = (
    "pedestrian",
    "people",
    "bicycle",
    "car",
    "van",
    "truck",
    "tricycle",
    "awning-tricycle",
    "bus",
    "motor",
)
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def locate_weights(*, size: str = CARD.default_size, weights: str | None = None) -> WeightsLocation:
    """Where the drone YOLO's weights are: ``weights``, ``$DRONE_YOLO_WEIGHTS``, or the Hub.

    Args:
        size: One of n, s, m, l, x (fills ``{size}`` in the default repository).
        weights: The ``weights=`` option.

    Returns:
        An architecture, a local ``.pt``, or a Hub file (``$DRONE_YOLO_FILE``,
        default ``best.pt``, in the repository the weights name), pinned to
        :data:`REVISIONS` for a default repository, else to ``$DRONE_YOLO_REVISION``.
    """
    repo = os.environ.get(REPO_ENV_VAR, "").strip() or DEFAULT_REPO
    chosen = resolve_weights(weights, env_var=CARD.env_var, default=repo.format(size=size))

    def hub_file(repo_id: str) -> HubFile | None:
        # Anything but a repository id (``owner/name``) is a file that does not exist.
        if not _REPO_ID.match(repo_id) or repo_id.endswith(".pt"):
            return None
        filename = os.environ.get(FILE_ENV_VAR, "").strip() or DEFAULT_FILE
        pinned = REVISIONS.get(size) if repo_id == DEFAULT_REPO.format(size=size) else None
        revision = pinned or os.environ.get(REVISION_ENV_VAR, "").strip() or None
        return HubFile(repo_id, filename, revision=revision)

    return locate(f"{CARD.label}, size {size}", chosen, CARD.env_var, hub_file)


MODEL = UltralyticsModel("drone_yolo", CARD, locate_weights, classes=VISDRONE_CLASSES)
#: Build the VisDrone YOLO detector (:meth:`UltralyticsDetector.load`); ``size`` picks the
#: default Hub repository (``$DRONE_YOLO_REPO``, ``{size}`` filled in) and ``weights`` may
#: name another repository (its ``$DRONE_YOLO_FILE``).
create_drone_yolo = MODEL.register()
