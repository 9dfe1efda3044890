"""The default tracker is the measured one: every tracker on the Faster R-CNN detections."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.evaluation import compare_trackers
from pipeline.evaluation.mot_sequences import FRCNN_DETECTIONS, MOT15_SEQUENCES, find_sequences
from pipeline.evaluation.track_eval import MEAN, METRICS
from pipeline.evaluation.tune_trackers import choose, evaluate
from pipeline.stages.tracker_registry import DEFAULT_TRACKER, TRACKERS

TRACKERS_DOC = Path(__file__).resolve().parents[1] / "docs" / "trackers.md"


@pytest.fixture(scope="module")
def mot_root(shared_assets: Path) -> Path:
    root = shared_assets / "mot"
    if not all((root / name / FRCNN_DETECTIONS).is_file() for name in MOT15_SEQUENCES):
        pytest.skip(f"the four MOT15 sequences' {FRCNN_DETECTIONS} are not all in {root}")
    return root


def table_rows(text: str) -> dict[str, list[str]]:
    """The cells of each Markdown table row whose first cell is a tracker name."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in TRACKERS:
            rows[cells[0]] = cells[1:]
    return rows


def cell(scores: dict[str, float]) -> str:
    return " / ".join(f"{100 * scores[m]:.1f}" for m in METRICS)


def test_comparison_prints_the_scores_of_each_tracker_and_the_best(
    mot_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--data", str(mot_root), "--sequences", "TUD-Campus", "--no-guard"]
    assert compare_trackers.main([*argv, "--trackers", "sort", "botsort"]) == 0
    printed = capsys.readouterr().out
    rows = table_rows(printed)
    assert list(rows) == ["sort", "botsort"]

    # The same figures, computed here directly from the trackers at their defaults.
    sequences = find_sequences(mot_root, ["TUD-Campus"])
    trials = {t: evaluate(t, {}, sequences, detections=FRCNN_DETECTIONS) for t in rows}
    for tracker, trial in trials.items():
        scores = trial.scores
        assert rows[tracker] == [cell(scores["TUD-Campus"]), f"**{cell(scores[MEAN])}**"]
    best = choose(list(trials.values())).tracker
    assert f"best mean HOTA: {best} (the registry's default: {DEFAULT_TRACKER})" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--detections", "nope.txt", "--no-guard"], r"compare_trackers: none of nope\.txt"),
        (["--assets", "/nonexistent"], r"seqinfo\.ini not found.*--no-guard"),
    ],
)
def test_comparison_rejects_missing_files_in_one_line(
    mot_root: Path, extra: list[str], message: str
) -> None:
    argv = ["--data", str(mot_root), "--sequences", "TUD-Campus", *extra]
    with pytest.raises(SystemExit, match=message):
        compare_trackers.main(argv)


@pytest.mark.slow
def test_the_default_tracker_is_the_one_the_measurement_and_the_docs_name(
    mot_root: Path, shared_assets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table of the default's choice in docs/trackers.md is what the command prints today.

    A retuned tracker, a changed default or a new tracker without the table (and the
    default) following fails here.
    """
    argv = ["--data", str(mot_root), "--assets", str(shared_assets)]
    assert compare_trackers.main(argv) == 0
    printed = capsys.readouterr().out
    assert f"best mean HOTA within the guard: {DEFAULT_TRACKER} " in printed
    measured, documented = table_rows(printed), table_rows(choice_section(TRACKERS_DOC))
    assert list(measured) == list(TRACKERS) == list(documented)
    header = next(line for line in printed.splitlines() if line.startswith("| tracker |"))
    yolox = [c.strip() for c in header.strip("|").split("|")][1:].index("YOLOX-Nano on TUD-Campus")
    for tracker in TRACKERS:
        # YOLOX-Nano's figures come from onnxruntime on this CPU, the rest from files.
        mine = [c for i, c in enumerate(measured[tracker]) if i != yolox]
        theirs = [c for i, c in enumerate(documented[tracker]) if i != yolox]
        assert mine == theirs, f"docs/trackers.md row of {tracker} differs from the measurement"
    assert re.search(rf"\*\*{DEFAULT_TRACKER}\*\*[^.]*is the default", choice_section(TRACKERS_DOC))


def choice_section(doc: Path) -> str:
    """The paragraphs and table on how the default tracker was chosen."""
    text = doc.read_text(encoding="utf-8")
    start = text.index("**How the default tracker was chosen.**")
    return text[start : text.index("**How each tracker's defaults were chosen.**")]


def test_the_api_docs_name_the_default_tracker() -> None:
    """The REST form's and the /detect endpoint's (MCP tool's) docs say which is the default."""
    from ui.rest.forms import RunForm
    from ui.tabs.detection import DetectionHandlers

    for doc in (RunForm.__doc__, DetectionHandlers.detect.__doc__):
        assert f"{DEFAULT_TRACKER} (default)" in " ".join((doc or "").split())
