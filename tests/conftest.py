"""Test set-up: offline, CPU-only, no writes outside temporary folders."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Before any model library is imported: never reach a hub, never write to $HOME.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-config-"))
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ASSETS = REPO_ROOT.parent / "shared" / "assets"
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def shared_assets() -> Path:
    """The real clips, ground truth and YOLOX-Nano beside the checkout."""
    if not SHARED_ASSETS.is_dir():
        pytest.skip(f"real test assets not found at {SHARED_ASSETS} (a checkout outside CI)")
    return SHARED_ASSETS


@pytest.fixture(scope="session")
def yolox_weights(shared_assets: Path) -> Path:
    """The real pretrained YOLOX-Nano ONNX file."""
    path = shared_assets / "models" / "yolox_nano" / "yolox_nano.onnx"
    if not path.is_file():
        pytest.skip(f"YOLOX-Nano weights not found at {path}")
    return path
