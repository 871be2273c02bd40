"""Continual-learning study: does AltMin keep up with SGD while the detector resolution worsens?

Protocol, per seed and per method:

1. Every set (the unsmeared set and each experience) is split by event into a train and a
   test split (``TRAIN_FRACTION`` of the events train), so no event straddles the two. The
   split depends only on ``data.seed`` and the set index, so every seed and every method
   gets the same splits.
2. Pre-training: a model drawn with the seed learns the unsmeared train split for
   ``pretrain.epochs`` epochs with its own method. ``altmin-hw-fixed`` starts from the
   ``altmin-hw`` pre-trained model rounded to the weight and bias types, and ``frozen`` is
   the model pre-trained with ``pretrain.method``.
3. Continual learning: experiences 1..K in order, ``epochs_per_experience`` epochs on each
   train split. One learner persists across all experiences, so optimiser state (Adam
   moments, SGD velocities, the hardware gradient sums and sample counter) carries over,
   as it would on the chip.
4. Evaluation: before the first and after every epoch the learner is scored on the train
   and test split of the current experience (the per-epoch curves). After pre-training
   and after each experience it is scored on every test split (the forgetting matrix).

Epoch orders come from the seed, so for one seed every method trains on the same tracks in the
same order.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from altmin_hls import pipeline
from altmin_hls.config import Config
from altmin_hls.data.tracks import TrackSet
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import Emulator, FixedParameters
from altmin_hls.errors import AltminError
from altmin_hls.features import quantize_features, scale_features
from altmin_hls.reference.altmin import AltMinHardware
from altmin_hls.reference.metrics import accuracy, bce, roc_auc
from altmin_hls.reference.mlp import MLP
from altmin_hls.reference.train import make_trainer, train

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("altmin", "altmin-hw", "altmin-hw-fixed", "sgd", "frozen")
ALTMIN_METHODS: tuple[str, ...] = ("altmin", "altmin-hw", "altmin-hw-fixed")
METHOD_LABELS = {
    "altmin": "AltMin (published, float)",
    "altmin-hw": "AltMin hardware (float twin)",
    "altmin-hw-fixed": "AltMin hardware (fixed point)",
    "sgd": "SGD back-propagation",
    "frozen": "frozen pre-trained model",
}
# Float training method of each study method. The fixed-point method learns through the
# emulator but is pre-trained in float with the firmware's algorithm.
PRETRAIN_METHOD = {"altmin": "altmin", "altmin-hw": "altmin-hw", "altmin-hw-fixed": "altmin-hw", "sgd": "sgd"}

TRAIN_FRACTION = 0.7
ACCURACY_THRESHOLD = pipeline.ACCURACY_THRESHOLD
RECOVERY_TOLERANCE = 0.002  # AUC
CURVE_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy", "test_auc")
# Mixed into data.seed for the split, and into the study seed for the epoch orders, so
# these streams differ from those of the data generator and the model initialisation.
_SPLIT_STREAM = 0x53504C54
_ORDER_STREAM = 0x4F524452


@dataclass
class Split:
    """One train or test split, as scaled floats and as raw fixed-point inputs."""

    x: np.ndarray  # scaled features (n, 5)
    raw: np.ndarray  # raw input integers (n, 5)
    y: np.ndarray  # labels (n,), float64 0.0 or 1.0
    n_events: int
    features: np.ndarray  # unscaled eta, phi, pt, z0, dz (n, 5), for the feature plots

    @property
    def n_tracks(self) -> int:
        return len(self.y)

    @property
    def n_hard_scatter(self) -> int:
        return int(self.y.sum())


@dataclass
class StudyData:
    """Train and test split of every set; index 0 is the unsmeared set."""

    train: list[Split]
    test: list[Split]

    @property
    def n_experiences(self) -> int:
        return len(self.train) - 1


@dataclass
class Progress:
    """Progress of a running study, passed to the ``progress`` callback after each epoch."""

    done: int  # epochs finished over the whole study
    total: int
    stage: str  # e.g. "seed 1 sgd: experience 3"
    stage_done: int
    stage_total: int


ProgressCallback = Callable[[Progress], None]


@dataclass
class MethodRun:
    """Everything one method measured with one seed.

    ``auc_matrix[i, j]`` and ``accuracy_matrix[i, j]`` are measured on the test split of
    set j (0 unsmeared, k experience k) after pre-training (i = 0) or after learning
    experience i. ``curves[k - 1][name][e]`` is the metric after epoch e of experience k,
    with e = 0 before its first epoch. ``pretrain_curves`` has one entry per pre-training
    epoch (after that epoch) of the model the run started from, which was pre-trained with
    ``pretrained_with``. ``final_scores[j]`` are the scores on the test split of set j after
    the last experience, kept for the ROC curves of the unsmeared set and the last
    experience.
    """

    method: str
    seed: int
    pretrained_with: str
    auc_matrix: np.ndarray
    accuracy_matrix: np.ndarray
    curves: list[dict[str, list[float]]]
    pretrain_curves: dict[str, list[float]]
    final_scores: dict[int, np.ndarray] = field(default_factory=dict)

    def recovery_to_best(self, tolerance: float = RECOVERY_TOLERANCE) -> list[int | None]:
        """Return, per experience, the first epoch whose test AUC is within ``tolerance`` of the best."""
        return [recovery_epoch(c["test_auc"], float(np.max(c["test_auc"])), tolerance) for c in self.curves]

    def recovery_to_pre_smearing(self, tolerance: float = RECOVERY_TOLERANCE) -> list[int | None]:
        """Return, per experience, the first epoch within ``tolerance`` of the pre-smearing AUC.

        The pre-smearing AUC is this run's AUC on the unsmeared test split after
        pre-training. None means the experience never got that close.
        """
        target = float(self.auc_matrix[0, 0])
        return [recovery_epoch(c["test_auc"], target, tolerance) for c in self.curves]


@dataclass
class StudyResult:
    """Runs of every (method, seed) pair, and the settings that produced them."""

    config: Config
    seeds: list[int]
    methods: list[str]
    epochs_per_experience: int
    pretrain_epochs: int
    data: StudyData
    runs: dict[tuple[str, int], MethodRun]
    seconds: float
    data_source: str = ""  # generator name or "delphes:<file>"; empty means config.generator

    @property
    def n_experiences(self) -> int:
        return self.data.n_experiences

    def runs_of(self, method: str) -> list[MethodRun]:
        """Return the runs of one method, in seed order."""
        return [self.runs[(method, seed)] for seed in self.seeds]


# ---- helpers -----------------------------------------------------------------------------


def recovery_epoch(curve: Sequence[float], target: float, tolerance: float = RECOVERY_TOLERANCE) -> int | None:
    """Return the first epoch e with ``curve[e] >= target - tolerance``, or None if there is none.

    ``curve[0]`` is the value before the first epoch, so 0 means no epoch was needed.
    NaN values never count as recovered.
    """
    for epoch, value in enumerate(curve):
        if np.isfinite(value) and value >= target - tolerance:
            return epoch
    return None


def score_metrics(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Return the loss (mean BCE), accuracy at ``ACCURACY_THRESHOLD`` and AUC of scores.

    Every metric is NaN when a score is NaN (a diverged model). The AUC is NaN when the
    set contains one class only.
    """
    if np.any(np.isnan(scores)):
        return {"loss": float("nan"), "accuracy": float("nan"), "auc": float("nan")}
    return {
        "loss": bce(y, scores),
        "accuracy": accuracy(y, scores, ACCURACY_THRESHOLD),
        "auc": roc_auc(y, scores) if 0.0 < y.mean() < 1.0 else float("nan"),
    }


