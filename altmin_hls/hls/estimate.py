"""Static resource and throughput estimates of the generated HLS project, without Vitis.

The counts are multiplications of two variables per track, read off ``firmware/altmin.h``
for sizes ``n0-n1-n2-1`` and ``K = altmin.code_steps``. Multiplications by the
power-of-two constants (the code step sizes, the weight step size and the sigmoid table
scale) are shifts and are not counted. Per weight matrix ``W_l``:

- inference, ``forward``: ``dense()`` multiplies every weight once, ``n_{l-1} n_l``.
- learning, ``code_steps`` (``code_steps()``):
    - layer 3: ``(2K - 1) n2``, from K top-code updates ``e w3_j`` and K - 1 recomputed
      output sums ``W3 relu(c2)`` (steps k > 0 rescore the updated code).
    - layer 2: ``(2K - 1) n1 n2``, from K back-sums ``r2_j W2[j][i]`` and K - 1
      recomputed ``W2 relu(c1)``.
    - layer 1: 0, because the lower code step only reads ``W2``.
- learning, ``gradient`` (``accumulate_gradients()``):
    - layer 3: ``2 n2``, the output recomputed from ``c2*`` and the products ``e3 h2_j``.
    - layer 2: ``2 n1 n2``, ``W2 relu(c1*)`` recomputed and the products ``r2_j h1_i``.
    - layer 1: ``n0 n1``, the products ``r1_i x_f``; ``W1 x`` is not recomputed because the
      forward code ``c1_0`` is kept.

The weight step (every ``batch_size`` tracks) subtracts shifted gradient sums from all
parameters and multiplies nothing. With reuse factor ``R`` each count needs
``ceil(count / R)`` multipliers to be issued once every ``R`` cycles.

All figures here are estimates. ``tests/test_report_estimate.py`` checks the counts
against the multiplications that ``firmware/altmin.h`` performs when compiled with a
counting number type.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altmin_hls.config import Config
from altmin_hls.errors import AltminError

log = logging.getLogger(__name__)

YOSYS_MODULE = "altmin_hls.rtl.yosys"


@dataclass(frozen=True)
class LayerMultiplies:
    """Multiplications per track that involve one weight matrix, by phase."""

    layer: int  # 1, 2, 3
    n_in: int
    n_out: int
    forward: int
    code_steps: int
    gradient: int

    @property
    def learning(self) -> int:
        """Return the extra multiplications of a learning track: code steps and gradients."""
        return self.code_steps + self.gradient

    def to_dict(self, reuse_factor: int) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "shape": [self.n_out, self.n_in],
            "forward": self.forward,
            "forward_multipliers": math.ceil(self.forward / reuse_factor),
            "code_steps": self.code_steps,
            "gradient": self.gradient,
            "learning": self.learning,
            "learning_multipliers": math.ceil((self.forward + self.learning) / reuse_factor),
        }


def layer_multiplies(sizes: tuple[int, ...], code_steps: int) -> list[LayerMultiplies]:
    """Return the multiplications per track of each layer, by the formulas in the module docstring."""
    n0, n1, n2, n3 = sizes
    if n3 != 1:
        raise ValueError(f"expected one output, got sizes {sizes}")
    k = code_steps
    return [
        LayerMultiplies(1, n0, n1, forward=n0 * n1, code_steps=0, gradient=n0 * n1),
        LayerMultiplies(2, n1, n2, forward=n1 * n2, code_steps=(2 * k - 1) * n1 * n2, gradient=2 * n1 * n2),
        LayerMultiplies(3, n2, 1, forward=n2, code_steps=(2 * k - 1) * n2, gradient=2 * n2),
    ]


@dataclass(frozen=True)
class YosysFigures:
    """Cell counts of the inference RTL after Yosys synthesis (not Vivado's)."""

    family: str
    dsp: int
    lut: int
    ff: int
    bram: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "dsp": self.dsp,
            "lut": self.lut,
            "ff": self.ff,
            "bram": self.bram,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class StaticEstimate:
    """Multiplier counts and expected initiation intervals of one config, all estimates."""

    sizes: tuple[int, ...]
    reuse_factor: int
    code_steps: int
    batch_size: int
    clock_period_ns: float
    n_parameters: int
    layers: list[LayerMultiplies]
    yosys: YosysFigures | None = None
    yosys_note: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def forward_multiplies(self) -> int:
        """Return the multiplications of one scored track."""
        return sum(layer.forward for layer in self.layers)

    @property
    def learning_sample_multiplies(self) -> int:
        """Return the multiplications of one learning track: forward, code steps, gradients."""
        return sum(layer.forward + layer.learning for layer in self.layers)

    @property
    def multiplier_limit(self) -> int:
        """Return ceil(forward multiplies / R), the ALLOCATION limit of the inference loop."""
        return math.ceil(self.forward_multiplies / self.reuse_factor)

    @property
    def inference_ii(self) -> int:
        """Return the target II of the track loop: the reuse factor."""
        return self.reuse_factor

    @property
    def learning_multipliers(self) -> int:
        """Return the multipliers a learning track needs to keep the loop at II = R."""
        return math.ceil(self.learning_sample_multiplies / self.reuse_factor)

    def to_dict(self) -> dict[str, Any]:
        """Return the estimate as JSON-ready values, labelled as an estimate."""
        return {
            "kind": "static estimate, not a synthesis result",
            "sizes": list(self.sizes),
            "reuse_factor": self.reuse_factor,
            "code_steps": self.code_steps,
            "batch_size": self.batch_size,
            "clock_period_ns": self.clock_period_ns,
            "layers": [layer.to_dict(self.reuse_factor) for layer in self.layers],
            "forward_multiplies": self.forward_multiplies,
            "learning_sample_multiplies": self.learning_sample_multiplies,
            "multiplier_limit": self.multiplier_limit,
            "inference_ii": self.inference_ii,
            "learning_multipliers_at_target_ii": self.learning_multipliers,
            "learning_ii": "set by synthesis: the weight step is a loop-carried dependence",
            "weight_step_parameters": self.n_parameters,
            "weight_step_every_tracks": self.batch_size,
            "yosys": None if self.yosys is None else self.yosys.to_dict(),
            "yosys_note": self.yosys_note,
            "notes": list(self.notes),
        }


def static_estimate(config: Config) -> StaticEstimate:
    """Return the multiplier counts and II estimates of ``config``, without Yosys figures."""
    layers = layer_multiplies(config.sizes, config.code_steps)
    notes = [
        "MODE_INFER runs its own pipelined loop with the multiplier limit, so its II is the "
        "reuse factor if synthesis meets the limit.",
        "MODE_LEARN runs a separate loop without a multiplier limit; the weight step at the end "
        "of a minibatch writes parameters that the next track reads, and that recurrence sets "
        "its II.",
    ]
    return StaticEstimate(
        sizes=config.sizes,
        reuse_factor=config.reuse_factor,
        code_steps=config.code_steps,
        batch_size=config.batch_size,
        clock_period_ns=config.clock_period,
        n_parameters=config.n_parameters,
        layers=layers,
        notes=notes,
    )


def yosys_figures(rtl_dir: Path, top: str, work_dir: Path, run: bool) -> tuple[YosysFigures | None, str]:
    """Synthesise the inference RTL with Yosys when ``run`` is true; return figures and a note.

    Returns (None, sentence) when the Yosys module is not part of this installation, when
    ``rtl_dir`` contains no Verilog, when ``run`` is false, or when Yosys fails.
    """
    try:
        yosys = importlib.import_module(YOSYS_MODULE)
    except ImportError:
        return None, (
            f"Yosys figures skipped: this installation has no RTL synthesis module ({YOSYS_MODULE})."
        )
    rtl_dir = Path(rtl_dir)
    if not any(rtl_dir.glob("*.v")):
        return None, (
            f"Yosys figures skipped: no generated Verilog (*.v) in {rtl_dir}; write it with "
            "`altmin-hls rtl`."
        )
    if not run:
        return None, (
            f"Yosys figures not computed: pass --yosys to synthesise {rtl_dir} with Yosys "
            "(takes minutes)."
        )
    try:
        counts = yosys.synthesise(rtl_dir, top, work_dir)
    except AltminError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("Yosys synthesis of %s failed: %s", rtl_dir, exc)
        return None, f"Yosys figures unavailable: {first_line}"
    figures = YosysFigures(
        family=counts.family,
        dsp=counts.dsp,
        lut=counts.lut,
        ff=counts.ff,
        bram=counts.bram,
        seconds=counts.seconds,
    )
    note = (
        f"Yosys {counts.family} cell counts of the inference RTL in {rtl_dir}{_rtl_reuse(rtl_dir)} "
        "(an estimate: Yosys maps differently from Vivado, and the RTL has no learning path)."
    )
    return figures, note


def _rtl_reuse(rtl_dir: Path) -> str:
    """Return ", written at reuse factor R" from the RTL's rtl.json, or "" without one."""
    manifest = Path(rtl_dir) / "rtl.json"
    try:
        reuse = json.loads(manifest.read_text())["reuse_factor"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return f", written at reuse factor {reuse} (the multiplier counts above use the config's)"


def estimate_tables(estimate: StaticEstimate) -> list[Any]:
    """Return rich tables of the estimate: multiplies per layer, then the derived figures."""
    from rich.table import Table

    r = estimate.reuse_factor
    per_layer = Table(
        title=f"Static estimate: multiplications per track (K = {estimate.code_steps}, R = {r})",
        caption="Estimates from the loops of firmware/altmin.h, not synthesis results. A learning "
        "track is forward + code steps + gradient; multipliers = ceil(multiplies / R).",
    )
    columns = (
        "layer", "weights", "forward", "code\nsteps", "gradient", "learning\ntrack",
        "multipliers\nforward/learning",
    )
    for column in columns:
        per_layer.add_column(column, justify="right")
    for layer in estimate.layers:
        learning_track = layer.forward + layer.learning
        per_layer.add_row(
            str(layer.layer),
            f"{layer.n_out}x{layer.n_in}",
            str(layer.forward),
            str(layer.code_steps),
            str(layer.gradient),
            str(learning_track),
            f"{math.ceil(layer.forward / r)}/{math.ceil(learning_track / r)}",
        )
    per_layer.add_row(
        "total", "",
        str(estimate.forward_multiplies),
        str(sum(layer.code_steps for layer in estimate.layers)),
        str(sum(layer.gradient for layer in estimate.layers)),
        str(estimate.learning_sample_multiplies),
        f"{estimate.multiplier_limit}/{estimate.learning_multipliers}",
    )

    derived = Table(title="Static estimate: throughput", show_header=False)
    derived.add_column("figure")
    derived.add_column("estimate")
    derived.add_row("inference II (target)", f"{estimate.inference_ii}, the reuse factor")
    derived.add_row("multiplier limit (ALLOCATION pragma)", str(estimate.multiplier_limit))
    derived.add_row(
        "learning track",
        f"{estimate.learning_sample_multiplies} multiplies; {estimate.learning_multipliers} "
        f"multipliers to learn at II = {r}",
    )
    derived.add_row(
        "learning II",
        "set by synthesis: the learning loop has no multiplier limit, and its weight step "
        "writes parameters that the next track reads",
    )
    derived.add_row(
        "weight step",
        f"{estimate.n_parameters} parameter updates (shift and subtract) every "
        f"{estimate.batch_size} tracks",
    )
    if estimate.yosys is not None:
        y = estimate.yosys
        derived.add_row(
            f"Yosys ({y.family}), inference RTL",
            f"DSP {y.dsp}, LUT {y.lut}, FF {y.ff}, BRAM {y.bram}",
        )
    return [per_layer, derived]
