"""Model registry: detectors, segmenters and depth estimators.

Importing this package is cheap; heavy libraries load inside factories.
"""

from models.availability import WeightsStatus, default_detector, weights_status
from models.errors import InvalidQueryError, MissingWeightsError, ModelError, UnknownModelError
from models.instances import clear_cache, create, get_cached
from models.registry import ModelCard, ModelSpec, available, register, spec

__all__ = [
    "InvalidQueryError",
    "MissingWeightsError",
    "ModelCard",
    "ModelError",
    "ModelSpec",
    "UnknownModelError",
    "WeightsStatus",
    "available",
    "clear_cache",
    "create",
    "default_detector",
    "get_cached",
    "register",
    "spec",
    "weights_status",
]
