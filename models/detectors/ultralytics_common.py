"""The ultralytics YOLO wrapper shared by ``yolo11`` and ``drone_yolo``.

The two models differ only in where their weights come from, so each module
supplies a ``fetch`` callable that turns its resolved weights into a local
file, and this module does the loading, prediction and conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME, Detector
from models.weights import cache_dir, is_architecture_file, is_offline, loading_weights

STAGES = ("preprocess", "inference", "postprocess")


class UltralyticsDetector(Detector):
    """A detector backed by an ultralytics ``YOLO`` model.

    Build instances with :meth:`load`; ``__init__`` takes an already loaded model.

    Attributes:
        model: The ``ultralytics.YOLO`` instance, on :attr:`device`.
        imgsz: Inference image size (pixels, longest side).
        half: Whether inference runs in fp16 (CUDA only).
    """

    def __init__(
        self,
        model: Any,
        *,
        name: str,
        device: str,
        weights: str,
        size: str | None,
        imgsz: int,
        random_weights: bool,
    ) -> None:
        names: Mapping[int, str] = model.names
        super().__init__(
            device=device,
            weights=weights,
            size=size,
            class_names=[names[i] for i in sorted(names)],
            random_weights=random_weights,
        )
        self.name = name
        self.model = model
        self.imgsz = imgsz
        self.half = device.startswith("cuda")
        self._class_index = {n: i for i, n in enumerate(self.class_names)}

    @classmethod
    def load(
        cls,
        *,
        name: str,
        label: str,
        weights: str,
        env_var: str,
        fetch: Callable[[str], str],
        device: str,
        size: str | None = None,
        imgsz: int = 640,
        random_class_names: Sequence[str] = (),
    ) -> UltralyticsDetector:
        """Load weights (or build an architecture with random weights) onto ``device``.

        Args:
            name: Registry name.
            label: Display name used in error messages.
            weights: Resolved weights: a ``.yaml`` architecture, a local ``.pt``,
                or something ``fetch`` understands (asset name, hub id).
            env_var: The model's weights environment variable.
            fetch: Turns non-local, non-architecture ``weights`` into a local file;
                raises ``OSError`` when it cannot.
            device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
            size: Model size, recorded in :meth:`info`.
            imgsz: Inference image size.
            random_class_names: Names given to a randomly initialised model when
                its class count matches, so that it accepts the same queries as
                the trained one.

        Returns:
            The detector.

        Raises:
            MissingWeightsError: The weights are neither local nor downloadable.
        """
        from ultralytics import YOLO

        random_weights = is_architecture_file(weights)
        with loading_weights(label, weights, env_var):
            # An architecture yaml is resolved from ultralytics' bundled configs and
            # a file path is loaded as is, so only `fetch` may download.
            local = random_weights or Path(weights).is_file()
            source = weights if local else fetch(weights)
            model = YOLO(source, task="detect")
        if random_weights and len(random_class_names) == len(model.names):
            model.model.names = dict(enumerate(random_class_names))
        model.to(device)
        return cls(
            model,
            name=name,
            device=device,
            weights=weights,
            size=size,
            imgsz=imgsz,
            random_weights=random_weights,
        )

    def _predict(
        self,
        frames: list[np.ndarray],
        confidence: float,
        queries: tuple[str, ...],
        timing: dict[str, float],
    ) -> list[sv.Detections]:
        if not frames:
            return []
        # Filtering inside ultralytics' NMS is cheaper than dropping boxes afterwards.
        classes = [self._class_index[q] for q in queries] or None
        results = self.model.predict(
            frames,
            conf=confidence,
            device=self.device,
            quantize=16 if self.half else None,
            imgsz=self.imgsz,
            classes=classes,
            verbose=False,
        )
        # result.speed holds milliseconds per image for each stage.
        for result in results:
            for stage in STAGES:
                timing[stage] = timing.get(stage, 0.0) + (result.speed.get(stage) or 0.0) / 1000
        with self.stage(timing, "postprocess"):
            detections = []
            for result in results:
                dets = sv.Detections.from_ultralytics(result)
                if CLASS_NAME not in dets.data:
                    ids = dets.class_id if dets.class_id is not None else np.zeros(0, int)
                    dets.data[CLASS_NAME] = np.array(
                        [self.class_names[i] for i in ids], dtype=object
                    )
                detections.append(dets)
        return detections


def ultralytics_asset(name: str) -> str:
    """Fetch an ultralytics release asset (e.g. ``yolo11m.pt``) into the cache.

    Ultralytics would otherwise download into the current directory; keeping
    assets in :func:`models.weights.cache_dir` avoids litter and re-downloads.

    Args:
        name: Asset file name.

    Returns:
        Local path of the asset.

    Raises:
        OSError: Offline and not cached, or the download failed.
    """
    from ultralytics.utils.downloads import attempt_download_asset

    if Path(name).name != name:
        raise FileNotFoundError(f"no such file: {name}")
    target = cache_dir() / name
    if target.is_file():
        return str(target)
    if is_offline():
        raise ConnectionError(f"offline mode is on and {target} is not cached")
    path = Path(attempt_download_asset(str(target)))
    if not path.is_file():
        raise FileNotFoundError(f"{name} is not an ultralytics asset")
    return str(path)
