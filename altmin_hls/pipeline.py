"""The stages of the main job, each reading and writing one output folder.

Output folder layout::

    config.yaml                  the merged config of the run
    data/unsmeared.csv           event files (format in altmin_hls.data.eventfile)
    data/experience_NN.csv
    model/pretrained.npz         float weights after pre-training
    model/pretrain_history.json  loss, accuracy and AUC per epoch
    hls/                         the Vitis HLS project (see altmin_hls.hls.writer)
    hls/csim/                    g++ build and testbench logs, C-simulation results
    results/summary.json         the per-experience table, as data
    results/summary.md           the same table, as Markdown
"""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from altmin_hls.config import Config, load_config
from altmin_hls.data.eventfile import read_events, write_events
from altmin_hls.data.delphes import read_delphes
from altmin_hls.data.experiences import make_experiences, make_experiences_from_tracks
from altmin_hls.data.tracks import TrackSet
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.errors import AltminError, ConfigError, DataFileError, MismatchError
from altmin_hls.features import FEATURE_NAMES, quantize_features, scale_features
from altmin_hls.hls import csim
from altmin_hls.hls import streams as stream_files
from altmin_hls.hls.tbdata import ExpectedResults, emulate_streams, write_tb_data
from altmin_hls.hls.writer import MARKER, ProjectWriter
from altmin_hls.reference.altmin import AltMinHardware
from altmin_hls.reference.metrics import accuracy, hanley_mcneil_error, roc_auc
from altmin_hls.reference.mlp import MLP
from altmin_hls.reference.train import History, train

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, dict], None]
# Accuracy is quoted at this score threshold throughout.
ACCURACY_THRESHOLD = 0.5


