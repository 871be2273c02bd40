"""Derived fixed-point facts of the firmware datapath: exact sum widths, shifts, sigmoid table.

The config names the types that values are rounded to. The widths of the exact
intermediate sums follow from them and are computed here once, so the emulator, the
generated C++ and the config check all use the same numbers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
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
    table_sample: str = "centre"  # sigmoid.sample: "centre" or "hls4ml" (see make_sigmoid_table)

    @classmethod
    def from_config(cls, config) -> "Datapath":
        """Derive the datapath of a validated :class:`~altmin_hls.config.Config`."""
        p = config.precision
        sizes = tuple(config.sizes)
        layer_inputs = (p.input, p.activation, p.activation)
        needs = [
            exact_dot_type(p.weight, a_type, n_in, p.bias)
            for n_in, a_type in zip(sizes[:-1], layer_inputs)
        ]
        need_integer = max(need.integer for need in needs)
        need_frac = max(need.frac for need in needs)
        acc = p.accumulator
        if not acc.signed or acc.frac < need_frac or acc.integer < need_integer:
            raise ConfigError(
                f"config key 'precision.accumulator' is {acc.cpp()}, too narrow for the exact "
                f"sums of all three layers; use at least ap_fixed<{need_integer + need_frac},"
                f"{need_integer}> (integer bits >= {need_integer}, fractional bits >= {need_frac})"
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
                config.sigmoid_table_size,
                config.sigmoid_input_range,
                p.score,
                config.sigmoid_sample,
            ),
            backsum=backsum,
            gradient_sums=gradient_sums,
            bias_gradient_sums=(bias_sum, bias_sum, bias_sum),
            table_sample=config.sigmoid_sample,
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

    def sigmoid_index(self, z: np.ndarray, frac: int) -> np.ndarray:
        """Return the table entry that each exact sum z (raw, ``frac`` fraction bits) selects.

        ``centre``: ``clamp(floor((z + R) N / (2R)), 0, N - 1)``. ``hls4ml``: ``clamp(N/2 +
        trunc(z N / 16), 0, N - 1)``, where trunc rounds toward zero, as the C conversion to
        int in hls4ml's ``sigmoid`` does, so the bin of entry N/2 is twice as wide.
        """
        z = np.asarray(z, np.int64)
        move = frac - self.table_index_shift
        if self.table_sample == "hls4ml":
            # R = 8 here (config check), so N / (2R) = N / 16 = 2**table_index_shift.
            magnitude = np.abs(z)
            scaled = magnitude >> move if move >= 0 else magnitude << -move
            index = np.where(z < 0, -scaled, scaled) + self.table_size // 2
        else:
            # table_range is a power of two >= 0.5, so it is a whole number of raw units.
            shifted = z + int(self.table_range * 2**frac)
            index = shifted >> move if move >= 0 else shifted << -move
        return np.clip(index, 0, self.table_size - 1)


def make_sigmoid_table(
    size: int, input_range: float, score: FixedType, sample: str = "centre"
) -> np.ndarray:
    """Return the raw score values of the sigmoid lookup table.

    ``centre``: entry ``i`` is the sigmoid at the centre of bin ``i`` of ``[-input_range,
    input_range)``, rounded to the score type with its own rounding and overflow modes.
    ``hls4ml``: the table of hls4ml 1.3.0's ``init_sigmoid_table`` (nnet_activation.h) with
    ``table_t`` equal to the score type, over [-8, 8) whatever ``input_range`` is.
    """
    if sample == "hls4ml":
        return _hls4ml_sigmoid_table(size, score)
    step = 2.0 * input_range / size
    centres = -input_range + (np.arange(size) + 0.5) * step
    return score.from_float(1.0 / (1.0 + np.exp(-centres)))


def _c_expf(x: np.ndarray) -> np.ndarray:
    """Return ``expf(x)`` of the C library, which hls4ml's compiled C++ calls.

    glibc's expf is not correctly rounded for every input, so a double exp rounded to
    single precision differs from it by one ULP for a few table entries.
    """
    name = ctypes.util.find_library("m")
    if name is None:
        # NOTE: where no C math library is found (Windows, for one), a double exp rounded to
        # single precision is used instead, and rare entries can differ from hls4ml's C-sim.
        return np.exp(x.astype(np.float64)).astype(np.float32)
    expf = ctypes.CDLL(name).expf
    expf.restype = ctypes.c_float
    expf.argtypes = [ctypes.c_float]
    return np.array([expf(float(v)) for v in x], dtype=np.float32)


@functools.cache
def _hls4ml_sigmoid_values(size: int) -> np.ndarray:
    """Return the single-precision values of hls4ml's sigmoid table of ``size`` entries.

    hls4ml samples the left edge of each bin, ``x_i = 16 (i - N/2) / N``, and computes
    ``1.0 / (1 + std::exp(-x_i))`` with ``x_i`` a float. So ``expf`` and the addition are
    single precision, the division is double, and the result is returned as a float before
    it is assigned to ``table_t``. Each single-precision step is repeated here.
    """
    x = (16.0 * (np.arange(size) - size / 2.0) / size).astype(np.float32)
    denominator = np.float32(1.0) + _c_expf(-x)
    values = (1.0 / denominator.astype(np.float64)).astype(np.float32)
    values.setflags(write=False)
    return values


def _hls4ml_sigmoid_table(size: int, score: FixedType) -> np.ndarray:
    """Return hls4ml's sigmoid table with ``table_t`` equal to the score type, as raw scores."""
    return score.from_float(_hls4ml_sigmoid_values(size).astype(np.float64))
