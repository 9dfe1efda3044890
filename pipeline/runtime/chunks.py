"""Runs split into calls: the model work of each stretch of frames in one call, the rest kept.

A ZeroGPU call lasts at most a few minutes, so a long video cannot be one call.
A chunked run keeps everything that must go on between calls where the run
itself lives (the decoder of the frames it writes, the tracker, the depth
display range, the counting, the encoder and the files) and asks a *call* for
the model results of each stretch of at most :attr:`ChunkPlan.frames` frames.
The call loads the models (the run's own process never does: on ZeroGPU the
GPU exists only inside calls), says what it loaded
(:class:`~pipeline.runtime.model_facts.ModelFacts`), decodes its own frames
from its first (seeking, not decoding from the start), runs the same kind of
run's model step on them and yields ``(frame index, result)`` for each, then
one :class:`ChunkEnd` with what the model step itself carries to the next call
(segmentation: its keyframe tracker and the masks of the window's last frame;
detection and depth: nothing).

The calls are made one after the other by :class:`ChunkedProducer`, which pairs
each result with the run's own frame of the same index, so the in-order stage
(tracking, annotation, encoding) sees exactly what an uninterrupted run sees:
the same frames, the same results, in the same order. Off ZeroGPU the call is
a plain function (:func:`pipeline.runs.chunk_results`); the UI wraps it in
``spaces.GPU`` (:mod:`ui.gpu`).

Example:
    plan = ChunkPlan(frames=300, call=lambda chunk: iter(()))
    pipeline.start("long.mp4", config, outputs, chunks=plan)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pipeline.errors import RunFailed
from pipeline.io.video import Frame, FrameReader
from pipeline.runtime.model_facts import ModelFacts
from pipeline.runtime.producers import ThreadProducer

R = TypeVar("R")


@dataclass(frozen=True)
class Chunk:
    """One call's share of a run: which frames, and what the previous call left.

    Attributes:
        start: Index of its first frame in the video.
        start_time: That frame's timestamp in seconds (where the call seeks to).
        frames: Frames to give results for, at most (fewer at the video's end).
        state: What the kind of run's model step carries from the previous
            call (None for the first, and always for detection and depth).
        writing: The names of the files the run writes (a detection run
            keeps each frame's depth map only when it writes a depth video).
    """

    start: int
    start_time: float
    frames: int
    state: Any = None
    writing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChunkEnd:
    """The last item of a call: what its model step carries to the next call."""

    state: Any


#: A call: its models' :class:`ModelFacts`, one chunk's ``(index, result)`` pairs in frame
#: order, then one :class:`ChunkEnd`.
ChunkCall = Callable[[Chunk], Iterator[Any]]


@dataclass(frozen=True)
class ChunkPlan:
    """How a run is split into calls.

    Attributes:
        frames: Frames per call, at most (a kind of run may round it: a
            segmentation call covers whole windows).
        call: Makes one call (:data:`ChunkCall`).
    """

    frames: int
    call: ChunkCall

    def __post_init__(self) -> None:
        if self.frames < 1:
            raise ValueError(f"A call needs at least 1 frame, not {self.frames}.")


class CallRefused(Exception):
    """Raised by a plan's call that cannot be made (a GPU quota used up): no more calls.

    The run ends as a stopped one, partial, but keeps every result the calls
    before it gave (a stop drops the results still in flight; these were paid for).
    """


class ChunkedProducer(ThreadProducer[R], Generic[R]):
    """The run's own frames, each with its result from the calls, in order.

    Args:
        reader: The run's decoder (the frames the in-order stage annotates).
        stop: The run's stop flag; a call under way is closed when it is set.
        frames: Frames per call.
        call: Makes one call.
        writing: The names of the files the run writes (:attr:`Chunk.writing`).
        carry_over: Called with each call's :class:`ChunkEnd` state, so the run
            can report what its model step did (segmentation's objects).
        adopt: Called with each call's :class:`ModelFacts` before its results,
            so the run records the models the calls loaded.
        queue_size: Results waiting for the in-order stage, at most.

    Attributes:
        calls: Calls made so far.
        ended_early: A call was refused (:class:`CallRefused`): the results end
            before the video does.
    """

    def __init__(
        self,
        reader: FrameReader,
        stop: threading.Event,
        *,
        frames: int,
        call: ChunkCall,
        writing: tuple[str, ...],
        carry_over: Callable[[Any], None],
        adopt: Callable[[ModelFacts], None],
        queue_size: int,
    ) -> None:
        self.calls = 0
        self.ended_early = False
        self._reader = reader
        self._frames = frames
        self._call = call
        self._writing = writing
        self._carry_over = carry_over
        self._adopt = adopt
        # Named once the first call says where its models run.
        super().__init__(self._produce_all, stop, device="", queue_size=queue_size,
                         name="calls")  # fmt: skip

    def _take_facts(self, facts: ModelFacts) -> None:
        self._device = facts.devices[0]
        self._adopt(facts)

    def _produce_all(
        self, emit: Callable[[Frame, R], None], timing: dict[str, float]
    ) -> None:
        try:
            self._produce_calls(emit)
        except CallRefused:
            self.ended_early = True  # the results given so far stand; no more come

    def _produce_calls(self, emit: Callable[[Frame, R], None]) -> None:
        state: Any = None
        frame = self._reader.get()
        while frame is not None and not self.stop.is_set():
            chunk = Chunk(frame.index, frame.timestamp, self._frames, state, self._writing)
            self.calls += 1
            given = 0
            ended = False
            with contextlib.closing(self._call(chunk)) as results:
                for item in results:
                    if isinstance(item, ModelFacts):
                        self._take_facts(item)
                        continue
                    if isinstance(item, ChunkEnd):
                        state, ended = item.state, True
                        self._carry_over(state)
                        continue
                    index, result = item
                    if frame is None or index != frame.index:
                        expected = "the end" if frame is None else f"frame {frame.index}"
                        raise RunFailed(
                            f"Call {self.calls} gave a result for frame {index} at {expected}."
                        )
                    emit(frame, result)
                    given += 1
                    frame = self._reader.get()
            if self.stop.is_set():
                return
            if not ended or given == 0:
                raise RunFailed(
                    f"Call {self.calls} (from frame {chunk.start}) ended after {given} "
                    "frames without finishing."
                )
