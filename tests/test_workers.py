"""The multi-device pool: order, completeness, stopping and fault isolation."""

from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest
import synthetic

from pipeline.io.video import FrameReader
from pipeline.runtime.pool import DevicePool, Worker


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    path = tmp_path_factory.mktemp("pool") / "pool.mp4"
    return synthetic.make_video(path, frames=90, width=96, height=64)


def _fingerprint(image: np.ndarray) -> int:
    return int(image.astype(np.int64).sum())


def _slow_worker(device: str, batch_size: int, max_delay: float, seen: list):
    def process(frames, timing):
        time.sleep(random.uniform(0, max_delay))
        seen.append((device, [f.index for f in frames]))
        return [(device, _fingerprint(f.image)) for f in frames]

    return Worker(device, process, batch_size)


def test_three_devices_return_every_frame_once_in_order_with_its_own_result(video):
    stop = threading.Event()
    reader = FrameReader(video, queue_size=8, stop=stop)
    seen: list = []
    workers = [_slow_worker(f"cpu:{i}", i + 1, 0.02, seen) for i in range(3)]
    pool = DevicePool(workers, reader, stop)
    out = list(pool)
    pool.join()

    assert [frame.index for frame, _ in out] == list(range(90))
    # Each result belongs to its own frame (no mix-up in the reorder buffer).
    assert all(result[1] == _fingerprint(frame.image) for frame, result in out)
    # Every device did part of the work, within its batch size, on consecutive frames.
    assert {device for device, _ in seen} == {"cpu:0", "cpu:1", "cpu:2"}
    for device, indices in seen:
        assert len(indices) <= int(device[-1]) + 1
        assert indices == list(range(indices[0], indices[0] + len(indices)))
    processed = sorted(i for _, indices in seen for i in indices)
    assert processed == list(range(90)), "every frame is processed exactly once"
    assert not pool.alive


def test_stop_mid_run_ends_promptly_and_leaves_no_threads(video):
    stop = threading.Event()
    reader = FrameReader(video, queue_size=4, stop=stop)
    pool = DevicePool([_slow_worker(f"cpu:{i}", 2, 0.05, []) for i in range(2)], reader, stop)
    received = 0
    for _ in pool:
        received += 1
        if received == 10:
            stop.set()
            stopped_at = time.monotonic()
    pool.join(timeout=2)
    reader.close()
    assert time.monotonic() - stopped_at < 2.0
    assert received < 90
    assert not pool.alive and not reader.alive


def test_failing_worker_fails_its_run_while_a_concurrent_run_finishes(video):
    def failing(frames, timing):
        if frames[0].index >= 20:
            raise ValueError("CUDA out of memory (simulated) on frame 20")
        return [0] * len(frames)

    results: dict[str, object] = {}

    def good_run():
        stop = threading.Event()
        reader = FrameReader(video, queue_size=4, stop=stop)
        pool = DevicePool([_slow_worker("cpu:0", 2, 0.01, [])], reader, stop)
        results["good"] = [frame.index for frame, _ in pool]

    thread = threading.Thread(target=good_run)
    thread.start()
    stop = threading.Event()
    reader = FrameReader(video, queue_size=4, stop=stop)
    bad_workers = [Worker("cpu:1", failing, 1), _slow_worker("cpu:2", 1, 0.01, [])]
    pool = DevicePool(bad_workers, reader, stop)
    with pytest.raises(ValueError, match="CUDA out of memory \\(simulated\\) on frame 20") as info:
        for _ in pool:
            pass
    assert any("cpu:1" in note for note in info.value.__notes__)
    pool.join(timeout=2)
    reader.close()
    assert not pool.alive and not reader.alive
    thread.join(timeout=30)
    assert results["good"] == list(range(90))


def test_frames_in_flight_are_bounded_with_a_slow_consumer(video):
    stop = threading.Event()
    bound = 5
    slots = threading.Semaphore(bound)
    reader = FrameReader(video, queue_size=3, stop=stop, slots=slots)
    pool = DevicePool([_slow_worker("cpu:0", 2, 0.0, [])], reader, stop)
    peak = 0
    for consumed, _ in enumerate(pool, start=1):
        time.sleep(0.005)  # a consumer slower than the model
        peak = max(peak, reader.frames_decoded - (consumed - 1))
        slots.release()
    assert consumed == 90
    assert peak <= bound
