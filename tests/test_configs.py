"""The run configs: every check, on the command line as users meet it; options made from fields."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest
import synthetic

from pipeline import ConfigError, DepthConfig, DetectionConfig, SegmentationConfig
from pipeline.cli.main import main
from pipeline.cli.options import add_config_options, config_from_args
from pipeline.configs import field_default
from pipeline.docstrings import documented_attributes


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.make_video(tmp_path_factory.mktemp("configs") / "clip.mp4", frames=4)


# Every check of every config, as a command line that breaks it, and what the user reads.
CLI_CHECKS = [
    # Shared by every run.
    ("detect", ["--max-frames", "0"], "frame limit (max_frames) must be at least 1, not 0"),
    ("detect", ["--max-duration", "-5"], "duration limit must be a positive number"),
    ("detect", ["--queue-size", "0"], "queue size (queue_size) must be at least 1"),
    ("depth", ["--batch-size", "0"], "batch size (batch_size) must be at least 1"),
    ("depth", ["--max-in-flight", "0"], "frames in flight (max_in_flight) must be at least 1"),
    # Detection.
    ("detect", ["--detector", "nope"], "Unknown detector 'nope'. Available: "),
    ("detect", ["--detector", "test_shapes", "--size", "m"], "comes in one size only"),
    ("detect", ["--detector", "yolo11", "--size", "xxl"], "has no size 'xxl'. Available: n, s"),
    ("detect", ["--conf", "1.5"], "Confidence must be between 0 and 1, not 1.5"),
    ("detect", ["--conf", "nan"], "Confidence must be between 0 and 1, not nan"),
    ("detect", ["--depth", "--depth-size", "huge"], "has no size 'huge'. Available: small"),
    # Depth.
    ("depth", ["--size", "huge"], "has no size 'huge'. Available: small, base, large"),
    ("depth", ["--colormap", "rainbow"], "Unknown colormap 'rainbow'. Choose one of turbo"),
    ("depth", ["--view", "3d"], "Unknown view '3d'. Choose one of depth, side_by_side"),
    ("depth", ["--opacity", "2"], "opacity must be between 0 and 1"),
    ("depth", ["--low-percentile", "60", "--high-percentile", "40"], "0 <= low < high <= 100"),
    ("depth", ["--smoothing-window", "0"], "smoothing_window >= 1"),
    ("depth", ["--smoothing-momentum", "1"], "0 <= smoothing_momentum < 1"),
    ("depth", ["--input-size", "8"], "input_size must be at least 14 pixels"),
    # Segmentation.
    ("segment", ["--segmenter", "SAM4"], "Unknown segmenter 'SAM4'. Available: GSAM2-S"),
    ("segment", ["--segmenter", "SAM3"], "SAM3 finds what you describe: enter text queries"),
    ("segment", ["--step", "0"], "step must be at least 1 frame, not 0"),
    ("segment", ["--window", "0"], "window must be at least 1 frame, not 0"),
    ("segment", ["--conf", "-0.1"], "Confidence must be between 0 and 1, not -0.1"),
    ("segment", ["--match-iou", "0"], "match_iou must be in (0, 1], not 0.0"),
    ("segment", ["--frame-budget-mb", "-1"], "frame budget cannot be negative"),
    ("segment", ["--image-size", "16"], "image size (image_size) must be at least 32"),
    ("segment", ["--drop-after", "0"], "(drop_after) must be at least 1, not 0"),
    ("segment", ["--min-mask-area", "-1"], "(min_mask_area) must be at least 0, not -1"),
    ("segment", ["--max-objects", "0"], "(max_objects) must be at least 1, not 0"),
    ("segment", ["--detector", "nope"], "Unknown detector 'nope'"),
    ("segment", ["--detector", "yolo11", "--detector-size", "q"], "has no size 'q'"),
]
OUTPUTS = {
    "detect": ["--out", "o.mp4", "--tracks", "t.json"],
    "depth": ["--out", "d.mp4"],
    "segment": ["--out", "s.mp4", "--json", "m.json"],
}


@pytest.mark.parametrize(("command", "argv", "message"), CLI_CHECKS)
def test_every_config_check_is_one_clear_line_on_the_command_line(
    video: Path, tmp_path: Path, capsys, command: str, argv: list[str], message: str
) -> None:
    outputs = [str(tmp_path / word) if "." in word else word for word in OUTPUTS[command]]
    status = main([command, str(video), *argv, *outputs, "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not list(tmp_path.iterdir()), "a refused run left files behind"


def test_checks_not_offered_on_the_command_line_hold_in_python() -> None:
    # The preview width only matters where previews are shown (the app).
    with pytest.raises(ConfigError, match="preview width"):
        DetectionConfig(preview_max_width=8)


@pytest.mark.parametrize("config_type", [DetectionConfig, DepthConfig, SegmentationConfig])
def test_every_field_is_documented(config_type: type) -> None:
    documented = documented_attributes(config_type)
    missing = [
        f.name for f in dataclasses.fields(config_type) if f.init and f.name not in documented
    ]
    assert not missing, f"{config_type.__name__} fields without a description: {missing}"


def test_options_come_from_the_fields_with_their_defaults() -> None:
    parser = argparse.ArgumentParser()
    add_config_options(parser, SegmentationConfig)
    help_text = parser.format_help()
    # The flag, the field's description and its default, written once in the config.
    assert "--step STEP" in help_text and "(default: 10)" in help_text
    assert "Run the detector every STEP frames" in " ".join(help_text.split())
    config = config_from_args(SegmentationConfig, parser.parse_args(["--window", "20"]))
    assert config.window == 20
    assert config.step == field_default(SegmentationConfig, "step")
    assert config == SegmentationConfig(window=20)


def test_queries_and_repeated_devices_on_the_command_line() -> None:
    parser = argparse.ArgumentParser()
    add_config_options(parser, DetectionConfig)
    args = parser.parse_args(["--queries", " person, car ,person", "--device", "cpu"])
    config = config_from_args(DetectionConfig, args)
    assert config.queries == ("person", "car") and config.devices == ("cpu",)


def test_offline_the_default_detector_is_the_bundled_one() -> None:
    # conftest.py sets HF_HUB_OFFLINE=1 and nothing provides YOLO11 weights.
    assert field_default(DetectionConfig, "detector") == "yolox_nano"
    assert DetectionConfig().detector == "yolox_nano"


def test_every_way_in_shares_the_preview_interval_and_the_confidence() -> None:
    """The preview interval and the detection threshold are each one value, read everywhere.

    The page (``ui.settings``, ``ui.gpu``), the job store (REST's stream), a run started from
    Python and the command line take :data:`pipeline.configs.PREVIEW_INTERVAL_S`; a detector
    called directly keeps what a detection run keeps.
    """
    import inspect

    from models.detectors.base import Detector
    from pipeline import start
    from pipeline.configs import DEFAULT_CONFIDENCE, PREVIEW_INTERVAL_S
    from pipeline.jobs.store import JobStore
    from ui.gpu import run_events
    from ui.settings import Settings

    def default(function: object, name: str) -> object:
        return inspect.signature(function).parameters[name].default

    assert field_default(Settings, "preview_interval_s") == PREVIEW_INTERVAL_S
    for function in (start, JobStore.__init__, run_events):
        assert default(function, "preview_interval_s") == PREVIEW_INTERVAL_S, function
    assert field_default(DetectionConfig, "confidence") == DEFAULT_CONFIDENCE
    assert default(Detector.detect, "confidence") == DEFAULT_CONFIDENCE
