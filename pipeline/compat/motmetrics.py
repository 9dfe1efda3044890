"""``motmetrics`` made importable beside numpy 2, checked against one version.

motmetrics 1.4.0 still calls ``np.asfarray``, which numpy 2 removed; importing
this module puts a faithful alias back (only if numpy lacks it) before
motmetrics is imported, and re-exports the module as :data:`mm`.

motmetrics is a test and evaluation dependency (``requirements-test.txt``);
importing this module on another motmetrics version raises
:class:`models.compat.IncompatibleVersionError`.
"""

from __future__ import annotations

import numpy as np

from models.compat import require_version

DISTRIBUTION = "motmetrics"
#: The motmetrics release this module was checked against.
VERIFIED_VERSION = "1.4.0"

require_version(DISTRIBUTION, VERIFIED_VERSION, shim=__name__)

if not hasattr(np, "asfarray"):
    np.asfarray = lambda a, dtype=np.float64: np.asarray(a, dtype=dtype)  # type: ignore[attr-defined]

import motmetrics as mm  # noqa: E402 - after the alias it needs

__all__ = ["mm"]
