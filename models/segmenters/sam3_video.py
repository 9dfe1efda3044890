"""SAM 3 (``transformers``' ``Sam3VideoModel``): every instance of what a text names, one model.

Where Grounded SAM 2 chains a detector (Grounding DINO, on keyframes) and a
tracker (SAM 2.1), SAM 3 is both: on every frame its detector finds each
instance of each text query ("red car", "person with a backpack") and its
SAM 2-style tracker follows them, matching detections to tracks itself. So
this segmenter takes the run's queries, not boxes: its sessions are
:class:`~models.segmenters.base.TextSession` s, and the run maps SAM 3's
object ids to its own (:mod:`pipeline.stages.text_objects`).

A session covers one window of the run: frames are read on demand from the
run's frame store (only the latest frame's features are cached) and the
outputs of frames the tracker no longer reads are dropped as it goes, so
memory depends on the window, not on the video.

Weights, first match wins:

1. ``weights=`` (``--weights``);
2. ``SAM3_WEIGHTS``;
3. Meta's checkpoint on the Hugging Face Hub, ``facebook/sam3``. It is gated:
   the account whose token the app uses (``HF_TOKEN``, a Space secret) must
   have asked for and been granted access on the model page; without it the
   error says so (:func:`models.weights.missing_weights_error`).

Each names a ``save_pretrained`` folder or Hub id holding the model and its
processor (tokenizer included), or random weights: ``random:sam3`` (the
published architecture, :mod:`models.segmenters.sam3_architecture`) or a
``Sam3VideoConfig`` ``.json`` file. Random weights get a byte-level tokenizer
built here (the text means nothing to random weights anyway).

Registered segmenter (kind ``"segmenter"``): ``SAM3``.

Example:
    >>> import models
    >>> models.spec("segmenter", "SAM3").license_for()
    'SAM License'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import supervision as sv

from models.base import Model
from models.detectors.base import CLASS_NAME, normalize_queries
from models.errors import InvalidQueryError, MissingWeightsError, ModelError
from models.registry import ModelCard, register
from models.segmenters.base import FrameSource
from models.segmenters.inference import SamVideoModel, WindowSession, propagated
from models.segmenters.processors import video_processor
from models.segmenters.sam3_architecture import (
    RANDOM_PREFIX,
    SIZE,
    is_random_architecture,
    random_architecture,
)
from models.weights import describe_failure, looks_like_path, missing_weights_error, resolve_weights
from models.weights_sources import HubRepo, WeightsLocation

if TYPE_CHECKING:
    from models.segmenters.sam2_frames import WindowFrames

#: SAM 3's code and checkpoint are under Meta's "SAM License" (the sam3 package's metadata
#: says "License: SAM License"); it allows commercial use, with restrictions of its own.
LICENSE = "SAM License"
NAME = "SAM3"
LABEL = "SAM 3"
HUB_ID = "facebook/sam3"
ENV_VAR = "SAM3_WEIGHTS"
#: Not measured on ZeroGPU yet. SAM 3 detects on every frame with an 0.9B-parameter model, so
#: the slowest measured SAM 2.1 rate (Hiera-L, 3.0) is lowered: a ZeroGPU request sized on it
#: asks for more time, never too little.
THROUGHPUT_FPS = 2.0
#: SAM 3's own image normalisation (``transformers``' ``Sam3ImageProcessor`` defaults).
IMAGE_MEAN = (0.5, 0.5, 0.5)
IMAGE_STD = (0.5, 0.5, 0.5)
#: Tokens per query: the text encoder's context (``max_position_embeddings``).
TEXT_TOKENS = 32


def locate_weights(*, weights: str | None = None) -> WeightsLocation:
    """Where SAM 3's weights are (the rule in this module's docstring).

    Args:
        weights: The ``weights=`` option.

    Returns:
        An architecture (random weights), a local folder or the Hub repository.
    """
    chosen = resolve_weights(weights, env_var=ENV_VAR, default=HUB_ID)
    if is_random_architecture(chosen):
        path = None if chosen.startswith(RANDOM_PREFIX) else Path(chosen).expanduser()
        return WeightsLocation.architecture(LABEL, chosen, ENV_VAR, path)
    if looks_like_path(chosen):
        return WeightsLocation.transformers_folder(LABEL, chosen, ENV_VAR, Path(chosen))
    return WeightsLocation.download(LABEL, chosen, ENV_VAR, HubRepo(chosen))


def byte_tokenizer() -> Any:
    """A CLIP tokenizer over single bytes, for random weights (no tokenizer files needed).

    Its ids stay below CLIP's vocabulary size, so any SAM 3 text encoder reads them.
    """
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for token in ["<|startoftext|>", "<|endoftext|>", *symbols, *(s + "</w>" for s in symbols)]:
        vocab.setdefault(token, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[])


def build_processor(config: Any, tokenizer: Any) -> Any:
    """The ``Sam3VideoProcessor`` for a config's input size, with ``tokenizer``."""
    from transformers import Sam3ImageProcessor, Sam3VideoProcessor

    return video_processor(
        config, Sam3VideoProcessor, Sam3ImageProcessor, IMAGE_MEAN, IMAGE_STD, tokenizer=tokenizer
    )


