"""What a run did, as one typed value: :class:`RunSummary`, built by :func:`build_summary`.

Every kind of run (a file's, a stream's, the Live tab's frame by frame) ends
with one summary. Its fields every run has are typed and always set; what a
kind of run adds (tracks, counting, depth ranges, windows...) is an optional
field that stays None when the run has none of it. :meth:`RunSummary.to_dict`
is its JSON: the same keys, in the same order, that the REST API, the
``summary.json`` of a batch, ``gradio_client`` and the command line show, a
field that is None (or ``partial`` that is false) left out.

Example:
    >>> summary = build_summary(
    ...     frames=10, elapsed_s=2.0, video={"width": 64, "height": 48, "fps": 25.0},
    ...     devices=["cpu"], timing={"decode": 0.01234}, model={"name": "m"},
    ...     additions={"tracks": 2, "tracks_per_class": {"car": 2}},
    ... )
    >>> summary.frames, summary.fps, summary.tracks, summary.partial
    (10, 5.0, 2, False)
    >>> list(summary.to_dict())  # doctest: +NORMALIZE_WHITESPACE
    ['frames', 'fps', 'seconds', 'video', 'devices', 'timing_s', 'model', 'licenses',
     'tracks', 'tracks_per_class']
    >>> RunSummary.from_dict(summary.to_dict()) == summary
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.licenses import licenses_used


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """What a run did: frames, speed, timings, devices, models, and what its kind adds.

    The fields are in the order of the JSON's keys (:meth:`to_dict`).

    Attributes:
        frames: Frames processed.
        fps: Frames per second, end to end.
        seconds: Seconds the run took.
        first_frame_s: Seconds the first-frame preview took (a file's or a stream's run).
        video: The input's ``width`` and ``height`` (and ``fps``, but for the Live tab).
        devices: The devices the models ran on.
        frames_per_device: Frames each device processed (a file's or a stream's run).
        peak_frames_in_flight: Most frames between the decoder and the encoder at once.
        timing_s: Seconds per stage, in the order a frame goes through them.
        model: The models, as the output files record them (``Model.info()``, nested).
        licenses: Every model with its licence (:func:`models.licenses.licenses_used`).
        tracks: Distinct tracks (detection, segmentation).
        tracks_per_class: Tracks per class name, most first (detection, segmentation).
        windows: SAM 2 windows opened (segmentation).
        keyframes: Keyframes detected on (segmentation).
        frame_store: The frame store's budget, peak and spill (segmentation).
        device: The one device a segmentation run used.
        tracker: The tracker's ``name`` and ``params`` (detection).
        depth_model: The depth model's info (detection with depth).
        near_to_far: ``track_id`` and median ``depth``, nearest first (detection with depth).
        counting: Lines' and zones' counts (detection with lines or zones).
        speed: Speeds per track (detection with a speed area).
        privacy: The hiding style and classes (with privacy on).
        heatmap: Where objects were (detection with the heat map on).
        slicing: The slice size (detection with slicing on).
        detection_stride: Frames detected on and predicted (detection not on every frame).
        view: The depth video's view (depth).
        colormap: The depth video's colour table (depth).
        depth: The kind of depth, its meaning and display ranges (depth).
        source: A live source's label, frames dropped, reconnects and how it ended.
        partial: Stopped before the end of its video (a file's run).
        calls: Calls the run was split into, when it was.
        warning: Why its results are meaningless (random weights) or incomplete (a
            video that ended well before its stated length), when they are.
        stopped_because: Why a run split into calls stopped early (a refused call).
        job_id: The job it ran as, once a job recorded it.
    """

    frames: int
    fps: float
    seconds: float
    first_frame_s: float | None = None
    video: dict[str, Any]
    devices: list[str]
    frames_per_device: dict[str, int] | None = None
    peak_frames_in_flight: int | None = None
    timing_s: dict[str, float]
    model: dict[str, Any]
    licenses: list[dict[str, Any]]
    # What a kind of run adds, in the order each kind lists them (the orders agree).
    tracks: int | None = None
    tracks_per_class: dict[str, int] | None = None
    windows: int | None = None
    keyframes: int | None = None
    frame_store: dict[str, Any] | None = None
    device: str | None = None
    tracker: dict[str, Any] | None = None
    depth_model: dict[str, Any] | None = None
    near_to_far: list[dict[str, Any]] | None = None
    counting: dict[str, Any] | None = None
    speed: dict[str, Any] | None = None
    privacy: dict[str, Any] | None = None
    heatmap: dict[str, Any] | None = None
    slicing: dict[str, Any] | None = None
    detection_stride: dict[str, Any] | None = None
    view: str | None = None
    colormap: str | None = None
    depth: dict[str, Any] | None = None
    # How it ran and ended, whatever its kind.
    source: dict[str, Any] | None = None
    partial: bool = False
    calls: int | None = None
    warning: str | None = None
    stopped_because: str | None = None
    job_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready values: every field that is set, in field order.

        A None field, and ``partial`` when false, are left out, as the run
        never wrote those keys. Values are shared, not copied.
        """
        data: dict[str, Any] = {}
        for name in _FIELD_NAMES:
            value = getattr(self, name)
            if value is None or (name == "partial" and not value):
                continue
            data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSummary:
        """A summary from its JSON (:meth:`to_dict`, e.g. read back from a file).

        Raises:
            TypeError: A key that is no field, or a field every run has missing.
        """
        return cls(**data)


_FIELD_NAMES = tuple(field.name for field in dataclasses.fields(RunSummary))


def build_summary(
    *,
    frames: int,
    elapsed_s: float,
    video: dict[str, Any],
    devices: list[str],
    timing: Mapping[str, float],
    model: dict[str, Any],
    additions: Mapping[str, Any],
    first_frame_s: float | None = None,
    frames_per_device: dict[str, int] | None = None,
    peak_frames_in_flight: int | None = None,
    **ending: Any,
) -> RunSummary:
    """The one way a run's summary is made, whichever way the run went.

    Rounds the times as every summary shows them and lists the models' licences.

    Args:
        frames: Frames processed.
        elapsed_s: Seconds the run took.
        video: The input's size (and frame rate).
        devices: The devices the models ran on.
        timing: Seconds per stage (rounded here).
        model: The run's ``model_info()``.
        additions: What the kind of run adds (:meth:`Run.summary
            <pipeline.runtime.template.Run.summary>`), by field name.
        first_frame_s: Seconds the first-frame preview took (rounded here).
        frames_per_device: Frames each device processed.
        peak_frames_in_flight: Most frames in flight at once.
        **ending: How it ran and ended: ``source``, ``partial``, ``calls``, ``warning``.

    Raises:
        TypeError: An addition or ending that is no field of :class:`RunSummary`.
    """
    return RunSummary(
        frames=frames,
        fps=round(frames / max(elapsed_s, 1e-9), 2),
        seconds=round(elapsed_s, 3),
        first_frame_s=None if first_frame_s is None else round(first_frame_s, 3),
        video=video,
        devices=devices,
        frames_per_device=frames_per_device,
        peak_frames_in_flight=peak_frames_in_flight,
        timing_s={stage: round(seconds, 4) for stage, seconds in timing.items()},
        model=model,
        # Flat, so a reader sees every model's licence whatever the kind of run.
        licenses=licenses_used(model),
        **additions,
        **ending,
    )
