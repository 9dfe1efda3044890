"""Licences: each model's is on the page next to it, and the Space's matches what it ships.

The run summaries' licences are checked per task beside each run's tests
(``test_pipeline.py``, ``test_depth.py``, ``test_segmentation.py``).
"""

from __future__ import annotations

import importlib.metadata
import re
from email.message import Message
from pathlib import Path

import pytest

import models
from models.licenses import NON_COMMERCIAL_NOTE, licenses_used, non_commercial
from ui.app import build_demo
from ui.model_choices import licence_text, model_note
from ui.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
#: What each registration must say, from the model cards (the source is cited at each `license=`).
EXPECTED = {
    ("detector", "yolo11"): "AGPL-3.0",
    ("detector", "yolox_nano"): "Apache-2.0",
    ("detector", "detr_resnet50"): "Apache-2.0",
    ("detector", "grounding_dino"): "Apache-2.0",
    ("detector", "drone_yolo"): "OpenRAIL (weights), AGPL-3.0 (ultralytics)",
    ("detector", "d_fine"): "Apache-2.0",
    ("detector", "deimv2"): "Apache-2.0",
    ("detector", "rt_detr_v2"): "Apache-2.0",
    ("segmenter", "GSAM2-S"): "Apache-2.0",
    ("segmenter", "YSAM2-L"): "Apache-2.0",
    ("segmenter", "YEdgeTAM"): "Apache-2.0",
    ("segmenter", "GEdgeTAM"): "Apache-2.0",
    ("segmenter", "SAM3"): "SAM License",
}
#: Distributions known to be AGPL even where their metadata cannot be read (not installed).
KNOWN_AGPL = {"ultralytics"}


@pytest.fixture(scope="module")
def components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The page's components by ``elem_id``, from the Blocks config the browser gets."""
    demo = build_demo(Settings(output_dir=tmp_path_factory.mktemp("runs")))
    config = demo.get_config_file()
    return {c["props"]["elem_id"]: c["props"] for c in config["components"]
            if c.get("props", {}).get("elem_id")}  # fmt: skip


def test_registrations_state_the_model_cards_licences() -> None:
    for (kind, name), license in EXPECTED.items():
        assert models.spec(kind, name).license_for() == license, (kind, name)
    depth = models.spec("depth", "depth_anything_v2")
    assert [depth.license_for(size) for size in ("small", "base", "large")] == [
        "Apache-2.0", "CC-BY-NC-4.0", "CC-BY-NC-4.0",
    ]  # fmt: skip


def test_non_commercial_licences_are_recognised() -> None:
    assert non_commercial("CC-BY-NC-4.0") and non_commercial("cc-by-nc-sa-4.0")
    for license in ("Apache-2.0", "AGPL-3.0", "OpenRAIL (weights), AGPL-3.0 (ultralytics)", ""):
        assert not non_commercial(license), license


def test_licenses_used_flattens_nested_models_once_each() -> None:
    info = {
        "segmenter": {"name": "YSAM2-S", "size": None, "license": "Apache-2.0"},
        "detector": {"name": "yolo11", "size": "m", "license": "AGPL-3.0",
                     "depth": {"name": "depth_anything_v2", "size": "large",
                               "license": "CC-BY-NC-4.0"}},
        "again": [{"name": "yolo11", "size": "m", "license": "AGPL-3.0"}],
        "queries": ["person"],
        "test_model": {"name": "test_shapes", "license": ""},
    }  # fmt: skip
    assert licenses_used(info) == [
        {"name": "YSAM2-S", "size": None, "license": "Apache-2.0", "non_commercial": False},
        {"name": "yolo11", "size": "m", "license": "AGPL-3.0", "non_commercial": False},
        {"name": "depth_anything_v2", "size": "large", "license": "CC-BY-NC-4.0",
         "non_commercial": True},
        {"name": "test_shapes", "size": None, "license": "not stated", "non_commercial": False},
    ]  # fmt: skip


def test_every_detector_dropdown_names_each_detectors_licence(components: dict) -> None:
    for elem_id in ("detector", "live-detector"):
        info = components[elem_id]["info"]
        offered = [value for _, value in components[elem_id]["choices"]]
        assert offered
        for name in offered:
            spec = models.spec("detector", name)
            assert f"{spec.label}: {spec.license_for()}" in info, (elem_id, name)
    assert "YOLO11: AGPL-3.0" in components["detector"]["info"]


