"""Compare hls4ml's inference of the same weights with the emulator and C-simulation.

``run_hls4ml`` converts the weights with hls4ml 1.3.0 (Vitis backend, ``io_parallel`` or
``io_stream``), with every layer's precision set to the firmware's types, compiles the
model once and traces every layer for raw inputs. ``compare`` then compares each layer
with the emulator as raw integers:

- ``c1``, ``c2``: hls4ml Dense result type = ``precision.code``, accumulator =
  ``precision.accumulator``. The firmware's sums are exact, and so are hls4ml's, because the
  accumulator represents every product and sum exactly. So both round the same value.
- ``h1``, ``h2``: hls4ml ReLU result type = ``precision.activation``.
- ``z``, the output layer's sum before the sigmoid: hls4ml Dense result type = the exact
  sum type, so hls4ml passes the exact sum on, as the firmware does.
- ``score``: hls4ml's sigmoid table has ``table_t`` = ``precision.score``. Its contents and
  index differ from the firmware's default table (``sigmoid.sample: centre``): hls4ml
  samples the left edge of each bin of [-8, 8), in single precision, and truncates the
  index toward zero. With ``sigmoid.sample: hls4ml`` the firmware uses the same table and
  index, and the scores agree exactly. With ``centre`` they agree within
  ``score_bound``: both samples lie half a bin (w/2, w = 16 / table_size) from each
  other, the sigmoid's slope is at most 1/4, and each entry is rounded once, so the
  difference is at most w/8 plus 2 score LSBs (one per rounding, with margin for
  hls4ml's single-precision step).

hls4ml's ``trace`` returns doubles, so every compared type must be at most 53 bits wide.
"""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from altmin_hls.config import Config
from altmin_hls.emulator.datapath import Datapath, exact_dot_type
from altmin_hls.emulator.emulator import Emulator, FixedParameters
from altmin_hls.errors import AltminError, ConfigError, MismatchError
from altmin_hls.fixed import FixedType
from altmin_hls.hls import csim
from altmin_hls.hls import streams as stream_files
from altmin_hls.hls.tbdata import write_tb_data
from altmin_hls.interop.keras_io import (
    DENSE_NAMES,
    INPUT_NAME,
    RELU_NAMES,
    SIGMOID_NAME,
    build_keras_model,
)

log = logging.getLogger(__name__)

IO_TYPES = ("io_parallel", "io_stream")
# hls4ml layer name -> emulator value, in network order.
LAYER_VALUES = (
    (DENSE_NAMES[0], "c1"),
    (RELU_NAMES[0], "h1"),
    (DENSE_NAMES[1], "c2"),
    (RELU_NAMES[1], "h2"),
    (DENSE_NAMES[2], "z"),
    (SIGMOID_NAME, "score"),
)
DOUBLE_MANTISSA_BITS = 53


def output_sum_type(config: Config) -> FixedType:
    """Return the exact type of the output layer's sum ``z = W3 h2 + b3``."""
    p = config.precision
    return exact_dot_type(p.weight, p.activation, config.sizes[2], p.bias)


def value_types(config: Config) -> dict[str, FixedType]:
    """Return the type of each compared value, by emulator name."""
    p = config.precision
    return {
        "c1": p.code,
        "h1": p.activation,
        "c2": p.code,
        "h2": p.activation,
        "z": output_sum_type(config),
        "score": p.score,
    }


def hls4ml_config(config: Config) -> dict[str, Any]:
    """Return the hls4ml configuration whose per-layer precisions match the firmware's types.

    The layer names are those of ``keras_io.build_keras_model``. hls4ml inserts a linear
    activation named ``<dense>_linear`` after each Dense layer, so those get the Dense
    layer's result type too and pass values through unchanged.
    """
    p = config.precision
    code, accumulator = p.code.cpp(), p.accumulator.cpp()
    dense_results = (code, code, output_sum_type(config).cpp())
    layers: dict[str, Any] = {INPUT_NAME: {"Precision": {"result": p.input.cpp()}}}
    for name, result in zip(DENSE_NAMES, dense_results):
        layers[name] = {
            "Precision": {
                "weight": p.weight.cpp(),
                "bias": p.bias.cpp(),
                "accum": accumulator,
                "result": result,
            },
            "ReuseFactor": 1,
        }
        layers[f"{name}_linear"] = {"Precision": {"result": result}}
    for name in RELU_NAMES:
        layers[name] = {"Precision": {"result": p.activation.cpp()}}
    # hls4ml 1.3.0 takes an activation's table type from the layer key table_t. It ignores
    # the "table" entry of "Precision" that config_from_keras_model writes.
    layers[SIGMOID_NAME] = {
        "Precision": {"result": p.score.cpp()},
        "table_t": p.score.cpp(),
        "TableSize": config.sigmoid_table_size,
    }
    for layer in layers.values():
        layer["Trace"] = True
    return {
        "Model": {
            "Precision": {"default": accumulator},
            "ReuseFactor": 1,
            "Strategy": "Latency",
            "BramFactor": 1_000_000_000,
            "TraceOutput": True,
        },
        "LayerName": layers,
    }