@dataclass
class Workspace:
    """Paths of one output folder."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def hls(self) -> Path:
        return self.root / "hls"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def experience_file(self, index: int) -> Path:
        """Return the event file of experience ``index`` (0 is the unsmeared set)."""
        if index == 0:
            return self.data / "unsmeared.csv"
        return self.data / f"experience_{index:02d}.csv"


# ---- data -------------------------------------------------------------------------------


def generate_data(
    config: Config, workspace: Workspace, progress: bool = True, delphes: Path | None = None
) -> list[TrackSet]:
    """Generate (or read from a Delphes file) the unsmeared set and the experiences.

    With ``delphes``, the file's events are split in order into the unsmeared set and the
    experiences, which are then smeared as generated events are. Writes the event files.
    """
    if delphes is not None:
        tracks = read_delphes(delphes)
        needed = config.events_unsmeared + config.experiences * config.events_per_experience
        if tracks.n_events < needed:
            raise DataFileError(
                f"{delphes}: {tracks.n_events} events, but the config needs {needed} "
                f"({config.events_unsmeared} unsmeared + {config.experiences} experiences x "
                f"{config.events_per_experience}); lower the event counts or use a larger file"
            )
        sets = make_experiences_from_tracks(
            tracks,
            n_events_unsmeared=config.events_unsmeared,
            n_events_per_experience=config.events_per_experience,
            n_experiences=config.experiences,
            step=config.smearing_step,
            seed=config.data_seed,
        )
        source = f"delphes:{Path(delphes).name}"
    else:
        try:
            sets = make_experiences(
                config.generator,
                n_events_unsmeared=config.events_unsmeared,
                n_events_per_experience=config.events_per_experience,
                n_experiences=config.experiences,
                step=config.smearing_step,
                seed=config.data_seed,
                pileup=config.pileup,
                **({"progress": progress} if config.generator == "pythia" else {}),
            )
        except ImportError as exc:
            raise AltminError(str(exc)) from exc
        source = config.generator
    workspace.data.mkdir(parents=True, exist_ok=True)
    for index, tracks in enumerate(sets):
        metadata = {
            "generator": source,
            "seed": config.data_seed,
            "experience": index,
            "smearing": index * config.smearing_step,
        }
        write_events(workspace.experience_file(index), tracks, metadata)
    return sets


def load_data(config: Config, workspace: Workspace) -> list[TrackSet]:
    """Read the unsmeared set and the experiences from their event files."""
    sets = []
    for index in range(config.experiences + 1):
        path = workspace.experience_file(index)
        if not path.is_file():
            raise DataFileError(f"{path}: file not found; run 'altmin-hls data' first")
        tracks, metadata = read_events(path)
        stored = metadata.get("experience")
        if stored is not None and stored != index:
            raise DataFileError(
                f"{path}: its metadata says experience {stored}, but the file is read as "
                f"experience {index}; regenerate the data or restore the original file"
            )
        sets.append(tracks)
    return sets


# ---- training ---------------------------------------------------------------------------


def hardware_options(config: Config) -> dict[str, float]:
    """Return the hardware AltMin settings of the config, as AltMinHardware arguments."""
    return {
        "code_steps": config.code_steps,
        "code_lr_top": config.code_lr_top,
        "code_lr_lower": config.code_lr_lower,
        "weight_lr": config.weight_lr,
    }


def pretrain(
    config: Config, workspace: Workspace, unsmeared: TrackSet, progress: ProgressCallback | None = None
) -> tuple[MLP, History]:
    """Train the float model on the unsmeared set and save it."""
    if unsmeared.n_tracks == 0:
        raise DataFileError(f"{workspace.experience_file(0)}: no tracks to pre-train on")
    x = scale_features(unsmeared.features())
    y = unsmeared.label.astype(np.float64)
    if y.min() == y.max():
        log.warning(
            "the unsmeared set has only %s tracks, so the pre-training AUC is undefined and "
            "the model cannot learn to separate the classes",
            "hard-scatter" if y[0] == 1 else "pile-up",
        )
    model = MLP.init(config.sizes, np.random.default_rng(config.pretrain_seed))
    history = train(
        model,
        x,
        y,
        method=config.pretrain_method,
        epochs=config.pretrain_epochs,
        batch_size=config.pretrain_batch_size,
        seed=config.pretrain_seed,
        progress=progress,
        options=hardware_options(config) if config.pretrain_method == "altmin-hw" else None,
    )
    workspace.model.mkdir(parents=True, exist_ok=True)
    np.savez(workspace.model / "pretrained.npz", **model.to_dict())
    (workspace.model / IMPORT_MARKER).unlink(missing_ok=True)
    history_dict = {k: [float(v) for v in values] for k, values in history.to_dict().items()}
    (workspace.model / "pretrain_history.json").write_text(json.dumps(history_dict, indent=1) + "\n")
    return model, history


IMPORT_MARKER = "imported.json"


def mark_imported_model(workspace: Workspace, source: Path) -> None:
    """Record that model/pretrained.npz came from an imported Keras or QKeras file."""
    marker = {"source": "import", "file": str(source)}
    (workspace.model / IMPORT_MARKER).write_text(json.dumps(marker, indent=1) + "\n")


def check_model_not_imported(workspace: Workspace, command: str) -> None:
    """Raise AltminError when pre-training would replace an imported model."""
    marker = workspace.model / IMPORT_MARKER
    if marker.is_file():
        raise AltminError(
            f"the model in {workspace.model} was imported ({marker}); '{command}' would replace "
            "it by pre-training. Run 'altmin-hls data', 'generate' and 'csim' to keep it, or pass "
            "--force to pre-train anyway"
        )


def load_model(workspace: Workspace) -> MLP:
    """Read the pre-trained float model."""
    path = workspace.model / "pretrained.npz"
    if not path.is_file():
        raise DataFileError(f"{path}: file not found; run 'altmin-hls train' first")
    try:
        with np.load(path) as arrays:
            model = MLP.from_dict(dict(arrays))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{path}: cannot read the model ({exc}); run 'altmin-hls train' again") from exc
    if not all(np.isfinite(p).all() for p in model.weights + model.biases):
        raise DataFileError(f"{path}: the model has NaN or infinite weights; run 'altmin-hls train' again")
    return model


# ---- firmware ---------------------------------------------------------------------------


def to_stream(tracks: TrackSet, config: Config) -> stream_files.TrackStream:
    """Return the raw fixed-point stream of a track set; log how many features saturated."""
    input_type = config.precision.input
    features = quantize_features(tracks.features(), input_type)
    saturated = (features == input_type.min_raw) | (features == input_type.max_raw)
    if saturated.any():
        counts = ", ".join(
            f"{name} {count}" for name, count in zip(FEATURE_NAMES, saturated.sum(axis=0)) if count
        )
        log.warning(
            "%d of %d tracks have a feature at the limit of %s after scaling (%s); check the "
            "input ranges", int(saturated.any(axis=1).sum()), len(features), input_type.cpp(), counts,
        )
    return stream_files.TrackStream(
        event=tracks.event.astype(np.int64),
        label=tracks.label.astype(np.int64),
        features=features,
    )


def experience_names(config: Config) -> list[str]:
    """Return the stream file names of the experiences, in streaming order."""
    return [f"experience_{i:02d}.txt" for i in range(1, config.experiences + 1)]


def generate_project(
    config: Config, workspace: Workspace, model: MLP, sets: list[TrackSet], force: bool = False
) -> ExpectedResults:
    """Write the HLS project and its tb_data (smeared experiences and expected results)."""
    if tuple(model.sizes) != tuple(config.sizes):
        raise ConfigError(
            f"the model has layer sizes {'-'.join(map(str, model.sizes))} but network.sizes is "
            f"{'-'.join(map(str, config.sizes))}; run 'altmin-hls train' with this config first"
        )
    if any(tracks.n_tracks == 0 for tracks in sets[1:]):
        empty = [i for i, tracks in enumerate(sets) if i > 0 and tracks.n_tracks == 0]
        raise DataFileError(f"experiences {empty} have no tracks; generate more events per experience")
    path = Datapath.from_config(config)
    initial = FixedParameters.from_mlp(model, path)
    ProjectWriter(config, initial).write(workspace.hls, force=force)
    streams = [to_stream(tracks, config) for tracks in sets[1:]]
    return write_tb_data(workspace.hls, config, initial, streams, experience_names(config))


@dataclass
class CsimComparison:
    """C-simulation results, compared with the emulator value by value."""

    scores: list[np.ndarray]  # raw C-sim scores per experience
    scores_exact: list[bool]  # per experience
    weights_exact: bool
    weight_steps: int
    testbench_passed: bool
    log_path: Path


def run_csim(config: Config, workspace: Workspace, expected: ExpectedResults) -> CsimComparison:
    """Build and run C-simulation, then compare its results with the emulator in Python too."""
    binary = csim.build(workspace.hls)
    outcome = csim.run(workspace.hls, binary, learn=True)
    table = stream_files.read_scores(outcome.scores_path)
    scores, exact = [], []
    for index, want in enumerate(expected.scores):
        got = table[table[:, 0] == index, 2]
        scores.append(got)
        exact.append(len(got) == len(want) and bool(np.array_equal(got, want)))
    steps = stream_files.read_weight_steps(outcome.weights_path, Datapath.from_config(config).n_parameters)
    want_steps = np.array(
        [[i + 1, seen, *vector] for i, (seen, vector) in enumerate(zip(expected.tracks_seen, expected.snapshots))],
        dtype=np.int64,
    ).reshape(-1, steps.shape[1])
    weights_exact = steps.shape == want_steps.shape and bool(np.array_equal(steps, want_steps))
    return CsimComparison(
        scores=scores,
        scores_exact=exact,
        weights_exact=weights_exact,
        weight_steps=len(steps),
        testbench_passed=outcome.passed,
        log_path=outcome.log_path,
    )


def project_config(workspace: Workspace) -> Config:
    """Return the config that a generated project was written from, checked against its marker."""
    marker = workspace.hls / MARKER
    if not marker.is_file():
        raise DataFileError(f"{marker}: file not found; run 'altmin-hls generate' first")
    try:
        digest = json.loads(marker.read_text())["config_sha256"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataFileError(f"{marker}: not a valid project marker; run 'altmin-hls generate' again") from exc
    config = load_config(workspace.hls / "config.yaml")
    if config.digest() != digest:
        raise DataFileError(
            f"{workspace.hls / 'config.yaml'} does not match the config the project was generated "
            "from (its checksum differs); run 'altmin-hls generate' again"
        )
    return config


def check_expected_files(config: Config, workspace: Workspace, expected: ExpectedResults) -> None:
    """Raise DataFileError when tb_data's expected files differ from a fresh emulator run."""
    tb_data = workspace.hls / "tb_data"
    table = stream_files.read_scores(tb_data / "expected_scores.txt")
    if not np.array_equal(table[:, 2], np.concatenate(expected.scores)):
        raise DataFileError(
            f"{tb_data / 'expected_scores.txt'} does not match the emulator on the streams in "
            f"{tb_data}; the file is stale or edited. Run 'altmin-hls generate' again"
        )
    steps = stream_files.read_weight_steps(
        tb_data / "expected_weights.txt", Datapath.from_config(config).n_parameters
    )
    if steps.shape[0] != len(expected.snapshots) or not all(
        np.array_equal(row[2:], vector) for row, vector in zip(steps, expected.snapshots)
    ):
        raise DataFileError(
            f"{tb_data / 'expected_weights.txt'} does not match the emulator on the streams in "
            f"{tb_data}; the file is stale or edited. Run 'altmin-hls generate' again"
        )


