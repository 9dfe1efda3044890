"""MOTChallenge sequence folders: ground truth, public detections and ``seqinfo.ini``.

A sequence folder holds ``gt.txt``, ``det.txt`` and ``seqinfo.ini`` (as the four MOT15
sequences in ``../shared/assets/mot`` do; MOTChallenge's own ``gt/gt.txt`` and
``det/det.txt`` sub-folders are found too). Tracking with the sequence's real frame rate
matters: every tracker scales its lost-track buffer by it.

Example:
    sequences = find_sequences(default_mot_root())
    [(s.name, s.fps, s.length) for s in sequences]
"""

from __future__ import annotations

import argparse
import configparser
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.io.mot_files import StrPath

#: The sequences trackers are tuned and compared on, together (never one alone): a
#: static camera on a square (TUD-Campus), a car's street view at 10 fps (KITTI-13), a
#: camera walking a pavement (ETH-Sunnyday) and a busy pedestrian street (ADL-Rundle-6).
MOT15_SEQUENCES = ("TUD-Campus", "KITTI-13", "ETH-Sunnyday", "ADL-Rundle-6")

#: A sequence's public detections (MOT15: ACF, scores not in 0..1).
PUBLIC_DETECTIONS = "det.txt"
#: A sequence's Faster R-CNN detections (scores in 0..1, like the app's own detectors).
FRCNN_DETECTIONS = "det_frcnn.txt"


@dataclass(frozen=True)
class MotSequence:
    """One MOTChallenge sequence on disk.

    Attributes:
        name: The sequence's name (``seqinfo.ini``'s ``name``, else the folder's).
        folder: Its folder.
        fps: Frame rate (``frameRate``).
        length: Number of frames (``seqLength``).
    """

    name: str
    folder: Path
    fps: float
    length: int

    @property
    def gt(self) -> Path:
        """The ground-truth file."""
        return _first_file(self.folder, ("gt.txt", "gt/gt.txt"))

    @property
    def det(self) -> Path:
        """The public detections file."""
        return _first_file(self.folder, ("det.txt", "det/det.txt"))

    def detections(self, name: str = PUBLIC_DETECTIONS) -> Path:
        """A detections file of the sequence.

        Args:
            name: :data:`PUBLIC_DETECTIONS` (also found as ``det/det.txt``),
                :data:`FRCNN_DETECTIONS`, or any file name in the sequence folder.

        Returns:
            Its path.

        Raises:
            FileNotFoundError: The sequence has no such file.
        """
        if name == PUBLIC_DETECTIONS:
            return self.det
        return _first_file(self.folder, (name, f"det/{name}"))


def read_sequence(folder: StrPath) -> MotSequence:
    """Read a sequence folder's ``seqinfo.ini``.

    Args:
        folder: The sequence folder.

    Returns:
        The sequence.

    Raises:
        FileNotFoundError: The folder has no ``seqinfo.ini``.
        ValueError: ``seqinfo.ini`` lacks ``frameRate`` or ``seqLength``.
    """
    folder = Path(folder)
    ini = folder / "seqinfo.ini"
    if not ini.is_file():
        raise FileNotFoundError(f"{ini} not found: a MOTChallenge sequence needs one")
    parser = configparser.ConfigParser()
    parser.read(ini, encoding="utf-8")
    try:
        section = parser["Sequence"]
        return MotSequence(
            name=section.get("name", folder.name),
            folder=folder,
            fps=float(section["frameRate"]),
            length=int(section["seqLength"]),
        )
    except KeyError as error:
        raise ValueError(f"{ini}: missing {error}") from error


def find_sequences(root: StrPath, names: Sequence[str] = MOT15_SEQUENCES) -> list[MotSequence]:
    """The named sequences under ``root``, in the order named.

    Args:
        root: The folder holding one folder per sequence.
        names: The sequences wanted.

    Returns:
        One :class:`MotSequence` per name.

    Raises:
        FileNotFoundError: A named sequence is missing.
    """
    return [read_sequence(Path(root) / name) for name in names]


