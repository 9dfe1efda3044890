"""The example clips' captions: name, length, and what a run on each shows.

``gr.Examples`` shows a video example as a bare thumbnail; with
``example_labels`` it shows these captions instead, so a newcomer knows what
each clip is before picking it. What each clip shows is written here once
(``assets/README.md`` says where the clips come from).

Example:
    >>> assets = Path(__file__).resolve().parents[1] / "assets"
    >>> example_caption(assets / "one_by_one_person.mp4")
    'one_by_one_person.mp4 · 10 s · 1 person walks in'
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.io.video import probe

#: What a run on each bundled clip shows, by file name. Short: Gradio cuts a caption at
#: about 50 characters.
EXAMPLE_NOTES = {
    "one_by_one_person.mp4": "1 person walks in",
    "worker_zone_detection.mp4": "line, zone set",
}


def example_caption(path: Path) -> str:
    """``name · length · what to expect`` for one example clip (the note when there is one)."""
    parts = [path.name]
    # A clip that cannot be read still gets its name; a run would say why.
    with contextlib.suppress(PipelineError, OSError):
        parts.append(f"{probe(path).duration_s:.0f} s")
    note = EXAMPLE_NOTES.get(path.name)
    if note:
        parts.append(note)
    return " · ".join(parts)


def example_captions(paths: Sequence[Path]) -> list[str]:
    """:func:`example_caption` of each clip, in order."""
    return [example_caption(path) for path in paths]
