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
    monkeypatch.setattr(registry, "_LISTING_RANKS", dict(registry._LISTING_RANKS))
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
                "from models.registry import ModelCard, register\n\n"
                "@register('detector', 'pretend', ModelCard('Pretend', license='MIT'),\n"
                "          hidden=True)\n"
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
    defined_in = {
        factory_module(models.spec(kind, name)) for kind in KINDS for name in models.available(kind)
    }
    assert defined_in == modules


def test_models_are_listed_in_discovery_order_whatever_was_imported_first() -> None:
    for kind in KINDS:
        modules = [factory_module(models.spec(kind, name)) for name in models.available(kind)]
        assert modules == sorted(modules), kind
    # One module's own registrations keep their order (SAM 2.1 small, base-plus, large).
    assert models.available("segmenter")[:3] == ["GSAM2-S", "GSAM2-B", "GSAM2-L"]


def factory_module(spec: models.ModelSpec) -> str:
    factory = spec.factory
    return (factory.func if isinstance(factory, functools.partial) else factory).__module__


def test_every_offered_model_states_its_licence_and_throughput() -> None:
    for kind in KINDS:
        for name in models.available(kind):
            spec = models.spec(kind, name)
            for size in spec.sizes or (None,):
                assert spec.license_for(size), (kind, name, size)
                fps = spec.throughput_for(size)
                assert fps is not None and fps > 0, (kind, name, size)


def test_licences_and_throughput_per_size() -> None:
    depth = models.spec("depth", "depth_anything_v2")
    assert depth.license_for() == depth.license_for("small") == "Apache-2.0"
    assert depth.license_for("large") == "CC-BY-NC-4.0"
    assert depth.throughput_for() == 25.0 and depth.throughput_for("base") == 12.0
    assert depth.license_summary == "Apache-2.0 (small); CC-BY-NC-4.0 (base, large)"
    with pytest.raises(models.UnknownModelError, match="no size 'huge'"):
        depth.license_for("huge")
    yolo = models.spec("detector", "yolo11")
    assert yolo.license_for("n") == yolo.license_for() == "AGPL-3.0"
    assert yolo.throughput_for("x") == 40.0
    assert models.spec("detector", "yolox_nano").throughput_for() == 60.0
    with pytest.raises(models.UnknownModelError, match="one size only"):
        models.spec("detector", "yolox_nano").license_for("m")
    sam2 = {
        name: models.spec("segmenter", name)
        for name in models.available("segmenter")
        if name != "SAM3"  # one model of its own, checked below
    }
    assert {name: s.throughput_for() for name, s in sam2.items()} == {
        "GSAM2-S": 8.0,
        "GSAM2-B": 5.0,
        "GSAM2-L": 3.0,
        "YSAM2-S": 8.0,
        "YSAM2-B": 5.0,
        "YSAM2-L": 3.0,
        "GEdgeTAM": 8.0,
        "YEdgeTAM": 8.0,
    }
    assert {s.license_for() for s in sam2.values()} == {"Apache-2.0"}
    assert sam2["YSAM2-B"].extra["sam2"] == "base_plus"
    assert sam2["YEdgeTAM"].extra["edgetam"] == "edgetam"
    assert sam2["YSAM2-B"].extra["detector"] == "yolo11"
    sam3 = models.spec("segmenter", "SAM3")
    assert (sam3.throughput_for(), sam3.license_for()) == (2.0, "SAM License")
    assert sam3.extra["text_prompts"] and "detector" not in sam3.extra


def test_a_per_size_table_must_cover_every_size() -> None:
    with pytest.raises(ValueError, match="license has sizes"):
        models.ModelCard("Half done", sizes=("a", "b"), license={"a": "MIT"})
    with pytest.raises(ValueError, match="throughput_fps has sizes"):
        models.ModelCard("Half done", sizes=("a",), throughput_fps={"a": 1, "b": 2})


def test_a_card_fact_given_beside_the_card_is_refused(scratch_registry: dict) -> None:
    # It would land in ``extra``, where nothing reads it: the licence would silently be "".
    with pytest.raises(TypeError, match="license belongs in the model's card"):
        models.register("detector", "stray", license="MIT")
