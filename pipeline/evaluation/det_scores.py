"""Detection scores that are not probabilities, mapped to 0..1 before tracking.

Every tracker's thresholds are scores in 0..1, but MOT15's public ``det.txt`` files hold
the ACF detector's raw scores (about -1 to 130). Taken as they are, nearly every one of
them is above every threshold, so the tracker treats every detection as certain.
:func:`to_unit_scores` maps a file's scores with :data:`DEFAULT_SCORE_MAP` when any of
them lies outside 0..1, and leaves scores already in 0..1 (a Faster R-CNN file, any
detector of the app) as they are.

The rule was chosen by measurement among the candidates in :data:`SCORE_MAPS`, with
ByteTrack on the four MOT15 sequences together (docs/trackers.md;
``python -m pipeline.evaluation.tune_trackers --compare-score-maps``).

Example:
    >>> to_unit_scores(np.array([0.2, 0.9]))  # already in 0..1: unchanged
    array([0.2, 0.9])
    >>> to_unit_scores(np.array([-0.7, 10.0, 42.8]))  # ACF scores
    array([0. , 0.4, 1. ])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from scipy.stats import rankdata

#: Centre and width of the logistic that maps ACF scores to the chance that a detection is
#: a true positive (IoU >= 0.5 with a scored ground-truth box), fitted by maximum
#: likelihood on the 7,387 public detections of the four MOT15 sequences
#: (``python -m pipeline.evaluation.tune_trackers --calibrate``).
ACF_LOGISTIC_CENTRE = 23.1
ACF_LOGISTIC_WIDTH = 14.6


@dataclass(frozen=True)
class ScoreMap:
    """One way to turn a file's scores into 0..1.

    Attributes:
        function: Maps all of a file's scores at once (some candidates use their spread).
        description: What it does, in a few words.
    """

    function: Callable[[np.ndarray], np.ndarray]
    description: str


def _divide_by_max(scores: np.ndarray) -> np.ndarray:
    return np.clip(scores / max(float(scores.max()), 1e-12), 0.0, 1.0)


def _min_max(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.ones_like(scores)


def _percentile(scores: np.ndarray) -> np.ndarray:
    # Mid-ranks: ties share a value, and no score becomes exactly 0 or 1.
    return (rankdata(scores) - 0.5) / len(scores)


def _robust_z_logistic(scores: np.ndarray) -> np.ndarray:
    median = float(np.median(scores))
    spread = 1.4826 * float(np.median(np.abs(scores - median))) or 1.0
    return expit((scores - median) / spread)


def _clip(divisor: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda scores: np.clip(scores / divisor, 0.0, 1.0)


def _acf_logistic(scores: np.ndarray) -> np.ndarray:
    return expit((scores - ACF_LOGISTIC_CENTRE) / ACF_LOGISTIC_WIDTH)


#: The candidates measured, by name.
SCORE_MAPS: dict[str, ScoreMap] = {
    "raw": ScoreMap(lambda scores: scores, "the file's scores as they are"),
    "divide_by_max": ScoreMap(_divide_by_max, "score / the file's highest score"),
    "min_max": ScoreMap(_min_max, "(score - file min) / (file max - file min)"),
    "percentile": ScoreMap(_percentile, "the score's rank in its file, as a fraction"),
    "robust_z_logistic": ScoreMap(
        _robust_z_logistic, "logistic of (score - file median) / (1.4826 MAD)"
    ),
    "clip_15": ScoreMap(_clip(15.0), "clip(score / 15, 0, 1)"),
    "clip_20": ScoreMap(_clip(20.0), "clip(score / 20, 0, 1)"),
    "clip_25": ScoreMap(_clip(25.0), "clip(score / 25, 0, 1)"),
    "clip_35": ScoreMap(_clip(35.0), "clip(score / 35, 0, 1)"),
    "clip_50": ScoreMap(_clip(50.0), "clip(score / 50, 0, 1)"),
    "clip_100": ScoreMap(_clip(100.0), "clip(score / 100, 0, 1)"),
    "acf_logistic": ScoreMap(
        _acf_logistic,
        f"logistic((score - {ACF_LOGISTIC_CENTRE:g}) / {ACF_LOGISTIC_WIDTH:g}), fitted to "
        "P(true positive) of MOT15's ACF detections",
    ),
}

#: The rule applied to a file whose scores are not all within 0..1.
DEFAULT_SCORE_MAP = "clip_25"

#: The rule in words, for help texts.
SCORE_RULE = (
    "scores outside 0..1 (MOT15's public ACF detections) are mapped to 0..1 as "
    f"{SCORE_MAPS[DEFAULT_SCORE_MAP].description}; a file whose scores all lie in 0..1 "
    "is used as it is"
)


def scores_in_unit_range(scores: np.ndarray) -> bool:
    """Whether every score lies in 0..1 (then it is taken for a probability)."""
    return bool(np.all((scores >= 0.0) & (scores <= 1.0)))


def to_unit_scores(scores: np.ndarray, score_map: str = DEFAULT_SCORE_MAP) -> np.ndarray:
    """A file's detection scores in 0..1, mapped only when they are not already.

    Args:
        scores: All the scores of one detections file.
        score_map: A name from :data:`SCORE_MAPS` (for measuring the candidates).

    Returns:
        ``scores`` itself when all lie in 0..1, else the mapped scores (float64).

    Raises:
        KeyError: Unknown ``score_map``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    mapping = SCORE_MAPS[score_map]
    if len(scores) == 0 or scores_in_unit_range(scores):
        return scores
    return mapping.function(scores)
