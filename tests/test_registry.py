"""The model registry: discovery of model modules, and what each registration states."""

from __future__ import annotations

import ast
import functools
import pkgutil
import sys
from pathlib import Path

import pytest

import models
from models import registry

REPO_ROOT = Path(__file__).resolve().parents[1]
KINDS = ("detector", "depth", "segmenter")


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> dict:
    """A copy of the registry that the test may add to; the real one is left as it was."""
    models.available("detector")  # the real models first, so the copy holds them
    copy = dict(registry._REGISTRY)
    monkeypatch.setattr(registry, "_REGISTRY", copy)
    return copy


def write_package(root: Path, name: str, modules: dict[str, str]) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text('"""A package of model modules for one test."""\n')
    for module, source in modules.items():
        (package / f"{module}.py").write_text(source)


def test_a_model_module_added_to_a_package_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_registry: dict
) -> None:
    write_package(
        tmp_path,
        "extra_models",
        {
            "pretend_detector": (
                "from models.registry import register\n\n"
                "@register('detector', 'pretend', hidden=True)\n"
                "def create(*, device):\n"
                "    raise NotImplementedError\n"
            ),
            "helpers": "HELPER = 1\n",  # registers nothing: imported all the same
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    imported = registry.discover(("extra_models",))
    assert imported == ["extra_models.helpers", "extra_models.pretend_detector"]
    assert ("detector", "pretend") in scratch_registry
    assert "pretend" in models.available("detector", include_hidden=True)
    assert "pretend" not in models.available("detector")
    for name in imported:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(sys.modules, "extra_models")


def test_a_missing_dependency_inside_a_model_module_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_registry: dict
) -> None:
    write_package(tmp_path, "broken_models", {"needs_more": "import no_such_library_here\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_library_here"):
        registry.discover(("broken_models",))
    monkeypatch.delitem(sys.modules, "broken_models")


def registering_modules() -> set[str]:
    """Modules under the model packages whose code calls ``register`` (read, not imported)."""
    found = set()
    for package in registry.MODEL_PACKAGES:
        folder = REPO_ROOT.joinpath(*package.split("."))
        for module in pkgutil.iter_modules([str(folder)]):
            tree = ast.parse((folder / f"{module.name}.py").read_text())
            calls = {
                node.func.id
                for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            }
            if "register" in calls:
                found.add(f"{package}.{module.name}")
    return found


def test_every_module_that_registers_a_model_is_discovered() -> None:
    modules = registering_modules()
    assert {"models.detectors.yolox_nano", "models.segmenters.sam2_video"} <= modules
    models.available("detector")
    assert modules <= set(sys.modules)
    factories = {
        models.spec(kind, name).factory for kind in KINDS for name in models.available(kind)
    }
    defined_in = {(f.func if isinstance(f, functools.partial) else f).__module__ for f in factories}
    assert defined_in == modules
