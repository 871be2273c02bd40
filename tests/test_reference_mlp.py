"""Tests of the float64 MLP: initialisation, forward pass, copies and saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from altmin_hls.reference.mlp import MLP, sigmoid


def test_init_shapes_and_bounds() -> None:
    model = MLP.init(rng=0)
    assert model.sizes == (5, 25, 30, 1)
    assert model.n_hidden == 2
    assert model.n_parameters == 5 * 25 + 25 + 25 * 30 + 30 + 30 + 1
    for w, b in zip(model.weights, model.biases):
        bound = 1.0 / np.sqrt(w.shape[1])
        assert np.all(np.abs(w) <= bound)
        assert np.all(np.abs(b) <= bound)
        # A uniform draw of this size reaches well past half the bound.
        assert np.max(np.abs(w)) > 0.5 * bound


def test_init_same_seed_same_weights() -> None:
    first = MLP.init(rng=7)
    second = MLP.init(rng=7)
    for a, b in zip(first.parameters(), second.parameters()):
        np.testing.assert_array_equal(a, b)


def test_forward_matches_layer_formulas() -> None:
    model = MLP.init(rng=1)
    x = np.random.default_rng(2).normal(size=(7, 5))
    forward = model.forward(x)
    w1, w2, w3 = model.weights
    b1, b2, b3 = model.biases
    c1 = x @ w1.T + b1
    h1 = np.maximum(c1, 0.0)
    c2 = h1 @ w2.T + b2
    h2 = np.maximum(c2, 0.0)
    z = h2 @ w3[0] + b3[0]
    np.testing.assert_allclose(forward.c1, c1)
    np.testing.assert_allclose(forward.h1, h1)
    np.testing.assert_allclose(forward.c2, c2)
    np.testing.assert_allclose(forward.h2, h2)
    np.testing.assert_allclose(forward.z, z)
    np.testing.assert_allclose(forward.p, 1.0 / (1.0 + np.exp(-z)))
    assert forward.p.shape == (7,)
    np.testing.assert_array_equal(model.predict(x), forward.p)


def test_forward_rejects_wrong_width() -> None:
    with pytest.raises(ValueError, match=r"shape \(n, 5\)"):
        MLP.init(rng=0).forward(np.zeros((3, 4)))


def test_sigmoid_extreme_logits() -> None:
    p = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(p, [0.0, 0.5, 1.0])


def test_constructor_copies_arrays() -> None:
    weights = [np.ones((2, 3)), np.ones((1, 2))]
    biases = [np.zeros(2), np.zeros(1)]
    model = MLP(weights, biases)
    model.weights[0] -= 1.0
    assert weights[0][0, 0] == 1.0


def test_constructor_rejects_mismatched_layers() -> None:
    with pytest.raises(ValueError, match="W2 has 4 inputs"):
        MLP([np.ones((2, 3)), np.ones((1, 4))], [np.zeros(2), np.zeros(1)])
    with pytest.raises(ValueError, match="output layer must have 1 unit"):
        MLP([np.ones((2, 3)), np.ones((2, 2))], [np.zeros(2), np.zeros(2)])


def test_copy_is_independent() -> None:
    model = MLP.init(rng=3)
    clone = model.copy()
    clone.weights[1][0, 0] += 1.0
    assert clone.weights[1][0, 0] != model.weights[1][0, 0]


def test_npz_round_trip(tmp_path: Path) -> None:
    model = MLP.init((4, 6, 5, 3, 1), rng=4)
    path = tmp_path / "weights.npz"
    np.savez(path, **model.to_dict())
    with np.load(path) as arrays:
        loaded = MLP.from_dict(arrays)
    assert loaded.sizes == (4, 6, 5, 3, 1)
    for a, b in zip(model.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a, b)


def test_from_dict_missing_bias() -> None:
    arrays = MLP.init(rng=0).to_dict()
    del arrays["b2"]
    with pytest.raises(KeyError, match="b2"):
        MLP.from_dict(arrays)
