"""Limits on an input video, checked from its container before any frame is decoded.

What a video costs is known from its headers: the pixels of one frame (the
memory of every frame in flight, the time of each model call), its frame rate
and its number of frames (the run's length). A run refuses a video over any
limit before it decodes a frame (:func:`pipeline.io.video.probe`); the frame
count is also enforced while decoding (:class:`pipeline.io.video.FrameReader`),
so a container whose headers understate it cannot get past it either.

Example:
    >>> limits = VideoLimits(max_pixels=1920 * 1080)
    >>> limits.check_size("clip.mp4", 3840, 2160)
    Traceback (most recent call last):
    ...
    pipeline.errors.VideoOverLimit: clip.mp4 has 3840x2160 frames (8,294,400 pixels); ...
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import VideoOverLimit, VideoTooLong

#: Longest video, in seconds.
DEFAULT_MAX_DURATION_S = 600.0
#: Most pixels in one frame: DCI 4K (4096x2160), which also takes UHD (3840x2160).
DEFAULT_MAX_PIXELS = 4096 * 2160
#: Highest frame rate: phones' slow motion records 240 fps.
DEFAULT_MAX_FPS = 240.0
#: Most frames in one video: ten minutes at 60 fps.
DEFAULT_MAX_VIDEO_FRAMES = 36_000


@dataclass(frozen=True)
class VideoLimits:
    """The most a run takes of a video; None means no limit.

    Attributes:
        max_duration_s: Longest duration in seconds.
        max_pixels: Most pixels (width x height) in one frame.
        max_fps: Highest average frame rate.
        max_frames: Most frames.
    """

    max_duration_s: float | None = None
    max_pixels: int | None = None
    max_fps: float | None = None
    max_frames: int | None = None

    def check_size(self, name: str, width: int, height: int) -> None:
        """Refuse frames over :attr:`max_pixels` (before any of them is decoded).

        Raises:
            VideoOverLimit: Too many pixels in a frame.
        """
        if self.max_pixels is not None and width * height > self.max_pixels:
            raise VideoOverLimit(
                f"{name} has {width}x{height} frames ({width * height:,} pixels); the limit "
                f"is {self.max_pixels:,} pixels a frame. Scale it down."
            )

    def check_rate(self, name: str, fps: float) -> None:
        """Refuse a frame rate over :attr:`max_fps`.

        Raises:
            VideoOverLimit: Too high a frame rate.
        """
        if self.max_fps is not None and fps > self.max_fps:
            raise VideoOverLimit(
                f"{name} runs at {fps:.0f} frames per second; the limit is "
                f"{self.max_fps:g}. Lower its frame rate."
            )

    def check_length(self, duration_s: float, frames: int) -> None:
        """Refuse a video longer than :attr:`max_duration_s` or :attr:`max_frames`.

        Raises:
            VideoTooLong: Too long, in seconds or in frames.
        """
        if self.max_duration_s is not None and duration_s > self.max_duration_s:
            raise VideoTooLong(
                f"The video is {duration_s:.0f} s long; the limit is "
                f"{self.max_duration_s:.0f} s. Trim it or raise the limit."
            )
        if self.max_frames is not None and frames > self.max_frames:
            raise self.too_many_frames()

    def too_many_frames(self) -> VideoTooLong:
        """The error of a video with more than :attr:`max_frames` frames."""
        return VideoTooLong(
            f"The video has more than {self.max_frames} frames; the limit is "
            f"{self.max_frames} frames. Trim it."
        )
