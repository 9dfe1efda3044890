"""The counting evaluation on a slice: one MOT15 sequence, its six lines and two zones.

It must print per line the app's counts and the ground truth's, and a total error that
is what those counts give; its ground truth must be the definition (every change of side
of one id's point between consecutive observations).
"""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pytest

from pipeline.evaluation import counting_eval
from pipeline.stages.counting import CROSSING_RULE

ROW = re.compile(
    r"^(?P<seq>.+?\)) +(?P<item>\w+) +(?P<app>[\d/]+) +(?P<truth>[\d/]+) +(?P<err>\d+)$"
)
TOTAL = re.compile(r"total error (\d+) of (\d+) ground-truth crossings = ([\d.]+) %")


@pytest.fixture(scope="module")
def printed(shared_assets, tmp_path_factory) -> str:
    root = shared_assets / "mot"
    if not (root / "TUD-Campus" / counting_eval.DETECTIONS_FILE).is_file():
        pytest.skip(f"{counting_eval.DETECTIONS_FILE} of TUD-Campus not found under {root}")
    capture = tmp_path_factory.mktemp("eval") / "out.txt"
    with capture.open("w") as out, contextlib.redirect_stdout(out):
        status = counting_eval.main(
            ["--mot-root", str(root), "--sequence", "TUD-Campus", "--no-video"]
        )
    assert status == 0
    return capture.read_text()


def _rows(text: str) -> list[re.Match]:
    return [m for line in text.splitlines() if (m := ROW.match(line))]


def test_the_printed_error_is_what_the_printed_counts_give(printed):
    rows = _rows(printed)
    assert [m["item"] for m in rows] == [
        "h25", "h50", "h75", "v25", "v50", "v75", "centre", "lower_left",
    ]  # fmt: skip
    errors = truths = 0
    for m in rows:
        app = [int(n) for n in m["app"].split("/")]
        truth = [int(n) for n in m["truth"].split("/")]
        assert int(m["err"]) == sum(abs(a - t) for a, t in zip(app, truth, strict=True))
        errors, truths = errors + int(m["err"]), truths + sum(truth)
    error, truth, share = TOTAL.search(printed).groups()
    assert (int(error), int(truth)) == (errors, truths)
    assert float(share) == pytest.approx(100 * errors / truths, abs=0.05)
    assert f"rule {CROSSING_RULE.name}" in printed


def test_the_ground_truth_is_every_change_of_side(printed, shared_assets):
    """v50 (x = 320), counted here straight from gt.txt: bottom centres of one id."""
    gt = np.loadtxt(shared_assets / "mot" / "TUD-Campus" / "gt.txt", delimiter=",")
    gt = gt[gt[:, 6] > 0]
    ins = outs = 0
    for track_id in np.unique(gt[:, 1]):
        rows = gt[gt[:, 1] == track_id]
        rows = rows[np.argsort(rows[:, 0])]
        # MOT pixels are 1-based; the line is drawn top to bottom, so moving right is in.
        right = (rows[:, 2] - 1 + rows[:, 4] / 2) > 320
        ins += int(np.sum(~right[:-1] & right[1:]))
        outs += int(np.sum(right[:-1] & ~right[1:]))
    v50 = next(m for m in _rows(printed) if m["item"] == "v50")
    assert v50["truth"] == f"{ins}/{outs}" and ins + outs > 0


def test_a_bad_rule_is_one_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        counting_eval.main(["--rule", "feet/2"])
    assert exit_info.value.code == 2
    assert "anchor must be one of center, bottom_center, corners" in capsys.readouterr().err


def test_rules_are_read_as_they_are_printed():
    before = counting_eval.parse_rule("corners/2/forget")
    assert (before.anchor, before.min_frames, before.remember_unseen) == ("corners", 2, False)
    assert counting_eval.parse_rule(CROSSING_RULE.name) == CROSSING_RULE
    assert before.name == "corners/2/forget"
    both = counting_eval.parse_rule("bottom_center/2/forget/band=0.05/swap=1.5")
    assert (both.band, both.swap_ratio, both.remember_unseen) == (0.05, 1.5, False)
    assert counting_eval.parse_rule(both.name) == both
    timed = counting_eval.parse_rule("center/0.2s")
    assert (timed.min_seconds, timed.frames_at(30), timed.name) == (0.2, 6, "center/0.2s")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bottom_center/3/swap=1", "swap must be greater than 1"),
        ("bottom_center/3/band=-0.1", "band must be at least 0"),
        ("bottom_center/3/hold", "unknown option 'hold'"),
        ("bottom_center/3/band=wide", "could not convert"),
        ("bottom_center/0s", "give the wait in frames or in seconds (above 0)"),
    ],
)
def test_a_bad_rule_option_is_one_clear_error(capsys, text, message):
    with pytest.raises(SystemExit):
        counting_eval.main(["--rule", text])
    err = capsys.readouterr().err
    assert message in err and counting_eval.RULE_SYNTAX in err and "Traceback" not in err


def test_the_errors_the_rule_makes_by_design_are_printed(printed):
    """On TUD-Campus every error of the rule alone is a ground-truth touch-and-return or a
    crossing at a track's end: the figure printed for them is the rule alone's error."""
    alone = re.search(r"own boxes as tracks: total error (\d+) of", printed)
    by_design = re.search(r"of which by design: (\d+) ground-truth crossings", printed)
    assert alone and by_design and by_design[1] == alone[1]


@pytest.mark.parametrize(
    ("sides", "entries_only", "short"),
    [
        ([0, 0, 1, 1, 1, 1], False, 0),  # a crossing that stays
        ([0, 0, 1, 0, 0, 0], False, 2),  # touch and return: in and back out
        ([0, 0, 1, 0, 0, 0], True, 1),  # of which one entry
        ([1, 1, 0, 1, 1, 1], True, 1),  # a step outside and back in: one entry
        ([0, 0, 0, 0, 1, 1], False, 1),  # a crossing in the path's last 2 observations
        ([0, 1, 1, 1, 0, 0, 0], False, 0),  # the first observation sets the side
        ([0, 1, 0, 1, 0, 1, 1, 1], False, 4),  # jitter, then a crossing that stays
    ],
)
def test_short_stays_are_the_crossings_a_waiting_rule_cannot_count(sides, entries_only, short):
    side = np.array(sides, dtype=bool)
    assert counting_eval.short_stay_crossings(side, 3, entries_only=entries_only) == short
