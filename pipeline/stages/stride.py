"""The detection stride: detect on every k-th frame, and let the tracker predict between.

A detector is the costly part of a run on a CPU; a tracker's motion model is not.
With a stride ``k`` the detector sees frames 0, k, 2k... only, and the frames in
between get the boxes the tracker's Kalman filter predicts for the tracks of the
last detected frame (:meth:`pipeline.stages.tracking.ObjectTracker.predict`),
marked ``predicted`` in the tracks file and the objects table.

``auto`` chooses ``k`` as the run goes, for live sources only: the smallest
stride whose detector time per frame, with the rest of each frame's work, fits
the source's frame period (:class:`AutoStride`). A file need not keep up with
anything, so ``auto`` there detects on every frame (see :func:`stride_for_file`).

Example:
    >>> as_detect_every("3"), as_detect_every("auto"), as_detect_every(2.0)
    (3, 'auto', 2)
    >>> [index for index in range(7) if on_stride(index, 3)]
    [0, 3, 6]
"""

from __future__ import annotations

import math
import numbers
import threading
from typing import Any

from pipeline.errors import ConfigError

#: ``detect_every`` value that chooses the stride from the source's frame rate.
AUTO_STRIDE = "auto"

#: The default: the detector sees every frame.
EVERY_FRAME = 1

#: The longest stride ``auto`` chooses: past it the tracker's predictions drift
#: too far for its next association (MOTA falls fast beyond 5-10 frames at 10-30 fps,
#: docs/cpu-runtimes.md) and a slower detector should be chosen instead.
MAX_AUTO_STRIDE = 10

#: Weight of each new measurement in :class:`AutoStride`'s running means: enough to
#: follow a change of load within a second or so at 30 fps, not to flicker.
_SMOOTHING = 0.2


def as_detect_every(value: Any) -> int | str:
    """A ``detect_every`` setting, checked: a whole number of frames >= 1, or ``auto``.

    Args:
        value: An int, a whole-valued float (a UI or JSON number), its text, or
            ``"auto"`` (any case, surrounding spaces ignored).

    Returns:
        The stride as an int, or :data:`AUTO_STRIDE`.

    Raises:
        pipeline.errors.ConfigError: Anything else (0, -1, 2.5, "two", True...).
    """
    stride: Any = value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == AUTO_STRIDE:
            return AUTO_STRIDE
        try:
            stride = int(text)
        except ValueError:
            stride = None
    elif (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | numbers.Integral)
        and math.isfinite(value)
        and float(value).is_integer()
    ):
        stride = int(value)
    if isinstance(stride, bool) or not isinstance(stride, numbers.Integral) or stride < 1:
        raise ConfigError(
            f"The detection stride (detect_every) must be a whole number of frames of "
            f"at least 1, or {AUTO_STRIDE}, not {value!r}."
        )
    return int(stride)


def on_stride(index: int, stride: int) -> bool:
    """Whether frame ``index`` (from 0) is one the detector sees with a fixed ``stride``."""
    return index % stride == 0


def stride_for_file(detect_every: int | str) -> int:
    """The fixed stride of a run over a file: ``auto`` is every frame there.

    A file is read as fast as the machine allows and nothing is dropped, so
    there is no frame rate to keep up with: skipping detections would trade
    accuracy for nothing the user asked for. A user who wants a faster file
    run gives the stride as a number.
    """
    return EVERY_FRAME if detect_every == AUTO_STRIDE else int(detect_every)


class AutoStride:
    """Chooses the stride of a live run from measured times, to keep up with its source.

    With ``d`` seconds per detection and ``r`` seconds for the rest of each frame
    (tracking, drawing, encoding), a stride ``k`` costs ``d / k + r`` per frame;
    the smallest ``k`` that fits the source's frame period ``p`` is
    ``ceil(d / (p - r))``, bounded by :data:`MAX_AUTO_STRIDE`. Until a detection
    has been timed the stride is 1. Safe to call from several threads.

    The source's rate is the one it states (a stream's, or the rate a page sends
    its webcam's frames at), never the rate frames reach the run: a source that
    drops the frames a slow run cannot take would seem to match its pace, and the
    stride would never grow.

    Args:
        fps: The source's frame rate.

    Example:
        >>> auto = AutoStride(fps=25.0)
        >>> auto.observe_detection(0.1); auto.observe_rest(0.01)
        >>> auto.stride  # 0.1 s per detection, 0.03 s left per frame at 25 fps
        4
    """

    def __init__(self, fps: float) -> None:
        self._lock = threading.Lock()
        self._period = 1.0 / fps if fps > 0 else 0.0
        self._detect_s: float | None = None
        self._rest_s: float | None = None
        self._since_detection = 0

    @staticmethod
    def _mean(old: float | None, new: float) -> float:
        return new if old is None else (1 - _SMOOTHING) * old + _SMOOTHING * new

    def observe_detection(self, seconds: float) -> None:
        """One detection call took ``seconds`` for one frame."""
        with self._lock:
            self._detect_s = self._mean(self._detect_s, seconds)

    def observe_rest(self, seconds: float) -> None:
        """The rest of one frame's work (everything but detection) took ``seconds``."""
        with self._lock:
            self._rest_s = self._mean(self._rest_s, seconds)

    @property
    def stride(self) -> int:
        """The stride that keeps up now (1 until a detection has been timed)."""
        with self._lock:
            detect, rest, period = self._detect_s, self._rest_s or 0.0, self._period
        if detect is None or period <= 0:
            return EVERY_FRAME
        spare = period - rest
        if spare <= 0:
            return MAX_AUTO_STRIDE
        return max(EVERY_FRAME, min(MAX_AUTO_STRIDE, math.ceil(detect / spare - 1e-9)))

    def detect_now(self) -> bool:
        """Whether the next frame is one to detect on, counting frames since the last one."""
        stride = self.stride
        with self._lock:
            if self._since_detection + 1 >= stride or self._detect_s is None:
                self._since_detection = 0
                return True
            self._since_detection += 1
            return False


class FixedStride:
    """A stride that does not change: the detector sees frames 0, k, 2k...

    Args:
        stride: ``k``, at least 1.
    """

    def __init__(self, stride: int) -> None:
        self.stride = stride

    def detects(self, index: int) -> bool:
        """Whether frame ``index`` (from 0) goes to the detector."""
        return on_stride(index, self.stride)

    def observe_detection(self, seconds: float) -> None:
        """Unused: a fixed stride measures nothing."""

    def observe_rest(self, seconds: float) -> None:
        """Unused: a fixed stride measures nothing."""


class LiveStride(AutoStride):
    """:class:`AutoStride` with the interface of :class:`FixedStride`."""

    def detects(self, index: int) -> bool:
        """Whether the next frame goes to the detector (frames must come in order)."""
        return self.detect_now()


def frame_stride(detect_every: int | str, *, live: bool, fps: float) -> FixedStride | LiveStride:
    """The stride of a run: fixed, or chosen as it goes for a live source with ``auto``.

    Args:
        detect_every: The config's checked setting (:func:`as_detect_every`).
        live: Whether the frames come from a live source (a camera, a stream).
        fps: The source's frame rate, as it states it (see :class:`AutoStride`).
    """
    if detect_every == AUTO_STRIDE and live:
        return LiveStride(fps)
    return FixedStride(stride_for_file(detect_every))
