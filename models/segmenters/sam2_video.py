"""SAM 2.1 video segmenters (``transformers``' ``Sam2VideoModel``) with a detector for prompts.

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

A segmenter object holds the SAM 2 model, its processor and one lock; the
detector is loaded by the pipeline through the registry
(``spec.extra["detector"]``), so it is shared with the Detection tab's cached
instance. Where the weights come from: :mod:`models.segmenters.sam2_weights`.

A session follows objects over one window of frames. Its frames are not
loaded up front: the model reads frame ``i`` through a mapping that takes it
from the caller (the run's frame store) and processes it when asked, and only
the latest frame's features are cached, so memory depends on the window's
tracked outputs (bounded too, see :meth:`Sam2Session.propagate`), not on the
video.

Example:
    >>> import models
    >>> segmenter = models.create("segmenter", "YSAM2-S", device="cpu")  # doctest: +SKIP
    >>> segmenter.detector  # doctest: +SKIP
    'yolo11'
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from models.base import Model
from models.errors import ModelError
from models.registry import register
from models.segmenters.base import FrameSource
from models.segmenters.sam2_architectures import check_image_size
from models.segmenters.sam2_weights import (
    VARIANTS,
    Sam2Variant,
    build_processor,
    load_model,
    locate_variant_weights,
    locate_weights,
)

#: SAM 2.1's code and checkpoints (the prompting detector has its own licence): the model
#: cards huggingface.co/facebook/sam2.1-hiera-{small,base-plus,large} say "license: apache-2.0",
#: as does github.com/facebookresearch/sam2's LICENSE.
LICENSE = "Apache-2.0"


class WindowFrames(Mapping[int, Any]):
    """A window's frames as the model reads them (``processed_frames[i]``), made on demand.

    Holds nothing: each access takes one frame from the caller (BGR uint8),
    resizes and normalises it with the processor on the model's device. The
    model caches the features of the latest frame itself.

    Args:
        frame_at: Returns frame ``i`` of the window (BGR uint8, (H, W, 3)).
        count: Frames in the window.
        video_processor: The processor's ``Sam2VideoVideoProcessor``.
        device: Where the processed frames go.
    """

    def __init__(
        self, frame_at: Callable[[int], np.ndarray], count: int, video_processor: Any, device: str
    ) -> None:
        self._frame_at = frame_at
        self._count = count
        self._video_processor = video_processor
        self._device = device

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._count))

    def __contains__(self, index: object) -> bool:
        # Mapping's own would process the frame just to answer.
        return isinstance(index, int) and 0 <= index < self._count

    def __getitem__(self, index: int) -> Any:
        import torch

        if index not in self:
            raise KeyError(index)
        frame = self._frame_at(index)
        if not (frame.flags.c_contiguous and frame.flags.writeable):
            # The store's frames may be read-only views; torch wants its own.
            frame = np.array(frame, order="C")
        image = torch.from_numpy(frame)
        # uint8 crosses to the device; the BGR->RGB flip is a copy there.
        rgb = image.to(self._device).permute(2, 0, 1).flip(0)
        processed = self._video_processor(
            videos=[rgb.unsqueeze(0)], device=self._device, return_tensors="pt"
        )
        return processed["pixel_values_videos"][0][0]


class Sam2VideoSegmenter(Model):
    """A SAM 2.1 video model with its processor and lock, and the detector that prompts it.

    Device, weights, licence, lock and :meth:`info` come from
    :class:`models.base.Model`; :attr:`size` is the SAM 2.1 size
    (``"small"``, ``"base_plus"`` or ``"large"``).

    Attributes:
        detector: Registry name of the detector whose boxes prompt SAM 2.
        open_vocabulary: Whether queries are free text (Grounding DINO).
        variant: The SAM 2.1 size (or EdgeTAM, :mod:`models.segmenters.sam2_video_edgetam`).
        model: The ``transformers`` ``Sam2VideoModel``.
        processor: Its ``Sam2VideoProcessor``.
    """

    def __init__(
        self,
        model: Any,
        processor: Any,
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
        self.model = model
        self.processor = processor
        self.name = name
        self.detector = detector
        self.open_vocabulary = open_vocabulary
        self.variant = variant

    @property
    def image_size(self) -> int:
        """SAM 2's square input size."""
        return int(self.model.config.image_size)

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
            self.variant.family.key: self.variant.label,
            "image_size": self.image_size,
            "detector": self.detector,
        }