def first_events(tracks: TrackSet, n_events: int) -> TrackSet:
    """Return the first ``n_events`` events of a set (all of them if it has fewer)."""
    if n_events >= tracks.n_events:
        return tracks
    keep = tracks.event < n_events
    return TrackSet(
        event=tracks.event[keep],
        eta=tracks.eta[keep],
        phi=tracks.phi[keep],
        pt=tracks.pt[keep],
        z0=tracks.z0[keep],
        dz=tracks.dz[keep],
        label=tracks.label[keep],
        z_pv=tracks.z_pv[:n_events],
        z_true=tracks.z_true[:n_events],
    )


def _make_split(tracks: TrackSet, mask: np.ndarray, n_events: int, config: Config) -> Split:
    part = tracks.select(mask)
    features = part.features()
    return Split(
        x=scale_features(features),
        raw=quantize_features(features, config.precision.input),
        y=part.label.astype(np.float64),
        n_events=n_events,
        features=features,
    )


def split_sets(config: Config, sets: Sequence[TrackSet], train_fraction: float = TRAIN_FRACTION) -> StudyData:
    """Split every set by event into train and test splits.

    Each set keeps ``round(train_fraction * n_events)`` random events for training, at
    least one and at most ``n_events - 1``. Raises AltminError for a set with fewer than
    two events or a test split without both classes, because its AUC would be undefined.
    """
    train_splits, test_splits = [], []
    for index, tracks in enumerate(sets):
        name = "the unsmeared set" if index == 0 else f"experience {index}"
        if tracks.n_events < 2:
            raise AltminError(
                f"{name} has {tracks.n_events} event(s); the study needs at least 2 per set to "
                "split them into train and test events"
            )
        rng = np.random.default_rng([config.data_seed, _SPLIT_STREAM, index])
        n_train = min(max(1, round(train_fraction * tracks.n_events)), tracks.n_events - 1)
        train_events = rng.permutation(tracks.n_events)[:n_train]
        in_train = np.isin(tracks.event, train_events)
        train_split = _make_split(tracks, in_train, n_train, config)
        test_split = _make_split(tracks, ~in_train, tracks.n_events - n_train, config)
        for split_name, split in (("train", train_split), ("test", test_split)):
            if split.n_tracks == 0 or not 0 < split.n_hard_scatter < split.n_tracks:
                raise AltminError(
                    f"the {split_name} split of {name} has {split.n_tracks} tracks of which "
                    f"{split.n_hard_scatter} are hard scatter; it needs both classes. Use more "
                    "events per set"
                )
        train_splits.append(train_split)
        test_splits.append(test_split)
    return StudyData(train_splits, test_splits)


