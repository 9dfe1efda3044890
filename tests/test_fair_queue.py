"""The queue shared fairly: a client's share holds for the page too, the page waits in line
rather than being refused, and a client's address cannot be forged through X-Forwarded-For."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import pytest
import synthetic
from job_helpers import settings_store, upload

from pipeline import DetectionConfig
from pipeline.jobs import JobStatus, JobStore, QueueFull, Requester
from ui.clients import client_key, forwarded_address
from ui.settings import Settings
from ui.streaming import QUEUE_FULL_WAIT
from ui.tabs.detection import DetectionHandlers

SLOW = DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 0.2),))
#: A run that keeps the one device far longer than any wait a test makes for it (12 frames
#: of 2 s): a loaded machine cannot let it finish before the test is done with it.
HOLDS_THE_DEVICE = DetectionConfig(detector="test_shapes", detector_options=(("delay_s", 2.0),))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fair-clip")
    return synthetic.make_video(folder / "clip.mp4", frames=12, width=160, height=128)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Behind one proxy, as on a Space: the page's requests carry X-Forwarded-For.
    return Settings(
        output_dir=tmp_path / "jobs", max_queued_jobs=1, max_queued_per_client=1,
        trusted_proxy_hops=1,
    )  # fmt: skip


@pytest.fixture
def store(settings: Settings) -> Iterator[JobStore]:
    with settings_store(settings) as jobs:
        yield jobs


def page_request(address: str, session: str) -> SimpleNamespace:
    """What Gradio hands a handler for a page behind the Space's proxy."""
    return SimpleNamespace(
        session_hash=session,
        headers={"x-forwarded-for": f"198.51.100.1, {address}"},  # the first: the client's own
        client=SimpleNamespace(host="10.0.0.2"),  # the proxy
    )


# ------------------------------------------------------------------ whose request it is


