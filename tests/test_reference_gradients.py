"""Finite-difference checks of every analytic gradient in the float reference.

The losses are written out here from docs/algorithm.md, independent of the module.
Central differences with step 1e-6 on float64 agree with the analytic gradients to
about 1e-8, unless a ReLU input lies within 1e-6 of zero, which these random draws avoid.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from altmin_hls.reference.altmin import (
    local_weight_gradients,
    lower_code_gradient,
    top_code_gradient,
)
from altmin_hls.reference.mlp import MLP
from altmin_hls.reference.sgd import backprop_gradients

SIZES = [(5, 25, 30, 1), (4, 6, 5, 3, 1)]
STEP = 1e-6
MU = 0.003


def numerical_gradient(loss: Callable[[], float], array: np.ndarray) -> np.ndarray:
    """Differentiate ``loss`` by central differences, perturbing ``array`` in place."""
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + STEP
        upper = loss()
        array[index] = saved - STEP
        lower = loss()
        array[index] = saved
        gradient[index] = (upper - lower) / (2.0 * STEP)
    return gradient


def mean_bce_of_logits(z: np.ndarray, y: np.ndarray) -> float:
    """Return mean(-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z)))."""
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def network_logits(model: MLP, x: np.ndarray) -> np.ndarray:
    a = x
    for w, b in zip(model.weights[:-1], model.biases[:-1]):
        a = np.maximum(a @ w.T + b, 0.0)
    return a @ model.weights[-1][0] + model.biases[-1][0]


def make_problem(sizes: tuple[int, ...], seed: int) -> tuple[MLP, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    model = MLP.init(sizes, rng=rng)
    x = rng.normal(size=(9, sizes[0]))
    y = (rng.random(9) < 0.5).astype(float)
    y[:2] = [0.0, 1.0]
    return model, x, y


def perturbed_codes(model: MLP, x: np.ndarray, seed: int) -> list[np.ndarray]:
    """Return the forward codes moved by noise, as code steps would move them."""
    rng = np.random.default_rng(seed)
    return [c + 0.1 * rng.normal(size=c.shape) for c in model.forward(x).codes]


@pytest.mark.parametrize("sizes", SIZES)
def test_backprop_matches_finite_differences(sizes: tuple[int, ...]) -> None:
    model, x, y = make_problem(sizes, seed=0)
    weight_gradients, bias_gradients, _ = backprop_gradients(model, x, y)

    def loss() -> float:
        return mean_bce_of_logits(network_logits(model, x), y)

    for index in range(len(model.weights)):
        expected_w = numerical_gradient(loss, model.weights[index])
        expected_b = numerical_gradient(loss, model.biases[index])
        np.testing.assert_allclose(weight_gradients[index], expected_w, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(bias_gradients[index], expected_b, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("sizes", SIZES)
def test_top_code_gradient_matches_scaled_bce(sizes: tuple[int, ...]) -> None:
    model, x, y = make_problem(sizes, seed=1)
    c_top = perturbed_codes(model, x, seed=2)[-1]
    w_out = model.weights[-1][0]
    b_out = model.biases[-1][0]

    def loss() -> float:
        z = np.maximum(c_top, 0.0) @ w_out + b_out
        return mean_bce_of_logits(z, y) / MU

    expected = numerical_gradient(loss, c_top)
    actual = top_code_gradient(model, c_top, y, MU)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("sizes", SIZES)
def test_lower_code_gradient_matches_mse(sizes: tuple[int, ...]) -> None:
    model, x, _ = make_problem(sizes, seed=3)
    codes = perturbed_codes(model, x, seed=4)
    for index in range(model.n_hidden - 1):
        c = codes[index].copy()
        c_above = codes[index + 1]
        w = model.weights[index + 1]
        b = model.biases[index + 1]

        def loss(c: np.ndarray = c, c_above: np.ndarray = c_above, w: np.ndarray = w,
                 b: np.ndarray = b) -> float:
            return float(np.mean((np.maximum(c, 0.0) @ w.T + b - c_above) ** 2))

        expected = numerical_gradient(loss, c)
        actual = lower_code_gradient(model, index, c, c_above)
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("sizes", SIZES)
def test_local_weight_gradients_match_layer_losses(sizes: tuple[int, ...]) -> None:
    model, x, y = make_problem(sizes, seed=5)
    codes = perturbed_codes(model, x, seed=6)
    weight_gradients, bias_gradients = local_weight_gradients(model, x, y, codes)
    inputs = [x] + [np.maximum(c, 0.0) for c in codes]
    n_layers = len(model.weights)
    for index in range(n_layers):
        w = model.weights[index]
        b = model.biases[index]
        a = inputs[index]
        if index < n_layers - 1:
            target = codes[index]

            def loss(w: np.ndarray = w, b: np.ndarray = b, a: np.ndarray = a,
                     target: np.ndarray = target) -> float:
                return float(np.mean((a @ w.T + b - target) ** 2))
        else:

            def loss(w: np.ndarray = w, b: np.ndarray = b, a: np.ndarray = a) -> float:
                return mean_bce_of_logits(a @ w[0] + b[0], y)

        expected_w = numerical_gradient(loss, w)
        expected_b = numerical_gradient(loss, b)
        np.testing.assert_allclose(weight_gradients[index], expected_w, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(bias_gradients[index], expected_b, rtol=1e-5, atol=1e-9)
