"""Test set-up: offline, CPU-only, no writes outside temporary folders."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

# Before any model library is imported: never reach a hub, never write to $HOME.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-config-"))
os.environ.setdefault("MODELS_CACHE_DIR", tempfile.mkdtemp(prefix="models-cache-"))
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
# runtime="auto" takes ONNX Runtime float32 unmeasured, so that results do not depend on
# which runtime won a timing under load; tests/test_cpu_runtimes.py measures it.
os.environ.setdefault("VIDEO_APP_MEASURE_RUNTIMES", "false")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _create_ultralytics_settings_now() -> None:
    """Let ultralytics write its settings file into the fresh config folder now.

    Its first import announces the new file on stdout, which a docstring example that
    happened to import it first would read as its own output; imported here, under
    pytest's capture, its logger writes there for the whole session.
    """
    import numpy as np

    # Its import also sets numpy's and torch's print options for the whole process, which would
    # change how every later docstring example's arrays print: they are put back.
    print_options = np.get_printoptions()
    # Without ultralytics (tests/test_without_ultralytics.py) there is nothing to write.
    with contextlib.suppress(ImportError):
        import ultralytics.utils  # noqa: F401
    np.set_printoptions(**print_options)
    if "torch" in sys.modules:
        sys.modules["torch"].set_printoptions(profile="default")


_create_ultralytics_settings_now()

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ASSETS = REPO_ROOT.parent / "shared" / "assets"
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for a module of model-heavy tests.

    On a 2-core machine, torch's two OpenMP threads spin against a run's own
    decoder, writer and encoder threads; one thread is several times faster here.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def server(settings: Any) -> Iterator[str]:
    """The whole server as ``python app.py`` launches it, with the module's ``settings``."""
    from serving import served_server

    with served_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def http(server: str) -> Iterator[Any]:
    """An ``httpx`` client of :func:`server` (long timeout: some requests run whole jobs)."""
    import httpx

    with httpx.Client(base_url=server, timeout=300) as client:
        yield client


@pytest.fixture(scope="module")
def models_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One ``MODELS_CACHE_DIR`` for the module: exports and int8 models made once, as in an
    app's life."""
    folder = tmp_path_factory.mktemp("models-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELS_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def shared_assets() -> Path:
    """The real clips, ground truth and YOLOX-Nano beside the checkout."""
    if not SHARED_ASSETS.is_dir():
        pytest.skip(f"real test assets not found at {SHARED_ASSETS} (a checkout outside CI)")
    return SHARED_ASSETS


def shared_file(shared_assets: Path, relative: str, what: str = "") -> Path:
    """A file of the shared assets; the test is skipped where it is missing.

    Args:
        shared_assets: The shared assets' folder.
        relative: The file's path inside it.
        what: What the file is, for the skip's reason (default: its path alone).

    Returns:
        The file's path.
    """
    path = shared_assets / relative
    if not path.is_file():
        pytest.skip(f"{what} not found at {path}" if what else f"{path} not found")
    return path


@pytest.fixture(scope="session")
def tud_campus_video(shared_assets: Path) -> Path:
    """The real TUD-Campus clip (71 frames, 640x480, 25 fps; MOT ground truth beside it)."""
    return shared_file(shared_assets, "video/tud_campus.mp4")


@pytest.fixture(scope="session")
def long_clip(shared_assets: Path) -> Path:
    """377 frames: several seconds of work, so that Stop lands mid-run (71 frames took 1.4 s)."""
    return shared_file(shared_assets, "video/car_detection.mp4")


@pytest.fixture(scope="session")
def yolox_weights(shared_assets: Path) -> Path:
    """The real pretrained YOLOX-Nano ONNX file."""
    return shared_file(shared_assets, "models/yolox_nano/yolox_nano.onnx", "YOLOX-Nano weights")


@pytest.fixture(scope="session")
def tiny_depth_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Depth Anything model + processor saved like a Hub checkpoint."""
    import torch
    from transformers import (
        DepthAnythingConfig,
        DepthAnythingForDepthEstimation,
        Dinov2Config,
        DPTImageProcessor,
    )

    backbone = Dinov2Config(
        image_size=28,
        patch_size=14,
        num_channels=3,
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=16,
        out_indices=[1, 2],
        reshape_hidden_states=False,
        apply_layernorm=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone,
        patch_size=14,
        reassemble_hidden_size=8,
        reassemble_factors=[2, 1],
        neck_hidden_sizes=[4, 4],
        fusion_hidden_size=6,
        head_hidden_size=4,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-depth-anything")
    DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    # The published checkpoints' processor settings, at a tiny input size.
    DPTImageProcessor(
        size={"height": 56, "width": 56}, keep_aspect_ratio=True, ensure_multiple_of=14, resample=3
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_sam2_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random SAM 2 video model at 128 px saved with save_pretrained, like real weights."""
    from tiny_sam2 import save_tiny_weights

    return save_tiny_weights(tmp_path_factory.mktemp("tiny-sam2"))


def record_written_frames(
    monkeypatch: pytest.MonkeyPatch, keep: Callable[[np.ndarray], T]
) -> dict[Path, list[T]]:
    """``keep(frame)`` of each frame every run hands its H.264 encoder, by output file, in order.

    Args:
        monkeypatch: Undoes the recording after the test.
        keep: What is kept of a frame (a copy, a digest).

    Returns:
        The records, filled as runs write.
    """
    from pipeline.io.video import H264Writer

    records: dict[Path, list[T]] = {}
    write = H264Writer.write

    def recording_write(self: H264Writer, image, timestamp=None) -> None:
        records.setdefault(self.path, []).append(keep(image))
        write(self, image, timestamp)

    monkeypatch.setattr(H264Writer, "write", recording_write)
    return records


@pytest.fixture
def drawn_frames(monkeypatch: pytest.MonkeyPatch) -> dict[Path, list[str]]:
    """Digests of the frames each run hands its H.264 encoder, by output file, in order.

    What a run draws is the claim to compare between two runs. The encoded files
    are not: libx264 (through PyAV) now and then encodes the very same frames
    differently while other threads load the CPU (measured: identical yuv420p input,
    one thread, same FPU state; 5 to 11 % of tiny SAM 2 runs, never in isolation).
    """
    import hashlib

    return record_written_frames(
        monkeypatch, lambda image: hashlib.sha256(image.tobytes()).hexdigest()
    )


@pytest.fixture
def written_frames(monkeypatch: pytest.MonkeyPatch) -> dict[Path, list[np.ndarray]]:
    """The frames each run hands its H.264 encoder (what it drew, before encoding)."""
    return record_written_frames(monkeypatch, np.copy)


@pytest.fixture
def yolox_runtime_rows() -> set[tuple[str, str, int]]:
    """The rows a YOLOX-Nano runtime comparison has: (runtime, precision, frames at once).

    Every runtime is measured one frame at a time and one frame per usable core at
    once; bf16 where the CPU has it.
    """
    from models.onnx_sessions import usable_cpus
    from models.openvino_models import bf16_supported

    precisions = {"onnxruntime": ("fp32", "int8"), "openvino": ("fp32", "int8")}
    if bf16_supported():
        precisions["openvino"] += ("bf16",)
    return {
        (engine, precision, frames)
        for engine, offered in precisions.items()
        for precision in offered
        for frames in {1, usable_cpus()}
    }
