"""Alternating Minimisation (AltMin) in float64: the published form and the firmware's float twin.

Both follow docs/algorithm.md. Within a minibatch the weights are fixed: the forward pass
gives the initial codes ``c_l`` (pre-activations of the hidden layers), the codes are
moved to lower the output loss, and then each layer is fitted to its own target alone.
Arrays have samples as rows: ``x`` is (n, n_in), the codes ``c_l`` are (n, n_l) and the
labels ``y`` are (n,) in {0, 1}. For the 5-25-30-1 network, ``codes[0]`` is ``c1`` and
``codes[1]`` is ``c2``. The classes work for any number of hidden layers: every code
below the top fits the code above it, exactly as ``c1`` fits ``c2``.
"""

from __future__ import annotations

import logging

import numpy as np

from altmin_hls.reference.mlp import MLP, Forward, relu, validate_batch
from altmin_hls.reference.optim import Adam, nesterov_descent

logger = logging.getLogger(__name__)


def top_code_gradient(model: MLP, c_top: np.ndarray, y: np.ndarray, mu: float) -> np.ndarray:
    """Return ``(1/(mu n)) (p - y) W_out * 1[c_top > 0]``, shape (n, n_L).

    This is the gradient with respect to ``c_top`` of ``(1/mu)`` times the mean binary
    cross-entropy of ``p = sigmoid(W_out relu(c_top) + b_out)`` over the n samples.
    """
    _, p = model.output_from_top_code(c_top)
    n = c_top.shape[0]
    return ((p - y)[:, None] * model.weights[-1][0]) * (c_top > 0) / (mu * n)


def lower_code_gradient(
    model: MLP, index: int, c: np.ndarray, c_above: np.ndarray
) -> np.ndarray:
    """Return the gradient of code ``codes[index]`` when it fits the code above it.

    ``W, b`` are ``model.weights[index + 1]``, ``model.biases[index + 1]`` (W2, b2 for
    ``c1``), with ``n_out`` rows. The loss is the mean squared error, over the n samples
    and the ``n_out`` units, between ``W relu(c) + b`` and ``c_above``. Its gradient is
    ``(2/(n_out n)) (r @ W) * 1[c > 0]`` with residual ``r = W relu(c) + b - c_above``.
    ``c`` is (n, n_in) of that layer and ``c_above`` (n, n_out).
    """
    w = model.weights[index + 1]
    residual = model.layer(index + 1, relu(c)) - c_above
    n = c.shape[0]
    return (2.0 / (w.shape[0] * n)) * (residual @ w) * (c > 0)