def expected_from_project(config: Config, workspace: Workspace) -> ExpectedResults:
    """Recompute the emulator's results for the streams already in a project's tb_data."""
    tb_data = workspace.hls / "tb_data"
    if not tb_data.is_dir():
        raise DataFileError(f"{tb_data}: folder not found; run 'altmin-hls generate' first")
    parameters_file = tb_data / "initial_parameters.txt"
    initial = FixedParameters.from_vector(
        stream_files.read_parameters(parameters_file, Datapath.from_config(config).n_parameters),
        config.sizes,
    )
    for kind, arrays, fixed in (
        ("weight", initial.weights, config.precision.weight),
        ("bias", initial.biases, config.precision.bias),
    ):
        for layer, values in enumerate(arrays, start=1):
            if values.min() < fixed.min_raw or values.max() > fixed.max_raw:
                raise DataFileError(
                    f"{parameters_file}: a layer-{layer} {kind} is outside {fixed.cpp()} "
                    f"({fixed.min_raw} to {fixed.max_raw}); run 'altmin-hls generate' again"
                )
    listed = stream_files.read_stream_list(tb_data / "streams.txt")
    if listed != experience_names(config):
        raise DataFileError(
            f"{tb_data / 'streams.txt'} lists {listed}, but the config has "
            f"{config.experiences} experiences; run 'altmin-hls generate' again"
        )
    streams = [stream_files.read_stream(tb_data / name, config.precision.input) for name in listed]
    return emulate_streams(config, initial, streams)


