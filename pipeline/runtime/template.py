"""The run template: what every kind of run does, written once.

A kind of run (:mod:`pipeline.runs`) subclasses :class:`Run` and writes only the
steps that differ, as ultralytics' ``BasePredictor`` subclasses override only
their own ``postprocess``:

- ``__init__``: its in-order state; :meth:`Run.load_models` loads its models
  on the run's devices and checks its queries, so a bad model, weights or query
  fails before any thread or file exists, and :meth:`Run.describe_models` says
  what the rest of the run needs to know of them (:class:`ModelFacts`; a run
  split into calls gets them from its first call instead, and never loads a model);
- :meth:`Run.preview`: the first frame, annotated (the quick look);
- :meth:`Run.process_batch` and :meth:`Run.batch_size` (what a device does to
  a batch of frames) or, for a run that is not a device pool, :meth:`Run.producer`;
- :meth:`Run.open_files`: its files besides the video;
- :meth:`Run.process`: what the in-order stage does to each frame (tracking,
  colouring, annotation, writing its own files);
- :meth:`Run.summary`: what the summary adds.

:meth:`Run.events` does the rest for every kind: the first-frame preview, a
prefetching decoder, the producer, the in-order stage in its own thread with
the H.264 encoder, the bounded frames in flight, the throttled progress and
previews, timing, stopping, joining, error conversion, the summary, the one
:class:`~pipeline.runtime.events.Done` event, and removing the files a run that
did not finish made (never a file that was there before it).
"""

from __future__ import annotations

import abc
import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np
import supervision as sv

from models.errors import ModelError
from models.timing import timed
from pipeline.errors import PipelineError, RunFailed
from pipeline.io.output_files import OutputFiles
from pipeline.io.video import Frame, FrameReader, H264Writer, VideoInfo, probe
from pipeline.io.video_limits import VideoLimits
from pipeline.runtime.chunks import Chunk, ChunkedProducer, ChunkEnd, ChunkPlan
from pipeline.runtime.events import Done, Event, FirstFrame
from pipeline.runtime.model_facts import ModelFacts
from pipeline.runtime.pool import DevicePool, Worker
from pipeline.runtime.producers import Producer
from pipeline.runtime.report import LatestValue, report_progress
from pipeline.runtime.summary import RunSummary, build_summary

R = TypeVar("R")

#: A file's run that ends more frames than this, and more than this share of its
#: stated frames, short of them says the file may be cut short.
CUT_SHORT_FRAMES = 2
CUT_SHORT_SHARE = 0.05


class RunSettings(Protocol):
    """What the template reads from a run's config (:class:`pipeline.configs.RunConfig`)."""

    @property
    def max_frames(self) -> int | None: ...

    @property
    def queue_size(self) -> int: ...

    @property
    def max_in_flight(self) -> int | None: ...

    @property
    def preview_max_width(self) -> int: ...


ConfigT = TypeVar("ConfigT", bound=RunSettings)


def check_video(path: str | Path, limits: VideoLimits | None) -> VideoInfo:
    """Probe a video and apply a run's limits, before any frame is decoded.

    Args:
        path: The video file.
        limits: Its limits (None: none).

    Returns:
        The video's :class:`VideoInfo`.

    Raises:
        VideoError: Unreadable, or over a limit (:class:`VideoTooLong`: too long).
    """
    return probe(path, limits)


@contextlib.contextmanager
def pipeline_errors(what: str) -> Iterator[None]:
    """Let the errors a user can act on through; wrap anything else in a :class:`RunFailed`.

    Args:
        what: Names the run in the message, e.g. ``"The depth run"``.
    """
    try:
        yield
    except (PipelineError, ModelError):  # RunStopped is a PipelineError
        raise
    except Exception as exc:
        raise RunFailed(f"{what} failed: {exc}") from exc


