"""Video in and out with PyAV: a prefetching decoder and an H.264 encoder.

Both run in their own thread behind a bounded queue, so the model never
waits on I/O and a slow consumer slows the producer instead of piling frames
up in memory.

Phone videos store their frames sideways and a display matrix that tells
players how to turn them. Decoding here applies that rotation, as the ffmpeg
command line and players do, so every consumer sees upright frames and
:func:`probe` reports the displayed size; the encoder writes upright frames
with no display matrix.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np

from pipeline.errors import PipelineError, VideoError, VideoOverLimit
from pipeline.io.frames import Frame, upright
from pipeline.io.video_limits import VideoLimits

if TYPE_CHECKING:
    from pipeline.io.sources import LiveSource

log = logging.getLogger(__name__)

# How long blocking queue operations wait before re-checking the stop flag.
POLL_S = 0.05
#: A real-time frame this many seconds older than the wall clock says it should be
#: came while the run was starting: skipped.
STALE_S = 0.2


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video.

    Attributes:
        path: The file.
        width: Displayed frame width in pixels (after the rotation).
        height: Displayed frame height in pixels (after the rotation).
        fps: Average frame rate.
        frames: Frame count from the container, or an estimate from the
            duration (0 when neither is known).
        duration_s: Duration in seconds (0.0 when unknown).
        rotation: Degrees counterclockwise, one of 0, 90, 180 and 270, that
            decoding turns the stored frames by to show them upright.
        live: The open live source (a camera, a stream, standard input) the
            frames come from; None for a file.
    """

    path: Path
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    rotation: int = 0
    live: LiveSource | None = field(default=None, compare=False, repr=False)

    def first_frame(self) -> Frame:
        """Frame 0, upright: the live source's first frame, or the file's, decoded."""
        return self.live.first_frame if self.live is not None else read_first_frame(self.path)

    def frames_from(
        self, max_frames: int | None, start: int = 0, start_time: float | None = None
    ) -> Iterator[Frame]:
        """The frames to process in order: a file's from ``start``, a live source's as they come."""
        if self.live is None:
            return iter_frames(self.path, max_frames, start=start, start_time=start_time)
        return _live_frames(self.live)


def _live_frames(live: LiveSource) -> Iterator[Frame]:
    """The live source's first frame (decoded when it was opened), then the others."""
    yield live.first_frame
    yield from live.frames()


#: Demuxers that read other files or addresses than the one opened (a playlist, a list of
#: files, a session description): an upload in one of them would have the server read its
#: own files, or the network, as the video.
REFERENCING_FORMATS = frozenset(
    {"hls", "dash", "concat", "imf", "sdp", "rtp", "rtsp", "sap", "webm_dash_manifest"}
)
#: The reason given for a file whose data the library cannot make sense of.
DAMAGED = "its data is damaged or cut short"
#: The smallest frame the H.264 encoder takes.
MIN_SIDE = 2


#: How the text formats among :data:`REFERENCING_FORMATS` begin (after any blank space): such
#: a file is refused before FFmpeg opens it, which would already open its first entry.
LIST_STARTS = (b"#EXTM3U", b"ffconcat version", b"v=0", b"<?xml", b"<MPD")
#: Demuxer options for every file: a ``%d`` in a name is a character, not a pattern for a
#: sequence of image files beside it.
FILE_OPTIONS = {"pattern_type": "none"}


@contextlib.contextmanager
def _open_file(path: Path, **options: object) -> Iterator[av.container.InputContainer]:
    """``av.open`` of a video file that is one: never a list of other files or addresses.

    Raises:
        VideoError: ``path`` is a playlist, a list of files or a session description.
    """
    listing = VideoError(f"{path.name} is a playlist or a list of other files, not a video file.")
    with path.open("rb") as file:
        start = file.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(LIST_STARTS):
        raise listing
    opened = av.open(str(path), options=FILE_OPTIONS, **options)  # type: ignore[call-overload]
    with opened as container:
        # A list in a form its start does not show is still refused (its first entry read).
        if set(container.format.name.split(",")) & REFERENCING_FORMATS:
            raise listing
        yield container


