"""Grounding DINO (transformers): open-vocabulary detection from a text prompt.

Queries become the prompt ``"a cat. a dog."``; each box is assigned the query
whose tokens score highest for it, so ``class_id`` is the query's index and
``data["class_name"]`` the query itself (stable across frames, unlike the
decoded token phrase, which can read "cat", "a cat" or "cat dog").

Weights: ``weights=`` / ``$GROUNDING_DINO_WEIGHTS`` (a ``save_pretrained``
folder or a Hub id), else ``IDEA-Research/grounding-dino-{tiny,base}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import supervision as sv

from models.detectors.base import CLASS_NAME, Batch
from models.detectors.transformers_common import (
    Detected,
    TransformersDetector,
    bgr_to_rgb,
    create_pretrained,
    locate_pretrained,
)
from models.errors import InvalidQueryError
from models.registry import ModelCard, register
from models.weights import resolve_weights
from models.weights_sources import WeightsLocation

CARD = ModelCard(
    label="Grounding DINO",
    description="Grounding DINO: finds any objects described in text ('red car, dog').",
    # The model cards huggingface.co/IDEA-Research/grounding-dino-{tiny,base}:
    # "license: apache-2.0".
    license="Apache-2.0",
    sizes=("tiny", "base"),
    default_size="tiny",
    open_vocabulary=True,
    throughput_fps=6.0,
    env_var="GROUNDING_DINO_WEIGHTS",
)
HUB_IDS = {"tiny": "IDEA-Research/grounding-dino-tiny", "base": "IDEA-Research/grounding-dino-base"}
#: What its processor reads besides the weights: image processing and the text tokenizer.
REQUIRED_FILES = ("config.json", "preprocessor_config.json", "tokenizer_config.json")


def build_prompt(queries: tuple[str, ...]) -> str:
    """Join queries into Grounding DINO's prompt format, ``"a cat. a dog."``.

    The model was trained on lower-case phrases separated by ``"."``, so dots
    inside a query would split it and are replaced by spaces.

    Args:
        queries: Text phrases.

    Returns:
        The prompt.

    Raises:
        InvalidQueryError: A query is empty once its dots are removed.
    """
    cleaned = [" ".join(q.replace(".", " ").lower().split()) for q in queries]
    if not all(cleaned):
        raise InvalidQueryError(f"Queries must contain words, got {list(queries)!r}.")
    return "".join(f"{phrase}. " for phrase in cleaned).strip()


class GroundingDinoDetector(TransformersDetector):
    """Grounding DINO zero-shot detector."""

    name = "grounding_dino"
    open_vocabulary = True

    def __init__(self, model: Any, processor: Any, *, device: str, weights: str, size: str) -> None:
        license = CARD.license_for(size)
        super().__init__(
            model, processor, device=device, weights=weights, size=size, license=license
        )
        tokenizer = processor.tokenizer
        self._separator_id = tokenizer.convert_tokens_to_ids(".")
        self._stop_ids = {tokenizer.sep_token_id, tokenizer.pad_token_id}

    def query_token_positions(self, input_ids: list[int], n_queries: int) -> list[list[int]]:
        """Token positions of each query in a tokenised prompt.

        Args:
            input_ids: Token ids of the prompt, starting with ``[CLS]``.
            n_queries: Number of queries in the prompt.

        Returns:
            For each query, the positions of its tokens.

        Raises:
            InvalidQueryError: The prompt is longer than the model's text input,
                or a query has no tokens.
        """
        max_tokens = self.model.config.max_text_len
        if len(input_ids) > max_tokens:
            raise InvalidQueryError(
                f"Too many or too long queries for {CARD.label}: the prompt has "
                f"{len(input_ids)} tokens, the model takes at most {max_tokens}."
            )
        positions: list[list[int]] = [[] for _ in range(n_queries)]
        query = 0
        for position, token in enumerate(input_ids[1:], start=1):  # 0 is [CLS]
            if token in self._stop_ids or query == n_queries:
                break
            if token == self._separator_id:
                query += 1
            else:
                positions[query].append(position)
        if not all(positions):
            raise InvalidQueryError(f"Some queries have no tokens {CARD.label} can read.")
        return positions

    def _inputs(self, batch: Batch) -> Mapping[str, Any]:
        prompt = build_prompt(batch.queries)
        frames = batch.frames
        features = self.processor(
            images=bgr_to_rgb(frames), text=[prompt] * len(frames), return_tensors="pt"
        )
        inputs = self._processed(features)
        # Checked here, before inference is spent on a prompt that cannot be read.
        self._positions(inputs, batch.queries)
        return inputs

    def _positions(self, inputs: Mapping[str, Any], queries: tuple[str, ...]) -> list[list[int]]:
        return self.query_token_positions(inputs["input_ids"][0].tolist(), len(queries))

    def _detections(self, outputs: Any, inputs: Mapping[str, Any], batch: Batch) -> Detected:
        import torch

        queries = batch.queries
        positions = self._positions(inputs, queries)
        probs = outputs.logits.float().sigmoid()  # (batch, boxes, text positions)
        # Score of each query for each box: its best token.
        per_query = torch.stack([probs[..., p].amax(dim=-1) for p in positions], dim=-1)
        scores, class_ids = per_query.max(dim=-1)
        boxes = _cxcywh_to_xyxy(outputs.pred_boxes.float())
        detections = []
        for i, frame in enumerate(batch.frames):
            height, width = frame.shape[:2]
            keep = scores[i] > batch.confidence
            scale = torch.tensor([width, height, width, height], device=boxes.device)
            class_id = class_ids[i][keep].cpu().numpy().astype(int)
            detections.append(
                sv.Detections(
                    xyxy=(boxes[i][keep] * scale).cpu().numpy().reshape(-1, 4),
                    confidence=scores[i][keep].cpu().numpy(),
                    class_id=class_id,
                    data={CLASS_NAME: np.array([queries[c] for c in class_id], dtype=object)},
                )
            )
        return detections


def _cxcywh_to_xyxy(boxes: Any) -> Any:
    import torch

    center, size = boxes[..., :2], boxes[..., 2:]
    return torch.cat([center - size / 2, center + size / 2], dim=-1)


def locate_weights(*, size: str = CARD.default_size, weights: str | None = None) -> WeightsLocation:
    """Where Grounding DINO's weights are: ``weights``, ``$GROUNDING_DINO_WEIGHTS``, or the Hub.

    Args:
        size: ``"tiny"`` or ``"base"``.
        weights: The ``weights=`` option: a ``save_pretrained`` folder or a Hub id.

    Returns:
        The local folder or the Hub repository.
    """
    chosen = resolve_weights(weights, env_var=CARD.env_var, default=HUB_IDS[size])
    return locate_pretrained(f"{CARD.label} {size}", chosen, CARD.env_var, required=REQUIRED_FILES)


@register("detector", "grounding_dino", CARD, locate=locate_weights)
def create_grounding_dino(
    *, device: str, size: str = CARD.default_size, weights: str | None = None
) -> GroundingDinoDetector:
    """Build a Grounding DINO detector.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        size: ``"tiny"`` or ``"base"``.
        weights: A ``save_pretrained`` folder or Hub id; defaults to
            ``$GROUNDING_DINO_WEIGHTS``, then ``IDEA-Research/grounding-dino-{size}``.

    Returns:
        The detector.

    Raises:
        MissingWeightsError: The weights are neither local nor downloadable.
    """
    from transformers import AutoModelForZeroShotObjectDetection, AutoProcessor

    location = locate_weights(size=size, weights=weights)
    return create_pretrained(
        GroundingDinoDetector,
        AutoModelForZeroShotObjectDetection,
        AutoProcessor,
        location=location,
        device=device,
        size=size,
    )
