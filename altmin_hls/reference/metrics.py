"""Binary classification metrics on labels ``y`` in {0, 1} and real scores, both of shape (n,)."""

from __future__ import annotations

import logging

import math

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_BCE_EPS = 1e-12


def _validate_scores(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    if y.ndim != 1 or score.shape != y.shape:
        raise ValueError(
            f"y and score must be 1-D of equal length, got shapes {y.shape} and {score.shape}"
        )
    if y.size == 0:
        raise ValueError("y and score are empty")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise ValueError(f"y must contain only 0 and 1, got values {np.unique(y)[:5]}")
    if np.any(np.isnan(score)):
        raise ValueError("score contains NaN")
    return y, score


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Rank ``values`` (n,) from 1 to n, giving tied values the mean of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    last_rank = np.cumsum(counts)
    mean_rank = last_rank - (counts - 1) / 2.0
    return mean_rank[inverse]


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Compute the area under the ROC curve with the Mann-Whitney U statistic.

    Equals the fraction of (positive, negative) pairs in which the positive has the
    higher score, with tied pairs counting 1/2. Raises ValueError if ``y`` contains
    only one class, because the AUC is then undefined.
    """
    y, score = _validate_scores(y, score)
    n_positive = int(y.sum())
    n_negative = y.size - n_positive
    if n_positive == 0 or n_negative == 0:
        raise ValueError(
            f"ROC AUC is undefined with only one class: {n_positive} positives, "
            f"{n_negative} negatives"
        )
    ranks = average_ranks(score)
    u_statistic = ranks[y == 1.0].sum() - n_positive * (n_positive + 1) / 2.0
    return float(u_statistic / (n_positive * n_negative))


def accuracy(y: np.ndarray, score: np.ndarray, threshold: float = 0.5) -> float:
    """Return the fraction of samples where ``score >= threshold`` equals ``y == 1``."""
    y, score = _validate_scores(y, score)
    return float(np.mean((score >= threshold) == (y == 1.0)))


def bce(y: np.ndarray, p: np.ndarray, eps: float = DEFAULT_BCE_EPS) -> float:
    """Compute the mean binary cross-entropy, with ``p`` clipped to ``[eps, 1 - eps]``."""
    y, p = _validate_scores(y, p)
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log1p(-p)))


def roc_curve(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute the ROC curve, with a sample counted positive when ``score >= threshold``.

    Returns ``fpr``, ``tpr`` and ``thresholds``, each of shape (m + 1,) for m distinct
    scores. ``thresholds`` decreases from ``inf`` (no sample positive, fpr = tpr = 0)
    through every distinct score, so the last point is (1, 1). Unlike scikit-learn's
    default, no collinear point is dropped. Raises ValueError if ``y`` contains only
    one class.
    """
    y, score = _validate_scores(y, score)
    n_positive = y.sum()
    n_negative = y.size - n_positive
    if n_positive == 0 or n_negative == 0:
        raise ValueError(
            f"the ROC curve is undefined with only one class: {int(n_positive)} positives, "
            f"{int(n_negative)} negatives"
        )
    order = np.argsort(-score, kind="stable")
    sorted_score = score[order]
    sorted_y = y[order]
    # The last index of each run of equal scores closes one threshold.
    last_of_run = np.r_[np.nonzero(np.diff(sorted_score))[0], sorted_score.size - 1]
    true_positives = np.cumsum(sorted_y)[last_of_run]
    false_positives = (last_of_run + 1) - true_positives
    fpr = np.r_[0.0, false_positives / n_negative]
    tpr = np.r_[0.0, true_positives / n_positive]
    thresholds = np.r_[np.inf, sorted_score[last_of_run]]
    return fpr, tpr, thresholds


def hanley_mcneil_error(auc: float, n_positive: int, n_negative: int) -> float:
    """Return the Hanley-McNeil (1982) standard error of an AUC measured on a finite sample."""
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    variance = (
        auc * (1.0 - auc) + (n_positive - 1) * (q1 - auc * auc) + (n_negative - 1) * (q2 - auc * auc)
    ) / (n_positive * n_negative)
    return float(math.sqrt(max(variance, 0.0)))
