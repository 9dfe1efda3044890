"""The files the app ships in assets/: short browser-playable clips, each credited in the README."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

ASSETS = Path(__file__).resolve().parents[1] / "assets"
CLIPS = sorted(p for p in ASSETS.iterdir() if p.suffix.lower() in (".mp4", ".webm", ".mov"))


def test_the_example_clips_are_there() -> None:
    assert {p.name for p in CLIPS} >= {"one_by_one_person.mp4", "worker_zone_detection.mp4"}


def test_the_counting_example_comes_with_a_line_and_a_zone_inside_its_frame() -> None:
    from pipeline.io.video import probe
    from pipeline.stages.counting import check_inside, from_json
    from ui.counting import preset

    clip = ASSETS / "worker_zone_detection.mp4"
    lines, zones = from_json(preset(clip))
    assert len(lines) == 1 and len(zones) == 1
    info = probe(clip)
    check_inside(lines, zones, info.width, info.height)
    assert preset(ASSETS / "one_by_one_person.mp4") == ""


@pytest.mark.parametrize("clip", CLIPS, ids=lambda p: p.name)
def test_each_clip_is_short_h264_and_credited(clip: Path) -> None:
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert float(container.duration / av.time_base) <= 10.0
        assert not container.streams.audio
    data = clip.read_bytes()
    assert len(data) < 1_000_000
    assert data.find(b"moov") < data.find(b"mdat"), "moov after mdat: not +faststart"
    readme = (ASSETS / "README.md").read_text()
    assert f"`{clip.name}`" in readme and "CC BY 4.0" in readme


def test_the_bundled_detector_ships_with_its_licence() -> None:
    folder = ASSETS / "models" / "yolox_nano"
    assert (folder / "yolox_nano.onnx").stat().st_size > 1_000_000
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert len((folder / "coco_classes.txt").read_text().split("\n")) >= 80
