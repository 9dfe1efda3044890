"""Turning relative depth maps into steady colour pictures.

A monocular model's relative depth has no fixed scale: each frame's values may
shift and stretch, and an object entering the view moves the frame's extremes.
Colouring each frame by its own range therefore makes a static wall flicker.
:class:`DepthNormalizer` instead keeps one display range over time: robust
percentiles per frame (``DepthConfig``'s, 2nd/98th by default), a running median over a short
window (one outlier frame cannot move it), then exponential smoothing (the
range glides instead of jumping after a real scene change).

Example:
    >>> normalizer = DepthNormalizer(low_percentile=5, high_percentile=95, window=3, momentum=0.5)
    >>> painter = DepthPainter("turbo", view="side_by_side", opacity=1.0)
    >>> frame = np.zeros((48, 64, 3), np.uint8)
    >>> depth = np.tile(np.linspace(0, 1, 64, dtype=np.float32), (48, 1))
    >>> painter.paint(frame, depth, normalizer.update(depth)).shape  # the frame, then its depth
    (48, 128, 3)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

#: Colour tables, named as ``supervision.DepthColormap`` names them; near is warm/bright.
COLORMAPS: dict[str, int | None] = {
    "turbo": cv2.COLORMAP_TURBO,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "cividis": cv2.COLORMAP_CIVIDIS,
    "inferno": cv2.COLORMAP_INFERNO,
    "magma": cv2.COLORMAP_MAGMA,
    "grayscale": None,
}
#: Views of a frame's depth: the colour map alone, frame and colours side by
#: side, or colours blended over the frame.
VIEWS = ("depth", "side_by_side", "blend")
#: Side-by-side frames wider than this are shrunk: wider H.264 needs decoder
#: levels that browsers do not all play.
MAX_SIDE_BY_SIDE_WIDTH = 3840
# Percentiles on a strided sample: the same range to within a pixel's worth of
# rank at 1080p, about 30 times faster than on every pixel.
_SAMPLES = 1 << 16
# A range narrower than this is treated as flat (a random-weights model, a blank wall).
_MIN_SPAN = 1e-6


@dataclass(frozen=True)
class DisplayRange:
    """The depth values at the far (``low``) and near (``high``) ends of the colour table."""

    low: float
    high: float

    @property
    def span(self) -> float:
        """``high - low``, never below a tiny positive floor."""
        return max(self.high - self.low, _MIN_SPAN)


def robust_range(depth: np.ndarray, low: float = 2.0, high: float = 98.0) -> DisplayRange:
    """The ``low`` and ``high`` percentiles of a map's finite values.

    Args:
        depth: ``(H, W)`` float map.
        low: Lower percentile (0-100).
        high: Upper percentile (0-100).

    Returns:
        The range; ``(0, 0)`` when the map holds no finite value.
    """
    step = max(1, int(np.sqrt(depth.size / _SAMPLES)))
    sample = depth[::step, ::step].ravel()
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return DisplayRange(0.0, 0.0)
    lo, hi = np.percentile(sample, [low, high])
    return DisplayRange(float(lo), float(hi))


class DepthNormalizer:
    """Keeps a display range that follows a video's depth without flicker.

    Each :meth:`update` measures the frame's robust range, takes the median of
    the last ``window`` frames' ranges, and moves the current range towards it
    by ``1 - momentum``. Feed frames in order; one instance per video.

    Args:
        low_percentile: Percentile mapped to the far end of the colours.
        high_percentile: Percentile mapped to the near end.
        window: Frames in the running median (odd is best; 1 disables it).
        momentum: Share of the previous range kept per frame, in [0, 1);
            0 disables smoothing.

    The values come from :class:`~pipeline.configs.DepthConfig`, which holds their
    defaults and checks them (``pipeline.runs.depth.depth_normalizer``).
    """

    def __init__(
        self, *, low_percentile: float, high_percentile: float, window: int, momentum: float
    ) -> None:
        self.low_percentile = low_percentile
        self.high_percentile = high_percentile
        self.momentum = momentum
        self._recent: deque[DisplayRange] = deque(maxlen=window)
        self.range: DisplayRange | None = None

    def update(self, depth: np.ndarray) -> DisplayRange:
        """Take one frame's depth into account and return the range to show it with.

        Args:
            depth: The frame's ``(H, W)`` map.

        Returns:
            The smoothed display range.
        """
        self._recent.append(robust_range(depth, self.low_percentile, self.high_percentile))
        target = DisplayRange(
            float(np.median([r.low for r in self._recent])),
            float(np.median([r.high for r in self._recent])),
        )
        if self.range is None:
            self.range = target
        else:
            keep = self.momentum
            self.range = DisplayRange(
                keep * self.range.low + (1 - keep) * target.low,
                keep * self.range.high + (1 - keep) * target.high,
            )
        return self.range

    def reset(self) -> None:
        """Forget the history (a new video)."""
        self._recent.clear()
        self.range = None


def to_unit(depth: np.ndarray, display_range: DisplayRange) -> np.ndarray:
    """Map depth to uint8 0 (far end) .. 255 (near end), clamped; non-finite is 0."""
    scaled = (depth - np.float32(display_range.low)) * np.float32(255.0 / display_range.span)
    np.clip(scaled, 0, 255, out=scaled)
    scaled[~np.isfinite(scaled)] = 0
    return scaled.astype(np.uint8)


def colorize(depth: np.ndarray, display_range: DisplayRange, colormap: str = "turbo") -> np.ndarray:
    """Colour a depth map, near warm or bright, far cool or dark.

    Args:
        depth: ``(H, W)`` relative inverse depth (larger is nearer).
        display_range: Values at the two ends of the colour table.
        colormap: One of :data:`COLORMAPS`.

    Returns:
        A BGR uint8 ``(H, W, 3)`` image.

    Raises:
        ValueError: Unknown colormap.
    """
    if colormap not in COLORMAPS:
        raise ValueError(f"Unknown colormap {colormap!r}. Choose one of {', '.join(COLORMAPS)}.")
    unit = to_unit(depth, display_range)
    table = COLORMAPS[colormap]
    if table is None:
        return cv2.cvtColor(unit, cv2.COLOR_GRAY2BGR)
    return cv2.applyColorMap(unit, table)


def output_size(width: int, height: int, view: str) -> tuple[int, int]:
    """``(width, height)`` of the pictures :class:`DepthPainter` makes for a frame size."""
    if view != "side_by_side":
        return width, height
    if 2 * width <= MAX_SIDE_BY_SIDE_WIDTH:
        return 2 * width, height
    scale = MAX_SIDE_BY_SIDE_WIDTH / (2 * width)
    half = int(width * scale)
    return 2 * half, max(2, round(height * scale))


class DepthPainter:
    """Draws one of the :data:`VIEWS` of a frame and its depth.

    Args:
        colormap: One of :data:`COLORMAPS`.
        view: ``"depth"``, ``"side_by_side"`` (frame left, depth right) or
            ``"blend"`` (depth over the frame).
        opacity: Weight of the colours in the ``"blend"`` view, in [0, 1].

    The values come from :class:`~pipeline.configs.DepthConfig`, which holds their
    defaults and checks them (``pipeline.runs.depth.depth_painter``).
    """

    def __init__(self, colormap: str, *, view: str, opacity: float) -> None:
        self.colormap = colormap
        self.view = view
        self.opacity = float(np.clip(opacity, 0.0, 1.0))

    def paint(
        self, frame: np.ndarray, depth: np.ndarray, display_range: DisplayRange
    ) -> np.ndarray:
        """Return the view of one frame.

        Args:
            frame: BGR uint8 ``(H, W, 3)``.
            depth: The frame's ``(H, W)`` depth.
            display_range: From :meth:`DepthNormalizer.update`.

        Returns:
            A new BGR uint8 image of :func:`output_size`.
        """
        colors = colorize(depth, display_range, self.colormap)
        if self.view == "depth":
            return colors
        if self.view == "blend":
            return cv2.addWeighted(colors, self.opacity, frame, 1.0 - self.opacity, 0.0)
        height, width = frame.shape[:2]
        out_width, out_height = output_size(width, height, self.view)
        if out_width != 2 * width:
            size = (out_width // 2, out_height)
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            colors = cv2.resize(colors, size, interpolation=cv2.INTER_AREA)
        return np.hstack([frame, colors])
