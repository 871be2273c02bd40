"""Update rules in the form of PyTorch's ``torch.optim`` single-tensor code, for float64 arrays."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

logger = logging.getLogger(__name__)


def nesterov_descent(
    start: np.ndarray,
    gradient: Callable[[np.ndarray], np.ndarray],
    steps: int,
    lr: float,
    momentum: float,
) -> np.ndarray:
    """Run ``steps`` steps of SGD with Nesterov momentum from ``start`` and return the result.

    Follows ``torch.optim.SGD(nesterov=True, dampening=0)``: ``v <- momentum v + g`` with
    ``v`` starting at zero (PyTorch sets ``v = g`` on the first step, which is the same),
    then ``x <- x - lr (g + momentum v)``. ``gradient`` maps an array of the shape of
    ``start`` to the gradient at that point. ``start`` is not modified.
    """
    point = np.array(start, dtype=np.float64)
    velocity = np.zeros_like(point)
    for _ in range(steps):
        g = gradient(point)
        velocity = momentum * velocity + g
        point = point - lr * (g + momentum * velocity)
    return point


class Adam:
    """Adam with bias correction, as ``torch.optim.Adam`` with ``amsgrad=False``.

    Keeps the first and second moments of each parameter across calls to ``step``.
    Per step ``t``: ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``x <- x - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    """

    def __init__(
        self,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.lr = float(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)
        self.t = 0
        self.first_moments: list[np.ndarray] | None = None
        self.second_moments: list[np.ndarray] | None = None

    def step(self, parameters: Sequence[np.ndarray], gradients: Sequence[np.ndarray]) -> None:
        """Update each array of ``parameters`` in place with its gradient.

        The parameters must come in the same order and shapes on every call, because the
        moments are stored by position.
        """
        if len(parameters) != len(gradients):
            raise ValueError(f"got {len(parameters)} parameters but {len(gradients)} gradients")
        if self.first_moments is None or self.second_moments is None:
            self.first_moments = [np.zeros_like(p) for p in parameters]
            self.second_moments = [np.zeros_like(p) for p in parameters]
        if len(self.first_moments) != len(parameters):
            raise ValueError(
                f"this Adam instance stores moments for {len(self.first_moments)} parameters "
                f"but got {len(parameters)}; use one Adam instance per parameter list"
            )
        beta1, beta2 = self.betas
        self.t += 1
        bias_correction1 = 1.0 - beta1**self.t
        bias_correction2 = 1.0 - beta2**self.t
        step_size = self.lr / bias_correction1
        for param, grad, m, v in zip(parameters, gradients, self.first_moments,
                                     self.second_moments):
            m *= beta1
            m += (1.0 - beta1) * grad
            v *= beta2
            v += (1.0 - beta2) * grad * grad
            denominator = np.sqrt(v) / np.sqrt(bias_correction2) + self.eps
            param -= step_size * m / denominator


class MomentumSGD:
    """SGD with heavy-ball momentum, as ``torch.optim.SGD(momentum=..., nesterov=False)``.

    Per step: ``v <- momentum v + g`` (``v = g`` on the first step), ``x <- x - lr v``.
    """

    def __init__(self, lr: float, momentum: float = 0.9) -> None:
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.velocities: list[np.ndarray] | None = None

    def step(self, parameters: Sequence[np.ndarray], gradients: Sequence[np.ndarray]) -> None:
        """Update each array of ``parameters`` in place with its gradient."""
        if len(parameters) != len(gradients):
            raise ValueError(f"got {len(parameters)} parameters but {len(gradients)} gradients")
        if self.velocities is None:
            self.velocities = [np.array(g, dtype=np.float64) for g in gradients]
        else:
            for v, g in zip(self.velocities, gradients):
                v *= self.momentum
                v += g
        for param, v in zip(parameters, self.velocities):
            param -= self.lr * v
