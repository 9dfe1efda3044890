"""What a run knows from its models once they are loaded, wherever they were loaded.

A run records its models in its files and summary and decides a few things from
them (the queries as the model spells them, the tracker's settings for an
open-vocabulary detector, the random-weights warning). A run split into calls
(:mod:`pipeline.runtime.chunks`) loads its models only inside the calls, which
on ZeroGPU run in another process on a GPU the run's own process never sees;
the first call sends these facts back, and the run uses them as if it had
loaded the models itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelFacts:
    """A run's models, described (small and picklable: it crosses process boundaries).

    Attributes:
        info: What the files and the summary record about the models
            (``Run.model_info``).
        devices: The devices the models run on.
        queries: The queries as the model spells them (closed vocabulary: its
            class names), checked against it.
        open_vocabulary: Whether the detector takes free text (the tracker's
            settings depend on it).
        random_weights: Whether any model has random weights (results are meaningless).
    """

    info: dict[str, Any]
    devices: list[str]
    queries: tuple[str, ...] = ()
    open_vocabulary: bool = False
    random_weights: bool = False