@dataclass
class Hls4mlRun:
    """Raw values of every compared layer for each track, from hls4ml's trace."""

    io_type: str
    output_dir: Path
    values: dict[str, np.ndarray]  # emulator name -> raw integers, (n, width)


def _hls4ml_module() -> Any:
    try:
        import hls4ml
    except ImportError as exc:  # hls4ml is a core dependency, so only a broken install gets here
        raise AltminError(
            f"failed to import hls4ml ({exc}); reinstall it: pip install hls4ml==1.3.0"
        ) from exc
    return hls4ml


def _to_raw(values: np.ndarray, fixed: FixedType, where: str) -> np.ndarray:
    scaled = np.ldexp(np.asarray(values, np.float64), fixed.frac)
    if not np.all(scaled == np.round(scaled)):
        raise MismatchError(
            f"hls4ml values of {where} are not multiples of the LSB of {fixed.cpp()}"
        )
    return scaled.astype(np.int64)


def run_hls4ml(
    config: Config, parameters: FixedParameters, x_raw: np.ndarray, io_type: str, output_dir: Path
) -> Hls4mlRun:
    """Convert and compile the model with hls4ml, and trace every layer for raw inputs x (n, 5).

    Compiling runs g++ -O3 on the generated project (8 to 23 s per model on a two-core
    machine), so call this once per model and input set. The hls4ml project is written into
    ``output_dir``.
    """
    if io_type not in IO_TYPES:
        raise ValueError(f"invalid io_type {io_type!r}: expected one of {', '.join(IO_TYPES)}")
    types = value_types(config)
    for name, fixed in {**types, "input": config.precision.input}.items():
        if fixed.width > DOUBLE_MANTISSA_BITS:
            raise ConfigError(
                f"the {name} type {fixed.cpp()} is wider than {DOUBLE_MANTISSA_BITS} bits, so "
                "hls4ml's double-precision trace cannot return it exactly"
            )
    hls4ml = _hls4ml_module()
    keras_model = build_keras_model(parameters, config, qkeras=False)
    model = hls4ml.converters.convert_from_keras_model(
        keras_model,
        hls_config=hls4ml_config(config),
        output_dir=str(output_dir),
        backend="Vitis",
        io_type=io_type,
    )
    x = np.ascontiguousarray(config.precision.input.to_float(np.asarray(x_raw, np.int64)))
    log.info("compiling and tracing the hls4ml model (%s) in %s", io_type, output_dir)
    _, trace = model.trace(x)
    missing = [name for name, _ in LAYER_VALUES if name not in trace]
    if missing:
        raise AltminError(
            f"hls4ml's trace has no output for layers {missing}; found {sorted(trace)}"
        )
    values = {
        value: _to_raw(trace[layer].reshape(len(x), -1), types[value], f"layer '{layer}'")
        for layer, value in LAYER_VALUES
    }
    return Hls4mlRun(io_type=io_type, output_dir=Path(output_dir), values=values)


def emulator_values(
    config: Config, parameters: FixedParameters, x_raw: np.ndarray
) -> dict[str, np.ndarray]:
    """Return the emulator's raw c1, h1, c2, h2, z and score for raw inputs x (n, 5)."""
    path = Datapath.from_config(config)
    forward = Emulator(path, parameters).forward(np.asarray(x_raw, np.int64))
    p = config.precision
    z_frac = output_sum_type(config).frac
    products = forward["h2"] @ parameters.weights[2].T
    z = (products << (z_frac - p.activation.frac - p.weight.frac)) + (
        parameters.biases[2] << (z_frac - p.bias.frac)
    )
    values = {name: forward[name] for name in ("c1", "h1", "c2", "h2")}
    values["z"] = z
    values["score"] = forward["score"][:, None]
    return values


@dataclass
class Agreement:
    """How many raw values of one quantity two views share, and the largest difference."""

    name: str
    equal: int
    total: int
    max_difference: int  # in raw LSBs

    @property
    def exact(self) -> bool:
        """True when every value is equal."""
        return self.equal == self.total


