"""SAM 2.1 video predictors (the ``sam2`` package), paired with a detector for prompts.

Registered segmenters (kind ``"segmenter"``):

============ ================== =========================
name         prompts from       SAM 2.1 model
============ ================== =========================
``GSAM2-S``  Grounding DINO     Hiera small
``GSAM2-B``  Grounding DINO     Hiera base-plus
``GSAM2-L``  Grounding DINO     Hiera large
``YSAM2-S``  YOLO11             Hiera small
``YSAM2-B``  YOLO11             Hiera base-plus
``YSAM2-L``  YOLO11             Hiera large
============ ================== =========================

A segmenter object holds the SAM 2 video predictor and one lock; the detector
is loaded by the pipeline through the registry (``spec.extra["detector"]``), so
it is shared with the Detection tab's cached instance.

Weights, first match wins:

1. ``weights=`` (``--weights``): a checkpoint ``.pt`` file, a folder holding
   ``sam2.1_hiera_<size>.pt``, a Hub id such as ``facebook/sam2.1-hiera-small``,
   or a hydra config of the ``sam2`` package such as
   ``configs/sam2.1/sam2.1_hiera_t.yaml`` (random weights: tests, benchmarks);
2. the size's environment variable: ``SAM2_SMALL_WEIGHTS``,
   ``SAM2_BASE_PLUS_WEIGHTS``, ``SAM2_LARGE_WEIGHTS``;
3. the Hub: ``facebook/sam2.1-hiera-{small,base-plus,large}``.

A checkpoint is ``{"model": state_dict}`` as Meta publishes it. One written by
:func:`save_checkpoint` also names its hydra config and overrides, so a
smaller architecture (a test model) loads through the same variables.

Example:
    >>> import models
    >>> segmenter = models.create("segmenter", "YSAM2-S", device="cpu")  # doctest: +SKIP
    >>> segmenter.detector  # doctest: +SKIP
    'yolo11'
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.base import Model
from models.errors import ModelError
from models.registry import register
from models.segmenters.base import FrameSource
from models.weights import (
    is_architecture_file,
    loading_weights,
    missing_weights_error,
    resolve_weights,
)
from models.weights_sources import HubFile, WeightsLocation

CONFIG_DIR = "configs/sam2.1"
#: SAM 2.1's code and checkpoints (the prompting detector has its own licence): the model
#: cards huggingface.co/facebook/sam2.1-hiera-{small,base-plus,large} say "license: apache-2.0",
#: as does github.com/facebookresearch/sam2's LICENSE.
LICENSE = "Apache-2.0"
#: ImageNet statistics, as sam2's own frame loader normalises.
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)
#: SAM 2's image encoder downsamples by 16; its memory attention's RoPE needs the grid size.
BACKBONE_STRIDE = 16


@dataclass(frozen=True)
class Sam2Variant:
    """One SAM 2.1 model size.

    Attributes:
        key: ``"small"``, ``"base_plus"`` or ``"large"``.
        label: Display name.
        config: Hydra config name inside the ``sam2`` package.
        hub_id: Hugging Face Hub repository of the official checkpoint.
        filename: Checkpoint file in that repository.
        env_var: Environment variable naming local weights.
        throughput_fps: Rough end-to-end frames per second of a segmentation
            run on a ZeroGPU slice (keyframe detection, SAM 2, encoding).
    """

    key: str
    label: str
    config: str
    hub_id: str
    filename: str
    env_var: str
    throughput_fps: float


VARIANTS = {
    "small": Sam2Variant(
        "small",
        "SAM 2.1 Hiera-S",
        f"{CONFIG_DIR}/sam2.1_hiera_s.yaml",
        "facebook/sam2.1-hiera-small",
        "sam2.1_hiera_small.pt",
        "SAM2_SMALL_WEIGHTS",
        8.0,
    ),
    "base_plus": Sam2Variant(
        "base_plus",
        "SAM 2.1 Hiera-B+",
        f"{CONFIG_DIR}/sam2.1_hiera_b+.yaml",
        "facebook/sam2.1-hiera-base-plus",
        "sam2.1_hiera_base_plus.pt",
        "SAM2_BASE_PLUS_WEIGHTS",
        5.0,
    ),
    "large": Sam2Variant(
        "large",
        "SAM 2.1 Hiera-L",
        f"{CONFIG_DIR}/sam2.1_hiera_l.yaml",
        "facebook/sam2.1-hiera-large",
        "sam2.1_hiera_large.pt",
        "SAM2_LARGE_WEIGHTS",
        3.0,
    ),
}

# hydra's compose reads process-wide state; two models must not build at once.
_BUILD_LOCK = threading.Lock()


def image_size_overrides(image_size: int) -> list[str]:
    """Hydra overrides that change SAM 2's input size consistently.

    The memory attention's rotary embeddings are sized for the feature grid
    (image size / 16) in the config, so both must change together.

    Args:
        image_size: Square input size, a multiple of 32 (1024 for the real models).

    Returns:
        Overrides for ``build_sam2_video_predictor(hydra_overrides_extra=...)``.

    Raises:
        ValueError: ``image_size`` is not a positive multiple of 32 (the
            Hiera trunk downsamples by 32 at its last stage).
    """
    if image_size <= 0 or image_size % (BACKBONE_STRIDE * 2):
        raise ValueError(f"image_size must be a positive multiple of 32, got {image_size}")
    grid = image_size // BACKBONE_STRIDE
    return [
        f"++model.image_size={image_size}",
        f"++model.memory_attention.layer.self_attention.feat_sizes=[{grid},{grid}]",
        f"++model.memory_attention.layer.cross_attention.feat_sizes=[{grid},{grid}]",
    ]


def _config_name(weights: str) -> str:
    # Accept a bare file name of the package's SAM 2.1 configs.
    return weights if "/" in weights else f"{CONFIG_DIR}/{weights}"


def _looks_local(weights: str) -> bool:
    return weights.startswith(("/", ".", "~")) or weights.endswith((".pt", ".pth"))


def _read_checkpoint(path: Path, label: str, env_var: str) -> dict[str, Any]:
    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise missing_weights_error(label, str(path), env_var, exc) from exc
    except Exception as exc:  # noqa: BLE001 - torch's unpickler raises many kinds on a bad file
        raise ModelError(
            f"{path} is not a readable SAM 2 checkpoint for {label} ({type(exc).__name__})."
        ) from exc
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("model"), dict):
        raise ModelError(f"{path} is not a SAM 2 checkpoint (no 'model' state dict) for {label}.")
    return checkpoint


def _hub_checkpoint(repo_id: str, variant: Sam2Variant) -> tuple[str, str]:
    """The hydra config and checkpoint file of a Hub repository of SAM 2 weights."""
    known = {v.hub_id: (v.config, v.filename) for v in VARIANTS.values()}
    if repo_id in known:
        return known[repo_id]
    # Other official repositories (SAM 2.0, tiny) are listed by sam2 itself.
    from sam2.build_sam import HF_MODEL_ID_TO_FILENAMES

    return HF_MODEL_ID_TO_FILENAMES.get(repo_id, (variant.config, variant.filename))


def locate_weights(*, variant: str, weights: str | None = None) -> WeightsLocation:
    """Where one SAM 2.1 size's weights are (the rule in this module's docstring).

    Args:
        variant: ``"small"``, ``"base_plus"`` or ``"large"``.
        weights: The ``weights=`` option.

    Returns:
        A hydra config (random weights), a local checkpoint file (in a folder:
        the size's file name), or a checkpoint file on the Hub.
    """
    sam2 = VARIANTS[variant]
    label, env_var = sam2.label, sam2.env_var
    chosen = resolve_weights(weights, env_var=env_var, default=sam2.hub_id)
    if is_architecture_file(chosen):
        return WeightsLocation.architecture(label, chosen, env_var)
    path = Path(chosen).expanduser()
    if path.is_dir():
        return WeightsLocation.at_path(label, chosen, env_var, path / sam2.filename)
    if path.exists() or _looks_local(chosen):
        return WeightsLocation.at_path(label, chosen, env_var, path)
    filename = _hub_checkpoint(chosen, sam2)[1]
    return WeightsLocation.download(label, chosen, env_var, HubFile(chosen, filename))


@dataclass(frozen=True)
class _Source:
    """Where a model's architecture and weights come from."""

    config: str
    overrides: tuple[str, ...]
    checkpoint: dict[str, Any] | None


def _load_source(location: WeightsLocation, variant: Sam2Variant) -> _Source:
    """The config and state dict at ``location`` (file, Hub file or config)."""
    label, env_var = location.label, location.env_var
    if location.random_weights:
        return _Source(_config_name(location.weights), (), None)
    if isinstance(location.remote, HubFile):
        # Fetch the file (or find it in the Hub cache when offline).
        config = _hub_checkpoint(location.remote.repo_id, variant)[0]
        with loading_weights(label, location.weights, env_var):
            path = location.remote.fetch()
        return _Source(config, (), _read_checkpoint(path, label, env_var))
    path = location.path
    if path is None or not path.is_file():
        raise missing_weights_error(label, str(path), env_var, "no such file")
    checkpoint = _read_checkpoint(path, label, env_var)
    # Our own checkpoints carry their architecture; Meta's use the size's config.
    config = str(checkpoint.get("config") or variant.config)
    overrides = tuple(str(o) for o in checkpoint.get("hydra_overrides") or ())
    return _Source(config, overrides, checkpoint)


def build_predictor(
    config: str,
    *,
    device: str,
    overrides: tuple[str, ...] | list[str] = (),
    state_dict: dict[str, Any] | None = None,
) -> Any:
    """Build a ``SAM2VideoPredictor`` from a hydra config, with weights if given.

    Args:
        config: Config name inside the ``sam2`` package.
        device: Where the model goes.
        overrides: Extra hydra overrides (e.g. :func:`image_size_overrides`).
        state_dict: Weights; None leaves them random.

    Returns:
        The predictor in eval mode on ``device``.

    Raises:
        ModelError: The config is unknown or the weights do not fit it.
    """
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException
    from sam2.build_sam import build_sam2_video_predictor

    from models.compat.sam2 import quiet_progress_bars

    quiet_progress_bars()
    try:
        with _BUILD_LOCK:
            predictor = build_sam2_video_predictor(
                config, ckpt_path=None, device=device, hydra_overrides_extra=list(overrides)
            )
    except (HydraException, OmegaConfBaseException) as exc:
        raise ModelError(f"Cannot build SAM 2 from config {config!r}: {exc}") from exc
    if state_dict is not None:
        try:
            predictor.load_state_dict(state_dict, strict=True)
        except RuntimeError as exc:
            first_line = str(exc).strip().splitlines()[0]
            raise ModelError(
                f"The checkpoint does not fit the SAM 2 config {config!r} ({first_line})."
            ) from exc
    return predictor.eval()


def save_checkpoint(
    predictor: Any, path: str | Path, *, config: str, overrides: list[str] | tuple[str, ...] = ()
) -> Path:
    """Save a predictor's weights with its config, loadable as ``weights=`` or via the env var.

    Args:
        predictor: A model built by :func:`build_predictor`.
        path: Output ``.pt`` file.
        config: The hydra config it was built from.
        overrides: The hydra overrides it was built with.

    Returns:
        The path written.
    """
    import torch

    path = Path(path)
    torch.save(
        {"model": predictor.state_dict(), "config": config, "hydra_overrides": list(overrides)},
        path,
    )
    return path


class _FrameTensors:
    """Frames of a window as SAM 2 reads them (``state["images"][i]``), made on demand.

    sam2's ``init_state`` loads a whole video as float tensors at the model's
    size (12 MB per frame at 1024 px) before the first prompt. This sequence
    holds nothing: each access resizes and normalises one frame taken from the
    caller (the run's frame store), and SAM 2 caches the features of the
    latest frame itself.
    """

    def __init__(
        self, frame_at: Callable[[int], np.ndarray], count: int, image_size: int, device: Any
    ) -> None:
        import torch

        self._frame_at = frame_at
        self._count = count
        self._size = image_size
        self._device = device
        self._mean = torch.tensor(IMAGE_MEAN, device=device).view(3, 1, 1)
        self._std = torch.tensor(IMAGE_STD, device=device).view(3, 1, 1)

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> Any:
        import torch

        if not 0 <= index < self._count:
            raise IndexError(index)
        image = self._frame_at(index)
        height, width = image.shape[:2]
        # Area averaging when shrinking (anti-aliased, like PIL's resize in
        # sam2's loader), bicubic when enlarging.
        shrink = height * width >= self._size * self._size
        resized = cv2.resize(
            image,
            (self._size, self._size),
            interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC,
        )
        rgb = np.ascontiguousarray(resized[..., ::-1])
        tensor = torch.from_numpy(rgb).to(self._device, non_blocking=True)
        tensor = tensor.permute(2, 0, 1).float().div_(255.0)
        return tensor.sub_(self._mean).div_(self._std)


class Sam2VideoSegmenter(Model):
    """A SAM 2.1 video predictor with its lock, and the detector that prompts it.

    Device, weights, licence, lock and :meth:`info` come from
    :class:`models.base.Model`; :attr:`size` is the SAM 2.1 size
    (``"small"``, ``"base_plus"`` or ``"large"``).

    Attributes:
        detector: Registry name of the detector whose boxes prompt SAM 2.
        open_vocabulary: Whether queries are free text (Grounding DINO).
        variant: The SAM 2.1 size.
        predictor: The ``sam2`` ``SAM2VideoPredictor``.
    """

    def __init__(
        self,
        predictor: Any,
        *,
        name: str,
        detector: str,
        open_vocabulary: bool,
        variant: Sam2Variant,
        device: str,
        weights: str,
        random_weights: bool,
        license: str = "",
    ) -> None:
        super().__init__(
            device=device,
            weights=weights,
            size=variant.key,
            random_weights=random_weights,
            license=license,
        )
        self.predictor = predictor
        self.name = name
        self.detector = detector
        self.open_vocabulary = open_vocabulary
        self.variant = variant

    @property
    def image_size(self) -> int:
        """SAM 2's square input size."""
        return int(self.predictor.image_size)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Hold the lock, in inference mode, with bf16 autocast on CUDA."""
        import torch

        with self.lock, torch.inference_mode():
            if self.device.startswith("cuda"):
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    yield
            else:
                yield

    def session(
        self, frame_at: FrameSource, num_frames: int, height: int, width: int
    ) -> Sam2Session:
        """Start following objects over ``num_frames`` frames (one window).

        Args:
            frame_at: Returns frame ``i`` of the window (BGR uint8) when SAM 2 needs it.
            num_frames: Frames in the window.
            height: Frame height.
            width: Frame width.

        Returns:
            The session; :meth:`Sam2Session.close` releases its state.
        """
        return Sam2Session(self, frame_at, num_frames, height, width)

    def info(self) -> dict[str, Any]:
        """What the output JSON records about the model, plus SAM 2's size and its prompter."""
        return {
            **super().info(),
            "sam2": self.variant.label,
            "image_size": self.image_size,
            "detector": self.detector,
        }


class Sam2Session:
    """SAM 2's state over one window of frames: prompts in, masks out.

    Every call takes the segmenter's lock for its own duration only, so two
    runs sharing a cached model interleave frame by frame.

    Args:
        segmenter: The model.
        frame_at: Returns frame ``i`` of the window (BGR uint8).
        num_frames: Frames in the window.
        height: Frame height.
        width: Frame width.
    """

    def __init__(
        self,
        segmenter: Sam2VideoSegmenter,
        frame_at: Callable[[int], np.ndarray],
        num_frames: int,
        height: int,
        width: int,
    ) -> None:
        from models.compat.sam2 import new_inference_state

        self._segmenter = segmenter
        predictor = segmenter.predictor
        images = _FrameTensors(frame_at, num_frames, segmenter.image_size, predictor.device)
        self.state: dict[str, Any] = new_inference_state(predictor, images, height, width)
        # Past frames SAM 2 still reads: num_maskmem - 1 mask memories (every
        # `stride` frames) and max_obj_ptrs_in_encoder - 1 object pointers.
        self._keep = 1 + max(
            predictor.num_maskmem * predictor.memory_temporal_stride_for_eval,
            predictor.max_obj_ptrs_in_encoder,
        )

    @property
    def object_ids(self) -> list[int]:
        """Ids of the objects SAM 2 follows in this window."""
        return [int(i) for i in self.state.get("obj_ids", [])]

    def __contains__(self, object_id: object) -> bool:
        return object_id in self.state.get("obj_id_to_idx", {})

    def add_box(self, frame: int, object_id: int, box: np.ndarray) -> None:
        """Prompt an object with a box ``[x1, y1, x2, y2]`` (pixels) on ``frame``."""
        with self._segmenter.running():
            self._segmenter.predictor.add_new_points_or_box(
                self.state,
                frame_idx=frame,
                obj_id=int(object_id),
                box=np.asarray(box, dtype=np.float32),
            )

    def add_mask(self, frame: int, object_id: int, mask: np.ndarray) -> None:
        """Prompt an object with its mask on ``frame`` (carries it into a new window)."""
        import torch

        with self._segmenter.running():
            self._segmenter.predictor.add_new_mask(
                self.state,
                frame_idx=frame,
                obj_id=int(object_id),
                mask=torch.from_numpy(np.ascontiguousarray(mask, dtype=bool)),
            )

    def remove(self, object_id: int) -> None:
        """Stop following an object (no error if it is not followed)."""
        with self._segmenter.running():
            self._segmenter.predictor.remove_object(self.state, int(object_id), need_output=False)

    def propagate(self, start: int, end: int) -> Iterator[tuple[int, dict[int, np.ndarray]]]:
        """Masks on frames ``start`` to ``end`` (inclusive), in order.

        Frames that hold prompts give the prompted masks; the others are SAM 2's
        tracking from its memory. With no object followed, every frame has none.

        Args:
            start: First frame (window index).
            end: Last frame, included.

        Yields:
            ``(frame, {object_id: (H, W) bool mask})``.
        """
        if not self.object_ids:
            for frame in range(start, end + 1):
                yield frame, {}
            return
        predictor = self._segmenter.predictor
        frames = predictor.propagate_in_video(
            self.state, start_frame_idx=start, max_frame_num_to_track=end - start
        )
        try:
            while True:
                with self._segmenter.running():
                    item = next(frames, None)
                    if item is None:
                        return
                    frame, object_ids, logits = item
                    masks = (logits[:, 0] > 0.0).cpu().numpy()
                    self._forget_before(frame - self._keep)
                yield frame, {int(i): masks[k] for k, i in enumerate(object_ids)}
        finally:
            frames.close()

    def _forget_before(self, frame: int) -> None:
        # SAM 2 keeps every tracked frame's memory for the whole session; only
        # the last few are ever read again, so a long window would grow without this.
        for outputs in self.state["output_dict_per_obj"].values():
            old = [t for t in outputs["non_cond_frame_outputs"] if t < frame]
            for t in old:
                del outputs["non_cond_frame_outputs"][t]

    def close(self) -> None:
        """Release the window's state (memories, cached features, frames view)."""
        self.state.clear()


def create_sam2_segmenter(
    *,
    device: str,
    name: str,
    detector: str,
    open_vocabulary: bool,
    variant: str,
    weights: str | None = None,
    image_size: int | None = None,
) -> Sam2VideoSegmenter:
    """Build a segmenter: SAM 2.1 of one size, to be prompted by ``detector``.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        name: Registry name.
        detector: Registry name of the prompting detector.
        open_vocabulary: Whether that detector takes free text.
        variant: ``"small"``, ``"base_plus"`` or ``"large"``.
        weights: Checkpoint file or folder, Hub id, or a hydra config for
            random weights; defaults to the size's environment variable, then the Hub.
        image_size: SAM 2's input size (default: the config's, 1024); smaller is
            faster and coarser.

    Returns:
        The segmenter.

    Raises:
        MissingWeightsError: The checkpoint is neither local nor downloadable.
        ModelError: The checkpoint is unreadable or does not fit the model.
    """
    sam2 = VARIANTS[variant]
    location = locate_weights(variant=variant, weights=weights)
    source = _load_source(location, sam2)
    overrides = list(source.overrides)
    if image_size is not None:
        overrides += image_size_overrides(int(image_size))
    state_dict = source.checkpoint["model"] if source.checkpoint is not None else None
    predictor = build_predictor(
        source.config, device=device, overrides=overrides, state_dict=state_dict
    )
    return Sam2VideoSegmenter(
        predictor,
        name=name,
        detector=detector,
        open_vocabulary=open_vocabulary,
        variant=sam2,
        device=device,
        weights=location.weights,
        random_weights=source.checkpoint is None,
        license=LICENSE,
    )


def _register(name: str, detector: str, variant: str) -> None:
    sam2 = VARIANTS[variant]
    grounded = detector == "grounding_dino"
    finder = "Grounding DINO (free-text queries)" if grounded else "YOLO11 (COCO class names)"
    register(
        "segmenter",
        name,
        label=f"{'Grounded' if grounded else 'YOLO'} {sam2.label}",
        open_vocabulary=grounded,
        description=f"{finder} finds objects on keyframes; {sam2.label} follows their masks.",
        detector=detector,
        sam2=variant,
        env_var=sam2.env_var,
        license=LICENSE,
        throughput_fps=sam2.throughput_fps,
        locate=functools.partial(locate_weights, variant=variant),
    )(
        functools.partial(
            create_sam2_segmenter,
            name=name,
            detector=detector,
            open_vocabulary=grounded,
            variant=variant,
        )
    )


for _name, _detector, _variant in (
    ("GSAM2-S", "grounding_dino", "small"),
    ("GSAM2-B", "grounding_dino", "base_plus"),
    ("GSAM2-L", "grounding_dino", "large"),
    ("YSAM2-S", "yolo11", "small"),
    ("YSAM2-B", "yolo11", "base_plus"),
    ("YSAM2-L", "yolo11", "large"),
):
    _register(_name, _detector, _variant)