def residual_gradient_sums(
    model: MLP,
    x: np.ndarray,
    y: np.ndarray,
    codes: list[np.ndarray],
    c1_initial: np.ndarray,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Sum the local-loss residual products of each layer over the n samples.

    Layer l (1-based) has input ``a_0 = x`` or ``a_{l-1} = relu(codes[l - 2])`` and
    residual:

    - first layer: ``r = c1_initial - codes[0]``;
    - hidden layer l > 1: ``r = W_l a_{l-1} + b_l - codes[l - 1]``;
    - output layer: ``e = sigmoid(W_out a_L + b_out) - y``.

    Returns ``(weight_sums, bias_sums)``: ``weight_sums[l - 1] = r^T a_{l-1}`` in the
    shape of ``W_l`` and ``bias_sums[l - 1]`` the column sums of ``r``. ``c1_initial``
    must be ``W1 x + b1`` for the current weights, so the first residual is also that of
    ``W1 x + b1`` against its target code.
    """
    n_hidden = model.n_hidden
    inputs = [x] + [relu(c) for c in codes]
    weight_sums: list[np.ndarray] = []
    bias_sums: list[np.ndarray] = []
    for index in range(n_hidden):
        if index == 0:
            residual = c1_initial - codes[0]
        else:
            residual = model.layer(index, inputs[index]) - codes[index]
        weight_sums.append(residual.T @ inputs[index])
        bias_sums.append(residual.sum(axis=0))
    error = model.output_from_top_code(codes[-1])[1] - y
    weight_sums.append(error[None, :] @ inputs[n_hidden])
    bias_sums.append(np.array([error.sum()]))
    return weight_sums, bias_sums


def local_weight_gradients(
    model: MLP, x: np.ndarray, y: np.ndarray, codes: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Compute the gradients of each layer's local loss for the published AltMin.

    A hidden layer's loss is the mean squared error, over the n samples and its
    ``n_out`` units, between ``W a + b`` and its target code, so its gradient is the
    residual sum times ``2/(n_out n)``. The output layer's loss is the mean binary
    cross-entropy of ``sigmoid(W_out relu(c_top) + b_out)`` against ``y``, so its
    gradient is the error sum times ``1/n``. Returns ``(weight_gradients,
    bias_gradients)`` in the shapes of ``model.weights`` and ``model.biases``.
    """
    first_code = model.layer(0, x)
    weight_sums, bias_sums = residual_gradient_sums(model, x, y, codes, first_code)
    n = x.shape[0]
    scales = [2.0 / (w.shape[0] * n) for w in model.weights[:-1]] + [1.0 / n]
    weight_gradients = [scale * g for scale, g in zip(scales, weight_sums)]
    bias_gradients = [scale * g for scale, g in zip(scales, bias_sums)]
    return weight_gradients, bias_gradients


def _require_hidden_layer(model: MLP) -> None:
    if model.n_hidden < 1:
        raise ValueError(f"AltMin needs at least one hidden layer, got sizes {model.sizes}")


class AltMinPublished:
    """Published online AltMin: per minibatch, Nesterov code steps, then Adam on each layer.

    The proximity term ``mu ||c - c_0||^2`` of the code losses is left out, as in the
    published code (see docs/algorithm.md), so ``mu`` only scales the top-code gradient
    by ``1/mu``. Each minibatch starts the code momenta from zero. The Adam moments and
    step count are kept across minibatches. ``model`` is updated in place.
    """

    def __init__(
        self,
        model: MLP,
        code_steps: int = 5,
        code_lr: float = 0.3,
        momentum: float = 0.9,
        mu: float = 0.003,
        weight_lr: float = 0.008,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if code_steps < 0:
            raise ValueError(f"code_steps must be >= 0, got {code_steps}")
        if mu <= 0:
            raise ValueError(f"mu must be positive, got {mu}")
        _require_hidden_layer(model)
        self.model = model
        self.code_steps = int(code_steps)
        self.code_lr = float(code_lr)
        self.momentum = float(momentum)
        self.mu = float(mu)
        self.adam = Adam(weight_lr, betas, eps)

    def optimize_codes(self, forward: Forward, y: np.ndarray) -> list[np.ndarray]:
        """Run the code steps from the codes of ``forward``, top code first.

        Each lower code fits the already updated code above it. Returns the updated
        codes, one (n, n_l) array per hidden layer, and leaves ``forward`` unchanged.
        """
        model = self.model
        codes = [c.copy() for c in forward.codes]
        top = model.n_hidden - 1
        codes[top] = nesterov_descent(
            forward.codes[top],
            lambda c: top_code_gradient(model, c, y, self.mu),
            self.code_steps,
            self.code_lr,
            self.momentum,
        )
        for index in range(top - 1, -1, -1):
            c_above = codes[index + 1]
            codes[index] = nesterov_descent(
                forward.codes[index],
                lambda c, i=index, target=c_above: lower_code_gradient(model, i, c, target),
                self.code_steps,
                self.code_lr,
                self.momentum,
            )
        return codes

    def step(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Update the model on one minibatch ``x`` (n, n_in), ``y`` (n,).

        Returns the scores (n,) computed with the weights before the update.
        """
        x, y = validate_batch(x, y, self.model.sizes[0])
        if x.shape[0] == 0:
            raise ValueError("the minibatch is empty")
        forward = self.model.forward(x)
        codes = self.optimize_codes(forward, y)
        weight_gradients, bias_gradients = local_weight_gradients(self.model, x, y, codes)
        gradients = [g for pair in zip(weight_gradients, bias_gradients) for g in pair]
        self.adam.step(self.model.parameters(), gradients)
        return forward.p


class AltMinHardware:
    """Float twin of the firmware's AltMin: per-sample code steps, one SGD step per minibatch.

    Per sample, ``code_steps`` steps move the top code with step size ``code_lr_top``
    (``g2`` in docs/algorithm.md) and then each lower code with ``code_lr_lower``
    (``g1``). The local residual products are added to per-parameter gradient sums, and
    after every ``batch_size`` samples each parameter takes one step
    ``W <- W - (weight_lr / batch_size) G`` and the sums are cleared. The sums and the
    count of samples since the last update persist across calls to ``stream``, as in
    the firmware. ``model`` is updated in place.
    """

    def __init__(
        self,
        model: MLP,
        code_steps: int = 1,
        code_lr_top: float = 1.0,
        code_lr_lower: float = 0.5,
        weight_lr: float = 2**-5,
        batch_size: int = 32,
    ) -> None:
        if code_steps < 0:
            raise ValueError(f"code_steps must be >= 0, got {code_steps}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        _require_hidden_layer(model)
        self.model = model
        self.code_steps = int(code_steps)
        self.code_lr_top = float(code_lr_top)
        self.code_lr_lower = float(code_lr_lower)
        self.weight_lr = float(weight_lr)
        self.batch_size = int(batch_size)
        self.weight_gradient_sums = [np.zeros_like(w) for w in model.weights]
        self.bias_gradient_sums = [np.zeros_like(b) for b in model.biases]
        self.n_pending = 0

    def optimize_codes(self, forward: Forward, y: np.ndarray) -> list[np.ndarray]:
        """Run the per-sample code steps from the codes of ``forward``, top code first.

        Top code, ``code_steps`` times: ``c <- c - g2 (p(c) - y) W_out * 1[c > 0]`` with
        ``p(c)`` recomputed from the current top code. Then each lower code,
        ``code_steps`` times: ``c <- c - g1 (r @ W_above) * 1[c > 0]`` with
        ``r = W_above relu(c) + b_above - c_above*``. Samples do not interact, so the
        rows are processed together. Returns one (n, n_l) array per hidden layer.
        """
        model = self.model
        codes = [c.copy() for c in forward.codes]
        w_out = model.weights[-1][0]
        c = codes[-1]
        for _ in range(self.code_steps):
            _, p = model.output_from_top_code(c)
            c = c - self.code_lr_top * (p - y)[:, None] * w_out * (c > 0)
        codes[-1] = c
        for index in range(model.n_hidden - 2, -1, -1):
            w_above = model.weights[index + 1]
            c = codes[index]
            for _ in range(self.code_steps):
                residual = model.layer(index + 1, relu(c)) - codes[index + 1]
                c = c - self.code_lr_lower * (residual @ w_above) * (c > 0)
            codes[index] = c
        return codes

    def accumulate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Add the gradient contributions of ``x`` (n, n_in), ``y`` (n,) to the sums.

        Does not update the weights. Returns the scores (n,) of the current weights.
        Raises ValueError if ``n_pending + n`` exceeds ``batch_size``.
        """
        x, y = validate_batch(x, y, self.model.sizes[0])
        free = self.batch_size - self.n_pending
        if x.shape[0] > free:
            raise ValueError(
                f"got {x.shape[0]} samples but only {free} fit in the current minibatch "
                f"({self.n_pending} of {self.batch_size} are summed); pass at most {free} "
                "or use stream"
            )
        forward = self.model.forward(x)
        codes = self.optimize_codes(forward, y)
        weight_sums, bias_sums = residual_gradient_sums(self.model, x, y, codes, forward.c1)
        for total, part in zip(self.weight_gradient_sums, weight_sums):
            total += part
        for total, part in zip(self.bias_gradient_sums, bias_sums):
            total += part
        self.n_pending += x.shape[0]
        return forward.p

    def apply_update(self) -> None:
        """Take the SGD step ``W <- W - (weight_lr / batch_size) G`` and clear the sums."""
        scale = self.weight_lr / self.batch_size
        for param, total in zip(self.model.weights, self.weight_gradient_sums):
            param -= scale * total
            total.fill(0.0)
        for param, total in zip(self.model.biases, self.bias_gradient_sums):
            param -= scale * total
            total.fill(0.0)
        self.n_pending = 0

    def step(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Update the model on one full minibatch of exactly ``batch_size`` samples.

        Returns the scores (batch_size,) computed with the weights before the update.
        Raises ValueError if ``stream`` left a partial minibatch in the sums.
        """
        x, y = validate_batch(x, y, self.model.sizes[0])
        if x.shape[0] != self.batch_size:
            raise ValueError(
                f"step needs exactly batch_size={self.batch_size} samples, got {x.shape[0]}. "
                "Use stream for other lengths."
            )
        if self.n_pending != 0:
            raise ValueError(
                f"{self.n_pending} samples of a partial minibatch are pending. "
                "Continue with stream."
            )
        return self.stream(x, y)

    def stream(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Process a stream ``x`` (n, n_in), ``y`` (n,) of any length in minibatches.

        The weights change after every ``batch_size`` samples counted from the last
        update, which may lie in an earlier call. Returns one score per sample, shape
        (n,), each computed before that sample's own minibatch updates the weights.
        """
        x, y = validate_batch(x, y, self.model.sizes[0])
        scores = np.empty(x.shape[0])
        start = 0
        while start < x.shape[0]:
            stop = min(x.shape[0], start + self.batch_size - self.n_pending)
            scores[start:stop] = self.accumulate(x[start:stop], y[start:stop])
            if self.n_pending == self.batch_size:
                self.apply_update()
            start = stop
        return scores
