"""Live inputs: a camera, a network stream (RTSP, HTTP, TCP, ...) or standard input.

A file can be opened twice (once to probe it, once to decode it); a live
source cannot, so :class:`LiveSource` opens it once, decodes its first frame
for the run's size and preview, and then hands the frames on from the same
connection. A network stream that drops is reopened with a bounded back-off;
one that cannot be opened at all is a :class:`~pipeline.errors.VideoError`
once the back-off is spent, never a hang.

Timestamps come from the stream, relative to its first frame, or from the
wall clock where the stream has none; across a reconnection they continue
from the last frame plus the time the stream was away, so time in a zone and
the frame rate stay right.

Example:
    >>> spec = source_spec("rtsp://user:secret@10.0.0.5/cam")
    >>> spec.kind, spec.label
    ('stream', 'rtsp://10.0.0.5/cam')
    >>> source_spec("clip.mp4") is None  # a file
    True
"""

from __future__ import annotations

import contextlib
import logging
import platform
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import av
import cv2

from pipeline.errors import VideoError
from pipeline.io.frames import Frame, upright

log = logging.getLogger(__name__)

#: URL schemes read as live network streams.
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "tcp", "udp", "srt", "rtp")
#: The longest wait between two tries to reopen a stream, in seconds.
MAX_BACKOFF_S = 8.0
#: The first wait; each further one doubles, up to :data:`MAX_BACKOFF_S`.
FIRST_BACKOFF_S = 0.5
#: Least time between two frames of a live run (a stream that repeats a timestamp).
MIN_FRAME_GAP_S = 1e-3


@dataclass(frozen=True)
class SourceSpec:
    """What a live source is and how to open it.

    Attributes:
        text: As the user gave it.
        kind: ``"camera"``, ``"stream"`` or ``"stdin"``.
        url: What ``av.open`` opens.
        format: The demuxer or device to use (None: ffmpeg's guess).
        options: Demuxer options (e.g. RTSP over TCP).
        label: How messages name it (a URL without its password).
    """

    text: str
    kind: str
    url: str
    format: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    label: str = ""

    @property
    def reconnects(self) -> bool:
        """Whether a drop is worth reopening (network streams; not a pipe or a camera)."""
        return self.kind == "stream"

    @property
    def realtime(self) -> bool:
        """Whether frames come at the world's pace (a camera, a stream): a run behind drops some.

        Standard input waits for its reader instead.
        """
        return self.kind != "stdin"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _camera(index: int) -> SourceSpec:
    system = platform.system()
    text = str(index)
    if system == "Linux":
        device = f"/dev/video{index}"
        return SourceSpec(text, "camera", device, "v4l2", label=f"camera {index} ({device})")
    if system == "Darwin":
        return SourceSpec(text, "camera", f"{index}:none", "avfoundation", label=f"camera {index}")
    raise VideoError(
        f"Camera {index}: opening cameras by number works on Linux and macOS; on {system} "
        "stream the camera to a URL (for example with ffmpeg) and give that."
    )


def source_spec(text: str) -> SourceSpec | None:
    """The live source ``text`` names, or None when it names a file.

    ``-`` is standard input, a whole number a camera (``0`` is the first),
    ``/dev/videoN`` a camera too, and a URL whose scheme is one of
    :data:`STREAM_SCHEMES` a network stream.
    """
    text = str(text).strip()
    if text == "-":
        return SourceSpec(text, "stdin", "pipe:0", label="standard input")
    if re.fullmatch(r"\d{1,3}", text):
        return _camera(int(text))
    if re.fullmatch(r"/dev/video\d+", text):
        return SourceSpec(text, "camera", text, "v4l2", label=f"camera {text}")
    scheme = urlsplit(text).scheme.lower()
    if scheme in STREAM_SCHEMES:
        # RTSP over TCP: over UDP a lossy network tears frames apart.
        options = {"rtsp_transport": "tcp"} if scheme in ("rtsp", "rtsps") else {}
        return SourceSpec(text, "stream", text, options=options, label=_without_password(text))
    return None


def is_live(text: str | Path) -> bool:
    """Whether ``text`` names a live source rather than a file."""
    return source_spec(str(text)) is not None


def backoff_delays(tries: int) -> list[float]:
    """The waits before each try to reopen a stream: 0.5, 1, 2, 4, 8, 8... seconds."""
    return [min(FIRST_BACKOFF_S * 2**i, MAX_BACKOFF_S) for i in range(max(0, tries))]


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    # ffmpeg's messages end with the URL, which may hold a password.
    return re.sub(r":\s*'[^']*'\s*$", "", text).strip()


