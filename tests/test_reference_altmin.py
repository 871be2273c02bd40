"""Hand-checked steps of both AltMin forms, their optimisers and the streaming contract."""

from __future__ import annotations

import math

import numpy as np
import pytest

from altmin_hls.reference.altmin import AltMinHardware, AltMinPublished
from altmin_hls.reference.mlp import MLP
from altmin_hls.reference.optim import Adam, nesterov_descent
from altmin_hls.reference.sgd import SGDBackprop


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def tiny_model() -> MLP:
    """Return a 2-2-2-1 network whose second unit is inactive in both hidden layers."""
    return MLP(
        weights=[
            np.array([[0.5, -0.25], [-0.5, 0.75]]),
            np.array([[1.0, 0.5], [-0.75, 0.25]]),
            np.array([[0.5, -1.0]]),
        ],
        biases=[np.array([0.125, 0.0]), np.array([0.0, 0.25]), np.array([0.25])],
    )


def test_hardware_tiny_case_by_hand() -> None:
    x = [1.0, 0.5]
    y = 0.0
    g2, g1, eta, batch = 1.0, 0.5, 2**-5, 2
    w1 = [[0.5, -0.25], [-0.5, 0.75]]
    b1 = [0.125, 0.0]
    w2 = [[1.0, 0.5], [-0.75, 0.25]]
    b2 = [0.0, 0.25]
    w3 = [0.5, -1.0]
    b3 = 0.25

    # Forward: c1_0 = (0.5, -0.125), h1 = (0.5, 0), c2_0 = (0.5, -0.125), h2 = (0.5, 0).
    c1_0 = [w1[j][0] * x[0] + w1[j][1] * x[1] + b1[j] for j in range(2)]
    assert c1_0 == [0.5, -0.125]
    h1 = [max(c, 0.0) for c in c1_0]
    c2_0 = [w2[k][0] * h1[0] + w2[k][1] * h1[1] + b2[k] for k in range(2)]
    assert c2_0 == [0.5, -0.125]
    h2 = [max(c, 0.0) for c in c2_0]
    p = sig(w3[0] * h2[0] + w3[1] * h2[1] + b3)

    # One top-code step: only the active unit 0 moves.
    e = p - y
    c2_star = [c2_0[k] - g2 * e * w3[k] * (1.0 if c2_0[k] > 0 else 0.0) for k in range(2)]
    # One lower-code step from c1_0, where W2 relu(c1_0) + b2 = c2_0.
    r2 = [c2_0[k] - c2_star[k] for k in range(2)]
    back = [w2[0][j] * r2[0] + w2[1][j] * r2[1] for j in range(2)]
    c1_star = [c1_0[j] - g1 * back[j] * (1.0 if c1_0[j] > 0 else 0.0) for j in range(2)]

    # Residuals of the local losses and their products.
    h1_star = [max(c, 0.0) for c in c1_star]
    h2_star = [max(c, 0.0) for c in c2_star]
    e3 = sig(w3[0] * h2_star[0] + w3[1] * h2_star[1] + b3) - y
    g3 = [[e3 * h2_star[k] for k in range(2)]]
    gb3 = [e3]
    r2_star = [
        w2[k][0] * h1_star[0] + w2[k][1] * h1_star[1] + b2[k] - c2_star[k] for k in range(2)
    ]
    g2_sum = [[r2_star[k] * h1_star[j] for j in range(2)] for k in range(2)]
    r1 = [c1_0[j] - c1_star[j] for j in range(2)]
    g1_sum = [[r1[j] * x[i] for i in range(2)] for j in range(2)]

    model = tiny_model()
    trainer = AltMinHardware(
        model, code_steps=1, code_lr_top=g2, code_lr_lower=g1, weight_lr=eta, batch_size=batch
    )
    xs = np.array([x])
    ys = np.array([y])
    forward = model.forward(xs)
    codes = trainer.optimize_codes(forward, ys)
    np.testing.assert_allclose(codes[1][0], c2_star, rtol=0, atol=1e-15)
    np.testing.assert_allclose(codes[0][0], c1_star, rtol=0, atol=1e-15)

    score = trainer.stream(xs, ys)
    assert score[0] == pytest.approx(p, abs=1e-15)
    assert trainer.n_pending == 1
    np.testing.assert_allclose(trainer.weight_gradient_sums[2], g3, atol=1e-15)
    np.testing.assert_allclose(trainer.bias_gradient_sums[2], gb3, atol=1e-15)
    np.testing.assert_allclose(trainer.weight_gradient_sums[1], g2_sum, atol=1e-15)
    np.testing.assert_allclose(trainer.bias_gradient_sums[1], r2_star, atol=1e-15)
    np.testing.assert_allclose(trainer.weight_gradient_sums[0], g1_sum, atol=1e-15)
    np.testing.assert_allclose(trainer.bias_gradient_sums[0], r1, atol=1e-15)
    np.testing.assert_array_equal(model.weights[0], w1)

    # The same sample again completes the minibatch with the sums doubled.
    trainer.stream(xs, ys)
    assert trainer.n_pending == 0
    scale = eta / batch
    expected_w1 = [[w1[j][i] - scale * 2 * g1_sum[j][i] for i in range(2)] for j in range(2)]
    expected_w3 = [[w3[k] - scale * 2 * g3[0][k] for k in range(2)]]
    np.testing.assert_allclose(model.weights[0], expected_w1, atol=1e-15)
    np.testing.assert_allclose(model.weights[2], expected_w3, atol=1e-15)
    np.testing.assert_allclose(model.biases[2], [b3 - scale * 2 * e3], atol=1e-15)
    assert np.all(trainer.weight_gradient_sums[0] == 0.0)