def default_mot_root() -> Path:
    """Where this workplace keeps the MOT15 sequences: ``../shared/assets/mot``."""
    return Path(__file__).resolve().parents[2].parent / "shared" / "assets" / "mot"


def _first_file(folder: Path, candidates: tuple[str, ...]) -> Path:
    for candidate in candidates:
        if (folder / candidate).is_file():
            return folder / candidate
    raise FileNotFoundError(f"none of {', '.join(candidates)} in {folder}")


def sequence_parser(command: str, description: str, **options: Any) -> argparse.ArgumentParser:
    """The parser of ``python -m pipeline.evaluation.<command>``, with the sequence options.

    Args:
        command: The module's name in :mod:`pipeline.evaluation`.
        description: What the command does.
        **options: :func:`add_sequence_options`' keyword arguments.

    Example:
        >>> sequence_parser("stride_eval", "Strides.", detections=FRCNN_DETECTIONS).prog
        'python -m pipeline.evaluation.stride_eval'
    """
    parser = argparse.ArgumentParser(
        prog=f"python -m pipeline.evaluation.{command}", description=description
    )
    add_sequence_options(parser, **options)
    return parser


def add_sequence_options(
    parser: argparse.ArgumentParser,
    *,
    detections: str,
    detections_help: str | None = None,
    trackers: Sequence[str] | None = None,
    tracker_choices: Sequence[str] = (),
) -> None:
    """Add the options every command over the MOT15 sequences shares.

    ``--data``, ``--sequences`` and ``--detections``; for a command that runs
    several trackers, also ``--assets`` (for the tracker guard) and ``--trackers``.
    Each command says which detections (and trackers) it defaults to.

    Args:
        parser: The command's parser.
        detections: The detections file used when ``--detections`` is not given.
        detections_help: What ``--detections`` means for this command (None:
            the file in each sequence folder, and its default).
        trackers: The trackers run when ``--trackers`` is not given (None: the
            command has no ``--trackers`` nor ``--assets``).
        tracker_choices: The trackers that may be named.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_sequence_options(parser, trackers=["sort"], tracker_choices=["sort"],
        ...                      detections=FRCNN_DETECTIONS, detections_help="detections")
        >>> args = parser.parse_args(["--sequences", "KITTI-13"])
        >>> args.sequences, args.trackers, args.detections
        (['KITTI-13'], ['sort'], 'det_frcnn.txt')
    """
    root = default_mot_root()
    parser.add_argument("--data", type=Path, default=root, help="folder of sequence folders")
    parser.add_argument(
        "--sequences", nargs="+", default=list(MOT15_SEQUENCES), help="sequence names"
    )
    if detections_help is None:
        detections_help = f"detections file in each sequence folder (default: {detections})"
    parser.add_argument("--detections", default=detections, metavar="FILE", help=detections_help)
    if trackers is None:
        return
    parser.add_argument(
        "--assets",
        type=Path,
        default=root.parent,
        help="shared assets for the guard (TUD-Campus clip and Faster R-CNN file)",
    )
    parser.add_argument(
        "--trackers",
        nargs="+",
        default=list(trackers),
        choices=list(tracker_choices),
        help="trackers",
    )


def sequences_for(args: argparse.Namespace, command: str) -> list[MotSequence]:
    """The sequences :func:`add_sequence_options`' options name, each with its detections file.

    Args:
        args: The parsed command line (``data``, ``sequences``, ``detections``).
        command: The command's name, for the message.

    Raises:
        SystemExit: A sequence or its detections file is missing, or unreadable.
    """
    try:
        sequences = find_sequences(args.data, args.sequences)
        for sequence in sequences:
            sequence.detections(args.detections)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"{command}: {error}") from None
    return sequences