class LiveSource:
    """An open live source: its first frame, its size, then its frames until it ends.

    Args:
        spec: What to open.
        timeout_s: Seconds to wait for it to open, and then for each read.
        reconnect_tries: Tries to open it, and to reopen a dropped stream,
            with :func:`backoff_delays` between them.
        stop: Interrupts the waits between tries.

    Raises:
        VideoError: It could not be opened after every try, or gave no frame.

    Attributes:
        first_frame: Frame 0, upright, at time 0.
        width, height: Its displayed size (every frame is given at this size).
        fps: Its nominal frame rate (25 when it states none).
        reconnects: How many times a dropped stream was reopened.
        ended: Why it ended (None while it runs).
    """

    def __init__(
        self,
        spec: SourceSpec,
        *,
        timeout_s: float = 10.0,
        reconnect_tries: int = 5,
        stop: threading.Event | None = None,
    ) -> None:
        self.spec = spec
        self.timeout_s = timeout_s
        self.reconnect_tries = reconnect_tries
        self.stop = stop or threading.Event()
        self.reconnects = 0
        self.ended: str | None = None
        self._last_time = 0.0
        self._last_wall = time.monotonic()
        #: When the first frame was decoded (``time.monotonic()``).
        self.opened_at = 0.0
        self._turns: int | None = None
        self._size: tuple[int, int] | None = None
        self._reading = False
        self._container = self._open_with_retries()
        if self._container is None:
            raise VideoError(f"{spec.label} was not opened: stopped.")
        try:
            stream = self._container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(25)
            self.fps = float(rate) if 1 <= float(rate) <= 240 else 25.0
            self._frames: Iterator[Frame] = self._decode(self._container, first=True)
            first = next(self._frames, None)
        except BaseException:
            self.close()
            raise
        if first is None:
            self.close()
            raise VideoError(f"{spec.label} sent no video frame.")
        self.first_frame = first
        self.opened_at = time.monotonic()
        self.height, self.width = first.image.shape[:2]
        self._size = (self.height, self.width)

    def _open(self) -> av.container.InputContainer:
        container = av.open(
            self.spec.url,
            format=self.spec.format,
            options=self.spec.options,
            timeout=(self.timeout_s, self.timeout_s),
        )
        if not container.streams.video:
            container.close()
            raise VideoError(f"{self.spec.label} has no video stream.")
        return container

    def _open_with_retries(self) -> av.container.InputContainer | None:
        """Open it; a stream is retried with the back-off. None: stopped while waiting."""
        delays = backoff_delays(self.reconnect_tries) if self.spec.reconnects else []
        reason = ""
        for attempt in range(len(delays) + 1):
            if attempt and self.stop.wait(delays[attempt - 1]):
                return None
            try:
                return self._open()
            except VideoError:
                raise
            except (av.FFmpegError, OSError) as exc:
                reason = _reason(exc)
                log.info("could not open %s (%s), try %d", self.spec.label, reason, attempt + 1)
        waited = sum(delays)
        tries = f" ({len(delays) + 1} tries over {waited:.1f} s)" if delays else ""
        raise VideoError(f"Could not open {self.spec.label}: {reason}{tries}.")

    def _decode(self, container: av.container.InputContainer, *, first: bool) -> Iterator[Frame]:
        """One connection's frames, upright, at the run's size, with times on the run's clock."""
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        started_wall = time.monotonic()
        origin: float | None = None
        # A reconnection continues from the last frame plus the time the stream was away.
        base = 0.0 if first else self._last_time + max(started_wall - self._last_wall, 0.0)
        for frame in container.decode(stream):
            if self._turns is None:
                self._turns = round(frame.rotation / 90) % 4
            if frame.time is not None:
                origin = float(frame.time) if origin is None else origin
                timestamp = base + float(frame.time) - origin
            else:
                timestamp = base + time.monotonic() - started_wall
            if not first:
                timestamp = max(timestamp, self._last_time + MIN_FRAME_GAP_S)
            first = False
            self._last_time, self._last_wall = timestamp, time.monotonic()
            image = upright(frame.to_ndarray(format="bgr24"), self._turns)
            if self._size is not None and image.shape[:2] != self._size:
                # A stream that comes back at another size: the run keeps one size.
                image = cv2.resize(image, self._size[::-1], interpolation=cv2.INTER_AREA)
            yield Frame(0, timestamp, image)

    def frames(self) -> Iterator[Frame]:
        """Every frame after the first, until the source ends or :attr:`stop` is set.

        Frame indices are 0 here: the reader numbers the frames it keeps. The
        connection is closed by the thread that reads it, when it ends.
        """
        self._reading = True
        try:
            while self._container is not None and not self.stop.is_set():
                try:
                    yield from self._frames
                    reason = "it ended"
                except (av.FFmpegError, OSError) as exc:
                    reason = _reason(exc)
                self._close_container()
                if self.stop.is_set():
                    break
                if not self.spec.reconnects:
                    self.ended = f"{self.spec.label} ended ({reason})."
                    return
                log.warning("%s dropped (%s); reopening", self.spec.label, reason)
                try:
                    container = self._open_with_retries()
                except VideoError as exc:
                    self.ended = f"{self.spec.label} dropped and did not come back. {exc}"
                    return
                if container is None:
                    break
                self.reconnects += 1
                self._container = container
                self._frames = self._decode(container, first=False)
            self.ended = self.ended or "Stopped."
        finally:
            self._close_container()

    def _close_container(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(av.FFmpegError, OSError):
                container.close()

    def close(self) -> None:
        """Stop it.

        A connection no thread is reading is closed now; one being read is closed
        by its reader as soon as the read in progress returns.
        """
        self.stop.set()
        if not self._reading:
            self._close_container()