def test_published_one_code_step_by_hand() -> None:
    model = tiny_model()
    x = np.array([[1.0, 0.5], [0.25, -1.0]])
    y = np.array([0.0, 1.0])
    mu, lr, momentum, weight_lr = 0.003, 0.3, 0.9, 0.008
    trainer = AltMinPublished(
        model, code_steps=1, code_lr=lr, momentum=momentum, mu=mu, weight_lr=weight_lr
    )
    forward = model.forward(x)
    codes = trainer.optimize_codes(forward, y)

    # First Nesterov step from zero momentum: c <- c - lr (1 + momentum) g.
    w3 = model.weights[2][0]
    grad_top = ((forward.p - y)[:, None] * w3) * (forward.c2 > 0) / (mu * 2)
    c2_star = forward.c2 - lr * (1 + momentum) * grad_top
    np.testing.assert_allclose(codes[1], c2_star, rtol=1e-14)
    w2, b2 = model.weights[1], model.biases[1]
    residual = forward.h1 @ w2.T + b2 - c2_star
    grad_lower = (2.0 / (2 * 2)) * (residual @ w2) * (forward.c1 > 0)
    np.testing.assert_allclose(codes[0], forward.c1 - lr * (1 + momentum) * grad_lower, rtol=1e-14)

    # The first Adam step moves every parameter with a nonzero gradient by weight_lr
    # against the sign of its gradient, up to eps / |g|.
    before = [p.copy() for p in model.parameters()]
    trainer.step(x, y)
    for old, new in zip(before, model.parameters()):
        moved = np.abs(new - old)
        assert np.all((np.isclose(moved, weight_lr, rtol=1e-4)) | (moved == 0.0))
    assert np.count_nonzero(model.weights[0] - before[0]) > 0


def test_nesterov_two_steps_by_hand() -> None:
    lr, momentum = 0.3, 0.9
    # f(c) = c^2 / 2, so the gradient is c itself.
    c0 = 1.0
    v1 = c0
    c1 = c0 - lr * (c0 + momentum * v1)
    v2 = momentum * v1 + c1
    c2 = c1 - lr * (c1 + momentum * v2)
    result = nesterov_descent(np.array([c0]), lambda c: c, 2, lr, momentum)
    assert result[0] == pytest.approx(c2, rel=1e-15)