@dataclass(frozen=True)
class Output:
    """One file a kind of run writes.

    Attributes:
        filename: Its name in a run's own folder (the UI's and the jobs').
        description: What it holds, for ``--help`` and the API.
        flag: Its command-line option.
        required: Whether every run writes it (else only when asked for).
        needs: The config field that must be on for the run to write it
            (e.g. ``"depth"`` for a detection run's depth video).
        in_folder: Whether a run in its own folder (the UI's, a job's) writes
            it whenever its config allows; otherwise an optional file is
            written only when asked for by name (the command line's option).
        aliases: The other results it is (:func:`pipeline.runs.output_for`): a
            depth run's video is its ``"depth_video"``, a segmentation run's
            masks are its ``"tracks"``.
        suffixes: The extensions its writer has a format for (lower case, with
            the dot); a path ending otherwise is refused before the run. Empty:
            any name (a text file).
    """

    filename: str
    description: str
    flag: str
    required: bool = True
    needs: str | None = None
    in_folder: bool = False
    aliases: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()

    def possible(self, config: object) -> bool:
        """Whether a run with ``config`` can write this file."""
        return self.needs is None or bool(getattr(config, self.needs))


class OutputFile(Protocol):
    """A file a run writes as it goes: finished by :meth:`close`, abandoned by :meth:`abort`."""

    def close(self) -> None: ...

    def abort(self) -> None: ...


