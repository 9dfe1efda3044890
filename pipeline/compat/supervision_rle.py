"""What this project takes from ``supervision``'s private RLE helpers, checked against one version.

supervision exposes no public "compressed COCO RLE string to run lengths";
:func:`rle_counts` uses the two private halves of its own ``rle_to_mask``
(``_base48_decode`` then ``_delta_decode``).

Importing this module on another supervision version raises
:class:`models.compat.IncompatibleVersionError`.
"""

from __future__ import annotations

from models.compat import require_version

DISTRIBUTION = "supervision"
#: The supervision release this module was checked against.
VERIFIED_VERSION = "0.31.2"

require_version(DISTRIBUTION, VERIFIED_VERSION, shim=__name__)

from supervision.detection.utils.converters import (  # noqa: E402 - after the version check
    _base48_decode,
    _delta_decode,
)


def rle_counts(compressed: str | bytes) -> list[int]:
    """The run lengths of a compressed COCO RLE string (as ``pycocotools`` writes it).

    Args:
        compressed: The ``counts`` string of a compressed RLE.

    Returns:
        Alternating background and foreground run lengths, background first.
    """
    text = compressed.decode() if isinstance(compressed, bytes) else compressed
    return [int(count) for count in _delta_decode(_base48_decode(text))]