def test_adam_two_steps_by_hand() -> None:
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    g_first, g_second = 0.5, -2.0
    m1 = (1 - beta1) * g_first
    v1 = (1 - beta2) * g_first**2
    x1 = 1.0 - lr / (1 - beta1) * m1 / (math.sqrt(v1) / math.sqrt(1 - beta2) + eps)
    m2 = beta1 * m1 + (1 - beta1) * g_second
    v2 = beta2 * v1 + (1 - beta2) * g_second**2
    x2 = x1 - lr / (1 - beta1**2) * m2 / (math.sqrt(v2) / math.sqrt(1 - beta2**2) + eps)
    param = np.array([1.0])
    adam = Adam(lr, (beta1, beta2), eps)
    adam.step([param], [np.array([g_first])])
    assert param[0] == pytest.approx(x1, rel=1e-14)
    adam.step([param], [np.array([g_second])])
    assert param[0] == pytest.approx(x2, rel=1e-14)


def stream_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    y = (x[:, 0] + x[:, 1] > 0).astype(float)
    return x, y


def test_hardware_stream_one_score_per_sample() -> None:
    x, y = stream_data(70, seed=0)
    model = MLP.init(rng=0)
    initial = model.copy()
    trainer = AltMinHardware(model, batch_size=32)
    scores = trainer.stream(x, y)
    assert scores.shape == (70,)
    assert trainer.n_pending == 70 - 64
    # The first minibatch is scored by the initial weights.
    np.testing.assert_array_equal(scores[:32], initial.predict(x[:32]))
    assert not np.array_equal(scores[32:64], initial.predict(x[32:64]))


def test_hardware_stream_split_matches_single_call() -> None:
    x, y = stream_data(100, seed=1)
    whole = AltMinHardware(MLP.init(rng=1), batch_size=32)
    split = AltMinHardware(MLP.init(rng=1), batch_size=32)
    scores_whole = whole.stream(x, y)
    # The split at 45 falls inside the second minibatch.
    scores_split = np.concatenate([split.stream(x[:45], y[:45]), split.stream(x[45:], y[45:])])
    # Summing a minibatch in two parts changes only the float rounding order.
    np.testing.assert_allclose(scores_split, scores_whole, rtol=1e-12, atol=1e-15)
    for a, b in zip(whole.model.parameters(), split.model.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    assert whole.n_pending == split.n_pending == 100 - 96


def test_hardware_step_needs_full_minibatch() -> None:
    x, y = stream_data(40, seed=2)
    trainer = AltMinHardware(MLP.init(rng=2), batch_size=32)
    with pytest.raises(ValueError, match="exactly batch_size=32"):
        trainer.step(x[:31], y[:31])
    trainer.stream(x[:5], y[:5])
    with pytest.raises(ValueError, match="5 samples of a partial minibatch"):
        trainer.step(x[5:37], y[5:37])


def test_hardware_step_equals_stream_of_one_minibatch() -> None:
    x, y = stream_data(32, seed=3)
    by_step = AltMinHardware(MLP.init(rng=3), batch_size=32)
    by_stream = AltMinHardware(MLP.init(rng=3), batch_size=32)
    np.testing.assert_array_equal(by_step.step(x, y), by_stream.stream(x, y))
    for a, b in zip(by_step.model.parameters(), by_stream.model.parameters()):
        np.testing.assert_array_equal(a, b)


def test_sgd_stream_one_score_per_sample() -> None:
    x, y = stream_data(70, seed=4)
    model = MLP.init(rng=4)
    initial = model.copy()
    scores = SGDBackprop(model).stream(x, y, batch_size=32)
    assert scores.shape == (70,)
    np.testing.assert_array_equal(scores[:32], initial.predict(x[:32]))
