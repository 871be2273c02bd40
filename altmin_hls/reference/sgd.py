"""Back-propagation baseline: SGD with momentum on the mean binary cross-entropy."""

from __future__ import annotations

import logging

import numpy as np

from altmin_hls.reference.mlp import MLP, validate_batch
from altmin_hls.reference.optim import MomentumSGD

logger = logging.getLogger(__name__)


def backprop_gradients(
    model: MLP, x: np.ndarray, y: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Back-propagate the mean binary cross-entropy of ``model`` on ``x`` (n, n_in), ``y`` (n,).

    The loss is ``-mean(y log p + (1 - y) log(1 - p))`` without clipping, and the ReLU
    derivative is ``1[c > 0]``. Returns ``(weight_gradients, bias_gradients, p)``, the
    gradients in the shapes of ``model.weights`` and ``model.biases`` and the scores (n,).
    """
    forward = model.forward(x)
    n = x.shape[0]
    inputs = [x] + forward.activations
    n_layers = len(model.weights)
    weight_gradients: list[np.ndarray] = [np.empty(0)] * n_layers
    bias_gradients: list[np.ndarray] = [np.empty(0)] * n_layers
    # delta is d(loss)/d(pre-activation) of the current layer, shape (n, n_out).
    delta = ((forward.p - y) / n)[:, None]
    for index in range(n_layers - 1, -1, -1):
        weight_gradients[index] = delta.T @ inputs[index]
        bias_gradients[index] = delta.sum(axis=0)
        if index > 0:
            delta = (delta @ model.weights[index]) * (forward.codes[index - 1] > 0)
    return weight_gradients, bias_gradients, forward.p


class SGDBackprop:
    """Minibatch SGD with momentum in the form of ``torch.optim.SGD(momentum=...)``.

    Per step: ``v <- momentum v + g`` (``v = g`` on the first step), ``W <- W - lr v``,
    with ``g`` the back-propagated gradient of the minibatch's mean binary
    cross-entropy. ``model`` is updated in place.
    """

    def __init__(self, model: MLP, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.model = model
        self.optimizer = MomentumSGD(lr, momentum)

    def step(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Update the model on one minibatch ``x`` (n, n_in), ``y`` (n,).

        Returns the scores (n,) computed with the weights before the update.
        """
        x, y = validate_batch(x, y, self.model.sizes[0])
        if x.shape[0] == 0:
            raise ValueError("the minibatch is empty")
        weight_gradients, bias_gradients, p = backprop_gradients(self.model, x, y)
        gradients = [g for pair in zip(weight_gradients, bias_gradients) for g in pair]
        self.optimizer.step(self.model.parameters(), gradients)
        return p

    def stream(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> np.ndarray:
        """Take one step per consecutive minibatch of ``batch_size`` samples of the stream.

        A shorter last minibatch takes its own step with the mean over its samples, and
        nothing carries over to the next call. Returns one score per sample, shape (n,),
        each computed before that sample's own minibatch updates the weights.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        x, y = validate_batch(x, y, self.model.sizes[0])
        scores = np.empty(x.shape[0])
        for start in range(0, x.shape[0], batch_size):
            stop = start + batch_size
            scores[start:stop] = self.step(x[start:stop], y[start:stop])
        return scores
