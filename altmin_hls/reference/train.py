"""Epoch loop that trains an MLP with AltMin, hardware AltMin or back-propagation.

Inputs must already be scaled: nothing here standardises features.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from altmin_hls.reference.altmin import AltMinHardware, AltMinPublished
from altmin_hls.reference.metrics import accuracy, bce, roc_auc
from altmin_hls.reference.mlp import MLP, validate_batch
from altmin_hls.reference.sgd import SGDBackprop

logger = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("altmin", "altmin-hw", "sgd")

ProgressCallback = Callable[[int, int, Mapping[str, float]], None]
Trainer = AltMinPublished | AltMinHardware | SGDBackprop


@dataclass
class History:
    """Per-epoch metrics of the model after each epoch, evaluated on the whole set.

    The ``val_*`` lists stay empty when no validation set is given. An AUC is NaN when
    the set contains only one class.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    train_auc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    val_auc: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, np.ndarray]:
        """Return each metric as a float64 array of shape (n_epochs,), for ``np.savez``."""
        return {name: np.asarray(values, dtype=np.float64) for name, values in vars(self).items()}


def make_trainer(
    model: MLP, method: str, batch_size: int, options: Mapping[str, Any] | None = None
) -> Trainer:
    """Create the trainer for ``method`` (one of ``METHODS``) that updates ``model`` in place.

    ``options`` contains keyword arguments of the trainer's constructor, e.g.
    ``{"weight_lr": 2**-6}``. For "altmin-hw", ``batch_size`` sets the trainer's own
    minibatch size, so ``options`` must not set it again.
    """
    options = dict(options or {})
    if method == "altmin":
        return AltMinPublished(model, **options)
    if method == "altmin-hw":
        if "batch_size" in options:
            raise ValueError("set the altmin-hw minibatch size with batch_size, not in options")
        return AltMinHardware(model, batch_size=batch_size, **options)
    if method == "sgd":
        return SGDBackprop(model, **options)
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def evaluate(model: MLP, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Return the loss (clipped mean BCE), accuracy at 0.5 and ROC AUC of ``model`` on a set.

    The AUC is NaN when ``y`` (n,) contains only one class. Every metric is NaN when a
    score is NaN, which happens once training has diverged to non-finite weights.
    """
    p = model.predict(x)
    if np.any(np.isnan(p)):
        return {"loss": float("nan"), "accuracy": float("nan"), "auc": float("nan")}
    has_both_classes = 0.0 < float(np.mean(y)) < 1.0
    return {
        "loss": bce(y, p),
        "accuracy": accuracy(y, p),
        "auc": roc_auc(y, p) if has_both_classes else float("nan"),
    }


def _run_epoch(trainer: Trainer, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
    if isinstance(trainer, AltMinHardware):
        # Like the firmware, a partial last minibatch stays in the sums for the next epoch.
        trainer.stream(x, y)
        return
    for start in range(0, x.shape[0], batch_size):
        trainer.step(x[start : start + batch_size], y[start : start + batch_size])


def train(
    model: MLP,
    x: np.ndarray,
    y: np.ndarray,
    method: str,
    epochs: int,
    batch_size: int,
    seed: int | None,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    options: Mapping[str, Any] | None = None,
) -> History:
    """Train ``model`` in place on ``x`` (n, n_in), ``y`` (n,) for ``epochs`` epochs.

    Each epoch visits the samples in a new order drawn from
    ``np.random.default_rng(seed)`` and splits it into minibatches of ``batch_size``.
    For "altmin" and "sgd" a shorter last minibatch takes its own step. For "altmin-hw"
    the samples run through ``AltMinHardware.stream``, so the partial last minibatch
    carries over into the next epoch. After each epoch the model is evaluated on the
    training set and, if given, on ``x_val``, ``y_val``. Then ``progress`` (if given)
    receives the 1-based epoch, ``epochs`` and a dict of those metrics. The dict keys
    are the field names of ``History``. ``options`` goes to ``make_trainer``.
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    x, y = validate_batch(x, y, model.sizes[0])
    if x.shape[0] == 0:
        raise ValueError("the training set is empty")
    if (x_val is None) != (y_val is None):
        raise ValueError("give both x_val and y_val, or neither")
    if x_val is not None and y_val is not None:
        x_val, y_val = validate_batch(x_val, y_val, model.sizes[0])

    trainer = make_trainer(model, method, batch_size, options)
    rng = np.random.default_rng(seed)
    history = History()
    logger.info(
        "training %s for %d epochs on %d samples, batch size %d", method, epochs, x.shape[0],
        batch_size,
    )
    for epoch in range(1, epochs + 1):
        order = rng.permutation(x.shape[0])
        _run_epoch(trainer, x[order], y[order], batch_size)

        metrics: dict[str, float] = {}
        for name, value in evaluate(model, x, y).items():
            metrics[f"train_{name}"] = value
        if x_val is not None and y_val is not None:
            for name, value in evaluate(model, x_val, y_val).items():
                metrics[f"val_{name}"] = value
        for key, value in metrics.items():
            getattr(history, key).append(value)
        if not np.isfinite(metrics["train_loss"]):
            logger.warning("epoch %d: training loss is %s", epoch, metrics["train_loss"])
        logger.debug("epoch %d/%d: %s", epoch, epochs, metrics)
        if progress is not None:
            progress(epoch, epochs, metrics)
    return history