def _classes() -> tuple[Any, Any]:
    import transformers

    model = getattr(transformers, "Sam3VideoModel", None)
    processor = getattr(transformers, "Sam3VideoProcessor", None)
    if model is None or processor is None:
        raise ModelError(
            f"SAM 3 needs a transformers release with Sam3VideoModel; transformers "
            f"{transformers.__version__} is installed, which has none. Install transformers "
            "5.24.0 as requirements.txt pins it."
        )
    return model, processor


def load(location: WeightsLocation, *, device: str) -> tuple[Any, Any]:
    """SAM 3's model (eval mode, on ``device``) and processor from ``location``.

    Raises:
        MissingWeightsError: Nothing to load there, or the Hub refused the
            gated download (the message says how to get access).
        ModelError: What is there is not a SAM 3 video checkpoint.
    """
    import torch

    model_class, processor_class = _classes()
    weights = location.weights
    if location.random_weights:
        try:
            config = random_architecture(weights)
        except OSError as exc:
            raise missing_weights_error(LABEL, weights, ENV_VAR, exc) from exc
        with torch.device(device):
            model = model_class(config)
        return model.eval(), build_processor(config, byte_tokenizer())
    source = str(location.path.parent) if location.path is not None else weights
    if location.path is not None and not location.path.is_file():
        raise missing_weights_error(
            LABEL, weights, ENV_VAR, f"{source} is not a folder holding config.json"
        )
    try:
        model, info = model_class.from_pretrained(
            source, dtype=torch.float32, output_loading_info=True
        )
        processor = processor_class.from_pretrained(source)
    except (MissingWeightsError, ModelError):
        raise
    except OSError as exc:
        # Offline and not cached, no such repository, a gated one without access.
        raise missing_weights_error(LABEL, weights, ENV_VAR, exc) from exc
    except Exception as exc:  # noqa: BLE001 - transformers and safetensors raise many kinds
        raise ModelError(
            f"{weights!r} is not a SAM 3 video checkpoint ({describe_failure(exc)})."
        ) from exc
    missing = [k if isinstance(k, str) else k[0] for k in info.get("missing_keys", ())]
    if missing:
        raise ModelError(
            f"{weights!r} is not a whole SAM 3 video checkpoint: it lacks {len(missing)} "
            f"of the model's weights, e.g. {sorted(missing)[0]}."
        )
    return model.eval().to(device), processor


class Sam3Segmenter(SamVideoModel, Model):
    """SAM 3 with its processor and lock: text queries in, tracked instance masks out.

    Device, weights, licence, lock and :meth:`info` come from :class:`models.base.Model`.

    Attributes:
        model: The ``transformers`` ``Sam3VideoModel``.
        processor: Its ``Sam3VideoProcessor``.
        open_vocabulary: Always True: queries are free text.
    """

    open_vocabulary = True

    def __init__(self, model: Any, processor: Any, **kwargs: Any) -> None:
        super().__init__(model, processor, size=SIZE, license=LICENSE, **kwargs)
        self.name = NAME

    def validate_queries(self, queries: str | Sequence[str] | None) -> tuple[str, ...]:
        """The queries, normalised; SAM 3 needs at least one.

        Raises:
            InvalidQueryError: No query.
        """
        normalized = normalize_queries(queries)
        if not normalized:
            raise InvalidQueryError(
                f"{NAME} finds what you describe: enter text queries, e.g. 'person, red car'."
            )
        return normalized

    def text_session(
        self, frame_at: FrameSource, num_frames: int, height: int, width: int
    ) -> Sam3Session:
        """Start finding and following the queries' instances over one window.

        Args:
            frame_at: Returns frame ``i`` of the window (BGR uint8) when SAM 3 needs it.
            num_frames: Frames in the window.
            height: Frame height (masks come back at this size).
            width: Frame width.

        Returns:
            The session; :meth:`Sam3Session.close` releases it.
        """
        return Sam3Session(self, frame_at, num_frames, height, width)

    def info(self) -> dict[str, Any]:
        """What the output JSON records about the model, with SAM 3's input size."""
        return {**super().info(), "image_size": self.image_size}


