"""Decoded frames kept for a while, in memory up to a byte budget, as JPEG on disk beyond.

Segmentation needs the frames of a window at hand (SAM 2 reads them as it
propagates, the annotator draws on them afterwards). Raw 1080p frames are 6 MB
each, so a long window would not fit in memory on a small machine: the store
keeps frames in memory while they fit in ``budget_bytes`` and writes the rest
as JPEG files in a private temporary folder, decoding them again on
:meth:`FrameStore.get`. Frames are put in order and mostly read in order, so
the earliest frames (the ones needed first) stay in memory and later ones spill.

Example:
    >>> import numpy as np
    >>> with FrameStore(budget_bytes=100) as store:
    ...     store.put(0, np.zeros((4, 5, 3), dtype=np.uint8))   # 60 bytes: in memory
    ...     store.put(1, np.full((4, 5, 3), 200, dtype=np.uint8))  # would exceed: on disk
    ...     store.bytes_in_memory, store.frames_on_disk, int(store.get(1).mean())
    (60, 1, 200)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np

MIB = 1024 * 1024
#: Bounds of the default budget, whatever the machine.
MIN_DEFAULT_BUDGET = 256 * MIB
MAX_DEFAULT_BUDGET = 8 * 1024 * MIB
#: Fraction of the machine's (or container's) memory the default budget takes.
DEFAULT_BUDGET_FRACTION = 1 / 8

_CGROUP_LIMITS = (
    Path("/sys/fs/cgroup/memory.max"),  # cgroup v2
    Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),  # cgroup v1
)


def machine_memory_bytes() -> int | None:
    """Memory this process may use: physical memory, or the container's limit if lower.

    Returns:
        Bytes, or None when neither can be read.
    """
    sizes = []
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sizes.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    # A Space or Docker container sees the host's memory in sysconf; its own
    # limit is the one that gets the process killed.
    for path in _CGROUP_LIMITS:
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw.isdigit():
            sizes.append(int(raw))
    sizes = [s for s in sizes if s > 0]
    return min(sizes) if sizes else None


def default_budget_bytes() -> int:
    """The default budget: an eighth of the memory, between 256 MiB and 8 GiB."""
    memory = machine_memory_bytes()
    if memory is None:
        return 1024 * MIB
    return int(min(MAX_DEFAULT_BUDGET, max(MIN_DEFAULT_BUDGET, memory * DEFAULT_BUDGET_FRACTION)))


class FrameStore:
    """Frames by index: in memory within a byte budget, JPEG files on disk beyond it.

    Arrays handed to :meth:`put` are kept as they are (not copied) and
    :meth:`get` returns them, so neither side may modify them afterwards.
    Thread-safe.

    Args:
        budget_bytes: Most bytes of frames kept in memory (None: the
            :func:`default_budget_bytes`).
        spill_dir: Parent folder of the private spill folder (None: the system
            temporary folder).
        jpeg_quality: Quality (0-100) of spilled frames; 95 keeps pixel values
            within a few levels of the original (56 dB PSNR on the test frames).

    Attributes:
        budget_bytes: The budget in use.
        bytes_in_memory: Bytes of frames now in memory.
        peak_bytes_in_memory: The most bytes in memory at any time.
        frames_spilled: Frames written to disk since the store was made.
    """

    def __init__(
        self,
        budget_bytes: int | None = None,
        *,
        spill_dir: str | Path | None = None,
        jpeg_quality: int = 95,
    ) -> None:
        self.budget_bytes = default_budget_bytes() if budget_bytes is None else int(budget_bytes)
        if self.budget_bytes < 0:
            raise ValueError(f"budget_bytes must be >= 0, got {budget_bytes}")
        self.jpeg_quality = int(jpeg_quality)
        # Full-resolution colour (4:4:4): the default 4:2:0 smears saturated
        # edges by 15+ levels, exactly where masks and boxes are drawn.
        self._jpeg_params = [
            cv2.IMWRITE_JPEG_QUALITY,
            self.jpeg_quality,
            cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
            cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
        ]
        self.bytes_in_memory = 0
        self.peak_bytes_in_memory = 0
        self.frames_spilled = 0
        self._spill_parent = Path(spill_dir) if spill_dir is not None else None
        self._dir: Path | None = None
        self._memory: dict[int, np.ndarray] = {}
        self._disk: dict[int, Path] = {}
        self._lock = threading.Lock()

    def put(self, index: int, image: np.ndarray) -> None:
        """Store a frame under ``index`` (replacing any frame already there).

        Args:
            index: Frame index.
            image: ``(H, W, 3)`` BGR uint8 frame.

        Raises:
            OSError: A frame could not be written to disk.
        """
        self.discard(index)
        with self._lock:
            if self.bytes_in_memory + image.nbytes <= self.budget_bytes:
                self._memory[index] = image
                self.bytes_in_memory += image.nbytes
                self.peak_bytes_in_memory = max(self.peak_bytes_in_memory, self.bytes_in_memory)
                return
            path = self._spill_folder() / f"{index:08d}.jpg"
        # Encoding is the slow part; done outside the lock.
        ok, data = cv2.imencode(".jpg", image, self._jpeg_params)
        if not ok:
            raise OSError(f"could not encode frame {index} as JPEG")
        path.write_bytes(data.tobytes())
        with self._lock:
            self._disk[index] = path
            self.frames_spilled += 1

    def get(self, index: int) -> np.ndarray:
        """The frame stored under ``index`` (decoded again if it was spilled).

        Raises:
            KeyError: No frame is stored under ``index``.
        """
        with self._lock:
            image = self._memory.get(index)
            path = self._disk.get(index)
        if image is not None:
            return image
        if path is None:
            raise KeyError(f"frame {index} is not in the store")
        data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
        if decoded is None:
            raise OSError(f"could not decode spilled frame {index} from {path}")
        return decoded

    def discard(self, index: int) -> None:
        """Forget the frame under ``index`` (no error if there is none)."""
        with self._lock:
            image = self._memory.pop(index, None)
            if image is not None:
                self.bytes_in_memory -= image.nbytes
            path = self._disk.pop(index, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def discard_before(self, index: int) -> None:
        """Forget every frame whose index is lower than ``index``."""
        with self._lock:
            old = [i for i in (*self._memory, *self._disk) if i < index]
        for i in old:
            self.discard(i)

    def __contains__(self, index: object) -> bool:
        with self._lock:
            return index in self._memory or index in self._disk

    def __len__(self) -> int:
        with self._lock:
            return len(self._memory) + len(self._disk)

    @property
    def frames_in_memory(self) -> int:
        """How many frames are held in memory now."""
        with self._lock:
            return len(self._memory)

    @property
    def frames_on_disk(self) -> int:
        """How many frames are spilled to disk now."""
        with self._lock:
            return len(self._disk)

    def _spill_folder(self) -> Path:
        if self._dir is None:
            parent = self._spill_parent
            if parent is not None:
                parent.mkdir(parents=True, exist_ok=True)
            self._dir = Path(tempfile.mkdtemp(prefix="frames-", dir=parent))
        return self._dir

    def close(self) -> None:
        """Forget every frame and remove the spill folder."""
        with self._lock:
            self._memory.clear()
            self._disk.clear()
            self.bytes_in_memory = 0
            folder, self._dir = self._dir, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> FrameStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
