"""Tests of the metrics against their brute-force definitions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from altmin_hls.reference.metrics import accuracy, bce, hanley_mcneil_error, roc_auc, roc_curve


def brute_force_auc(y: np.ndarray, score: np.ndarray) -> float:
    wins = 0.0
    pairs = 0
    for i, j in itertools.product(np.flatnonzero(y == 1), np.flatnonzero(y == 0)):
        pairs += 1
        if score[i] > score[j]:
            wins += 1.0
        elif score[i] == score[j]:
            wins += 0.5
    return wins / pairs


@pytest.fixture
def tied_scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = (rng.random(120) < 0.4).astype(float)
    # Rounding to one decimal creates many ties within and across the classes.
    score = np.round(rng.random(120) * 0.6 + 0.3 * y, 1)
    return y, score


def test_auc_matches_pair_count(tied_scores: tuple[np.ndarray, np.ndarray]) -> None:
    y, score = tied_scores
    assert roc_auc(y, score) == pytest.approx(brute_force_auc(y, score), abs=1e-12)


def test_auc_without_ties() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(80) < 0.5).astype(float)
    score = rng.normal(size=80) + y
    assert roc_auc(y, score) == pytest.approx(brute_force_auc(y, score), abs=1e-12)


def test_auc_extremes() -> None:
    y = np.array([0.0, 0.0, 1.0, 1.0])
    assert roc_auc(y, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert roc_auc(y, np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    assert roc_auc(y, np.full(4, 0.5)) == 0.5


def test_auc_one_class_raises() -> None:
    with pytest.raises(ValueError, match="only one class"):
        roc_auc(np.ones(5), np.arange(5.0))


def test_metrics_reject_non_binary_labels() -> None:
    with pytest.raises(ValueError, match="only 0 and 1"):
        accuracy(np.array([0.0, 2.0]), np.array([0.1, 0.9]))


def test_roc_curve_matches_thresholds(tied_scores: tuple[np.ndarray, np.ndarray]) -> None:
    y, score = tied_scores
    fpr, tpr, thresholds = roc_curve(y, score)
    assert thresholds[0] == np.inf
    np.testing.assert_array_equal(thresholds[1:], np.unique(score)[::-1])
    for f, t, threshold in zip(fpr, tpr, thresholds):
        positive = score >= threshold
        assert t == pytest.approx(np.sum(positive & (y == 1)) / np.sum(y == 1))
        assert f == pytest.approx(np.sum(positive & (y == 0)) / np.sum(y == 0))
    assert (fpr[-1], tpr[-1]) == (1.0, 1.0)


def test_roc_curve_area_equals_auc(tied_scores: tuple[np.ndarray, np.ndarray]) -> None:
    y, score = tied_scores
    fpr, tpr, _ = roc_curve(y, score)
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    assert area == pytest.approx(roc_auc(y, score), abs=1e-12)


def test_accuracy_threshold_inclusive() -> None:
    y = np.array([1.0, 0.0, 1.0, 0.0])
    score = np.array([0.5, 0.49, 0.2, 0.9])
    assert accuracy(y, score) == 0.5
    assert accuracy(y, score, threshold=0.1) == 0.5
    assert accuracy(y, score, threshold=0.95) == 0.5
    assert accuracy(y, np.array([0.6, 0.4, 0.7, 0.3])) == 1.0


def test_bce_formula_and_clipping() -> None:
    y = np.array([1.0, 0.0, 1.0])
    p = np.array([0.8, 0.3, 0.5])
    expected = -(np.log(0.8) + np.log(0.7) + np.log(0.5)) / 3.0
    assert bce(y, p) == pytest.approx(expected, rel=1e-12)
    clipped = bce(np.array([1.0, 0.0]), np.array([0.0, 1.0]), eps=1e-6)
    assert clipped == pytest.approx(-np.log(1e-6), rel=1e-9)
    assert np.isfinite(bce(np.array([1.0]), np.array([0.0])))


def test_hanley_mcneil_error_known_value():
    # AUC 0.5 with 10 + 10 samples: Q1 = Q2 = 1/3, variance (1/4 + 9/12 + 9/12) / 100.
    assert hanley_mcneil_error(0.5, 10, 10) == pytest.approx(math.sqrt(0.0175), rel=1e-12)


def test_hanley_mcneil_error_shrinks_with_sample():
    assert hanley_mcneil_error(0.95, 1000, 5000) < hanley_mcneil_error(0.95, 100, 500)
