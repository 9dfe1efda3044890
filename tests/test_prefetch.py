"""Weights fetched before anything loads them, with progress, from a Hub on loopback.

``huggingface_hub`` reads its endpoint when imported, so each case runs in a
fresh process pointed at :class:`fake_hub.FakeHub`, with its own empty cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_hub import FakeHub

REPO_ROOT = Path(__file__).resolve().parents[1]
DEPTH_REPO = "depth-anything/Depth-Anything-V2-Small-hf"


def hub_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def run_python(code: str, env: dict[str, str], timeout: float = 180) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last, returned."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def online_env(hub: FakeHub, tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.endswith("_OFFLINE")}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_XET="1")
    env.pop("HF_HUB_CACHE", None)
    return env


FETCH_THEN_LOAD_OFFLINE = """
import json, os
from models.prefetch import ModelLoad, fetch_weights
loads = [ModelLoad("depth", "depth_anything_v2", {"size": "small"})]
progress = [
    [d.label, d.source, d.done_bytes, d.total_bytes, d.text()] for d in fetch_weights(loads)
]
again = list(fetch_weights(loads))
# Loading needs no network once fetched.
os.environ["HF_HUB_OFFLINE"] = "1"
import huggingface_hub.constants
huggingface_hub.constants.HF_HUB_OFFLINE = True
import models
estimator = models.create("depth", "depth_anything_v2", size="small")
weights = estimator.info()["weights"]
print(json.dumps({"progress": progress, "again": len(again), "weights": weights}))
"""


def test_weights_are_fetched_with_progress_and_then_load_offline(
    tiny_depth_weights: Path, tmp_path: Path
) -> None:
    files = hub_files(tiny_depth_weights)
    total = sum(len(data) for data in files.values())
    with FakeHub({DEPTH_REPO: files}, slice_bytes=2048, pause_s=0.03) as hub:
        result = run_python(FETCH_THEN_LOAD_OFFLINE, online_env(hub, tmp_path))
    progress = result["progress"]
    assert progress[0][:3] == ["Depth Anything V2 small", DEPTH_REPO, 0]
    done = [step[2] for step in progress]
    assert done == sorted(done), "progress only goes forward"
    assert len(progress) >= 3, "the download reports while it runs, not only at its ends"
    last = progress[-1]
    assert last[2] == last[3] and last[3] >= total - 2048  # the weights and the small files
    assert last[4].startswith("Downloading Depth Anything V2 small: 100 % of")
    assert result["again"] == 0, "cached weights are not fetched again"
    assert result["weights"] == DEPTH_REPO
    assert any(m == "GET" and p.endswith("/model.safetensors") for _, m, p in hub.requests)


FETCH_MISSING = """
import json
from models.prefetch import ModelLoad, fetch_weights
from models.errors import MissingWeightsError
try:
    list(fetch_weights([ModelLoad("depth", "depth_anything_v2", {"size": "base"})]))
except MissingWeightsError as exc:
    print(json.dumps({"error": str(exc)}))
"""


def test_weights_the_hub_does_not_have_fail_before_anything_loads_with_the_one_message(
    tmp_path: Path,
) -> None:
    with FakeHub({}) as hub:
        result = run_python(FETCH_MISSING, online_env(hub, tmp_path))
    message = result["error"]
    # Short first (which model, why, what to do), then what was looked for and the other ways.
    assert message.startswith("Could not load the weights of Depth Anything V2 base (")
    assert "To use it, set DEPTH_ANYTHING_V2_BASE_WEIGHTS to local weights." in message
    assert "It looked for 'depth-anything/Depth-Anything-V2-Base-hf'." in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    "exception", ["ImportError", "ValueError", "TypeError", "RuntimeError", "OSError"]
)
def test_any_failure_to_read_weights_is_the_missing_weights_message(exception: str) -> None:
    import builtins

    from models.errors import MissingWeightsError
    from models.weights import loading_weights

    with pytest.raises(MissingWeightsError) as caught, loading_weights(
        "DETR", "/weights/detr-timm", "DETR_WEIGHTS"
    ):
        raise getattr(builtins, exception)("needs the timm package")
    # The page shows the summary alone; the CLI and REST the how-to after it.
    assert caught.value.summary == (
        f"Could not load the weights of DETR ({exception}: needs the timm package). "
        "To use it, set DETR_WEIGHTS to local weights."
    )
    assert str(caught.value) == (
        f"{caught.value.summary} It looked for '/weights/detr-timm'. Other ways to supply "
        "weights: pass --weights PATH (weights= in Python), or run with network access so "
        "they can be downloaded."
    )
    # Where other detectors are at hand, the summary names them as the first thing to do.
    named = caught.value.with_alternatives(["YOLOX-Nano (yolox_nano)"])
    assert named.summary == (
        f"Could not load the weights of DETR ({exception}: needs the timm package). "
        "Choose YOLOX-Nano (yolox_nano) instead, or set DETR_WEIGHTS to local weights."
    )
    assert type(named) is MissingWeightsError and str(named).endswith("be downloaded.")


def test_running_out_of_memory_is_not_called_missing_weights() -> None:
    import torch

    from models.weights import loading_weights

    with pytest.raises(torch.OutOfMemoryError), loading_weights("M", "m", "M_WEIGHTS"):
        raise torch.OutOfMemoryError("CUDA out of memory")


FETCH_DRONE = """
import json
from models.prefetch import ModelLoad, fetch_weights
list(fetch_weights([ModelLoad("detector", "drone_yolo", {"size": "n"})]))
print(json.dumps({}))
"""


def test_the_drone_weights_come_from_the_commit_they_are_pinned_to(tmp_path: Path) -> None:
    """A pickle runs code when loaded: a later push to the third party's main is never taken."""
    from models.detectors.drone_yolo import REVISIONS

    files = {"best.pt": b"\0" * 10_000, "config.json": b"{}"}
    with FakeHub({"mshamrai/yolov8n-visdrone": files}) as hub:
        run_python(FETCH_DRONE, online_env(hub, tmp_path))
    gets = [path for _, method, path in hub.requests if method == "GET" and "resolve" in path]
    assert gets == [f"/mshamrai/yolov8n-visdrone/resolve/{REVISIONS['n']}/best.pt"]


def test_every_default_drone_size_is_pinned_and_another_repository_by_its_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from models.detectors.drone_yolo import CARD, REVISIONS, locate_weights

    for size in CARD.sizes:
        remote = locate_weights(size=size).remote
        assert remote.repo_id == f"mshamrai/yolov8{size}-visdrone"
        assert remote.revision == REVISIONS[size] and len(remote.revision) == 40
    monkeypatch.setenv("DRONE_YOLO_REPO", "someone/visdrone-{size}")
    assert locate_weights(size="s").remote.revision is None
    monkeypatch.setenv("DRONE_YOLO_REVISION", "v1.0")
    assert locate_weights(size="s").remote.revision == "v1.0"
