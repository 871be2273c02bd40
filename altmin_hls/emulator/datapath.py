"""Derived fixed-point facts of the firmware datapath: exact sum widths, shifts, sigmoid table.

The config names the types that values are rounded to. The widths of the exact
intermediate sums follow from them and are computed here once, so the emulator, the
generated C++ and the config check all use the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from altmin_hls.errors import ConfigError
from altmin_hls.fixed import MAX_WIDTH, FixedType

# Largest magnitude, in bits, that a raw value of the emulator may reach. Raw values are
# NumPy int64, so 62 bits leaves a sign bit and one bit of headroom for an aligned add.
EMULATOR_BITS = MAX_WIDTH


def _bits_for_count(count: int) -> int:
    return max(0, math.ceil(math.log2(count))) if count > 1 else 0


def _magnitude_bits(t: FixedType) -> int:
    """Return m with |value| <= 2**m for every value of type t."""
    return t.integer - 1 if t.signed else t.integer


def exact_dot_type(a: FixedType, b: FixedType, terms: int, bias: FixedType | None) -> FixedType:
    """Return a signed type that represents any sum of ``terms`` products a*b plus one bias, exactly."""
    frac = a.frac + b.frac
    magnitude = _magnitude_bits(a) + _magnitude_bits(b)
    count = terms
    if bias is not None:
        frac = max(frac, bias.frac)
        magnitude = max(magnitude, _magnitude_bits(bias))
        count += 1
    integer = magnitude + _bits_for_count(count) + 1
    return exact_type(integer, frac)


def exact_type(integer: int, frac: int) -> FixedType:
    """Return the signed type with these bits, or raise ConfigError when it is too wide."""
    if integer + frac > MAX_WIDTH:
        raise ConfigError(
            f"an exact intermediate sum needs {integer + frac} bits ({integer} integer, {frac} "
            f"fractional), more than the {MAX_WIDTH} the emulator supports; narrow the "
            "precisions or the batch size"
        )
    return FixedType(integer + frac, integer)


def _log2_exact(value: float) -> int:
    exponent = int(round(math.log2(value)))
    assert 2.0**exponent == value, value
    return exponent


@dataclass(frozen=True)
class Datapath:
    """Sizes, types, shifts and the sigmoid table of one firmware configuration."""

    sizes: tuple[int, ...]
    input: FixedType
    weight: FixedType
    bias: FixedType
    accumulator: FixedType
    code: FixedType
    activation: FixedType
    gradient: FixedType
    score: FixedType
    code_steps: int
    top_code_shift: int  # log2(g2): the top-code step is e * w scaled by 2**top_code_shift
    lower_code_shift: int  # log2(g1)
    weight_shift: int  # s: the weight step is G * 2**-s
    batch_size: int
    table_size: int
    table_range: float
    sigmoid_table: np.ndarray  # raw score values, int64, shape (table_size,)
    backsum: FixedType  # exact W2^T r2
    gradient_sums: tuple[FixedType, ...]  # exact weight-gradient sum of each layer
    bias_gradient_sums: tuple[FixedType, ...]

    @classmethod
    def from_config(cls, config) -> "Datapath":
        """Derive the datapath of a validated :class:`~altmin_hls.config.Config`."""
        p = config.precision
        sizes = tuple(config.sizes)
        layer_inputs = (p.input, p.activation, p.activation)
        for layer, (n_in, a_type) in enumerate(zip(sizes[:-1], layer_inputs), start=1):
            need = exact_dot_type(p.weight, a_type, n_in, p.bias)
            acc = p.accumulator
            if not acc.signed or acc.frac < need.frac or acc.integer < need.integer:
                raise ConfigError(
                    f"config key 'precision.accumulator' is {acc.cpp()}, too narrow for the "
                    f"exact sums of layer {layer}; use at least ap_fixed<{need.width},"
                    f"{need.integer}> (integer bits >= {need.integer}, fractional bits >= "
                    f"{need.frac})"
                )
        batch = config.batch_size
        backsum = exact_dot_type(p.gradient, p.weight, sizes[2], None)
        gradient_sums = tuple(
            exact_dot_type(p.gradient, a_type, batch, None) for a_type in layer_inputs
        )
        bias_sum = exact_type(
            _magnitude_bits(p.gradient) + _bits_for_count(batch) + 1, p.gradient.frac
        )
        path = cls(
            sizes=sizes,
            input=p.input,
            weight=p.weight,
            bias=p.bias,
            accumulator=p.accumulator,
            code=p.code,
            activation=p.activation,
            gradient=p.gradient,
            score=p.score,
            code_steps=config.code_steps,
            top_code_shift=_log2_exact(config.code_lr_top),
            lower_code_shift=_log2_exact(config.code_lr_lower),
            weight_shift=config.weight_shift,
            batch_size=batch,
            table_size=config.sigmoid_table_size,
            table_range=config.sigmoid_input_range,
            sigmoid_table=make_sigmoid_table(
                config.sigmoid_table_size, config.sigmoid_input_range, p.score
            ),
            backsum=backsum,
            gradient_sums=gradient_sums,
            bias_gradient_sums=(bias_sum, bias_sum, bias_sum),
        )
        path.check_emulator_widths()
        return path

    def check_emulator_widths(self) -> None:
        """Raise ConfigError when an aligned intermediate would not fit an int64."""
        widest_sum = max(s.width for s in self.gradient_sums + self.bias_gradient_sums)
        frac_sum = max(s.frac for s in self.gradient_sums + self.bias_gradient_sums)
        aligned_frac = frac_sum + self.weight_shift
        weight_int = max(self.weight.integer, self.bias.integer)
        update_bits = max(widest_sum, weight_int + aligned_frac) + 1
        code_frac = self.gradient.frac + self.weight.frac - min(
            self.top_code_shift, self.lower_code_shift
        )
        code_bits = max(self.backsum.integer, self.code.integer) + max(code_frac, self.code.frac) + 2
        for what, bits in (("weight step", update_bits), ("code step", code_bits)):
            if bits > EMULATOR_BITS:
                raise ConfigError(
                    f"the {what} needs {bits}-bit intermediates, more than the {EMULATOR_BITS} "
                    "that the emulator supports; narrow the precisions, raise "
                    "altmin.weight_lr or lower altmin.batch_size"
                )

    @property
    def n_parameters(self) -> int:
        """Return the number of weights and biases."""
        return sum((a + 1) * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def table_index_shift(self) -> int:
        """Return m with table_size / (2 * table_range) = 2**m."""
        return _log2_exact(self.table_size / (2.0 * self.table_range))


def make_sigmoid_table(size: int, input_range: float, score: FixedType) -> np.ndarray:
    """Return the raw score values of the sigmoid lookup table.

    Entry ``i`` is the sigmoid at the centre of bin ``i`` of ``[-input_range,
    input_range)``, rounded to the score type with its own rounding and overflow modes.
    """
    step = 2.0 * input_range / size
    centres = -input_range + (np.arange(size) + 0.5) * step
    return score.from_float(1.0 / (1.0 + np.exp(-centres)))