def _codec_context(path: Path, stream: av.video.stream.VideoStream) -> av.CodecContext:
    """The stream's codec context, which a damaged header leaves without.

    Raises:
        VideoError: The stream has none.
    """
    if stream.codec_context is None:
        raise VideoError(f"{path.name} is not a readable video ({DAMAGED}).")
    return stream.codec_context


def _reason(exc: BaseException) -> str:
    """The library's reason without the file's full path (server paths stay private)."""
    # PyAV raises a bare ValueError for a damaged index (an MP4 cut inside its moov).
    return getattr(exc, "strerror", None) or DAMAGED


def _quarter_turns(degrees: float) -> int:
    """Counterclockwise quarter turns (0 to 3) for a display-matrix rotation.

    ``VideoFrame.rotation`` is libavutil's ``av_display_rotation_get``: the
    angle the display matrix turns the stored frame by, counterclockwise. The
    ffmpeg command line's autorotation turns frames by exactly that angle
    (tests/test_rotation.py compares with its decode). Players and the ffmpeg
    command line turn by any other angle too, but that would change the frame
    size and leave blank corners, so such an angle (rare, a tilted camera) is
    rounded to the nearest multiple of 90; an exact half (45, 135) goes to the
    even number of quarter turns, as Python's round() does.
    """
    return round(degrees / 90) % 4


def _first_frame(container: av.container.InputContainer) -> av.VideoFrame | None:
    """The first decoded frame, for its rotation and its true size (None: it fails to decode).

    PyAV 18 can set a stream's display matrix but not read it, and the
    demuxer no longer exports it as a ``rotate`` tag, so the first decoded
    frame's side data is the only place to read the rotation. The frame
    iterator takes the rotation from the same place, so the size reported
    here is the size of every frame. A first frame that fails to decode
    counts as unrotated: reading the frames reports that failure. Its size is
    what the frame iterator holds the later frames to, so it is held to the
    limits too: a header can state a size its frames do not have.
    """
    try:
        return next(container.decode(container.streams.video[0]), None)
    except av.FFmpegError:
        return None


def probe(path: str | Path, limits: VideoLimits | None = None) -> VideoInfo:
    """Read a video's displayed size, rate, length and frame count.

    Only the first frame is decoded, for its rotation, and only once the
    container's headers are within ``limits``; a video shown rotated by 90 or
    270 degrees reports its width and height swapped from the stored ones.
    A container that states neither a duration nor a frame count (a raw
    H.264 stream) has its packets counted, without decoding, up to one past
    the frame limit; its duration is then that count at its frame rate.

    Args:
        path: Video file.
        limits: Refuse a video over these (None: no limit).

    Returns:
        The video's :class:`VideoInfo`.

    Raises:
        VideoError: The file is missing, not a video, or has no video stream.
        VideoOverLimit: Over one of ``limits`` (:class:`VideoTooLong` for its length),
            or under :data:`MIN_SIDE` pixels a side.
    """
    path = Path(path)
    limits = limits or VideoLimits()
    if path.is_dir():
        raise VideoError(f"{path.name or path} is a folder, not a video file.")
    if not path.is_file():
        raise VideoError(f"Video file not found: {path.name}")
    if path.stat().st_size == 0:
        raise VideoError(f"{path.name} is empty (0 bytes).")
    try:
        if limits.max_pixels is not None:
            _check_size_undecoded(path, limits)
        with _open_file(path) as container:
            if not container.streams.video:
                raise VideoError(f"{path.name} has no video stream.")
            stream = container.streams.video[0]
            context = _codec_context(path, stream)
            width, height = context.width, context.height
            limits.check_size(path.name, width, height)
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            fps = float(rate)
            limits.check_rate(path.name, fps)
            duration_s = 0.0
            if stream.duration is not None and stream.time_base is not None:
                duration_s = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration_s = container.duration / av.time_base
                if "matroska" in container.format.name and container.start_time:
                    # Matroska's duration runs from 0, not from its first frame: a clip
                    # cut from a long recording, its times kept, is not that long.
                    duration_s -= max(0, container.start_time) / av.time_base
            frames = stream.frames or round(duration_s * fps)
            if not frames and limits.max_frames is not None:
                frames = _count_packets(path, limits.max_frames + 1)
                duration_s = frames / fps if fps > 0 else 0.0
            limits.check_length(duration_s, frames)
            first = _first_frame(container)
            if first is not None:
                limits.check_size(path.name, first.width, first.height)
            turns = _quarter_turns(first.rotation if first is not None else 0)
    except VideoError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{path.name} is not a readable video ({_reason(exc)}).") from None
    if width <= 0 or height <= 0:
        raise VideoError(f"{path.name} has a video stream with no picture size.")
    if min(width, height) < MIN_SIDE:
        # A limit, like too many pixels (422 over REST): the file itself is a readable video.
        raise VideoOverLimit(
            f"{path.name} is {width}x{height} pixels: too small to encode "
            f"(under {MIN_SIDE}x{MIN_SIDE} pixels)."
        )
    if turns % 2:
        width, height = height, width
    return VideoInfo(path, width, height, fps, int(frames), duration_s, rotation=90 * turns)


