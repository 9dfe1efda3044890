"""One reader from raw fields to a checked config, whichever way a request comes in."""

from __future__ import annotations

import argparse

import gradio as gr
import pytest
import synthetic  # noqa: F401 - registers the test_shapes detector

from pipeline.cli.options import add_config_options, config_from_args
from pipeline.configs import MAX_STEP, DepthConfig, DetectionConfig, SegmentationConfig
from pipeline.errors import ConfigError
from pipeline.request import config_from_fields, flag, number
from ui.rest.errors import ApiError
from ui.rest.forms import RunForm
from ui.tabs.depth import build_depth_config
from ui.tabs.detection import build_detection_config
from ui.tabs.segmentation import build_segmentation_config


def test_the_tab_the_form_and_the_command_line_make_the_same_config() -> None:
    tab = build_detection_config(
        "test_shapes", "", " red, blue ", 0.4, max_duration_s=None, tracker="sort",
        after_counting={"slice_size": 256.0, "slicing": True}, detect_every="2",
    )  # fmt: skip
    _, form = RunForm(
        detector="test_shapes", queries="red,blue", confidence="0.4", tracker="sort",
        slice_size="256", slicing="yes", detect_every="2",
    ).task_and_config(limits={"max_duration_s": None})  # fmt: skip
    parser = argparse.ArgumentParser()
    add_config_options(parser, DetectionConfig)
    argv = ["--detector", "test_shapes", "--queries", "red, blue", "--conf", "0.4",
            "--tracker", "sort", "--slice-size", "256", "--slicing", "--detect-every", "2",
            "--max-duration", "0"]  # fmt: skip
    cli = config_from_args(DetectionConfig, parser.parse_args(argv))
    assert tab == form == cli
    assert (tab.queries, tab.slice_size, tab.detect_every) == (("red", "blue"), 256, 2)


def test_a_one_size_model_ignores_a_stale_size_and_refuses_any_other() -> None:
    # The page may still send the last model's size as the detector changes; a size
    # no model has is a client's mistake, said as the command line says it.
    stale = build_detection_config("test_shapes", "m", "", None, max_duration_s=None)
    assert stale.size is None
    with pytest.raises(ConfigError, match="comes in one size only"):
        build_detection_config("test_shapes", "zz", "", None, max_duration_s=None)


def test_an_empty_field_is_the_configs_default() -> None:
    config = config_from_fields(DepthConfig, {"size": " ", "colormap": None, "view": ""})
    assert config == DepthConfig()
    assert build_depth_config("", " Viridis ", None, max_duration_s=None).colormap == "viridis"


@pytest.mark.parametrize(
    ("raw", "kind", "message"),
    [
        ("high", float, "confidence must be a number, not 'high'"),
        ("nan", float, "confidence must be a finite number, not 'nan'"),
        ("2.5", int, "confidence must be a whole number, not '2.5'"),
        (2.5, int, "confidence must be a whole number, not 2.5"),
        (True, float, "confidence must be a number, not True"),
        ("9" * 40, float, "confidence must be a number, not '999"),
    ],
)
def test_a_number_field_names_itself_and_what_it_got(raw, kind, message) -> None:
    with pytest.raises(ConfigError, match=message):
        number("confidence", raw, kind)


def test_a_flag_is_a_bool_or_its_words() -> None:
    assert [flag("depth", raw) for raw in (True, None, "Yes", " off ", "")] == [
        True, False, True, False, False,
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="depth must be true or false, not 'maybe'"):
        flag("depth", "maybe")


def test_what_a_request_must_say_is_the_configs_rule_everywhere() -> None:
    # Queries for a model that finds what is described: the config says it, REST
    # answers it as a 422 and a tab as a gr.Error, in the same words.
    with pytest.raises(ConfigError, match="GSAM2-S finds what you describe: enter text queries"):
        config_from_fields(SegmentationConfig, {"segmenter": "GSAM2-S"})
    with pytest.raises(gr.Error, match="GSAM2-S finds what you describe: enter text queries"):
        build_segmentation_config("GSAM2-S", "", None, allowed=["GSAM2-S"])
    with pytest.raises(ConfigError, match="GSAM2-S finds what you describe: enter text queries"):
        RunForm(mode="segmentation", segmenter="GSAM2-S").task_and_config(limits={})
    with pytest.raises(ConfigError, match="grounding_dino needs at least one text query"):
        RunForm(detector="grounding_dino").task_and_config(limits={})
    # A detector given in its place, or objects picked by hand, need none.
    assert config_from_fields(SegmentationConfig, {"detector": "yolox_nano"}).queries == ()
    # A config made in code (the defaults, to list what they load) need not say it.
    assert SegmentationConfig().segmenter == "GSAM2-S"


def test_the_keyframe_step_has_one_range_everywhere() -> None:
    with pytest.raises(ConfigError, match=f"step must be at most {MAX_STEP} frames"):
        SegmentationConfig(segmenter="YSAM2-S", step=MAX_STEP + 1)
    with pytest.raises(ConfigError, match=f"step must be at most {MAX_STEP} frames"):
        RunForm(mode="segmentation", segmenter="YSAM2-S", step="301").task_and_config(limits={})
    with pytest.raises(gr.Error, match="step must be a whole number"):
        build_segmentation_config("YSAM2-S", "", 2.5, allowed=["YSAM2-S"])


def test_a_form_field_another_mode_takes_is_refused_but_a_false_flag_is_not() -> None:
    with pytest.raises(ApiError, match="for object_detection only"):
        RunForm(mode="depth", tracker="sort").task_and_config(limits={})
    task, config = RunForm(mode="depth", paths="false").task_and_config(limits={})
    assert task == "depth" and config == DepthConfig()
