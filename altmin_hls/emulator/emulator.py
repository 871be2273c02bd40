"""Bit-exact emulator of the firmware: inference and on-chip hardware AltMin on raw integers.

Every value is a NumPy int64 raw integer with a known number of fractional bits. Sums and
products are exact, and values are rounded only where the firmware assigns them to a
config type (see ``docs/algorithm.md``), so the emulator gives the same bits as the C++.
Within a minibatch the weights are fixed, so the per-sample work is vectorised over the
samples of a minibatch; minibatches run one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from altmin_hls.emulator.datapath import Datapath
from altmin_hls.fixed import FixedType, quantize
from altmin_hls.reference.mlp import MLP


def _align(raw: np.ndarray, frac: int, to_frac: int) -> np.ndarray:
    """Return raw re-expressed with ``to_frac`` fractional bits; to_frac >= frac (exact)."""
    assert to_frac >= frac
    return raw << (to_frac - frac)


def _add(a: np.ndarray, a_frac: int, b: np.ndarray, b_frac: int) -> tuple[np.ndarray, int]:
    frac = max(a_frac, b_frac)
    return _align(a, a_frac, frac) + _align(b, b_frac, frac), frac


def _scale(raw: np.ndarray, frac: int, shift: int) -> tuple[np.ndarray, int]:
    """Multiply by 2**shift exactly, by moving the binary point."""
    return raw, frac - shift


@dataclass
class FixedParameters:
    """Raw weights ``W_l`` (n_out, n_in) and biases ``b_l`` (n_out,) of the firmware."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]

    @classmethod
    def from_mlp(cls, model: MLP, path: Datapath) -> "FixedParameters":
        """Round float weights to the weight and bias types."""
        return cls(
            weights=[path.weight.from_float(w).astype(np.int64) for w in model.weights],
            biases=[path.bias.from_float(b).astype(np.int64) for b in model.biases],
        )

    def to_vector(self) -> np.ndarray:
        """Return every parameter in firmware order: W1 row-major, b1, W2, b2, W3, b3."""
        parts = []
        for w, b in zip(self.weights, self.biases):
            parts += [w.ravel(), b.ravel()]
        return np.concatenate(parts).astype(np.int64)

    @classmethod
    def from_vector(cls, vector: np.ndarray, sizes: tuple[int, ...]) -> "FixedParameters":
        """Split a firmware-order parameter vector into weights and biases."""
        weights, biases, at = [], [], 0
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            weights.append(np.asarray(vector[at : at + n_in * n_out], np.int64).reshape(n_out, n_in))
            at += n_in * n_out
            biases.append(np.asarray(vector[at : at + n_out], np.int64))
            at += n_out
        if at != len(vector):
            raise ValueError(f"parameter vector has {len(vector)} values, expected {at}")
        return cls(weights, biases)

    def to_mlp(self, path: Datapath) -> MLP:
        """Return the float model with exactly these weight values."""
        return MLP(
            weights=[path.weight.to_float(w) for w in self.weights],
            biases=[path.bias.to_float(b) for b in self.biases],
        )

    def copy(self) -> "FixedParameters":
        """Return a deep copy."""
        return FixedParameters([w.copy() for w in self.weights], [b.copy() for b in self.biases])


@dataclass
class StreamResult:
    """Scores of a stream and the parameters after each weight step taken during it."""

    scores: np.ndarray  # raw score per track, int64
    snapshots: list[np.ndarray] = field(default_factory=list)  # firmware-order vectors
    snapshot_tracks: list[int] = field(default_factory=list)  # tracks seen before each step