@pytest.mark.parametrize(
    ("header", "hops", "address"),
    [
        ("203.0.113.7", 1, "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),  # a client's own entry comes first
        ("6.6.6.6, 203.0.113.7, 10.1.1.1", 2, "203.0.113.7"),
        (" 6.6.6.6 ,203.0.113.7 ", 1, "203.0.113.7"),
        ("203.0.113.7", 2, None),  # fewer entries than proxies: not through them
        ("6.6.6.6", 0, None),  # no proxy trusted
        ("", 1, None),
        (",,", 1, None),
    ],
)
def test_the_address_is_the_one_the_trusted_proxy_appended(
    header: str, hops: int, address: str | None
) -> None:
    assert forwarded_address(header, hops) == address


def test_a_client_cannot_pass_for_others_by_writing_x_forwarded_for(tmp_path: Path) -> None:
    settings = Settings(output_dir=tmp_path, trusted_proxy_hops=1)  # one proxy, as on a Space
    keys = {
        client_key({"x-forwarded-for": f"{forged}, 203.0.113.7"}, "10.0.0.2", settings)
        for forged in ("1.1.1.1", "2.2.2.2", "3.3.3.3")
    }
    assert keys == {"address:203.0.113.7"}
    # No proxy in front (hops 0, the default off a Space): the connection's address,
    # whatever the header says.
    direct = Settings(output_dir=tmp_path)
    assert client_key({"x-forwarded-for": "1.1.1.1"}, "192.0.2.5", direct) == "address:192.0.2.5"
    # Nor by sending a new bearer token each time: nothing checks it, so it names no one.
    tokens = {
        client_key({"authorization": f"Bearer {token}", "x-forwarded-for": "203.0.113.7"},
                   None, settings)
        for token in ("abc", "def", "ghi")
    }  # fmt: skip
    assert tokens == {"address:203.0.113.7"}


def test_the_setting_is_read_from_the_environment(tmp_path: Path) -> None:
    base = {"VIDEO_APP_OUTPUT_DIR": str(tmp_path)}
    hops = "VIDEO_APP_TRUSTED_PROXY_HOPS"
    assert Settings.from_env({**base, hops: "2"}).trusted_proxy_hops == 2
    # Unset: no proxy trusted off a Space, where a client can reach the app directly;
    # on a Space (SPACE_ID set) its one proxy. Set, it wins either way, 0 included.
    assert Settings.from_env(base).trusted_proxy_hops == 0
    assert Settings.from_env({**base, "SPACE_ID": "me/app"}).trusted_proxy_hops == 1
    assert Settings.from_env({**base, "SPACE_ID": "me/app", hops: "0"}).trusted_proxy_hops == 0
    for bad in ("-1", "1.5", "one", "nan"):
        with pytest.raises(ValueError, match="whole number from 0"):
            Settings.from_env({**base, hops: bad})


# ------------------------------------------------------------------ the page in the queue


def test_wait_for_room_answers_once_a_place_frees(
    store: JobStore, clip: Path, tmp_path: Path
) -> None:
    running = store.submit(upload(clip, tmp_path), SLOW, client="a")
    waiting = store.submit(upload(clip, tmp_path), SLOW, client="b")
    assert not store.wait_for_room(timeout=0.2)  # one running, one waiting: full
    store.stop(waiting.id)
    assert store.wait_for_room(timeout=5.0)
    store.delete(running.id)


def test_the_page_waits_in_line_while_others_fill_the_queue_and_keeps_to_its_share(
    settings: Settings, store: JobStore, clip: Path, tmp_path: Path
) -> None:
    handlers = DetectionHandlers(settings, jobs=store)
    running = store.submit(upload(clip, tmp_path), HOLDS_THE_DEVICE, client="address:rest-a")
    waiting = store.submit(upload(clip, tmp_path), SLOW, client="address:rest-b")
    # The queue is full of others' jobs: the page says so and waits, no refusal.
    run = handlers.detect(
        str(clip), "test_shapes", None, "", 0.3, request=page_request("203.0.113.7", "s1")
    )
    statuses = [next(run)[1], next(run)[1]]
    assert statuses[-1] == QUEUE_FULL_WAIT, statuses
    # A place frees: the page's job takes it, in the client's name the proxy gave.
    store.delete(waiting.id)
    while "Waiting for a device" not in (status := next(run)[1]):
        assert status == QUEUE_FULL_WAIT, status
    mine = [j for j in store.all() if j.source == "app"]
    assert len(mine) == 1 and mine[0].client == "address:203.0.113.7"
    assert mine[0].status is JobStatus.QUEUED
    # The same client from a second tab: its share (one waiting job) is taken.
    second = handlers.detect(
        str(clip), "test_shapes", None, "", 0.3, request=page_request("203.0.113.7", "s2")
    )
    next(second)
    with pytest.raises(gr.Error, match="the most one client may"):
        next(second)
    run.close()
    store.delete(running.id)
    assert mine[0].wait_until(lambda j: j.status.finished, timeout=30)


def test_a_benchmark_counts_against_its_client_s_share(
    store: JobStore, clip: Path, tmp_path: Path
) -> None:
    running = store.submit(upload(clip, tmp_path), SLOW, client="address:x")
    waiting = store.submit(upload(clip, tmp_path), SLOW, client="address:x")
    with pytest.raises(QueueFull) as refused, store.exclusive(
        "benchmark", Requester("api", "address:x")
    ):
        pass
    assert refused.value.client_over_share
    store.delete(waiting.id)
    store.delete(running.id)


#: A page's run left mid-way, its generator never closed: collected only as the interpreter
#: exits, when no thread can start any more.
ABANDONED_RUN = """
import sys
from pathlib import Path
import synthetic  # registers the test_shapes detector
from ui.settings import Settings
from ui.tabs.detection import DetectionHandlers
from pipeline.jobs import JobStore

clip, folder = sys.argv[1], Path(sys.argv[2])
store = JobStore(folder, devices=1, sweep_interval_s=None)
handlers = DetectionHandlers(Settings(output_dir=folder), jobs=store)
run = handlers.detect(clip, "test_shapes", None, "", 0.3)
while not str(next(run)[1]).startswith("Processing"):
    pass
print("running", flush=True)
"""


def test_a_page_run_left_running_does_not_hold_the_interpreter_at_exit(
    clip: Path, tmp_path: Path
) -> None:
    """Its generator's clean-up stops the job and does not drain it while the interpreter exits."""
    import os
    import subprocess
    import sys

    tests = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": f"{tests.parent}:{tests}"}
    done = subprocess.run(
        [sys.executable, "-c", ABANDONED_RUN, str(clip), str(tmp_path / "jobs")],
        capture_output=True, text=True, timeout=60, env=env, cwd=tests.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "running" in done.stdout
