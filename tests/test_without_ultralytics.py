"""Without ultralytics (AGPL-3.0) the app starts, offers what it has, says why the rest is missing.

A deployment that must contain no AGPL code installs everything but
ultralytics. Here a fresh Python process is made unable to import it (a
meta-path finder installed before anything else, as a missing package
behaves), builds the whole app as ``app.py`` does, and reports what the
Detection tab offers; a D-FINE checkpoint (tiny, random weights) stands for
the Apache-2.0 weights a user supplies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_realtime_detr import FAMILY, TINY_INPUT, _tiny_config

from ui.model_choices import NOT_INSTALLED_MARK

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Run first in the child: from then on ``import ultralytics`` fails as if it were not installed.
BLOCK_ULTRALYTICS = """
import sys

class NoUltralytics:
    def find_spec(self, name, path=None, target=None):
        if name == "ultralytics" or name.startswith("ultralytics."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoUltralytics())
"""

#: Builds the app and prints what its Detection tab offers, as JSON.
REPORT = """
import json
try:
    import ultralytics  # noqa: F401
    importable = True
except ModuleNotFoundError:
    importable = False

import models
from ui.server import build_server
from ui.settings import Settings

demo, _ = build_server(Settings.from_env())
props = {
    block.elem_id: {"choices": getattr(block, "choices", None), "value": block.value,
                    "info": getattr(block, "info", None)}
    for block in demo.blocks.values()
    if getattr(block, "elem_id", None) in ("detector", "detector-info")
}
try:
    models.create("detector", "yolo11", device="cpu")
    error = None
except models.ModelError as exc:
    error = f"{type(exc).__name__}: {exc}"
print("REPORT " + json.dumps({"ultralytics_importable": importable, "tab": props,
                              "yolo11_error": error}))
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    import torch
    import transformers

    torch.manual_seed(0)
    weights = tmp_path_factory.mktemp("tiny-d-fine")
    transformers.DFineForObjectDetection(_tiny_config("d_fine")).save_pretrained(weights)
    transformers.RTDetrImageProcessor(
        size={"height": TINY_INPUT, "width": TINY_INPUT}
    ).save_pretrained(weights)
    env = {**os.environ, FAMILY["d_fine"].env_var: str(weights)}
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_ULTRALYTICS + REPORT],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    return json.loads(line.removeprefix("REPORT "))


def test_the_app_starts_and_offers_the_detectors_it_has(report: dict) -> None:
    assert report["ultralytics_importable"] is False
    dropdown = report["tab"]["detector"]
    labels = {name: label for label, name in dropdown["choices"]}
    # Preselected: the bundled Apache-2.0 detector, which needs nothing else.
    assert dropdown["value"] == "yolox_nano"
    assert labels["yolox_nano"] == "YOLOX-Nano"
    assert labels["d_fine"] == "D-FINE"  # its weights are at hand ($DFINE_WEIGHTS)
    # The YOLO detectors stay listed, marked: choosing one says why it cannot run.
    assert labels["yolo11"] == "YOLO11" + NOT_INSTALLED_MARK
    assert labels["drone_yolo"].endswith(NOT_INSTALLED_MARK)
    for name in ("d_fine", "deimv2", "rt_detr_v2"):
        assert not labels[name].endswith(NOT_INSTALLED_MARK)
    # The dropdown's info line names each detector's licence.
    assert "D-FINE: Apache-2.0" in dropdown["info"] and "YOLO11: AGPL-3.0" in dropdown["info"]


def test_choosing_yolo_says_why_it_is_missing_and_what_works(report: dict) -> None:
    error = report["yolo11_error"]
    # Its own type (a kind of MissingWeightsError) survives naming the alternatives.
    assert error.startswith("MissingPackageError: YOLO11 needs the Python module 'ultralytics'")
    assert "AGPL-3.0" in error and "pip install ultralytics" in error
    assert "Traceback" not in error
    # It names the detectors that work here instead.
    assert "YOLOX-Nano (yolox_nano)" in error and "D-FINE (d_fine)" in error
