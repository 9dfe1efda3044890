"""Model registry: detectors, segmenters and depth estimators.

Importing this package is cheap; heavy libraries load inside factories.
"""

from models.errors import InvalidQueryError, MissingWeightsError, ModelError, UnknownModelError
from models.registry import ModelSpec, available, clear_cache, create, get_cached, register, spec

__all__ = [
    "InvalidQueryError",
    "MissingWeightsError",
    "ModelError",
    "ModelSpec",
    "UnknownModelError",
    "available",
    "clear_cache",
    "create",
    "get_cached",
    "register",
    "spec",
]
