"""The interface every detector implements.

A detector takes a batch of BGR uint8 frames and returns one
``supervision.Detections`` per frame, with ``class_id``, ``confidence`` and
the class name in ``data["class_name"]``.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import supervision as sv

from models.base import Model
from models.errors import InvalidQueryError

CLASS_NAME = "class_name"


def normalize_queries(queries: str | Sequence[str] | None) -> tuple[str, ...]:
    """Turn ``"person, car"`` or ``["person", " car "]`` into ``("person", "car")``.

    Args:
        queries: Comma-separated string, a sequence of strings, or None.

    Returns:
        The non-empty, stripped queries in order, without duplicates.
    """
    if queries is None:
        return ()
    if isinstance(queries, str):
        queries = queries.split(",")
    seen: dict[str, None] = {}
    for query in queries:
        query = query.strip()
        if query:
            seen.setdefault(query, None)
    return tuple(seen)


@dataclass(frozen=True)
class Batch:
    """One :meth:`Detector.detect` call as a model sees it: the frames and what is asked of them.

    Attributes:
        frames: BGR uint8 images (H, W, 3); never empty.
        confidence: Minimum score kept.
        queries: Checked queries (class names, or text phrases); empty means everything.
        timing: Seconds per stage, which the model adds into.
    """

    frames: list[np.ndarray]
    confidence: float
    queries: tuple[str, ...]
    timing: dict[str, float]


class Detector(Model, abc.ABC):
    """Base class for detectors.

    Subclasses set :attr:`class_names` (closed vocabulary) or
    :attr:`open_vocabulary` and implement :meth:`_predict`. Device, weights,
    size, licence, lock, stage timing and :meth:`info` come from
    :class:`models.base.Model`.

    Attributes:
        class_names: Class names in model order (empty for open vocabulary).
        open_vocabulary: True when queries are a free-text prompt.
    """

    open_vocabulary: bool = False

    def __init__(
        self,
        *,
        device: str,
        weights: str,
        size: str | None = None,
        class_names: Sequence[str] = (),
        random_weights: bool = False,
        license: str = "",
    ) -> None:
        super().__init__(
            device=device,
            weights=weights,
            size=size,
            random_weights=random_weights,
            license=license,
        )
        self.class_names: list[str] = list(class_names)

    def validate_queries(self, queries: str | Sequence[str] | None) -> tuple[str, ...]:
        """Normalise queries and check them against the model's vocabulary.

        Args:
            queries: Class names (closed vocabulary) or text phrases.

        Returns:
            The normalised queries; empty means "everything".

        Raises:
            InvalidQueryError: A closed-vocabulary query names an unknown class.
        """
        normalized = normalize_queries(queries)
        if self.open_vocabulary:
            if not normalized:
                raise InvalidQueryError(
                    f"{self.name} needs at least one text query, e.g. 'person, car'."
                )
            return normalized
        known = {c.lower(): c for c in self.class_names}
        unknown = [q for q in normalized if q.lower() not in known]
        if unknown:
            raise InvalidQueryError(
                f"{self.name} does not know {', '.join(repr(u) for u in unknown)}. "
                f"Valid classes: {', '.join(self.class_names)}."
            )
        return tuple(known[q.lower()] for q in normalized)

    def detect(
        self,
        frames: Sequence[np.ndarray],
        *,
        confidence: float = 0.25,
        queries: str | Sequence[str] | None = None,
        timing: dict[str, float] | None = None,
    ) -> list[sv.Detections]:
        """Detect objects in a batch of frames.

        Args:
            frames: BGR uint8 images of shape (H, W, 3).
            confidence: Minimum score kept.
            queries: Class-name filter, or the text prompt for open vocabulary.
            timing: If given, seconds per stage (``preprocess``, ``inference``,
                ``postprocess``) are added into it.

        Returns:
            One ``sv.Detections`` per frame with ``data["class_name"]``.

        Example:
            >>> import models
            >>> detector = models.create("detector", "yolox_nano")
            >>> frame = np.zeros((240, 320, 3), dtype=np.uint8)
            >>> [dets] = detector.detect([frame], queries="person")
            >>> len(dets), detector.detect([], queries="person")
            (0, [])
        """
        wanted = self.validate_queries(queries)
        if not len(frames):
            return []
        batch = Batch(list(frames), confidence, wanted, {} if timing is None else timing)
        with self.lock:
            results = self._predict(batch)
        if wanted and not self.open_vocabulary:
            keep = set(wanted)
            results = [d[np.isin(d.data[CLASS_NAME], list(keep))] if len(d) else d for d in results]
        return [_with_class_names(d) for d in results]

    @abc.abstractmethod
    def _predict(self, batch: Batch) -> list[sv.Detections]:
        """Run the model on a batch; return one ``sv.Detections`` per frame."""


def _with_class_names(detections: sv.Detections) -> sv.Detections:
    if detections.class_id is None:
        detections.class_id = np.zeros(len(detections), dtype=int)
    if CLASS_NAME not in detections.data:
        # Every detection needs a name; the id is the only one available here.
        detections.data[CLASS_NAME] = np.array([str(i) for i in detections.class_id], dtype=object)
    if detections.confidence is None:
        detections.confidence = np.ones(len(detections), dtype=np.float32)
    return detections
