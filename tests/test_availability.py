"""Weights availability, checked without loading a model (offline: conftest sets the flags)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import models
from models import availability
from models.availability import ARCHITECTURE, BUNDLED, CACHE, DOWNLOAD, LOCAL_FILE
from models.detectors import yolox_nano

KINDS = ("detector", "depth", "segmenter")
OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "YOLO_OFFLINE")


@pytest.fixture(autouse=True)
def fresh_probes() -> None:
    """Every test starts with no remembered host answers."""
    availability.host_reachable.cache_clear()
    yield
    availability.host_reachable.cache_clear()


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record every TCP connection attempt; each is refused, as on a machine without network."""
    attempts: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError(f"refused by the test: {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """No offline flag (the probe decides); no proxy."""
    for name in OFFLINE_FLAGS:
        monkeypatch.delenv(name, raising=False)
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_offline_yolo11_is_missing_and_says_how_to_supply_it(
    connections: list[tuple[str, int]],
) -> None:
    status = models.weights_status("detector", "yolo11")
    assert not status.available and status.source == DOWNLOAD
    assert "YOLO11_WEIGHTS" in status.message and "yolo11m.pt" in status.message
    assert "offline" in status.message
    assert models.weights_status("detector", "yolo11", size="n").message.count("yolo11n.pt")


def test_the_bundled_yolox_nano_is_available_and_loads_with_no_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("YOLOX_NANO_WEIGHTS", raising=False)
    status = models.weights_status("detector", "yolox_nano")
    assert status.available and status.source == BUNDLED
    assert str(yolox_nano.BUNDLED_WEIGHTS) in status.message
    detector = models.create("detector", "yolox_nano", device="cpu")
    # Named by the file alone: a summary shows no server path.
    assert detector.info()["weights"] == yolox_nano.BUNDLED_WEIGHTS.name
    assert detector.info()["license"] == "Apache-2.0" and not detector.info()["random_weights"]


def test_offline_the_default_detector_is_the_bundled_one(
    connections: list[tuple[str, int]],
) -> None:
    assert models.default_detector() == "yolox_nano"


def placeholder(path: Path) -> Path:
    """A weights file that the availability check finds; nothing here loads it."""
    path.write_bytes(b"not loaded by the check")
    return path


def local_weights(monkeypatch: pytest.MonkeyPatch, env_var: str, path: Path) -> Path:
    """``env_var`` names a placeholder weights file at ``path``."""
    monkeypatch.setenv(env_var, str(placeholder(path)))
    return path


def test_yolo11_is_the_default_detector_when_its_weights_are_there(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    local_weights(monkeypatch, "YOLO11_WEIGHTS", tmp_path / "yolo11m.pt")
    assert models.default_detector() == "yolo11"


def test_an_environment_variable_naming_an_existing_file_makes_a_model_available(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    weights = local_weights(monkeypatch, "DRONE_YOLO_WEIGHTS", tmp_path / "best.pt")
    status = models.weights_status("detector", "drone_yolo", size="s")
    assert status.available and status.source == LOCAL_FILE and str(weights) in status.message
    # A folder saved by save_pretrained needs its config.json.
    folder = tmp_path / "depth"
    folder.mkdir()
    monkeypatch.setenv("DEPTH_ANYTHING_WEIGHTS", str(folder))
    missing = models.weights_status("depth", "depth_anything_v2")
    assert not missing.available and "config.json" in missing.message
    (folder / "config.json").write_text("{}")
    assert models.weights_status("depth", "depth_anything_v2", size="large").available
    # A file that is not there is named, with the way to fix it.
    gone = models.weights_status("detector", "yolox_nano", weights=str(tmp_path / "gone.onnx"))
    assert not gone.available and gone.source == LOCAL_FILE
    assert "gone.onnx" in gone.message and "YOLOX_NANO_WEIGHTS" in gone.message


def test_an_architecture_is_available_as_random_weights() -> None:
    for name in ("yolo11", "drone_yolo"):
        status = models.weights_status("detector", name, weights="yolo11n.yaml")
        assert status.available and status.source == ARCHITECTURE
    for weights in ("random:small", "random:large"):
        sam2 = models.weights_status("segmenter", "GSAM2-S", weights=weights)
        # Its prompting detector's weights are missing here, which the message says.
        assert sam2.source == ARCHITECTURE and "grounding_dino" in sam2.message


def test_the_network_is_never_probed_when_an_offline_flag_is_set(
    connections: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for flag in OFFLINE_FLAGS:
        for other in OFFLINE_FLAGS:
            monkeypatch.delenv(other, raising=False)
        monkeypatch.setenv(flag, "1")
        for kind in KINDS:
            for name in models.available(kind):
                models.weights_status(kind, name)
        models.default_detector()
    assert connections == []


def test_without_offline_flags_each_host_is_probed_once(
    online: None, connections: list[tuple[str, int]]
) -> None:
    yolo = models.weights_status("detector", "yolo11")
    assert not yolo.available and "github.com cannot be reached" in yolo.message
    for size in ("n", "s", "l"):
        models.weights_status("detector", "yolo11", size=size)
    models.weights_status("detector", "detr_resnet50")
    models.weights_status("detector", "grounding_dino")
    assert sorted(connections) == [("github.com", 443), ("huggingface.co", 443)]


def test_a_reachable_host_means_the_weights_can_be_downloaded(
    online: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Connection:
        def __enter__(self) -> Connection:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: Connection())
    status = models.weights_status("detector", "yolo11")
    assert status.available and status.source == DOWNLOAD and "github.com" in status.message
    assert models.default_detector() == "yolo11"


def write_hub_cache(
    cache: Path, repo_id: str, files: tuple[str, ...], revision: str = "main"
) -> None:
    """Lay files out as huggingface_hub caches them (refs, snapshots)."""
    commit = "0" * 40
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / revision).write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in files:
        (snapshot / name).write_text("{}")


def test_weights_in_the_hub_cache_are_available(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, connections: list[tuple[str, int]]
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    # DETR's default revision is the no_timm branch; its processor config is needed too.
    write_hub_cache(tmp_path, "facebook/detr-resnet-50", ("config.json", "model.safetensors"))
    assert not models.weights_status("detector", "detr_resnet50").available
    write_hub_cache(
        tmp_path / "no_timm",
        "facebook/detr-resnet-50",
        ("config.json", "preprocessor_config.json", "model.safetensors"),
        revision="no_timm",
    )
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "no_timm"))
    status = models.weights_status("detector", "detr_resnet50")
    assert status.available and status.source == CACHE
    # Meta's .pt alone is not what transformers loads: the config and its weights are.
    write_hub_cache(tmp_path / "no_timm", "facebook/sam2.1-hiera-small", ("sam2.1_hiera_small.pt",))
    assert models.weights_status("segmenter", "GSAM2-S").source != CACHE
    write_hub_cache(
        tmp_path / "sam2", "facebook/sam2.1-hiera-small", ("config.json", "model.safetensors")
    )
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "sam2"))
    assert models.weights_status("segmenter", "GSAM2-S").source == CACHE
    assert connections == []


def test_an_ultralytics_asset_in_the_cache_is_available(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MODELS_CACHE_DIR", str(tmp_path))
    placeholder(tmp_path / "yolo11n.pt")
    assert models.weights_status("detector", "yolo11", size="n").source == CACHE
    assert not models.weights_status("detector", "yolo11").available


def test_a_segmenter_needs_its_checkpoint_and_its_detector(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "sam2.1-hiera-small"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    monkeypatch.setenv("SAM2_SMALL_WEIGHTS", str(checkpoint))
    # A save_pretrained folder needs its weights beside its config.
    status = models.weights_status("segmenter", "YSAM2-S")
    assert not status.available and status.source == LOCAL_FILE
    assert "model.safetensors" in status.message and "SAM2_SMALL_WEIGHTS" in status.message
    placeholder(checkpoint / "model.safetensors")
    status = models.weights_status("segmenter", "YSAM2-S")
    assert not status.available and status.source == LOCAL_FILE
    assert "YOLO11_WEIGHTS" in status.message and "SAM2_SMALL_WEIGHTS" not in status.message
    local_weights(monkeypatch, "YOLO11_WEIGHTS", tmp_path / "yolo11m.pt")
    assert models.weights_status("segmenter", "YSAM2-S").available
    grounded = models.weights_status("segmenter", "GSAM2-S")
    assert not grounded.available and "GROUNDING_DINO_WEIGHTS" in grounded.message


def test_a_model_that_cannot_load_names_the_ones_at_hand_and_loads_nothing_else(
    monkeypatch: pytest.MonkeyPatch, connections: list[tuple[str, int]]
) -> None:
    monkeypatch.delenv("YOLOX_NANO_WEIGHTS", raising=False)
    with pytest.raises(models.MissingWeightsError) as info:
        models.create("detector", "yolo11", device="cpu")
    message = str(info.value)
    assert "yolo11m.pt" in message and "YOLO11_WEIGHTS" in message
    assert info.value.summary.endswith(
        "Choose YOLOX-Nano (yolox_nano) instead, or set YOLO11_WEIGHTS to local weights."
    )
    # Depth has nothing at hand offline: the message is the plain one.
    with pytest.raises(models.MissingWeightsError) as info:
        models.create("depth", "depth_anything_v2")
    assert "Choose" not in str(info.value) and "To use it, set" in info.value.summary


def test_other_sizes_at_hand_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELS_CACHE_DIR", str(tmp_path))
    placeholder(tmp_path / "yolo11s.pt")
    with pytest.raises(models.MissingWeightsError) as info:
        models.create("detector", "drone_yolo", device="cpu")
    assert "Choose YOLO11 (yolo11, size s), YOLOX-Nano (yolox_nano) instead" in str(info.value)


def test_every_offered_model_states_where_its_weights_come_from() -> None:
    for kind in KINDS:
        for name in models.available(kind):
            assert models.spec(kind, name).locate is not None, (kind, name)