class Sam3Session(WindowSession):
    """SAM 3's state over one window: text queries in, each instance's mask out.

    The arguments, the lock and :attr:`state` are
    :class:`~models.segmenters.inference.WindowSession`'s.
    """

    _segmenter: Sam3Segmenter
    _queries: tuple[str, ...] = ()

    def _start(self, frames: WindowFrames, height: int, width: int) -> Any:
        state = self._segmenter.processor.init_video_session(
            inference_device=self._segmenter.device
        )
        # The session reads processed_frames[i] when it reaches frame i: made on demand.
        state.processed_frames = frames
        state.video_height, state.video_width = height, width
        return state

    def _memory_config(self) -> Any:
        return self._segmenter.model.config.tracker_config

    def add_text(self, queries: Sequence[str]) -> None:
        """Look for every instance of each query, on every frame from now on."""
        self._queries = tuple(dict.fromkeys([*self._queries, *queries]))
        self._segmenter.processor.add_text_prompt(self.state, list(queries))

    def propagate(self, start: int, end: int) -> Iterator[tuple[int, sv.Detections]]:
        """Each frame's instances, frames ``start`` to ``end`` (inclusive), in order.

        Args:
            start: First frame (window index).
            end: Last frame, included.

        Yields:
            ``(frame, detections)``: ``mask``, ``xyxy``, ``confidence``,
            ``class_id`` (the query's place), ``data["class_name"]`` (the query)
            and ``tracker_id``: SAM 3's own object id, stable within the session.
        """
        from models.compat.transformers_sam2 import forget_outputs_before

        if not self._queries:
            for frame in range(start, end + 1):
                yield frame, sv.Detections.empty()
            return
        segmenter = self._segmenter

        def read(output: Any) -> tuple[int, dict[str, Any]]:
            found = segmenter.processor.postprocess_outputs(self.state, output)
            frame = int(output.frame_idx)
            # SAM 3 yields a frame some frames after it processed it (its "hotstart"
            # check), so frames before the yielded one minus what the tracker reads
            # are surely done with.
            forget_outputs_before(self.state, frame - self._keep)
            return frame, found

        for frame, found in propagated(segmenter, self.state, start, end, read):
            yield frame, self._detections(found)

    def _detections(self, found: dict[str, Any]) -> sv.Detections:
        ids = found["object_ids"].cpu().numpy().astype(int)
        if not len(ids):
            return sv.Detections.empty()
        query_of = {
            int(i): text for text, members in found["prompt_to_obj_ids"].items() for i in members
        }
        names = [query_of[int(i)] for i in ids]
        return sv.Detections(
            xyxy=found["boxes"].float().cpu().numpy().reshape(-1, 4),
            mask=found["masks"].cpu().numpy().astype(bool),
            confidence=found["scores"].float().cpu().numpy(),
            class_id=np.array([self._queries.index(n) for n in names], dtype=int),
            tracker_id=ids,
            data={CLASS_NAME: np.array(names, dtype=object)},
        )

    def close(self) -> None:
        """Release the window's state (memories, cached features, frames view)."""
        self.state.reset_inference_session()
        self.state.processed_frames = None


def create_sam3_segmenter(
    *, device: str, weights: str | None = None, image_size: int | None = None
) -> Sam3Segmenter:
    """Build SAM 3.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        weights: A ``save_pretrained`` folder, a Hub id, or random weights
            (``random:sam3``, a config ``.json``); defaults to ``SAM3_WEIGHTS``,
            then ``facebook/sam3``.
        image_size: Not supported: SAM 3 runs at its own input size (1008 px).

    Returns:
        The segmenter.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable, or
            the gated download was refused.
        ModelError: What is there is not a SAM 3 video checkpoint; ``image_size`` given.
    """
    if image_size is not None:
        raise ModelError(
            f"{NAME} runs at its own input size (1008 px); leave the image size unset."
        )
    location = locate_weights(weights=weights)
    model, processor = load(location, device=device)
    return Sam3Segmenter(
        model,
        processor,
        device=device,
        weights=location.weights,
        random_weights=location.random_weights,
    )


CARD = ModelCard(
    label="SAM 3 (text prompts)",
    description="SAM 3 finds every instance of what the text names on each frame and "
    f"follows their masks, in one model (no separate detector). Its weights ({HUB_ID}) are "
    "gated: request access on their Hub page, then set the HF_TOKEN Space secret.",
    license=LICENSE,
    open_vocabulary=True,
    throughput_fps=THROUGHPUT_FPS,
    env_var=ENV_VAR,
)
register("segmenter", NAME, CARD, locate=locate_weights, text_prompts=True)(create_sam3_segmenter)