# ---- learners ----------------------------------------------------------------------------


class FloatLearner:
    """A float model and its trainer; ``frozen`` has no trainer and never changes."""

    def __init__(self, method: str, model: MLP, config: Config) -> None:
        self.model = model
        self.batch_size = config.batch_size
        if method == "frozen":
            self.trainer = None
        else:
            train_method = PRETRAIN_METHOD[method]
            options = pipeline.hardware_options(config) if train_method == "altmin-hw" else None
            self.trainer = make_trainer(model, train_method, config.batch_size, options)

    def learn_epoch(self, split: Split, order: np.ndarray) -> None:
        if self.trainer is None:
            return
        x, y = split.x[order], split.y[order]
        if isinstance(self.trainer, AltMinHardware):
            # As in the firmware, a partial minibatch stays in the sums for the next epoch.
            self.trainer.stream(x, y)
            return
        for start in range(0, len(y), self.batch_size):
            stop = start + self.batch_size
            self.trainer.step(x[start:stop], y[start:stop])

    def scores(self, split: Split) -> np.ndarray:
        return self.model.predict(split.x)


class FixedLearner:
    """The bit-exact emulator learning on raw inputs; scores are raw scores times the score LSB."""

    def __init__(self, model: MLP, config: Config) -> None:
        path = Datapath.from_config(config)
        self.emulator = Emulator(path, FixedParameters.from_mlp(model, path))
        self.score_lsb = path.score.lsb

    def learn_epoch(self, split: Split, order: np.ndarray) -> None:
        self.emulator.stream(split.raw[order], split.y[order].astype(np.int64), learn=True)

    def scores(self, split: Split) -> np.ndarray:
        return self.emulator.infer(split.raw) * self.score_lsb


Learner = FloatLearner | FixedLearner


# ---- the protocol ------------------------------------------------------------------------