class Emulator:
    """Firmware state (parameters, gradient sums, sample counter) and its arithmetic."""

    def __init__(self, path: Datapath, parameters: FixedParameters) -> None:
        self.path = path
        self.parameters = parameters.copy()
        self.count = 0
        self._clear_sums()

    def _clear_sums(self) -> None:
        self.weight_sums = [np.zeros_like(w) for w in self.parameters.weights]
        self.bias_sums = [np.zeros_like(b) for b in self.parameters.biases]

    def load(self, parameters: FixedParameters) -> None:
        """Load parameters as the firmware's load mode does: sums and counter are cleared."""
        self.parameters = parameters.copy()
        self.count = 0
        self._clear_sums()

    # ---- arithmetic of the datapath -------------------------------------------------------

    def _dense(self, layer: int, a: np.ndarray, a_type: FixedType) -> tuple[np.ndarray, int]:
        """Return the exact sum W a + b of one layer for a batch a (n, n_in) and its frac."""
        path = self.path
        w = self.parameters.weights[layer]
        b = self.parameters.biases[layer]
        products = a @ w.T
        return _add(products, path.weight.frac + a_type.frac, b[None, :], path.bias.frac)

    def _code(self, raw: np.ndarray, frac: int) -> np.ndarray:
        return quantize(raw, frac, self.path.code)

    def _relu(self, code: np.ndarray) -> np.ndarray:
        return quantize(np.maximum(code, 0), self.path.code.frac, self.path.activation)

    def _sigmoid(self, z: np.ndarray, frac: int) -> np.ndarray:
        """Return the table entry for each exact sum z (raw with ``frac`` fractional bits)."""
        return self.path.sigmoid_table[self.path.sigmoid_index(z, frac)]

    def _error(self, score: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return Q_gradient(p - y) for raw scores and 0/1 labels."""
        frac = self.path.score.frac
        return quantize(score - (y.astype(np.int64) << frac), frac, self.path.gradient)

    def forward(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Run inference on raw inputs x (n, 5); return codes, activations and raw scores."""
        path = self.path
        c1 = self._code(*self._dense(0, x, path.input))
        h1 = self._relu(c1)
        c2 = self._code(*self._dense(1, h1, path.activation))
        h2 = self._relu(c2)
        z, z_frac = self._dense(2, h2, path.activation)
        score = self._sigmoid(z[:, 0], z_frac)
        return {"c1": c1, "h1": h1, "c2": c2, "h2": h2, "score": score}

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Return raw scores for raw inputs x (n, 5)."""
        return self.forward(np.asarray(x, np.int64))["score"]

    def _step_codes(self, fwd: dict[str, np.ndarray], y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the code steps; return the updated codes c1*, c2* for a batch."""
        path = self.path
        w2, w3 = self.parameters.weights[1], self.parameters.weights[2]
        c2 = fwd["c2"]
        score = fwd["score"]
        for step in range(path.code_steps):
            if step > 0:
                z, z_frac = self._dense(2, self._relu(c2), path.activation)
                score = self._sigmoid(z[:, 0], z_frac)
            error = self._error(score, y)
            delta, delta_frac = _scale(
                error[:, None] * w3[0][None, :],
                path.gradient.frac + path.weight.frac,
                path.top_code_shift,
            )
            delta = np.where(c2 > 0, delta, 0)
            c2 = self._code(*_add(c2, path.code.frac, -delta, delta_frac))
        top = c2

        c1 = fwd["c1"]
        for step in range(path.code_steps):
            below = fwd["c2"] if step == 0 else self._code(*self._dense(1, self._relu(c1), path.activation))
            residual = quantize(below - top, path.code.frac, path.gradient)
            delta, delta_frac = _scale(
                residual @ w2,
                path.gradient.frac + path.weight.frac,
                path.lower_code_shift,
            )
            delta = np.where(c1 > 0, delta, 0)
            c1 = self._code(*_add(c1, path.code.frac, -delta, delta_frac))
        return c1, top

    def _accumulate(self, x: np.ndarray, y: np.ndarray, fwd: dict, c1s: np.ndarray, c2s: np.ndarray) -> None:
        """Add the batch's local-loss gradients to the sums."""
        path = self.path
        h1s = self._relu(c1s)
        h2s = self._relu(c2s)
        z, z_frac = self._dense(2, h2s, path.activation)
        e3 = self._error(self._sigmoid(z[:, 0], z_frac), y)[:, None]
        r2 = quantize(self._code(*self._dense(1, h1s, path.activation)) - c2s, path.code.frac, path.gradient)
        r1 = quantize(fwd["c1"] - c1s, path.code.frac, path.gradient)
        for layer, (residual, a) in enumerate(((r1, x), (r2, h1s), (e3, h2s))):
            self.weight_sums[layer] += residual.T @ a
            self.bias_sums[layer] += residual.sum(axis=0)

    def _apply_step(self) -> None:
        """Take the plain SGD step W <- Q_weight(W - 2**-s G) and clear the sums."""
        path = self.path
        layer_inputs = (path.input, path.activation, path.activation)
        for layer, a_type in enumerate(layer_inputs):
            sum_frac = path.gradient.frac + a_type.frac + path.weight_shift
            raw, frac = _add(self.parameters.weights[layer], path.weight.frac, -self.weight_sums[layer], sum_frac)
            self.parameters.weights[layer] = quantize(raw, frac, path.weight)
            bias_frac = path.gradient.frac + path.weight_shift
            raw, frac = _add(self.parameters.biases[layer], path.bias.frac, -self.bias_sums[layer], bias_frac)
            self.parameters.biases[layer] = quantize(raw, frac, path.bias)
        self._clear_sums()

    def learn_batch(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Process samples that all fall in the current minibatch; return their raw scores."""
        fwd = self.forward(x)
        c1s, c2s = self._step_codes(fwd, y)
        self._accumulate(x, y, fwd, c1s, c2s)
        self.count += len(y)
        if self.count == self.path.batch_size:
            self._apply_step()
            self.count = 0
        return fwd["score"]

    def stream(self, x: np.ndarray, y: np.ndarray, learn: bool = True) -> StreamResult:
        """Process a stream of raw inputs x (n, 5) and labels y (n,) in firmware order.

        With ``learn`` the firmware's sample counter and gradient sums carry over between
        calls, exactly as the on-chip state does between calls of the top function.
        """
        x = np.asarray(x, np.int64)
        y = np.asarray(y, np.int64)
        if not learn:
            return StreamResult(scores=self.infer(x))
        scores = np.empty(len(y), np.int64)
        result = StreamResult(scores=scores)
        start = 0
        while start < len(y):
            stop = min(len(y), start + self.path.batch_size - self.count)
            scores[start:stop] = self.learn_batch(x[start:stop], y[start:stop])
            if self.count == 0:
                result.snapshots.append(self.parameters.to_vector())
                result.snapshot_tracks.append(stop)
            start = stop
        return result