class Sam2Session:
    """SAM 2's state over one window of frames: prompts in, masks out.

    Every call takes the segmenter's lock for its own duration only, so two
    runs sharing a cached model interleave frame by frame. Prompts apply to
    the frame where the next :meth:`propagate` starts (the pipeline prompts
    on keyframes, then propagates from there).

    Args:
        segmenter: The model.
        frame_at: Returns frame ``i`` of the window (BGR uint8).
        num_frames: Frames in the window.
        height: Frame height.
        width: Frame width.

    Attributes:
        state: The ``transformers`` inference session.
    """

    def __init__(
        self,
        segmenter: Sam2VideoSegmenter,
        frame_at: Callable[[int], np.ndarray],
        num_frames: int,
        height: int,
        width: int,
    ) -> None:
        from models.compat.transformers_sam2 import new_session

        self._segmenter = segmenter
        self._size = [height, width]
        processor = segmenter.processor
        frames = WindowFrames(frame_at, num_frames, processor.video_processor, segmenter.device)
        self.state: Any = new_session(processor, frames, height, width, segmenter.device)
        config = segmenter.model.config
        # Past frames the model still reads: num_maskmem - 1 mask memories and
        # max_object_pointers_in_encoder - 1 object pointers.
        self._keep = 1 + max(config.num_maskmem, config.max_object_pointers_in_encoder)
        self._prompted: set[int] = set()

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
        frames = segmenter.model.propagate_in_video_iterator(
            self.state, start_frame_idx=start, max_frame_num_to_track=end - start
        )
        try:
            while True:
                with segmenter.running():
                    output = next(frames, None)
                    if output is None:
                        return
                    [masks] = segmenter.processor.post_process_masks(
                        [output.pred_masks], [self._size]
                    )
                    masks = masks[:, 0].cpu().numpy()
                    frame = int(output.frame_idx)
                    drop_unread_outputs(self.state, frame)
                    forget_outputs_before(self.state, frame - self._keep)
                yield frame, {int(i): masks[k] for k, i in enumerate(output.object_ids)}
        finally:
            frames.close()

    def close(self) -> None:
        """Release the window's state (memories, cached features, frames view)."""
        from models.compat.transformers_sam2 import close_session

        close_session(self.state)


def create_sam2_segmenter(
    *,
    device: str,
    name: str,
    detector: str,
    open_vocabulary: bool,
    variant: str | Sam2Variant,
    weights: str | None = None,
    image_size: int | None = None,
) -> Sam2VideoSegmenter:
    """Build a segmenter: SAM 2.1 of one size (or EdgeTAM), to be prompted by ``detector``.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        name: Registry name.
        detector: Registry name of the prompting detector.
        open_vocabulary: Whether that detector takes free text.
        variant: ``"small"``, ``"base_plus"`` or ``"large"``, or the model itself
            (EdgeTAM's, :data:`models.segmenters.sam2_video_edgetam.EDGETAM`).
        weights: A ``save_pretrained`` folder, a Hub id, or an architecture for
            random weights (``random:<size>``, a config ``.json``); defaults to
            the size's environment variable, then the Hub.
        image_size: SAM 2's input size (default: the config's, 1024); smaller is
            faster and coarser.

    Returns:
        The segmenter.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
        ModelError: What is there is not a SAM 2 video checkpoint, or does not fit;
            ``image_size`` is not a positive multiple of 32.
    """
    sam2 = variant if isinstance(variant, Sam2Variant) else VARIANTS[variant]
    if image_size is not None:
        try:
            image_size = check_image_size(int(image_size))
        except ValueError as exc:
            raise ModelError(f"{sam2.family.name}'s input size: {exc}.") from exc
    location = locate_variant_weights(sam2, weights)
    model = load_model(location, device=device, image_size=image_size, family=sam2.family)
    return Sam2VideoSegmenter(
        model,
        build_processor(model.config),
        name=name,
        detector=detector,
        open_vocabulary=open_vocabulary,
        variant=sam2,
        device=device,
        weights=location.weights,
        random_weights=location.random_weights,
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