#: Streams opened with no frame decoded: FFmpeg's stream probing otherwise decodes
#: the first frame (157 MiB and 0.6 s for one 8192x8192 frame; 4 MiB and 0.01 s so).
UNDECODED = {"skip_frame": "all"}
#: Streams a container may have that :data:`UNDECODED` is given to.
MOST_STREAMS = 16


def _check_size_undecoded(path: Path, limits: VideoLimits) -> None:
    """Refuse frames over the pixel limit from the stream's header, decoding nothing."""
    with _open_file(path, stream_options=[UNDECODED] * MOST_STREAMS) as container:
        if container.streams.video:
            context = _codec_context(path, container.streams.video[0])
            limits.check_size(path.name, context.width, context.height)


def _count_packets(path: Path, most: int) -> int:
    """The video stream's packets (one per frame), demuxed without decoding, up to ``most``."""
    count = 0
    with _open_file(path) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.size:  # the demuxer ends with an empty packet
                count += 1
                if count >= most:
                    break
    return count


def iter_frames(
    path: str | Path,
    max_frames: int | None = None,
    *,
    start: int = 0,
    start_time: float | None = None,
) -> Iterator[Frame]:
    """Decode frames in order in the calling thread, upright.

    A display-matrix rotation is applied to every frame (as players do), so
    frames have the size :func:`probe` reports.

    Args:
        path: Video file.
        max_frames: Stop after this many frames.
        start: Index of the first frame to yield (frames keep their indices
            in the whole video).
        start_time: That frame's timestamp, when known: decoding then seeks to
            the keyframe before it instead of decoding every frame before it
            (what a run split into several calls needs on a long video).

    Yields:
        Frames with BGR uint8 images.

    Raises:
        VideoError: The file cannot be decoded.
    """
    path = Path(path)
    try:
        with _open_file(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = float(stream.average_rate or 25)
            frames = _decoded_from(container, stream, rate, start, start_time)
            turns: int | None = None
            most_pixels = 0
            for count, (index, frame) in enumerate(frames):
                if max_frames is not None and count >= max_frames:
                    return
                if turns is None:
                    # The first frame's rotation holds for the whole video, as
                    # in probe(): the encoder and trackers need one frame size.
                    turns = _quarter_turns(frame.rotation)
                    most_pixels = frame.width * frame.height
                elif frame.width * frame.height > most_pixels:
                    # Only the header's size is checked against the limits: a stream
                    # that grows its frames would cost memory and time past them.
                    raise VideoError(
                        f"{path.name}'s frames grow to {frame.width}x{frame.height} pixels at "
                        f"frame {index}: a video is read at its first frame's size at most."
                    )
                timestamp = float(frame.time) if frame.time is not None else index / rate
                yield Frame(index, timestamp, upright(frame.to_ndarray(format="bgr24"), turns))
    except (av.FFmpegError, OSError, IndexError) as exc:
        raise VideoError(f"Could not decode {path.name}: {_reason(exc)}.") from None


def _decoded_from(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    rate: float,
    start: int,
    start_time: float | None,
) -> Iterator[tuple[int, av.VideoFrame]]:
    """``(index, frame)`` from frame ``start`` on, seeking when its time is known."""
    if start > 0 and start_time is not None and stream.time_base is not None:
        container.seek(int(start_time / stream.time_base), stream=stream, backward=True)
        # Frames between the keyframe and the start are decoded, not converted.
        half_frame = 0.5 / rate
        index = start
        for frame in container.decode(stream):
            if frame.time is not None and frame.time < start_time - half_frame:
                continue
            yield index, frame
            index += 1
        return
    for index, frame in enumerate(container.decode(stream)):
        if index >= start:
            yield index, frame


def read_first_frame(path: str | Path) -> Frame:
    """Decode only the first frame of a video.

    Raises:
        VideoError: The video has no decodable frame.
    """
    for frame in iter_frames(path, max_frames=1):
        return frame
    raise VideoError(f"{Path(path).name} contains no decodable frame.")


class _BackgroundThread:
    """A thread that works behind a bounded queue, its error kept for the caller.

    What the decoder (:class:`FrameReader`) and the encoder (:class:`H264Writer`)
    share: :meth:`_start_thread` makes the queue and starts :meth:`_run`;
    ``_END`` ends the queue's items.
    """

    _END = object()
    _queue: queue.Queue[object]
    _error: BaseException | None
    _thread: threading.Thread

    def _start_thread(self, name: str, queue_size: int) -> None:
        """Make the queue (at least one item), then start the thread (it may use it at once)."""
        self._queue = queue.Queue(maxsize=max(1, queue_size))
        self._error = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError


class FrameReader(_BackgroundThread):
    """Decodes a video in a background thread into a bounded queue.

    Iterating the reader yields :class:`Frame` objects in order. A decoding
    error is re-raised in the consumer. Setting ``stop`` (or calling
    :meth:`close`) ends the thread promptly.

    A file's frames all go through: when the consumer is slower, decoding
    waits, and so does standard input's writer. A camera's or a stream's
    frames cannot wait (the world goes on): the frames that came while the run
    was starting are skipped, and when the run is behind, a new frame is
    dropped rather than queued. Dropped frames are counted in
    :attr:`frames_dropped`; the frames kept are numbered 0, 1, 2... and keep
    their own timestamps.

    Args:
        source: A video file, or a probed video (:class:`VideoInfo`), which may
            be a live source.
        queue_size: Frames decoded ahead of the consumer.
        stop: Shared stop flag for the run.
        max_frames: Decode at most this many frames.
        slots: Optional semaphore acquired per frame before it is queued; the
            consumer releases it when the frame leaves the pipeline. It bounds
            frames in flight across every stage.
        start: A file's first frame to decode (see :func:`iter_frames`).
        start_time: That frame's timestamp, to seek to it.
        frame_limit: A file with a frame past this index fails with
            :class:`~pipeline.errors.VideoTooLong` (whatever its headers said).
    """

    def __init__(
        self,
        source: str | Path | VideoInfo,
        *,
        queue_size: int = 16,
        stop: threading.Event | None = None,
        max_frames: int | None = None,
        slots: threading.Semaphore | None = None,
        start: int = 0,
        start_time: float | None = None,
        frame_limit: int | None = None,
    ) -> None:
        self.start, self.start_time = start, start_time
        self.frame_limit = frame_limit
        self.info = source if isinstance(source, VideoInfo) else None
        self.path = self.info.path if self.info is not None else Path(source)  # type: ignore[arg-type]
        live = self.info.live if self.info is not None else None
        self.live = live is not None
        #: Whether frames are dropped rather than waited for (a camera or a stream).
        self.realtime = live is not None and live.spec.realtime
        #: Skipping the frames that came while the run started (until one is fresh).
        self._catching_up = self.realtime
        self.stop = stop or threading.Event()
        self.max_frames = max_frames
        self.slots = slots
        self.decode_seconds = 0.0
        self.frames_decoded = 0
        #: Frames of a live source dropped because the run was behind.
        self.frames_dropped = 0
        self._start_thread("decoder", queue_size)

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _acquire_slot(self) -> bool:
        if self.slots is None:
            return True
        while not self.stop.is_set():
            if self.slots.acquire(timeout=POLL_S):
                return True
        return False

    def _stale(self, frame: Frame) -> bool:
        """Whether a real-time frame came while the run was starting (a backlog to skip)."""
        if not self._catching_up or self.frames_decoded == 0:
            return False
        assert self.info is not None and self.info.live is not None
        behind = time.monotonic() - self.info.live.opened_at - frame.timestamp
        self._catching_up = behind > STALE_S
        return self._catching_up

    def _put_or_drop(self, frame: Frame) -> None:
        """Queue a real-time frame if the run has room for it now; else drop it."""
        if self._stale(frame):
            self.frames_dropped += 1
            return
        if self.slots is not None and not self.slots.acquire(blocking=False):
            self.frames_dropped += 1
            return
        try:
            self._queue.put_nowait(Frame(self.frames_decoded, frame.timestamp, frame.image))
        except queue.Full:
            if self.slots is not None:
                self.slots.release()
            self.frames_dropped += 1
            return
        self.frames_decoded += 1

    def _run(self) -> None:
        frames = (
            self.info.frames_from(self.max_frames, self.start, self.start_time)
            if self.info is not None
            else iter_frames(
                self.path, self.max_frames, start=self.start, start_time=self.start_time
            )
        )
        try:
            while not self.stop.is_set():
                if self.max_frames is not None and self.frames_decoded >= self.max_frames:
                    break
                if not self.realtime and not self._acquire_slot():
                    return
                start = time.perf_counter()
                frame = next(frames, None)
                self.decode_seconds += time.perf_counter() - start
                if frame is None:
                    if self.slots is not None and not self.realtime:
                        self.slots.release()
                    break
                if self.realtime:
                    self._put_or_drop(frame)
                    continue
                if self.live:  # standard input: numbered here, as a camera's would be
                    frame = Frame(self.frames_decoded, frame.timestamp, frame.image)
                elif self.frame_limit is not None and frame.index >= self.frame_limit:
                    raise VideoLimits(max_frames=self.frame_limit).too_many_frames()
                self.frames_decoded += 1
                if not self._put(frame):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._error = exc
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # a live source's connection is closed by this thread
            self._put(self._END)

    def get(self) -> Frame | None:
        """Next frame, or None at the end of the video or when stopped.

        Raises:
            VideoError: Decoding failed.
        """
        while True:
            if self.stop.is_set() and self._queue.empty():
                return None
            try:
                item = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if item is self._END:
                # Leave the marker for any other consumer of the same reader.
                self._queue.put(self._END)
                if self._error is not None:
                    raise self._error
                return None
            assert isinstance(item, Frame)
            return item

    def get_nowait(self) -> Frame | None:
        """A frame if one is already decoded, else None (never blocks)."""
        try:
            item = self._queue.get_nowait()
        except queue.Empty:
            return None
        if item is self._END:
            self._queue.put(self._END)
            return None
        assert isinstance(item, Frame)
        return item

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.get()) is not None:
            yield frame

    def close(self) -> None:
        """Stop decoding and wait for the thread to exit."""
        self.stop.set()
        self._thread.join(timeout=5)

    @property
    def alive(self) -> bool:
        """Whether the decoding thread is still running."""
        return self._thread.is_alive()