class Run(abc.ABC, Generic[ConfigT, R]):
    """One kind of run, as the steps that differ from the others (see the module's docstring).

    Args:
        config: The run's settings.
        info: The input video (already checked).
        devices: The devices the run uses (resolved and prepared).
        load_models: Load the models here (:meth:`load_models`). Off for the
            part of a run split into calls that stays in the app's process:
            its calls load them, and the first call's :class:`ModelFacts`
            arrive through :meth:`adopt`.

    Attributes:
        config_type: The config class of this kind of run.
        task: The task's name (``"detection"``, ``"depth"``, ``"segmentation"``).
        outputs: The files it writes, by name.
        preview_before_run: Whether the first frame is previewed before the run
            starts (cheap models), or shown when the run itself reaches it.
        results_noun: What random weights make meaningless, for the warning.
    """

    config_type: ClassVar[type]
    task: ClassVar[str]
    outputs: ClassVar[Mapping[str, Output]]
    preview_before_run: ClassVar[bool] = True
    results_noun: ClassVar[str] = "results"

    def __init__(
        self, config: ConfigT, info: VideoInfo, devices: list[str], *, load_models: bool = True
    ) -> None:
        self.config = config
        self.info = info
        self.devices = devices
        #: The names of the files the run writes (known once the run starts).
        self.writing: frozenset[str] = frozenset()
        #: What the run knows of its models; None until they are loaded or adopted.
        self.facts: ModelFacts | None = None
        self._load_models = load_models

    def _models_ready(self) -> None:
        """Load the models (unless told not to) and describe them: the end of a subclass `__init__`.

        Raises:
            models.ModelError: Unknown model, bad query or missing weights.
        """
        if self._load_models:
            self.load_models()
            self.facts = self.describe_models()

    def load_models(self) -> None:
        """Load the models on :attr:`devices` and check the queries against them."""

    @abc.abstractmethod
    def describe_models(self) -> ModelFacts:
        """The loaded models, described (:class:`ModelFacts`)."""

    def adopt(self, facts: ModelFacts) -> None:
        """Take the facts of models loaded elsewhere (the calls of a run split into calls)."""
        self.facts = facts

    @property
    def model_facts(self) -> ModelFacts:
        """The facts of the run's models, loaded or adopted.

        Raises:
            RunFailed: Neither happened (a call ended before saying what it loaded).
        """
        if self.facts is None:
            raise RunFailed(f"The {self.task} run has no models: none were loaded or reported.")
        return self.facts

    @classmethod
    def check_config(cls, config: ConfigT, info: VideoInfo) -> None:
        """Check what in ``config`` depends on the video (frame size...); before any model loads.

        Raises:
            PipelineError: A setting that does not fit this video.
        """

    # ----------------------------------------------------------------- the steps

    @abc.abstractmethod
    def preview(self, frame: Frame) -> FirstFrame:
        """The first frame as the run would show it, done on its own."""

    def process_batch(
        self, device: str, images: list[np.ndarray], timing: dict[str, float]
    ) -> list[R]:
        """What ``device`` does to a batch of frames: one result per image.

        Runs in the device's worker thread, with that device's own models.
        """
        raise NotImplementedError(f"{type(self).__name__} does not work in batches")

    def process_frames(
        self, device: str, frames: list[Frame], timing: dict[str, float]
    ) -> list[R]:
        """What ``device`` does to a batch of frames: :meth:`process_batch` on their images.

        Runs that need the frames' indices (a detection stride) override this one.
        """
        return self.process_batch(device, [frame.image for frame in frames], timing)

    def batch_size(self, device: str) -> int:
        """Frames per :meth:`process_batch` call on ``device`` (the config's, else the model's)."""
        raise NotImplementedError(f"{type(self).__name__} does not work in batches")

    def fed_live(self, fps: float) -> None:
        """The frames come one at a time from a live source (a webcam) sending ``fps`` a second."""

    def producer(self, reader: FrameReader, stop: threading.Event) -> Producer[R]:
        """The frames with their results in order.

        By default a device pool: one worker per device, running :meth:`process_batch`.
        """

        def worker(device: str) -> Worker[R]:
            def process(frames: list[Frame], timing: dict[str, float]) -> list[R]:
                return self.process_frames(device, frames, timing)

            return Worker(device, process, self.batch_size(device))

        return DevicePool([worker(device) for device in self.devices], reader, stop)

    # ------------------------------------------------ runs split into calls (chunks.py)

    #: Frames a call decodes past the frames it gives results for (segmentation:
    #: the window's shared last frame, whose masks go to the next call).
    chunk_overlap: ClassVar[int] = 0

    def chunk_frames(self, frames: int) -> int:
        """Frames per call for a plan of ``frames``: the same, or rounded to the kind's unit."""
        return frames

    def chunk_producer(
        self, reader: FrameReader, stop: threading.Event, chunk: Chunk
    ) -> Producer[R]:
        """A call's model step over its frames, from the previous call's ``chunk.state``."""
        return self.producer(reader, stop)

    def chunk_state(self) -> Any:
        """What a call's model step carries to the next call (picklable; None: nothing)."""
        return None

    def carry_over(self, state: Any) -> None:
        """Take in a call's :meth:`chunk_state`, where the run lives (for its summary)."""

    def chunk_results(self, chunk: Chunk, stop: threading.Event) -> Iterator[Any]:
        """One call of a run split into calls: results for the chunk's frames, then its state.

        Args:
            chunk: Which frames, and the previous call's state.
            stop: Ends the call early (closing the generator sets it too).

        Yields:
            The run's :class:`ModelFacts` (its models are loaded here, in the
            call), ``(frame index, result)`` for each of the chunk's frames, in
            order, then one :class:`~pipeline.runtime.chunks.ChunkEnd`.
        """
        yield self.model_facts
        self.writing = frozenset(chunk.writing)
        limit = chunk.frames + self.chunk_overlap
        if self.config.max_frames is not None:
            limit = min(limit, self.config.max_frames - chunk.start)
        reader = FrameReader(
            self.info, queue_size=self.config.queue_size, stop=stop, max_frames=limit,
            start=chunk.start, start_time=chunk.start_time,
        )  # fmt: skip
        producer: Producer[R] | None = None
        try:
            producer = self.chunk_producer(reader, stop, chunk)
            for frame, result in producer:
                yield frame.index, result
            yield ChunkEnd(self.chunk_state())
        finally:
            stop.set()
            reader.close()
            if producer is not None:
                producer.join()

    def frame_size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames :meth:`process` returns."""
        return self.info.width, self.info.height

    def open_files(self, outputs: Mapping[str, Path]) -> dict[str, OutputFile]:
        """Open the run's files besides the video; :meth:`process` writes them."""
        return {}

    @abc.abstractmethod
    def process(
        self, frame: Frame, result: R, timing: dict[str, float]
    ) -> tuple[np.ndarray, sv.Detections]:
        """The in-order stage: one frame and its result to the image to encode.

        Called once per frame, in frame order, in one thread, so it may keep
        state (a tracker, a display range). Add stage seconds into ``timing``.

        Returns:
            The BGR image to encode and preview, and the objects on it.
        """

    def model_info(self) -> dict[str, Any]:
        """What the output files and the summary record about the models."""
        return self.model_facts.info

    def summary(self) -> dict[str, Any]:
        """What this kind of run adds to the common summary, by :class:`RunSummary` field."""
        return {}

    @property
    def random_weights(self) -> bool:
        """Whether a model has random weights (architecture only: results are meaningless)."""
        return self.model_facts.random_weights

    def close(self) -> None:
        """Release what the run holds besides its threads and files (called once at the end)."""

    # ----------------------------------------------------------------- the template

    def events(
        self,
        outputs: Mapping[str, Path],
        *,
        stop: threading.Event,
        preview_interval_s: float,
        with_first_frame: bool,
        chunks: ChunkPlan | None = None,
    ) -> Iterator[Event]:
        """Run over the whole video, yielding events; the same for every kind of run.

        Setting ``stop`` ends the run after the frame being finished in order
        (the frames still in flight are dropped, whatever a frame costs) and
        keeps a partial result: the video, the files and the summary (its
        ``partial`` true) hold exactly the frames processed; stopped before
        its first frame, it ends with no outputs. Closing the generator early
        stops the run the same way, keeping the files (there is no one left to
        take the summary). A run that fails removes the files and folders it
        made; a file that was there before is replaced only by a result that
        is kept (:class:`~pipeline.io.output_files.OutputFiles`).

        Args:
            outputs: Where each of the run's files goes, by name.
            stop: Set it to stop the run.
            preview_interval_s: Least time between two yielded previews.
            with_first_frame: Yield a :class:`FirstFrame` first.
            chunks: Split the model work into calls (:mod:`pipeline.runtime.chunks`);
                the first frame is then shown when the run reaches it, since
                the models work only inside calls.

        Yields:
            ``FirstFrame``, then ``Progress`` and ``Preview`` events, then ``Done``.

        Raises:
            PipelineError: Anything that failed, with the original message.
        """
        first_started = time.perf_counter()
        preview_first = self.preview_before_run and chunks is None
        if with_first_frame and preview_first:
            yield self.preview(self.info.first_frame())
        first_frame_s = time.perf_counter() - first_started
        threads: _RunThreads[R] | None = None
        files: OutputFiles | None = None
        failed = True
        try:
            with pipeline_errors(f"The {self.task} run"):
                files = OutputFiles(outputs)
                threads = _RunThreads(self, files.paths, stop, chunks)
                total = self._frames_expected() or None
                first_pending = with_first_frame and not preview_first
                for event in threads.report(total, preview_interval_s):
                    if first_pending and threads.first is not None:
                        first_pending = False
                        yield threads.first
                    yield event
                if first_pending and threads.first is not None:
                    yield threads.first
                summary = self._summary(threads, first_frame_s)
                # Stopped before its first frame: there is nothing to keep.
                failed = threads.stopped and threads.frames_done == 0
                if not failed:
                    # The files are finished: in place before anyone reads them.
                    files.keep()
                yield Done({} if failed else dict(outputs), summary)
        except (GeneratorExit, KeyboardInterrupt):
            failed = False  # closed or interrupted: a stop, which keeps what was done
            raise
        finally:
            stop.set()
            if self.info.live is not None:
                self.info.live.close()
            kept = threads is not None and threads.close(keep=not failed)
            self.close()
            if files is not None and kept:
                files.keep()
            elif files is not None:
                files.discard()

    def _frames_expected(self) -> int:
        """The frames the run will process: the stated length or max_frames (0: unknown)."""
        return min(self.info.frames, self.config.max_frames or self.info.frames)

    def _cut_short(self, threads: _RunThreads[R]) -> str | None:
        """Why a file's run that was not stopped ended well before its stated frames, if it did.

        A file cut after its header (a broken upload or copy) decodes to its last
        whole frame and ends without an error; its header still states the length
        it had. A stated length may be an estimate (duration × frame rate), hence
        the margin.
        """
        if self.info.live is not None or threads.stopped or not self.info.frames:
            return None
        expected = self._frames_expected()
        if expected - threads.frames_done <= max(CUT_SHORT_FRAMES, expected * CUT_SHORT_SHARE):
            return None
        return (
            f"The video ended after {threads.frames_done} of the {expected} frames its file "
            "states: the file may be cut short, and the results cover only those frames."
        )

    def _summary(self, threads: _RunThreads[R], first_frame_s: float) -> RunSummary:
        elapsed = time.perf_counter() - threads.started
        timing = {
            "decode": threads.reader.decode_seconds,
            **threads.producer.timing,
            **threads.timing,
            "encode": threads.video.encode_seconds if threads.video is not None else 0.0,
        }
        # A run split into calls and stopped before its first call answered knows no model.
        facts = self.facts or ModelFacts(info={}, devices=self.devices)
        ending: dict[str, Any] = {}
        if self.info.live is not None:
            ending["source"] = {
                "live": self.info.live.spec.label,
                "frames_dropped": threads.reader.frames_dropped,
                "reconnects": self.info.live.reconnects,
                "ended": self.info.live.ended,
            }
        else:
            ending["partial"] = threads.partial
        ending["calls"] = getattr(threads.producer, "calls", None)
        warnings = []
        if facts.random_weights:
            warnings.append(
                f"Random weights: {self.results_noun} are meaningless (architecture only)."
            )
        if (shortfall := self._cut_short(threads)) is not None:
            warnings.append(shortfall)
        if warnings:
            ending["warning"] = " ".join(warnings)
        return build_summary(
            frames=threads.frames_done,
            elapsed_s=elapsed,
            first_frame_s=first_frame_s,
            video={"width": self.info.width, "height": self.info.height, "fps": self.info.fps},
            devices=facts.devices,
            frames_per_device=dict(threads.producer.frames_per_device),
            peak_frames_in_flight=threads.peak_in_flight,
            timing=timing,
            model=facts.info,
            additions=self.summary(),
            **ending,
        )


