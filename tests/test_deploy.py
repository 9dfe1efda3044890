"""What a push to a Hugging Face Space needs: binaries through Xet/LFS, a clean tree to upload."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Git's own test for a binary file: a NUL byte in its first 8000 bytes.
GIT_BINARY_PROBE = 8000

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (REPO_ROOT / ".git").exists(),
    reason="needs git and a git checkout",
)


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, check=True, capture_output=True, text=True
    ).stdout


def is_binary(path: Path) -> bool:
    """What the Hub would call binary: NUL bytes (git's test), or bytes that are not UTF-8 text."""
    data = path.read_bytes()
    if b"\0" in data[:GIT_BINARY_PROBE]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_every_binary_the_repository_holds_is_stored_through_xet_or_lfs() -> None:
    tracked = [REPO_ROOT / name for name in git("ls-files", "-z").split("\0") if name]
    binaries = [p for p in tracked if p.is_file() and is_binary(p)]
    assert binaries, "the repository ships binaries (the bundled model, the example clips)"
    names = [str(p.relative_to(REPO_ROOT)) for p in binaries]
    attributes = git("check-attr", "filter", "--", *names).splitlines()
    uncovered = [line.split(":")[0] for line in attributes if not line.endswith(": lfs")]
    assert not uncovered, f"binaries with no Xet/LFS rule in .gitattributes: {uncovered}"


def test_a_text_file_is_not_sent_through_lfs() -> None:
    lines = git("check-attr", "filter", "--", "app.py", "README.md", "requirements.txt")
    assert lines.count(": unspecified") == 3


def test_the_deploy_uploads_a_clean_tree_that_runs_on_its_own(tmp_path: Path) -> None:
    listed = subprocess.run(
        ["bash", ".ci/deploy", "owner/space", "--dry-run"], cwd=REPO_ROOT, check=True,
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    committed = set(git("ls-tree", "-r", "--name-only", "HEAD").split())
    assert set(listed) <= committed, "only committed files are uploaded"
    for needed in ("app.py", "requirements.txt", "README.md", "LICENSE", ".gitattributes"):
        assert needed in listed
    assert any(name.startswith("assets/") and name.endswith(".mp4") for name in listed)
    assert "assets/models/yolox_nano/yolox_nano.onnx" in listed
    # The README the Space shows links into docs/.
    linked = re.findall(r"\]\((docs/[^)#]+)", (REPO_ROOT / "README.md").read_text())
    assert linked and set(linked) <= set(listed)
    assert not any(name.startswith(("tests/", ".ci/", ".git/")) for name in listed)
    # The uploaded tree imports without the files left out.
    tree = tmp_path / "space"
    archive = subprocess.run(
        ["git", "archive", "HEAD", "--", *listed], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    tree.mkdir()
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    check = "import ui.server, pipeline.cli, models; print(len(models.available('detector')))"
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=tree, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) >= 5


def test_the_space_fetches_the_default_models_weights_when_it_is_built() -> None:
    """``preload_from_hub`` lists exactly the Hub weights the default runs load."""
    import re

    import yaml

    from pipeline import DepthConfig, DetectionConfig, SegmentationConfig

    text = (REPO_ROOT / "README.md").read_text()
    front = yaml.safe_load(re.match(r"---\n(.*?)\n---\n", text, re.DOTALL).group(1))
    defaults = [DetectionConfig(), SegmentationConfig(), DepthConfig()]
    expected = set()
    for config in defaults:
        for load in config.model_loads():
            location = load.location()
            remote = location.remote if location is not None else None
            if remote is not None and hasattr(remote, "preload_entry"):
                expected.add(remote.preload_entry())
    assert set(front["preload_from_hub"]) == expected
