"""SAM 3's architecture as a ``transformers`` config, and the names of random-weights builds.

SAM 3 (Meta, github.com/facebookresearch/sam3) comes in one size. Its
``transformers`` config, ``Sam3VideoConfig``, holds a detector (a ViT image
encoder shared with the tracker, a CLIP text encoder, a DETR encoder and
decoder, a mask head) and a SAM 2-style tracker. ``transformers`` documents
its defaults as the configuration of ``facebook/sam3``
(``@auto_docstring(checkpoint="facebook/sam3")`` on each config class), so
:func:`architecture` is those defaults; ``tests/test_sam3.py`` checks the
figures that define it (layers, widths, input size, the 0.9B parameters the
Hub lists for ``facebook/sam3``).

Random weights (tests, benchmarks) are named ``random:sam3`` (the published
architecture) or by a ``Sam3VideoConfig`` saved as a ``.json`` file.

Example:
    >>> is_random_architecture("random:sam3"), is_random_architecture("facebook/sam3")
    (True, False)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from models.errors import ModelError
from models.weights import describe_failure

#: The one size SAM 3 comes in.
SIZE = "sam3"
#: ``random:<size>`` builds the published architecture with random weights.
RANDOM_PREFIX = "random:"
#: ``model_type`` of a SAM 3 video config.
MODEL_TYPE = "sam3_video"


def is_random_architecture(weights: str) -> bool:
    """True for ``random:sam3`` or a config ``.json`` file: random weights."""
    return weights.startswith(RANDOM_PREFIX) or weights.lower().endswith(".json")


def architecture() -> Any:
    """SAM 3's ``Sam3VideoConfig`` as published (``transformers``' defaults, ``facebook/sam3``)."""
    from transformers import Sam3VideoConfig

    return Sam3VideoConfig()


def random_architecture(weights: str) -> Any:
    """The config that ``random:sam3`` or a config file names.

    Args:
        weights: ``random:sam3``, or the path of a ``Sam3VideoConfig`` saved as JSON.

    Returns:
        The ``Sam3VideoConfig``.

    Raises:
        ModelError: Not ``random:sam3``, or the file is not a SAM 3 video config.
        OSError: The file cannot be read.
    """
    if weights.startswith(RANDOM_PREFIX):
        if weights != RANDOM_PREFIX + SIZE:
            raise ModelError(
                f"Unknown SAM 3 architecture {weights!r}; use {RANDOM_PREFIX}{SIZE} "
                "or a Sam3VideoConfig .json file."
            )
        return architecture()
    from transformers import Sam3VideoConfig

    path = Path(weights).expanduser()
    values = json.loads(path.read_text())
    try:
        if not isinstance(values, dict) or values.get("model_type") != MODEL_TYPE:
            raise ValueError(f"its model_type is not {MODEL_TYPE}")
        return Sam3VideoConfig.from_dict(values)
    except Exception as exc:  # noqa: BLE001 - a config that does not fit raises many kinds
        raise ModelError(f"{path} is not a SAM 3 video config ({describe_failure(exc)}).") from exc