class _RunThreads(Generic[R]):
    """The threads of one run: decoder, producer, in-order stage with the encoder."""

    def __init__(
        self,
        run: Run[Any, R],
        outputs: Mapping[str, Path],
        stop: threading.Event,
        chunks: ChunkPlan | None = None,
    ):
        config = run.config
        run.writing = frozenset(outputs)
        self.run = run
        self.stop = stop
        self.slots = threading.Semaphore(config.max_in_flight) if config.max_in_flight else None
        self.latest: LatestValue[tuple[int, np.ndarray]] = LatestValue()
        self.frames_done = 0
        self.peak_in_flight = 0
        self.timing: dict[str, float] = {}
        self.first: FirstFrame | None = None
        self.error: BaseException | None = None
        #: Whether the run was stopped (a live source's normal end).
        self.stopped = False
        #: Whether the run was stopped before the end of the video (a file's).
        self.partial = False
        width, height = run.frame_size()
        self.live = run.info.live is not None
        #: The annotated video; None when the run writes only its other files.
        self.video: H264Writer | None = None
        if "video" in outputs:
            self.video = H264Writer(
                outputs["video"], width, height, run.info.fps,
                queue_size=config.queue_size, live=self.live,
            )  # fmt: skip
        #: The run's other files, opened at its first frame: a run split into
        #: calls learns what to record about its models only from its first call.
        self.files: dict[str, OutputFile] = {}
        self._outputs = outputs
        reader: FrameReader | None = None
        try:
            self.started = time.perf_counter()
            reader = FrameReader(
                run.info,
                queue_size=config.queue_size,
                stop=stop,
                max_frames=config.max_frames,
                slots=self.slots,
                frame_limit=None if self.live else config.max_video_frames,
            )
            if chunks is None:
                self.producer = run.producer(reader, stop)
            else:
                self.producer = _chunked(run, reader, stop, chunks)
        except BaseException:
            stop.set()
            if reader is not None:
                reader.close()
            self._abandon_files()
            raise
        self.reader = reader
        self._thread = threading.Thread(
            target=self._in_order, name=f"{run.task}-in-order", daemon=True
        )
        self._thread.start()

    def _in_order(self) -> None:
        opened = False
        try:
            for frame, result in self.producer:
                if not opened:
                    self.files, opened = self.run.open_files(self._outputs), True
                image, detections = self.run.process(frame, result, self.timing)
                if self.video is not None:
                    with timed(self.timing, "write"):
                        self.video.write(image, frame.timestamp)
                if self.first is None:
                    self.first = FirstFrame(image=image, detections=detections)
                self.frames_done = frame.index + 1
                in_flight = self.reader.frames_decoded - frame.index
                self.peak_in_flight = max(self.peak_in_flight, in_flight)
                self.latest.publish((frame.index, image))
                if self.slots is not None:
                    self.slots.release()
            # Stopped or not, what was processed is finished as a playable result
            # (a live source always ends so: by its end, or by a stop).
            # A refused call ends a run split into calls as a stop does, keeping its results.
            self.stopped = self.stop.is_set() or getattr(self.producer, "ended_early", False)
            self.partial = self.stopped and not self.live
            if not opened and not self.stopped:
                # A video that gave no frame still gets its files, empty.
                self.files = self.run.open_files(self._outputs)
            if self.video is not None:
                self.video.close()
            for file in self.files.values():
                file.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised by report()
            self.error = exc
            self.stop.set()
        finally:
            self.latest.close()

    def report(self, total_frames: int | None, preview_interval_s: float) -> Iterator[Any]:
        """Progress and previews until the in-order stage ends; then its error, if any."""
        yield from report_progress(
            self.latest,
            started=self.started,
            frames_done=lambda: self.frames_done,
            total_frames=total_frames,
            preview_interval_s=preview_interval_s,
            preview_max_width=self.run.config.preview_max_width,
        )
        self._thread.join()
        if self.error is not None:
            raise self.error

    def close(self, keep: bool) -> bool:
        """Stop and join every thread; returns whether the files are kept, finished.

        Args:
            keep: Keep the files (the run ended or was stopped), unless the
                in-order stage failed or could not finish them.
        """
        self.stop.set()
        self._thread.join(timeout=30)
        self.producer.join()
        self.reader.close()
        if keep and self.error is None and not self._thread.is_alive():
            return True
        self._abandon_files()
        return False

    def _abandon_files(self) -> None:
        if self.video is not None:
            self.video.abort()
        for file in self.files.values():
            file.abort()


def _chunked(
    run: Run[Any, R], reader: FrameReader, stop: threading.Event, chunks: ChunkPlan
) -> Producer[R]:
    if run.info.live is not None:
        raise PipelineError("A live source cannot be split into calls: it has no length.")
    return ChunkedProducer(
        reader, stop, frames=run.chunk_frames(chunks.frames), call=chunks.call,
        writing=tuple(sorted(run.writing)), carry_over=run.carry_over, adopt=run.adopt,
        queue_size=run.config.queue_size,
    )  # fmt: skip