# ---- evaluation -------------------------------------------------------------------------


def float_stream_scores(config: Config, model: MLP, sets: list[TrackSet], learn: bool) -> list[np.ndarray]:
    """Return float scores per experience, with the float twin of hardware AltMin learning or not."""
    model = model.copy()
    learner = AltMinHardware(model, batch_size=config.batch_size, **hardware_options(config))
    scores = []
    for tracks in sets[1:]:
        x = scale_features(tracks.features())
        y = tracks.label.astype(np.float64)
        scores.append(learner.stream(x, y) if learn else model.predict(x))
    return scores


def _metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    n_positive = int(labels.sum())
    n_negative = len(labels) - n_positive
    if n_positive == 0 or n_negative == 0:
        auc = auc_error = float("nan")
    else:
        auc = roc_auc(labels, scores)
        auc_error = hanley_mcneil_error(auc, n_positive, n_negative)
    return {
        "auc": auc,
        "auc_error": auc_error,
        "accuracy": accuracy(labels, scores, ACCURACY_THRESHOLD),
    }


def summarise(
    config: Config,
    sets: list[TrackSet],
    frozen: list[np.ndarray],
    float_learning: list[np.ndarray],
    expected: ExpectedResults,
    comparison: CsimComparison,
) -> list[dict]:
    """Return one row per experience: tracks in and out, AUC and accuracy per view, bit-exactness."""
    score_lsb = config.precision.score.lsb
    rows = []
    for index, tracks in enumerate(sets[1:]):
        labels = tracks.label.astype(np.float64)
        row = {
            "experience": index + 1,
            "tracks_in": int(tracks.n_tracks),
            "results_out": int(len(comparison.scores[index])),
            "hard_scatter_fraction": float(labels.mean()),
        }
        views = {
            "frozen": frozen[index],
            "float_altmin": float_learning[index],
            "emulator": expected.scores[index] * score_lsb,
            "csim": comparison.scores[index] * score_lsb,
        }
        for view, scores in views.items():
            if len(scores) != len(labels):
                for metric in ("auc", "auc_error", "accuracy"):
                    row[f"{view}_{metric}"] = float("nan")
                continue
            for metric, value in _metrics(labels, scores).items():
                row[f"{view}_{metric}"] = value
        row["bit_exact"] = comparison.scores_exact[index] and comparison.weights_exact
        rows.append(row)
    return rows


def write_summary(workspace: Workspace, rows: list[dict], comparison: CsimComparison) -> None:
    """Write the table as JSON and Markdown into results/."""
    workspace.results.mkdir(parents=True, exist_ok=True)
    summary = {
        "accuracy_threshold": ACCURACY_THRESHOLD,
        "weight_steps": comparison.weight_steps,
        "weights_bit_exact": comparison.weights_exact,
        "testbench_passed": comparison.testbench_passed,
        "experiences": rows,
    }
    (workspace.results / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows:
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    (workspace.results / "summary.md").write_text("\n".join(lines) + "\n")


def check_bit_exact(comparison: CsimComparison) -> None:
    """Raise MismatchError unless C-simulation matched the emulator everywhere."""
    if not (all(comparison.scores_exact) and comparison.weights_exact and comparison.testbench_passed):
        bad = [i + 1 for i, ok in enumerate(comparison.scores_exact) if not ok]
        raise MismatchError(
            "C-simulation differs from the emulator: scores of experiences "
            f"{bad or 'none'} differ, weights {'agree' if comparison.weights_exact else 'differ'}; "
            f"see {comparison.log_path}"
        )
