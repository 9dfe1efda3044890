"""Compatibility shims: each is verified against the versions requirements.txt installs."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path
from types import ModuleType

import pytest

import models.compat
from models.compat import IncompatibleVersionError, require_version

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"


def pinned_versions() -> dict[str, set[str]]:
    """``name: {versions}`` for the ``name==version`` lines of requirements.txt.

    A name may be pinned on several lines, one per Python (an environment marker).
    """
    pins: dict[str, set[str]] = {}
    for line in REQUIREMENTS.read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s#;]+).*", line)
        if match:
            pins.setdefault(match[1].lower(), set()).add(match[2])
    return pins


def verified_versions(shim: ModuleType) -> tuple[str, ...]:
    """The versions a shim names: ``VERIFIED_VERSIONS``, or its one ``VERIFIED_VERSION``."""
    versions = getattr(shim, "VERIFIED_VERSIONS", None)
    return tuple(versions) if versions else (shim.VERIFIED_VERSION,)


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


def test_there_are_shims_for_transformers_sam2_and_ultralytics() -> None:
    assert {"models.compat.transformers_sam2", "models.compat.ultralytics"} <= set(shim_names())


@pytest.mark.parametrize("name", shim_names())
def test_each_shim_is_verified_against_the_pinned_version(name: str) -> None:
    shim = importlib.import_module(name)
    pins = pinned_versions()
    assert shim.DISTRIBUTION.lower() in pins, f"{shim.DISTRIBUTION} is not pinned"
    assert pins[shim.DISTRIBUTION.lower()] <= set(verified_versions(shim))
    assert models.compat.installed_version(shim.DISTRIBUTION) in verified_versions(shim)


@pytest.mark.parametrize("name", shim_names())
def test_another_installed_version_fails_at_import_with_a_clear_message(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim = importlib.import_module(name)
    monkeypatch.setattr(models.compat, "installed_version", lambda distribution: "0.0.1")
    with pytest.raises(IncompatibleVersionError) as info:
        fresh_import(name)
    message = str(info.value)
    versions = verified_versions(shim)
    assert name in message
    assert f"verified against {shim.DISTRIBUTION} {' and '.join(versions)}," in message
    assert f"{shim.DISTRIBUTION} 0.0.1 is installed" in message
    assert f"pip install {shim.DISTRIBUTION}=={versions[-1]}" in message
    assert isinstance(info.value, ImportError)


def test_a_shim_may_accept_several_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    for installed in ("5.20.2", "5.24.0"):
        monkeypatch.setattr(models.compat, "installed_version", lambda _, v=installed: v)
        require_version("transformers", ("5.20.2", "5.24.0"), shim="tests.example")
    monkeypatch.setattr(models.compat, "installed_version", lambda distribution: "5.22.0")
    with pytest.raises(IncompatibleVersionError, match="add it to its VERIFIED_VERSIONS"):
        require_version("transformers", ("5.20.2", "5.24.0"), shim="tests.example")


def test_require_version_passes_on_the_installed_version() -> None:
    require_version("numpy", models.compat.installed_version("numpy"), shim="tests.example")


def test_a_missing_library_is_a_module_not_found_error() -> None:
    with pytest.raises(ModuleNotFoundError, match="no-such-distribution-here 1.0") as info:
        require_version("no-such-distribution-here", "1.0", shim="tests.example")
    assert not isinstance(info.value, IncompatibleVersionError)