def _agreement(name: str, ours: np.ndarray, theirs: np.ndarray) -> Agreement:
    ours = np.asarray(ours, np.int64).reshape(len(theirs), -1)
    theirs = np.asarray(theirs, np.int64).reshape(len(theirs), -1)
    if ours.shape != theirs.shape:
        raise MismatchError(f"{name}: shapes {ours.shape} and {theirs.shape} differ")
    difference = np.abs(ours - theirs)
    return Agreement(
        name,
        int((difference == 0).sum()),
        int(difference.size),
        int(difference.max()) if difference.size else 0,
    )


def score_bound(config: Config) -> int | None:
    """Return the largest score difference, in score LSBs, between a centre table and hls4ml's.

    None unless the config samples bin centres over [-8, 8), because only then do both
    tables have bins of the same width (see the module docstring for the derivation).
    """
    if config.sigmoid_sample != "centre" or config.sigmoid_input_range != 8.0:
        return None
    bin_width = 16.0 / config.sigmoid_table_size
    return math.ceil(bin_width / 8 * 2.0**config.precision.score.frac) + 2


@dataclass
class Hls4mlComparison:
    """hls4ml against the emulator, layer by layer, and its scores against C-simulation."""

    io_type: str
    n_tracks: int
    layers: list[Agreement]  # c1, h1, c2, h2, z, score: emulator against hls4ml
    scores_exact_expected: bool  # sigmoid.sample is hls4ml
    score_bound: int | None  # score LSBs allowed with sigmoid.sample centre
    csim: Agreement | None = None  # C-simulation scores against hls4ml

    def agreement(self, name: str) -> Agreement:
        """Return the agreement of one value (c1, h1, c2, h2, z or score)."""
        return next(a for a in self.layers if a.name == name)

    @property
    def as_expected(self) -> bool:
        """True when the layers before the sigmoid agree exactly, and the scores agree exactly
        (``sigmoid.sample: hls4ml``) or within ``score_bound`` (``centre``)."""
        before = all(a.exact for a in self.layers if a.name != "score")
        score = self.agreement("score")
        if self.scores_exact_expected:
            scores_ok = score.exact and (self.csim is None or self.csim.exact)
        else:
            scores_ok = self.score_bound is not None and score.max_difference <= self.score_bound
        return before and scores_ok

    def summary(self) -> str:
        """Return one line per compared value."""
        lines = [f"hls4ml {self.io_type}, {self.n_tracks} tracks:"]
        for a in self.layers + ([self.csim] if self.csim else []):
            lines.append(
                f"  {a.name}: {a.equal}/{a.total} equal, max difference {a.max_difference} LSB"
            )
        if not self.scores_exact_expected:
            lines.append(f"  score bound for the centre table: {self.score_bound} LSB")
        return "\n".join(lines)


def compare(
    config: Config,
    parameters: FixedParameters,
    x_raw: np.ndarray,
    run: Hls4mlRun,
    csim_scores: np.ndarray | None = None,
) -> Hls4mlComparison:
    """Compare an hls4ml run with the emulator under ``config`` (and with C-simulation scores).

    The hls4ml model depends only on the precisions and the table size, so one run can be
    compared under configs that differ only in ``sigmoid.sample``.
    """
    ours = emulator_values(config, parameters, x_raw)
    layers = [_agreement(name, ours[name], run.values[name]) for _, name in LAYER_VALUES]
    csim_agreement = None
    if csim_scores is not None:
        csim_agreement = _agreement(
            "csim score", np.asarray(csim_scores)[:, None], run.values["score"]
        )
    return Hls4mlComparison(
        io_type=run.io_type,
        n_tracks=len(x_raw),
        layers=layers,
        scores_exact_expected=config.sigmoid_sample == "hls4ml",
        score_bound=score_bound(config),
        csim=csim_agreement,
    )


def csim_inference(
    project: Path,
    config: Config,
    parameters: FixedParameters,
    streams: list[stream_files.TrackStream],
    work_dir: Path,
) -> np.ndarray:
    """Return C-simulation scores of the streams in infer mode, with these parameters loaded.

    The project folder is copied into ``work_dir`` (its compiled testbench too, if
    present), so the project's own ``tb_data`` is left as it is. Raises MismatchError if
    the testbench's scores differ from the emulator's.
    """
    target = Path(work_dir) / "hls"
    if target.exists():
        raise AltminError(f"{target} exists; pass an empty work_dir for the copy of the project")
    shutil.copytree(project, target)
    binary = target / "csim" / f"{config.name}_csim"
    if not binary.is_file():
        binary = csim.build(target)
    names = [f"stream_{index:02d}.txt" for index in range(len(streams))]
    write_tb_data(target, config, parameters, streams, names, learn=False)
    outcome = csim.run(target, binary, learn=False)
    if not outcome.passed:
        raise MismatchError(
            f"C-simulation in infer mode differs from the emulator; see {outcome.log_path}"
        )
    return stream_files.read_scores(outcome.scores_path)[:, 2]
