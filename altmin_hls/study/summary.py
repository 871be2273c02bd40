"""Condense the runs of a study into per-method statistics over seeds, and the verdict.

The spread over seeds is the sample standard deviation (``ddof=1``); with one seed it is
0. Minimum and maximum over seeds are kept alongside it in the JSON tables.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from altmin_hls.reference.metrics import hanley_mcneil_error
from altmin_hls.study.study import (
    ACCURACY_THRESHOLD,
    ALTMIN_METHODS,
    CURVE_KEYS,
    RECOVERY_TOLERANCE,
    TRAIN_FRACTION,
    StudyResult,
)

METRICS = ("auc", "accuracy")
RECOVERY_KINDS = ("best", "pre_smearing")


def spread(values: list[float] | np.ndarray) -> dict[str, float]:
    """Return the mean, sample standard deviation, minimum and maximum of per-seed values."""
    array = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if array.size > 1 else 0.0,
        "min": float(array.min()),
        "max": float(array.max()),
    }


def _matrix(result: StudyResult, method: str, metric: str) -> np.ndarray:
    """Return the per-seed matrices of one method, shape (seeds, sets after, sets tested)."""
    name = "auc_matrix" if metric == "auc" else "accuracy_matrix"
    return np.stack([getattr(run, name) for run in result.runs_of(method)])


def per_experience(result: StudyResult, metric: str) -> dict[str, list[dict[str, float]]]:
    """Return, per method, the metric on each set's test split right after learning that set.

    Entry 0 is the unsmeared test split after pre-training and entry k the test split of
    experience k after learning experience k.
    """
    table = {}
    for method in result.methods:
        diagonal = np.diagonal(_matrix(result, method, metric), axis1=1, axis2=2)
        table[method] = [spread(diagonal[:, k]) for k in range(diagonal.shape[1])]
    return table


def unsmeared_after(result: StudyResult, metric: str) -> dict[str, list[dict[str, float]]]:
    """Return, per method, the metric on the unsmeared test split after pre-training and after each experience."""
    table = {}
    for method in result.methods:
        column = _matrix(result, method, metric)[:, :, 0]
        table[method] = [spread(column[:, i]) for i in range(column.shape[1])]
    return table


def mean_matrix(result: StudyResult, method: str, metric: str) -> np.ndarray:
    """Return the forgetting matrix of one method averaged over seeds."""
    return _matrix(result, method, metric).mean(axis=0)


def final_forgetting(matrix: np.ndarray) -> float:
    """Return the average forgetting of a matrix after its last row.

    For each set j before the last, forgetting is the best value that set reached in any
    earlier row (from the row where it was learned on) minus its value in the last row.
    Set 0 counts from row 0, after pre-training. The result is the mean over those sets.
    """
    last = matrix.shape[0] - 1
    if last < 1:
        return float("nan")
    drops = [np.max(matrix[j:last, j]) - matrix[last, j] for j in range(last)]
    return float(np.mean(drops))


def forgetting(result: StudyResult, metric: str) -> dict[str, dict[str, float]]:
    """Return, per method, the spread over seeds of ``final_forgetting``."""
    return {
        method: spread([final_forgetting(m) for m in _matrix(result, method, metric)])
        for method in result.methods
    }


def recovery(result: StudyResult, kind: str) -> dict[str, list[dict[str, Any]]]:
    """Return, per method and experience, the recovery epoch of every seed and their mean.

    ``kind`` is "best" (within the tolerance of the best test AUC this run reaches on the
    experience) or "pre_smearing" (of its own AUC on the unsmeared test split after
    pre-training). ``mean`` averages the seeds that recovered and is None if none did.
    """
    if kind not in RECOVERY_KINDS:
        raise ValueError(f"unknown recovery kind {kind!r}; expected one of {RECOVERY_KINDS}")
    table = {}
    for method in result.methods:
        per_seed = [
            run.recovery_to_best() if kind == "best" else run.recovery_to_pre_smearing()
            for run in result.runs_of(method)
        ]
        rows = []
        for k in range(result.n_experiences):
            epochs = [seed_epochs[k] for seed_epochs in per_seed]
            reached = [e for e in epochs if e is not None]
            rows.append(
                {
                    "epochs": epochs,
                    "recovered": len(reached),
                    "mean": float(np.mean(reached)) if reached else None,
                    "min": min(reached) if reached else None,
                    "max": max(reached) if reached else None,
                }
            )
        table[method] = rows
    return table


def compare(a: dict[str, float], b: dict[str, float], statistical: float = 0.0) -> str:
    """Return "matched", "better" or "worse" for a against b.

    Matched means ``|mean_a - mean_b| <= std_a + std_b + statistical``: the seed intervals
    mean ± std overlap once widened by the statistical uncertainty of the difference on
    the finite test sample.
    """
    difference = a["mean"] - b["mean"]
    allowed = a["std"] + b["std"] + statistical
    if math.isnan(difference):
        return "undefined"
    if abs(difference) <= allowed:
        return "matched"
    return "better" if difference > 0 else "worse"


def difference_uncertainty(metric: str, value: float, test) -> float:
    """Return the statistical uncertainty of a difference of two metric values on one test split.

    Two methods are scored on the same tracks, so their errors are correlated and this
    uncorrelated estimate, sqrt(2) times the error of one value, is an upper bound. The
    error of one AUC is Hanley-McNeil's; that of one accuracy is binomial.
    """
    n_positive = test.n_hard_scatter
    n_negative = test.n_tracks - n_positive
    if math.isnan(value) or n_positive == 0 or n_negative == 0:
        return 0.0
    if metric == "auc":
        single = hanley_mcneil_error(value, n_positive, n_negative)
    else:
        single = math.sqrt(value * (1.0 - value) / test.n_tracks)
    return math.sqrt(2.0) * single


def verdict(result: StudyResult) -> dict[str, dict[str, Any]]:
    """Compare each AltMin variant with SGD on each experience, in AUC and in accuracy.

    Returns ``{variant: {metric: {"per_experience": [...], "matched_or_better": n,
    "worse_on": [k, ...]}}}``. Empty when SGD or every AltMin variant is missing.
    """
    if "sgd" not in result.methods:
        return {}
    outcome: dict[str, dict[str, Any]] = {}
    for metric in METRICS:
        table = per_experience(result, metric)
        statistical = [
            difference_uncertainty(metric, table["sgd"][k]["mean"], result.data.test[k])
            for k in range(result.n_experiences + 1)
        ]
        for variant in (m for m in ALTMIN_METHODS if m in result.methods):
            statuses = [
                compare(table[variant][k], table["sgd"][k], statistical[k])
                for k in range(1, result.n_experiences + 1)
            ]
            outcome.setdefault(variant, {})[metric] = {
                "per_experience": statuses,
                "matched_or_better": sum(s in ("matched", "better") for s in statuses),
                "worse_on": [k for k, s in enumerate(statuses, start=1) if s == "worse"],
                "better_on": [k for k, s in enumerate(statuses, start=1) if s == "better"],
            }
    return outcome


def _split_table(result: StudyResult) -> list[dict[str, int]]:
    rows = []
    for index, (train, test) in enumerate(zip(result.data.train, result.data.test)):
        rows.append(
            {
                "set": index,
                "train_events": train.n_events,
                "train_tracks": train.n_tracks,
                "test_events": test.n_events,
                "test_tracks": test.n_tracks,
                "test_hard_scatter_tracks": test.n_hard_scatter,
            }
        )
    return rows


def settings(result: StudyResult) -> dict[str, Any]:
    """Return the settings of a study as plain data."""
    config = result.config
    return {
        "data_source": result.data_source or result.config.generator,
        "seeds": result.seeds,
        "methods": result.methods,
        "epochs_per_experience": result.epochs_per_experience,
        "pretrain_epochs": result.pretrain_epochs,
        "pretrain_batch_size": config.pretrain_batch_size,
        "batch_size": config.batch_size,
        "frozen_pretrained_with": config.pretrain_method,
        "train_fraction": TRAIN_FRACTION,
        "accuracy_threshold": ACCURACY_THRESHOLD,
        "recovery_tolerance_auc": RECOVERY_TOLERANCE,
        "spread": "sample standard deviation over seeds (ddof=1); min and max also given",
        "seconds": result.seconds,
        "config": config.raw,
        "config_digest": config.digest(),
    }


def to_json(result: StudyResult) -> dict[str, Any]:
    """Return every table and every per-run curve of a study as JSON-ready data."""
    runs = []
    for (method, seed), run in result.runs.items():
        runs.append(
            {
                "method": method,
                "seed": seed,
                "pretrained_with": run.pretrained_with,
                "auc_matrix": run.auc_matrix.tolist(),
                "accuracy_matrix": run.accuracy_matrix.tolist(),
                "recovery_to_best": run.recovery_to_best(),
                "recovery_to_pre_smearing": run.recovery_to_pre_smearing(),
                "pretrain_curves": run.pretrain_curves,
                "experience_curves": [{key: curve[key] for key in CURVE_KEYS} for curve in run.curves],
            }
        )
    return {
        "settings": settings(result),
        "splits": _split_table(result),
        "per_experience": {metric: per_experience(result, metric) for metric in METRICS},
        "unsmeared_after": {metric: unsmeared_after(result, metric) for metric in METRICS},
        "forgetting": {metric: forgetting(result, metric) for metric in METRICS},
        "mean_matrices": {
            metric: {method: mean_matrix(result, method, metric).tolist() for method in result.methods}
            for metric in METRICS
        },
        "recovery": {kind: recovery(result, kind) for kind in RECOVERY_KINDS},
        "verdict": verdict(result),
        "runs": runs,
    }
