"""The Python packages a model needs beyond the app's core, checked without importing the model.

A model registers the modules it imports with ``requires=`` (see
:func:`models.registry.register`): ultralytics for the YOLO detectors (AGPL-3.0,
so that a deployment that wants no AGPL code can leave it out), or the
``transformers`` module of a model that older releases lack. A model whose
package is missing stays listed, marked unavailable with the reason, and
loading it raises :class:`~models.errors.MissingPackageError` instead of an
``ImportError`` from deep inside its factory.

Example:
    >>> from models.registry import spec
    >>> missing_package(spec("detector", "yolox_nano")) is None
    True
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from models.errors import MissingPackageError
from models.registry import ModelSpec


@dataclass(frozen=True)
class Requirement:
    """One module a model imports, and what to tell a user who lacks it.

    Attributes:
        module: Dotted module name, e.g. ``"ultralytics"`` or
            ``"transformers.models.deimv2"``.
        install: How to get it, e.g. ``"pip install ultralytics==8.4.190"``.
        note: Why it may be missing on purpose (a licence), or empty.
    """

    module: str
    install: str
    note: str = ""


@functools.cache
def module_available(module: str) -> bool:
    """Whether ``module`` is installed here, found without importing it or its package.

    A submodule (``transformers.models.deimv2``) is looked for in its top-level
    package's folders, so that checking costs no ``import transformers``.

    Example:
        >>> module_available("json.decoder"), module_available("json.no_such_module")
        (True, False)
    """
    top, _, rest = module.partition(".")
    try:
        found = importlib.util.find_spec(top)
    except (ImportError, ValueError):  # refuses to be found, or a broken installation
        return False
    if found is None or not rest:
        return found is not None
    parts = rest.split(".")
    for folder in found.submodule_search_locations or ():
        path = Path(folder).joinpath(*parts)
        if (path / "__init__.py").is_file() or path.with_suffix(".py").is_file():
            return True
    return False


def missing_package(model_spec: ModelSpec) -> str | None:
    """Why ``model_spec`` cannot load here for want of a package, or None when nothing is missing.

    Args:
        model_spec: A registered model.

    Returns:
        One message naming the model, the missing module and how to install it.
    """
    error = missing_package_error(model_spec)
    return None if error is None else str(error)


def missing_package_error(model_spec: ModelSpec) -> MissingPackageError | None:
    """The error for the first package ``model_spec`` needs that is not installed (None: none)."""
    for requirement in model_spec.extra.get("requires", ()):
        if not module_available(requirement.module):
            return MissingPackageError(
                f"{model_spec.label} needs the Python module {requirement.module!r}, which is "
                "not installed here.",
                remedy=requirement.install,
                detail=requirement.note,
            )
    return None


def check_requirements(model_spec: ModelSpec) -> None:
    """Raise when a package ``model_spec`` needs is missing.

    Raises:
        MissingPackageError: Naming the model, the module and how to install it.
    """
    error = missing_package_error(model_spec)
    if error is not None:
        raise error


#: The YOLO detectors' library. AGPL-3.0: a deployment that must not include AGPL code leaves
#: it out, and the app offers the other detectors.
ULTRALYTICS = Requirement(
    "ultralytics",
    "pip install ultralytics (the version requirements.txt pins)",
    "ultralytics is AGPL-3.0; without it the app offers the Apache-2.0 detectors.",
)