class _Ticker:
    """Counts finished epochs and reports them to the progress callback."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.done = 0
        self.total = total
        self.callback = callback

    def tick(self, stage: str, stage_done: int, stage_total: int, count: bool = True) -> None:
        if count:
            self.done += 1
        if self.callback is not None:
            self.callback(Progress(self.done, self.total, stage, stage_done, stage_total))


def _pretrain(
    config: Config, data: StudyData, method: str, seed: int, epochs: int, ticker: _Ticker
) -> tuple[MLP, dict[str, list[float]]]:
    """Pre-train a model drawn with ``seed`` on the unsmeared train split."""
    model = MLP.init(config.sizes, np.random.default_rng(seed))
    stage = f"seed {seed} {method}: pre-training"
    ticker.tick(stage, 0, epochs, count=False)
    history = train(
        model,
        data.train[0].x,
        data.train[0].y,
        method=method,
        epochs=epochs,
        batch_size=config.pretrain_batch_size,
        seed=seed,
        x_val=data.test[0].x,
        y_val=data.test[0].y,
        progress=lambda epoch, total, _: ticker.tick(stage, epoch, total),
        options=pipeline.hardware_options(config) if method == "altmin-hw" else None,
    )
    curves = {
        "train_loss": history.train_loss,
        "train_accuracy": history.train_accuracy,
        "test_loss": history.val_loss,
        "test_accuracy": history.val_accuracy,
        "test_auc": history.val_auc,
    }
    return model, {key: [float(v) for v in values] for key, values in curves.items()}


def _evaluate_all(learner: Learner, data: StudyData) -> tuple[list[float], list[float], dict[int, np.ndarray]]:
    aucs, accuracies, scores = [], [], {}
    for index, split in enumerate(data.test):
        scores[index] = learner.scores(split)
        metrics = score_metrics(split.y, scores[index])
        aucs.append(metrics["auc"])
        accuracies.append(metrics["accuracy"])
    return aucs, accuracies, scores


def _epoch_metrics(learner: Learner, train_split: Split, test_split: Split) -> dict[str, float]:
    train_metrics = score_metrics(train_split.y, learner.scores(train_split))
    test_metrics = score_metrics(test_split.y, learner.scores(test_split))
    return {
        "train_loss": train_metrics["loss"],
        "train_accuracy": train_metrics["accuracy"],
        "test_loss": test_metrics["loss"],
        "test_accuracy": test_metrics["accuracy"],
        "test_auc": test_metrics["auc"],
    }


def _learn_experiences(
    method: str, seed: int, learner: Learner, data: StudyData, epochs: int, ticker: _Ticker
) -> tuple[np.ndarray, np.ndarray, list[dict[str, list[float]]], dict[int, np.ndarray]]:
    n_sets = data.n_experiences + 1
    auc_matrix = np.full((n_sets, n_sets), np.nan)
    accuracy_matrix = np.full((n_sets, n_sets), np.nan)
    auc_matrix[0], accuracy_matrix[0], scores = _evaluate_all(learner, data)
    curves = []
    for k in range(1, n_sets):
        rng = np.random.default_rng([seed, _ORDER_STREAM, k])
        stage = f"seed {seed} {method}: experience {k}"
        curve = {key: [] for key in CURVE_KEYS}
        for epoch in range(epochs + 1):
            if epoch > 0:
                learner.learn_epoch(data.train[k], rng.permutation(data.train[k].n_tracks))
            for key, value in _epoch_metrics(learner, data.train[k], data.test[k]).items():
                curve[key].append(value)
            ticker.tick(stage, epoch, epochs, count=epoch > 0)
        curves.append(curve)
        auc_matrix[k], accuracy_matrix[k], scores = _evaluate_all(learner, data)
    final_scores = {0: scores[0], data.n_experiences: scores[data.n_experiences]}
    return auc_matrix, accuracy_matrix, curves, final_scores


def run_study(
    config: Config,
    sets: Sequence[TrackSet],
    seeds: Sequence[int],
    methods: Sequence[str] = METHODS,
    epochs_per_experience: int = 20,
    progress: ProgressCallback | None = None,
) -> StudyResult:
    """Pre-train, learn the experiences one after the other and evaluate, per seed and method.

    ``sets[0]`` is the unsmeared set and ``sets[k]`` experience k. Pre-training runs for
    ``config.pretrain_epochs`` epochs with ``config.pretrain_batch_size``, and continual
    learning uses ``config.batch_size`` for every method. The result is identical for
    identical arguments.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise AltminError(f"unknown or no methods {unknown or list(methods)}; choose from {', '.join(METHODS)}")
    if len(set(seeds)) != len(seeds) or not seeds:
        raise AltminError(f"seeds must be distinct and at least one, got {list(seeds)}")
    if epochs_per_experience < 1:
        raise AltminError(f"epochs per experience must be >= 1, got {epochs_per_experience}")
    if len(sets) < 2:
        raise AltminError(f"the study needs the unsmeared set and at least one experience, got {len(sets)} set(s)")
    start = time.perf_counter()
    methods = [m for m in METHODS if m in methods]
    data = split_sets(config, sets)
    frozen_source = config.pretrain_method
    pretrain_methods = sorted(
        {PRETRAIN_METHOD.get(m, frozen_source) for m in methods}, key=list(PRETRAIN_METHOD.values()).index
    )
    # The frozen model does not learn, but it is evaluated after every epoch like the others.
    total = len(seeds) * (
        len(pretrain_methods) * config.pretrain_epochs + len(methods) * data.n_experiences * epochs_per_experience
    )
    ticker = _Ticker(total, progress)
    runs: dict[tuple[str, int], MethodRun] = {}
    for seed in seeds:
        pretrained = {m: _pretrain(config, data, m, seed, config.pretrain_epochs, ticker) for m in pretrain_methods}
        for method in methods:
            source = PRETRAIN_METHOD.get(method, frozen_source)
            model, pretrain_curves = pretrained[source]
            if method == "altmin-hw-fixed":
                learner: Learner = FixedLearner(model, config)
            else:
                learner = FloatLearner(method, model.copy(), config)
            auc_matrix, accuracy_matrix, curves, final_scores = _learn_experiences(
                method, seed, learner, data, epochs_per_experience, ticker
            )
            runs[(method, seed)] = MethodRun(
                method=method,
                seed=seed,
                pretrained_with=source,
                auc_matrix=auc_matrix,
                accuracy_matrix=accuracy_matrix,
                curves=curves,
                pretrain_curves=pretrain_curves,
                final_scores=final_scores,
            )
            log.info("seed %d %s: AUC per experience %s", seed, method, np.round(np.diag(auc_matrix), 4))
    return StudyResult(
        config=config,
        seeds=list(seeds),
        methods=methods,
        epochs_per_experience=epochs_per_experience,
        pretrain_epochs=config.pretrain_epochs,
        data=data,
        runs=runs,
        seconds=time.perf_counter() - start,
    )
