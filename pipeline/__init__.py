"""Video pipeline: decode, detect, track, segment, measure depth, annotate, encode.

``pipeline.start(video, config, outputs)`` starts any kind of run;
``pipeline.first_frame(video, config)`` does the quick look at frame 0.
This package never imports gradio.

Layout: ``runs/`` the kinds of run (detection, depth, segmentation);
``runtime/`` what every run shares (the run template, device pool, events,
errors, devices, reporting); ``stages/`` the per-frame steps (tracking,
annotation, depth display, per-object depth, keyframe ids); ``io/`` files
in and out (video, tracks JSON, MOT text, RLE masks, frame store);
``evaluation/`` scoring and the benchmark; ``cli/`` the command line.
"""

from pipeline.configs import ConfigError, DepthConfig, DetectionConfig, SegmentationConfig
from pipeline.errors import PipelineError, RunFailed, RunStopped, VideoError, VideoTooLong
from pipeline.runs import RUNS, first_frame, output_for, output_paths, run_type, start, task_of
from pipeline.runtime.events import Done, Downloading, Event, FirstFrame, Preview, Progress
from pipeline.runtime.summary import RunSummary

__all__ = [
    "RUNS",
    "ConfigError",
    "DepthConfig",
    "DetectionConfig",
    "Done",
    "Downloading",
    "Event",
    "FirstFrame",
    "PipelineError",
    "Preview",
    "Progress",
    "RunFailed",
    "RunStopped",
    "RunSummary",
    "SegmentationConfig",
    "VideoError",
    "VideoTooLong",
    "first_frame",
    "output_for",
    "output_paths",
    "run_type",
    "start",
    "task_of",
]
