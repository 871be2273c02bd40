"""Each training method learns a separable problem, and ``train`` records its history."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from altmin_hls.reference.metrics import roc_auc
from altmin_hls.reference.mlp import MLP
from altmin_hls.reference.train import METHODS, train


def separable_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw 5 standard-normal features labelled by a hyperplane, with a margin of 0.2."""
    rng = np.random.default_rng(seed)
    direction = np.array([1.0, -0.8, 0.6, 0.0, 0.3])
    direction /= np.linalg.norm(direction)
    x = rng.normal(size=(3 * n, 5))
    distance = x @ direction
    keep = np.abs(distance) > 0.2
    return x[keep][:n], (distance[keep][:n] > 0).astype(float)


@pytest.mark.parametrize("method", METHODS)
def test_method_learns_separable_data(method: str) -> None:
    x, y = separable_data(2000, seed=0)
    x_val, y_val = separable_data(1000, seed=1)
    model = MLP.init(rng=2)
    history = train(model, x, y, method, epochs=5, batch_size=32, seed=3)
    assert roc_auc(y_val, model.predict(x_val)) > 0.9
    assert history.train_auc[-1] > 0.9


def test_train_history_and_progress() -> None:
    x, y = separable_data(300, seed=4)
    x_val, y_val = separable_data(100, seed=5)
    calls: list[tuple[int, int, dict[str, float]]] = []

    def progress(epoch: int, n_epochs: int, metrics: Mapping[str, float]) -> None:
        calls.append((epoch, n_epochs, dict(metrics)))

    history = train(
        MLP.init(rng=6), x, y, "sgd", epochs=3, batch_size=50, seed=7,
        x_val=x_val, y_val=y_val, progress=progress,
    )
    assert [call[:2] for call in calls] == [(1, 3), (2, 3), (3, 3)]
    for name, values in history.to_dict().items():
        assert values.shape == (3,), name
    assert calls[-1][2]["val_auc"] == history.val_auc[-1]
    assert history.train_loss[-1] < history.train_loss[0]


def test_train_same_seed_same_weights() -> None:
    x, y = separable_data(200, seed=8)
    first = MLP.init(rng=9)
    second = MLP.init(rng=9)
    train(first, x, y, "altmin-hw", epochs=2, batch_size=32, seed=10)
    train(second, x, y, "altmin-hw", epochs=2, batch_size=32, seed=10)
    for a, b in zip(first.parameters(), second.parameters()):
        np.testing.assert_array_equal(a, b)


def test_train_passes_options() -> None:
    x, y = separable_data(64, seed=11)
    model = MLP.init(rng=12)
    initial = model.copy()
    train(model, x, y, "altmin-hw", epochs=1, batch_size=32, seed=0, options={"weight_lr": 0.0})
    for a, b in zip(model.parameters(), initial.parameters()):
        np.testing.assert_array_equal(a, b)


def test_train_rejects_unknown_method() -> None:
    x, y = separable_data(10, seed=13)
    with pytest.raises(ValueError, match="unknown method 'adam'"):
        train(MLP.init(rng=0), x, y, "adam", epochs=1, batch_size=4, seed=0)
