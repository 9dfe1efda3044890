"""How fast a video segmenter follows objects, and how much memory it holds, over N frames.

One segmenter session (the pipeline's :class:`~models.segmenters.base.SegmenterSession`,
frames read on demand as from the frame store) follows two boxes prompted
on frame 0 through ``frames`` frames of a synthetic clip (two moving
rectangles). Measured: frames per second of the propagation (the model only:
loading and the prompt are left out), both per second of wall time and per
second of the process's CPU time (on a shared machine only the latter says
what the model costs; with one torch thread it is the single-core rate), and
the process's peak resident memory
while it runs, sampled every :data:`SAMPLE_INTERVAL_S`, with its growth over
the memory held once the model is loaded. With random weights (``random:small``,
``random:edgetam``) the compute is the real architecture's and the masks are
meaningless.

Run it once per measurement, each in its own process, so that one
measurement's peak does not carry into the next::

    python -m pipeline.evaluation.segmenter_speed YEdgeTAM random:edgetam --frames 100
    python -m pipeline.evaluation.segmenter_speed YSAM2-S random:small --frames 100
    python -m pipeline.evaluation.segmenter_speed SAM3 random:sam3 --frames 5

Example:
    >>> clip_frame(3, 64, 48).shape
    (48, 64, 3)
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import psutil

import models
from models.segmenters.base import TextSegmenter

#: Interval between two readings of the resident memory.
SAMPLE_INTERVAL_S = 0.05
#: The clip's frame size (640x360, a typical upload scaled down).
WIDTH, HEIGHT = 640, 360
#: The two boxes prompted on frame 0 (x1, y1, x2, y2), over the rectangles drawn there.
BOXES = {1: (40, 60, 200, 220), 2: (360, 100, 560, 300)}
#: What a segmenter that takes text (SAM 3) is asked to find instead of the boxes.
TEXT_QUERY = "rectangle"


def clip_frame(index: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """Frame ``index`` of the synthetic clip: two rectangles moving over grey (BGR uint8)."""
    image = np.full((height, width, 3), 90, np.uint8)
    shift = index % max(1, width // 8)
    colours = ((40, 40, 220), (220, 120, 40))
    for (x1, y1, x2, y2), colour in zip(BOXES.values(), colours, strict=True):
        left = min(width - 1, x1 * width // WIDTH + shift)
        right = min(width, x2 * width // WIDTH + shift)
        image[y1 * height // HEIGHT : y2 * height // HEIGHT, left:right] = colour
    return image


class PeakMemory:
    """The process's peak resident memory while it is entered, read by a sampling thread."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self.peak_bytes = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)


def measure(
    segmenter: str, weights: str, frames: int, *, image_size: int | None = None
) -> dict[str, Any]:
    """Follow the two boxes through ``frames`` frames with one segmenter on the CPU.

    Args:
        segmenter: Registry name, e.g. ``"YEdgeTAM"``.
        weights: Its ``weights=`` option, e.g. ``"random:edgetam"``.
        frames: Frames to propagate through (one session).
        image_size: The model's input size (default: the architecture's).

    Returns:
        ``fps``, ``seconds``, ``fps_per_cpu_second``, ``cpu_seconds``,
        ``peak_rss_mb``, ``loaded_rss_mb`` (after loading, before the session)
        and the settings.
    """
    options = {"image_size": image_size} if image_size else {}
    model = models.create("segmenter", segmenter, device="cpu", weights=weights, **options)
    loaded = psutil.Process().memory_info().rss
    if isinstance(model, TextSegmenter):
        # SAM 3 finds the rectangles itself from a phrase: detection on every frame is its cost.
        session = model.text_session(clip_frame, frames, HEIGHT, WIDTH)
        session.add_text([TEXT_QUERY])
    else:
        session = model.session(clip_frame, frames, HEIGHT, WIDTH)
        for object_id, box in BOXES.items():
            session.add_box(0, object_id, np.array(box, dtype=np.float32))
    with PeakMemory() as peak:
        started, cpu_started = time.perf_counter(), time.process_time()
        count = sum(1 for _ in session.propagate(0, frames - 1))
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
    session.close()
    return {
        "segmenter": segmenter,
        "weights": weights,
        "image_size": model.info()["image_size"],
        "frames": count,
        "seconds": round(seconds, 2),
        "fps": round(count / seconds, 3),
        "cpu_seconds": round(cpu_seconds, 2),
        "fps_per_cpu_second": round(count / cpu_seconds, 3),
        "loaded_rss_mb": round(loaded / 2**20),
        "peak_rss_mb": round(peak.peak_bytes / 2**20),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Measure one segmenter and print the figures as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("segmenter")
    parser.add_argument("weights")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--image-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    result = measure(args.segmenter, args.weights, args.frames, image_size=args.image_size)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