def test_the_note_under_each_dropdown_names_the_chosen_models_licence(components: dict) -> None:
    chosen = components["detector"]["value"]
    licence = models.spec("detector", chosen).license_for()
    assert f"Licence: {licence}." in components["detector-info"]["value"]
    segmenter = components["seg-segmenter"]["value"]
    assert "Licence: Apache-2.0." in components["seg-segmenter-info"]["value"]
    assert segmenter in models.available("segmenter")


def test_segmenters_name_their_detectors_licence_too(components: dict) -> None:
    info = components["seg-segmenter"]["info"]
    assert "GSAM2-S: Apache-2.0 ·" in info
    assert "YSAM2-S: Apache-2.0 + AGPL-3.0 (YOLO11)" in info
    assert licence_text("segmenter", "YSAM2-B") == "Apache-2.0 + AGPL-3.0 (YOLO11)"
    assert "Its detector, YOLO11: AGPL-3.0." in model_note("segmenter", "YSAM2-S")
    assert "Its detector, Grounding DINO: Apache-2.0." in model_note("segmenter", "GSAM2-L")


def test_depth_sizes_say_which_are_non_commercial(components: dict) -> None:
    labels = dict((value, label) for label, value in components["depth-size"]["choices"])
    assert labels == {
        "small": "small (Apache-2.0)",
        "base": f"base (CC-BY-NC-4.0, {NON_COMMERCIAL_NOTE})",
        "large": f"large (CC-BY-NC-4.0, {NON_COMMERCIAL_NOTE})",
    }
    assert "Licence: Apache-2.0." in components["depth-licences"]["value"]
    assert f"CC-BY-NC-4.0, {NON_COMMERCIAL_NOTE}" in model_note(
        "depth", "depth_anything_v2", "large"
    )


def front_matter() -> dict:
    import yaml

    text = (REPO_ROOT / "README.md").read_text()
    match = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "README.md has no front matter"
    return yaml.safe_load(match.group(1))


def requirements(path: Path = REPO_ROOT / "requirements.txt") -> list[str]:
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(re.split(r"[\[<>=!~ ;]", line, maxsplit=1)[0].lower())
    return names


def names_agpl(metadata: Message) -> bool:
    """Whether a distribution's metadata gives the AGPL as its licence.

    ``License`` holds a licence's name, or in some wheels the whole text of every licence
    they bundle: numpy 2.2's (the last numpy for Python 3.10) ends with GPL-3.0, whose
    section 13 mentions the Affero GPL. So only its first line counts: a name, or a title.
    """
    lines = (metadata.get("License") or "").strip().splitlines()
    texts = [metadata.get("License-Expression") or "", lines[0] if lines else ""]
    texts += metadata.get_all("Classifier") or []
    return any("agpl" in text.lower() or "affero" in text.lower() for text in texts)


def is_agpl(distribution: str) -> bool:
    try:
        metadata = importlib.metadata.metadata(distribution)
    except importlib.metadata.PackageNotFoundError:
        return distribution in KNOWN_AGPL
    return names_agpl(metadata)


def metadata_with(**fields: str) -> Message:
    message = Message()
    for name, value in fields.items():
        message[name.replace("_", "-")] = value
    return message


def test_agpl_dependencies_are_recognised() -> None:
    assert is_agpl("ultralytics")
    assert not is_agpl("gradio") and not is_agpl("transformers") and not is_agpl("numpy")


def test_a_bundled_licence_text_that_mentions_the_agpl_is_not_the_agpl() -> None:
    bundled = "Copyright (c) 2005, NumPy Developers.\n...\n13. Use with the GNU Affero General"
    assert not names_agpl(metadata_with(License=bundled + " Public License."))
    assert names_agpl(metadata_with(License="GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3"))
    assert names_agpl(metadata_with(License="AGPL-3.0"))
    assert names_agpl(metadata_with(License_Expression="AGPL-3.0-only"))
    assert names_agpl(
        metadata_with(Classifier="License :: OSI Approved :: GNU Affero General Public License v3")
    )


def test_the_spaces_licence_is_agpl_when_it_ships_agpl_code() -> None:
    agpl = [name for name in requirements() if is_agpl(name)]
    if agpl:
        # A combined work that distributes AGPL-3.0 code is AGPL-3.0 (its section 13
        # covers use over a network, as on a Space).
        assert front_matter()["license"] == "agpl-3.0", agpl
        licence_file = (REPO_ROOT / "LICENSE").read_text()
        assert licence_file.lstrip().startswith("GNU AFFERO GENERAL PUBLIC LICENSE")
        assert "Version 3, 19 November 2007" in licence_file
