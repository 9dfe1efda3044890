"""Compatibility shims: each is pinned to the version requirements.txt installs, and says so."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement

import models.compat
from models.compat import IncompatibleVersionError, require_version

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"


def pinned_versions() -> dict[str, str]:
    """``name: version`` for every ``name==version`` line of requirements.txt that applies here.

    A package pinned per Python version (``python_version`` markers) has the pin of the
    running interpreter.
    """
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        specifiers = list(requirement.specifier)
        if len(specifiers) == 1 and specifiers[0].operator == "==":
            pins[requirement.name.lower()] = specifiers[0].version
    return pins


def shim_names() -> list[str]:
    return [
        module.name
        for module in pkgutil.iter_modules(models.compat.__path__, prefix="models.compat.")
    ]


def fresh_import(name: str) -> ModuleType:
    """Execute a module's file anew, outside ``sys.modules`` (its import-time check runs again)."""
    origin = importlib.util.find_spec(name).origin
    spec = importlib.util.spec_from_file_location(f"{name}_fresh", origin)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_shims_for_sam2_and_ultralytics() -> None:
    assert {"models.compat.sam2", "models.compat.ultralytics"} <= set(shim_names())


@pytest.mark.parametrize("name", shim_names())
def test_each_shim_is_verified_against_the_pinned_version(name: str) -> None:
    shim = importlib.import_module(name)
    pins = pinned_versions()
    assert shim.DISTRIBUTION.lower() in pins, f"{shim.DISTRIBUTION} is not pinned"
    assert pins[shim.DISTRIBUTION.lower()] == shim.VERIFIED_VERSION


@pytest.mark.parametrize("name", shim_names())
def test_another_installed_version_fails_at_import_with_a_clear_message(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim = importlib.import_module(name)
    monkeypatch.setattr(models.compat, "installed_version", lambda distribution: "0.0.1")
    with pytest.raises(IncompatibleVersionError) as info:
        fresh_import(name)
    message = str(info.value)
    assert name in message
    assert f"{shim.DISTRIBUTION} {shim.VERIFIED_VERSION}" in message
    assert f"{shim.DISTRIBUTION} 0.0.1 is installed" in message
    assert f"pip install {shim.DISTRIBUTION}=={shim.VERIFIED_VERSION}" in message
    assert isinstance(info.value, ImportError)


def test_require_version_passes_on_the_installed_version() -> None:
    require_version("numpy", models.compat.installed_version("numpy"), shim="tests.example")


def test_a_missing_library_is_a_module_not_found_error() -> None:
    with pytest.raises(ModuleNotFoundError, match="no-such-distribution-here 1.0") as info:
        require_version("no-such-distribution-here", "1.0", shim="tests.example")
    assert not isinstance(info.value, IncompatibleVersionError)
