"""The benchmark runs as docs/benchmark.md says and reports consistent figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import make_video

from pipeline.cli import bench
from pipeline.errors import ConfigError


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(
        tmp_path_factory.mktemp("bench") / "clip.mp4", frames=12, width=160, height=128
    )


@pytest.mark.parametrize("detector", ["yolo11", "yolox_nano"])
def test_bench_reports_every_figure_and_ratio(
    detector: str,
    clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    out = tmp_path / "figures.json"
    if detector == "yolo11":  # architecture-only weights, PyTorch
        model = ["--size", "n", "--weights", "yolo11n.yaml", "--runtime", "torch"]
    else:  # the real pretrained YOLOX-Nano; its plain loop is detect + track + write
        model = ["--weights", str(request.getfixturevalue("yolox_weights"))]
    argv = [str(clip), "--detector", detector, *model, "--loops", "2", "--json", str(out)]
    assert bench.main(argv) == 0
    figures = json.loads(out.read_text())
    assert figures["frames"] == 12 and figures["devices"] == ["cpu"]
    assert figures["detector"] == detector
    for key in ("decode_fps", "encode_fps", "model_only_fps", "end_to_end_fps", "plain_loop_fps"):
        assert figures[key] > 0, key
    assert figures["ratio_end_to_end_over_model_only"] == pytest.approx(
        figures["end_to_end_fps"] / figures["model_only_fps"]
    )
    slowest = min(figures["decode_fps"], figures["encode_fps"], figures["model_only_fps"])
    assert figures["ratio_end_to_end_over_slowest_stage"] == pytest.approx(
        figures["end_to_end_fps"] / slowest
    )
    shared = 1 / sum(1 / figures[k] for k in ("decode_fps", "encode_fps", "model_only_fps"))
    assert figures["shared_cores_bound_fps"] == pytest.approx(shared)
    assert figures["ratio_end_to_end_over_shared_cores_bound"] == pytest.approx(
        figures["end_to_end_fps"] / shared
    )
    assert figures["ratio_ours_over_plain"] == pytest.approx(
        figures["end_to_end_fps"] / figures["plain_loop_fps"]
    )
    assert 0 < figures["first_preview_s"] < 60
    assert {"decode", "inference", "track", "annotate", "encode"} <= set(figures["stage_timing_s"])
    # Each memory figure comes from its own process running the clip once or twice.
    assert figures["peak_rss_mib_once"] > 100 and figures["peak_rss_mib_x2"] > 100
    assert figures["ratio_peak_memory_looped_over_once"] == pytest.approx(
        figures["peak_rss_mib_x2"] / figures["peak_rss_mib_once"]
    )
    printed = capsys.readouterr().out
    assert "ratio_end_to_end_over_model_only" in printed and "ratio_ours_over_plain" in printed


def test_bench_rejects_an_unknown_runtime(clip: Path) -> None:
    with pytest.raises(ConfigError, match="cannot run on 'tensorrt'; it runs on: auto"):
        bench.main([str(clip), "--runtime", "tensorrt"])


def test_bench_measures_a_run_split_into_calls_against_the_whole(
    clip: Path, tmp_path: Path, yolox_weights: Path
) -> None:
    out = tmp_path / "figures.json"
    argv = [str(clip), "--detector", "yolox_nano", "--weights", str(yolox_weights)]
    options = ["--loops", "1", "--skip-plain", "--frames-per-call", "5", "--json", str(out)]
    assert bench.main([*argv, *options]) == 0
    figures = json.loads(out.read_text())
    assert figures["frames_per_call"] == 5
    assert figures["end_to_end_fps_whole"] > 0 and figures["end_to_end_fps_split"] > 0
    assert figures["ratio_split_over_whole"] == pytest.approx(
        figures["end_to_end_fps_split"] / figures["end_to_end_fps_whole"]
    )