#: Time unit of a live video's frame times: milliseconds.
LIVE_TIME_BASE = Fraction(1, 1000)
#: Time unit of a file's frame times: MPEG's 90 kHz clock, a whole number of
#: steps per frame at the usual rates (24, 25, 29.97, 30, 50, 59.94, 60, 120...).
FILE_TIME_BASE = Fraction(1, 90_000)
#: A file's frame that comes more than this many seconds after the one before
#: it is written this long after it: a broken timestamp (a jump of hours) does
#: not make hours of one still frame.
MAX_FRAME_GAP_S = 10.0
#: A live video is fragmented MP4: a header first, then self-contained fragments.
LIVE_MOVFLAGS = "+frag_keyframe+empty_moov+default_base_moof"
#: The extensions :class:`H264Writer` writes: MP4 and QuickTime, the containers its
#: options are for (the index up front, a live video's fragments); FFmpeg picks the
#: container by the extension, and has none for a name such as ``out.txt``.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")


def _even(value: int) -> int:
    return value - (value % 2)


class H264Writer(_BackgroundThread):
    """Encodes BGR frames to a browser-playable H.264 MP4 in a background thread.

    yuv420p, even width and height (odd sizes lose their last row/column),
    ``+faststart`` so playback starts before the file is fully downloaded.

    Args:
        path: Output file, ending in one of :data:`VIDEO_SUFFIXES`.
        width: Frame width.
        height: Frame height.
        fps: Frame rate of the source.
        queue_size: Frames buffered before :meth:`write` blocks.
        crf: x264 quality (lower is better).
        preset: x264 speed preset.
        live: Write for a live source: fragmented MP4 (a fragment about every
            second, each playable as soon as it is written, so a crash leaves a
            playable video), each frame at its own timestamp in milliseconds
            (the frames a live run keeps are not evenly spaced).

    A file's frames are written at their own timestamps too, from its first
    frame's, to :data:`FILE_TIME_BASE`: a constant-rate video stays evenly
    spaced, and a variable-rate one (a phone's, a screen recording's) keeps
    its timing rather than being evened out at its average rate. A time that
    does not move forward (none, all 0, going back) is one frame of ``fps``
    after the last; a gap is at most :data:`MAX_FRAME_GAP_S`.

    Every frame given to :meth:`write` is encoded: a stopped run's partial
    video holds exactly the frames it processed. :meth:`abort` drops the rest.
    """

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        fps: float,
        *,
        queue_size: int = 16,
        crf: int = 23,
        preset: str = "veryfast",
        live: bool = False,
    ) -> None:
        self.path = Path(path)
        self.live = live
        self._first_timestamp: float | None = None
        self.width, self.height = _even(width), _even(height)
        if self.width < MIN_SIDE or self.height < MIN_SIDE:
            raise VideoError(
                f"The video is too small to encode (under {MIN_SIDE}x{MIN_SIDE} pixels)."
            )
        rate = Fraction(fps).limit_denominator(1001) if 0 < fps < float("inf") else Fraction(0)
        # Under 1/2002 fps (a frame every half hour) the rate rounds to 0: 25 stands in.
        self.rate = rate or Fraction(25)
        #: The unit of the frames' presentation times.
        self.time_base = LIVE_TIME_BASE if live else FILE_TIME_BASE
        # A frame that has no time of its own comes this many units after the last: a
        # live video's next millisecond, a file's next frame at its rate (within the gap).
        self._max_gap_ticks = round(MAX_FRAME_GAP_S / self.time_base)
        frame_ticks = round(1 / (self.rate * self.time_base))
        self._frame_ticks = 1 if live else max(1, min(frame_ticks, self._max_gap_ticks))
        self._last_pts = -self._frame_ticks  # so that a first frame without a time is at 0
        self.crf, self.preset = crf, preset
        self.frames_written = 0
        self.encode_seconds = 0.0
        self._start_thread("encoder", queue_size)

    def _run(self) -> None:
        container = None
        try:
            options = {"movflags": "+faststart"}
            if self.live:
                # Fragments, each packet flushed: the file plays whenever it is cut off.
                options = {"movflags": LIVE_MOVFLAGS, "flush_packets": "1"}
            container = av.open(str(self.path), mode="w", options=options)
            stream = container.add_stream("libx264", rate=self.rate)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            stream.options = {"crf": str(self.crf), "preset": self.preset}
            if self.live:
                # No lookahead, so each frame is written as it comes; a keyframe
                # (a new fragment) about every second.
                stream.options.update(tune="zerolatency", g=str(max(1, round(self.rate))))
            # x264's frame threads instead of PyAV's default slice threads:
            # measured on 2 vCPUs, 1.2 to 1.35 times the frames per second and
            # files 2 to 3 % smaller (slices cost compression); the extra
            # frames of latency do not matter to a file. A live video is written
            # frame by frame, so it keeps slice threads.
            stream.codec_context.thread_type = "SLICE" if self.live else "FRAME"
            stream.codec_context.time_base = self.time_base
            while True:
                item = self._queue.get()
                if item is self._END:
                    break
                start = time.perf_counter()
                image, timestamp = item  # type: ignore[misc]
                frame = av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(image[: self.height, : self.width]), format="bgr24"
                )
                frame.pts = self._pts(timestamp)
                frame.time_base = self.time_base
                for packet in stream.encode(frame):
                    container.mux(packet)
                self.frames_written += 1
                self.encode_seconds += time.perf_counter() - start
            for packet in stream.encode():
                container.mux(packet)
        except BaseException as exc:  # noqa: BLE001 - re-raised in write()/close()
            self._error = exc
            # Drain so a blocked writer can notice the error.
            while not self._queue.empty():
                self._queue.get_nowait()
        finally:
            if container is not None:
                container.close()

    def _pts(self, timestamp: float | None) -> int:
        """The frame's presentation time, in :attr:`time_base` steps (see the class)."""
        tick = None
        if timestamp is not None:
            if self._first_timestamp is None:
                # A live time is since the source opened; a file's first frame starts its video.
                self._first_timestamp = 0.0 if self.live else timestamp
            tick = round((timestamp - self._first_timestamp) / self.time_base)
        if tick is None or tick <= self._last_pts:
            tick = self._last_pts + self._frame_ticks
        elif not self.live and tick > self._last_pts + self._max_gap_ticks:
            # The gap is shortened; the frames after it keep their spacing from this one.
            shortened = self._last_pts + self._max_gap_ticks
            self._first_timestamp += float((tick - shortened) * self.time_base)
            tick = shortened
        self._last_pts = tick
        return tick

    def _check(self) -> None:
        if self._error is not None:
            raise PipelineError(f"Video encoding failed: {self._error}") from self._error

    def write(self, image: np.ndarray, timestamp: float | None = None) -> None:
        """Queue one BGR frame for encoding (blocks while the queue is full).

        Args:
            image: The frame.
            timestamp: Its time in seconds, when known: the video shows it then
                (a file's counted from its first frame's); None: one frame after
                the last.

        Raises:
            PipelineError: The encoder failed.
        """
        while True:
            self._check()
            try:
                self._queue.put((image, timestamp), timeout=POLL_S)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    self._check()
                    raise PipelineError("The video encoder stopped unexpectedly.") from None

    def close(self) -> None:
        """Flush and finish the file; waits for the encoder thread.

        Raises:
            PipelineError: The encoder failed.
        """
        while self._thread.is_alive():
            try:
                self._queue.put(self._END, timeout=POLL_S)
                break
            except queue.Full:
                continue
        self._thread.join()
        self._check()

    def abort(self) -> None:
        """Stop encoding without waiting for queued frames; the file is incomplete."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(self._END)
        self._thread.join(timeout=10)
