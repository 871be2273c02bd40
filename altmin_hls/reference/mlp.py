"""Float64 multilayer perceptron with ReLU hidden layers and one sigmoid output.

The default sizes (5, 25, 30, 1) are the track classifier of docs/algorithm.md:
``c1 = W1 x + b1``, ``h1 = relu(c1)``, ``c2 = W2 h1 + b2``, ``h2 = relu(c2)``,
``z = W3 h2 + b3``, ``p = sigmoid(z)``. Samples are rows, so a batch ``x`` has shape
(n, n_in) and a layer computes ``a @ W.T + b`` with ``W`` of shape (n_out, n_in).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

DEFAULT_SIZES: tuple[int, ...] = (5, 25, 30, 1)


def relu(c: np.ndarray) -> np.ndarray:
    """Return ``max(c, 0)`` elementwise."""
    return np.maximum(c, 0.0)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Compute ``1 / (1 + exp(-z))`` elementwise without overflow for large ``|z|``."""
    z = np.asarray(z, dtype=np.float64)
    t = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + t), t / (1.0 + t))


def validate_batch(x: np.ndarray, y: np.ndarray, n_inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """Convert ``x`` (n, n_inputs) and labels ``y`` (n,) in {0, 1} to float64 and check them.

    Raises ValueError naming the shape or value that is wrong.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise ValueError(f"x must have shape (n, {n_inputs}), got {x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},) to match x, got {y.shape}")
    if not np.all((y == 0.0) | (y == 1.0)):
        raise ValueError(f"y must contain only 0 and 1, got values {np.unique(y)[:5]}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or infinite values")
    return x, y


@dataclass
class Forward:
    """Intermediate values of one forward pass over a batch of n samples.

    ``codes[l]`` is the pre-activation of hidden layer l + 1, shape (n, n_{l+1}), and
    ``activations[l] = relu(codes[l])``. ``z`` is the output logit and ``p`` the score,
    both of shape (n,).
    """

    codes: list[np.ndarray]
    activations: list[np.ndarray]
    z: np.ndarray
    p: np.ndarray

    @property
    def c1(self) -> np.ndarray:
        """Code of hidden layer 1, shape (n, 25) for the default sizes."""
        return self.codes[0]

    @property
    def h1(self) -> np.ndarray:
        """Activation ``relu(c1)``, shape (n, 25) for the default sizes."""
        return self.activations[0]

    @property
    def c2(self) -> np.ndarray:
        """Code of hidden layer 2, shape (n, 30) for the default sizes."""
        return self.codes[1]

    @property
    def h2(self) -> np.ndarray:
        """Activation ``relu(c2)``, shape (n, 30) for the default sizes."""
        return self.activations[1]


@dataclass
class MLP:
    """Weights ``W_l`` of shape (n_out, n_in) and biases ``b_l`` of shape (n_out,).

    The network has ``len(weights) - 1`` ReLU hidden layers and one sigmoid output unit.
    The constructor copies the arrays to float64, so training updates never write into
    arrays that the caller passed in.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    def __post_init__(self) -> None:
        self.weights = [np.array(w, dtype=np.float64) for w in self.weights]
        self.biases = [np.array(b, dtype=np.float64) for b in self.biases]
        if len(self.weights) < 1 or len(self.weights) != len(self.biases):
            raise ValueError(
                f"need one bias per weight matrix, got {len(self.weights)} weight matrices "
                f"and {len(self.biases)} bias vectors"
            )
        for index, (w, b) in enumerate(zip(self.weights, self.biases), start=1):
            if w.ndim != 2 or b.shape != (w.shape[0],):
                raise ValueError(
                    f"layer {index}: W{index} must be 2-D and b{index} of shape "
                    f"({w.shape[0] if w.ndim == 2 else '?'},), got {w.shape} and {b.shape}"
                )
            if index > 1 and w.shape[1] != self.weights[index - 2].shape[0]:
                raise ValueError(
                    f"W{index} has {w.shape[1]} inputs but layer {index - 1} has "
                    f"{self.weights[index - 2].shape[0]} outputs"
                )
        if self.weights[-1].shape[0] != 1:
            raise ValueError(f"the output layer must have 1 unit, got {self.weights[-1].shape[0]}")

    @classmethod
    def init(
        cls,
        sizes: Sequence[int] = DEFAULT_SIZES,
        rng: np.random.Generator | int | None = None,
    ) -> MLP:
        """Draw a network with PyTorch's default ``nn.Linear`` initialisation.

        ``nn.Linear.reset_parameters`` calls ``kaiming_uniform_(W, a=sqrt(5))``, whose
        bound ``sqrt(2 / (1 + 5)) sqrt(3 / n_in)`` gives ``W ~ U(-1/sqrt(n_in),
        1/sqrt(n_in))``, and draws the bias from the same interval. ``sizes`` lists the
        layer widths from the input to the single output.
        """
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least 2 positive widths, got {sizes}")
        rng = np.random.default_rng(rng)
        weights = []
        biases = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(n_in)
            weights.append(rng.uniform(-bound, bound, size=(n_out, n_in)))
            biases.append(rng.uniform(-bound, bound, size=n_out))
        return cls(weights, biases)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Layer widths from the input to the output, e.g. (5, 25, 30, 1)."""
        return (self.weights[0].shape[1],) + tuple(w.shape[0] for w in self.weights)

    @property
    def n_hidden(self) -> int:
        """Number of hidden (coded) layers."""
        return len(self.weights) - 1

    @property
    def n_parameters(self) -> int:
        """Total number of weights and biases."""
        return sum(w.size + b.size for w, b in zip(self.weights, self.biases))

    def parameters(self) -> list[np.ndarray]:
        """Return the parameter arrays ``[W1, b1, W2, b2, ...]`` by reference."""
        return [array for pair in zip(self.weights, self.biases) for array in pair]

    def layer(self, index: int, a: np.ndarray) -> np.ndarray:
        """Apply layer ``index`` (0-based) to ``a`` (n, n_in): return ``a @ W.T + b``."""
        return a @ self.weights[index].T + self.biases[index]

    def output_from_top_code(self, c_top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Compute the logit ``z`` and score ``p`` (both (n,)) from the top code (n, n_L)."""
        z = self.layer(len(self.weights) - 1, relu(c_top))[:, 0]
        return z, sigmoid(z)

    def forward(self, x: np.ndarray) -> Forward:
        """Run the network on ``x`` of shape (n, n_in) and keep every code and activation."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"x must have shape (n, {self.sizes[0]}), got {x.shape}")
        codes = []
        activations = []
        a = x
        for index in range(self.n_hidden):
            c = self.layer(index, a)
            a = relu(c)
            codes.append(c)
            activations.append(a)
        z = self.layer(self.n_hidden, a)[:, 0]
        return Forward(codes, activations, z, sigmoid(z))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the scores ``p`` of shape (n,) for ``x`` of shape (n, n_in)."""
        return self.forward(x).p

    def copy(self) -> MLP:
        """Return a deep copy."""
        return MLP(self.weights, self.biases)

    def to_dict(self) -> dict[str, np.ndarray]:
        """Return the parameters as ``{"W1": ..., "b1": ..., ...}`` for ``np.savez``."""
        arrays: dict[str, np.ndarray] = {}
        for index, (w, b) in enumerate(zip(self.weights, self.biases), start=1):
            arrays[f"W{index}"] = w.copy()
            arrays[f"b{index}"] = b.copy()
        return arrays

    @classmethod
    def from_dict(cls, arrays: Mapping[str, np.ndarray]) -> MLP:
        """Build a network from ``W1, b1, W2, b2, ...`` as written by ``to_dict``.

        Accepts a dict or the ``NpzFile`` returned by ``np.load``. Raises KeyError naming
        the missing array when ``W{l}`` is present without ``b{l}`` or ``W1`` is absent.
        """
        weights = []
        biases = []
        index = 1
        while f"W{index}" in arrays:
            if f"b{index}" not in arrays:
                raise KeyError(f"b{index} is missing although W{index} is present")
            weights.append(np.asarray(arrays[f"W{index}"]))
            biases.append(np.asarray(arrays[f"b{index}"]))
            index += 1
        if not weights:
            raise KeyError(f"W1 is missing; found keys {sorted(arrays)}")
        return cls(weights, biases)
