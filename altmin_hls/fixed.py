"""Emulate Vitis HLS ``ap_fixed`` and ``ap_ufixed`` on raw integers.

A value of type ``ap_fixed<W, I>`` is stored as its raw integer ``value * 2**(W - I)`` in a
numpy int64, so every type up to ``MAX_WIDTH`` bits is emulated exactly. ``quantize`` and
``FixedType.from_float`` reproduce C++ assignment bit for bit: the exact source value is
first rounded to the destination's LSB by its quantisation mode, and the rounded value is then
wrapped or saturated by its overflow mode. ``tests/test_fixed.py`` checks this against the
``ap_fixed.h`` headers shipped with hls4ml 1.3.0, compiled with g++.

The assignment in those headers depends only on the source value, not on the source type
(the tests check this for several narrow source types), and behaves as follows where the
modes are less obvious:

- A value that is in range before rounding but not after it (a rounding carry past the maximum)
  overflows like any other out-of-range value.
- ``AP_SAT_SYM`` on a signed type maps every result below ``-max`` to ``-max``, including the
  exact minimum ``-2**(I-1)``. Width 1 is the exception: there ``-max`` is 0 but the result
  stays at the minimum (raw -1), so it behaves like ``AP_SAT``. On an unsigned type
  ``AP_SAT_SYM`` behaves like ``AP_SAT``.
- ``AP_SAT_ZERO`` sets a result to zero on overflow in either direction, so a negative value
  assigned to an unsigned type becomes 0, as with ``AP_SAT``.
- Conversion from a double treats a subnormal double ``0.m * 2**-1022`` as
  ``1.m * 2**-1023``. This matters only for types with more than about 1000 fraction bits.

NOTE: C++ ``operator=`` with a quantisation mode other than ``AP_TRN`` aborts on the assertion
"Attempting to read bit beyond MSB" (unless NDEBUG is defined) when the source type's MSB lies
below the bit just under the destination's LSB, that is when ``F_source - F_dest > W_source``.
``quantize`` returns the value-based result for such inputs, which is what the NDEBUG build
gives, so generated C++ must not contain such assignments.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

QUANTIZATION_MODES = (
    "AP_TRN",
    "AP_TRN_ZERO",
    "AP_RND",
    "AP_RND_ZERO",
    "AP_RND_MIN_INF",
    "AP_RND_INF",
    "AP_RND_CONV",
)
OVERFLOW_MODES = ("AP_WRAP", "AP_SAT", "AP_SAT_ZERO", "AP_SAT_SYM")
MAX_WIDTH = 62

_ACCEPTED_FORM = (
    "ap_fixed<W, I[, Q[, O[, 0]]]> or ap_ufixed<W, I[, Q[, O[, 0]]]> with integers W and I, "
    f"Q one of {', '.join(QUANTIZATION_MODES)} and O one of {', '.join(OVERFLOW_MODES)}"
)
_TYPE_PATTERN = re.compile(
    r"""\s*ap_(?P<unsigned>u?)fixed\s*<
        \s*(?P<width>[+-]?\d+)\s*,\s*(?P<integer>[+-]?\d+)\s*
        (?:,\s*(?P<quantization>\w+)\s*
            (?:,\s*(?P<overflow>\w+)\s*
                (?:,\s*(?P<saturation_bits>[+-]?\d+)\s*)?
            )?
        )?
        >\s*""",
    re.VERBOSE,
)

# Double-precision layout, as in the ap_fixed_base(double) constructor.
_DOUBLE_MANTISSA_BITS = 52
_DOUBLE_EXPONENT_BIAS = 1023


@dataclass(frozen=True)
class FixedType:
    """Vitis HLS fixed-point type ``ap_fixed<width, integer, quantization, overflow>``.

    ``integer`` counts the integer bits including the sign bit. Both it and the number of
    fraction bits may be negative or exceed ``width``, as in ``ap_fixed``.
    """

    width: int
    integer: int
    signed: bool = True
    quantization: str = "AP_TRN"
    overflow: str = "AP_WRAP"

    def __post_init__(self) -> None:
        for name in ("width", "integer"):
            value = getattr(self, name)
            if isinstance(value, bool):
                raise ValueError(f"invalid fixed-point {name} {value!r}: expected an integer")
            try:
                object.__setattr__(self, name, operator.index(value))
            except TypeError:
                raise ValueError(
                    f"invalid fixed-point {name} {value!r}: expected an integer"
                ) from None
        if not 1 <= self.width <= MAX_WIDTH:
            raise ValueError(
                f"invalid fixed-point width {self.width}: expected 1 to {MAX_WIDTH} bits, because "
                "raw values are emulated in int64"
            )
        if self.quantization not in QUANTIZATION_MODES:
            raise ValueError(
                f"unknown quantization mode {self.quantization!r}: expected one of "
                f"{', '.join(QUANTIZATION_MODES)}"
            )
        if self.overflow not in OVERFLOW_MODES:
            raise ValueError(
                f"unknown overflow mode {self.overflow!r}: expected one of "
                f"{', '.join(OVERFLOW_MODES)}"
            )
        object.__setattr__(self, "signed", bool(self.signed))

    @property
    def frac(self) -> int:
        """Number of fraction bits, ``width - integer``."""
        return self.width - self.integer

    @property
    def min_raw(self) -> int:
        """Smallest raw value."""
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_raw(self) -> int:
        """Largest raw value."""
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        """Value of one raw step, ``2**-frac``.

        It is 0.0 for more than 1074 fraction bits, and raises OverflowError below -1023.
        """
        return math.ldexp(1.0, -self.frac)

    @classmethod
    def parse(cls, text: str) -> FixedType:
        """Parse a C++ spelling such as ``ap_fixed<16, 6, AP_RND, AP_SAT>``.

        Omitted modes take the C++ defaults ``AP_TRN`` and ``AP_WRAP``. The fifth template
        argument (saturation bits) is accepted only as 0, the only value the emulation supports.
        """
        match = _TYPE_PATTERN.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"invalid fixed-point type {text!r}: expected {_ACCEPTED_FORM}")
        saturation_bits = match["saturation_bits"]
        if saturation_bits is not None and int(saturation_bits) != 0:
            raise ValueError(
                f"unsupported saturation bits {saturation_bits} in {text!r}: only 0 is supported"
            )
        return cls(
            width=int(match["width"]),
            integer=int(match["integer"]),
            signed=not match["unsigned"],
            quantization=match["quantization"] or "AP_TRN",
            overflow=match["overflow"] or "AP_WRAP",
        )

    def cpp(self) -> str:
        """Return the C++ spelling with all four template arguments."""
        prefix = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{prefix}<{self.width},{self.integer},{self.quantization},{self.overflow}>"

    def from_float(self, x: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Convert doubles to raw values as ``ap_fixed<...> v = (double)x;`` does in C++.

        Raises ValueError on NaN or infinity, which ap_fixed does not define.
        """
        values = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(values)):
            bad = values[~np.isfinite(values)].ravel()[0]
            raise ValueError(f"cannot convert {bad} to {self.cpp()}: expected a finite number")
        bits = values.view(np.uint64)
        exponent_field = (bits >> np.uint64(_DOUBLE_MANTISSA_BITS)) & np.uint64(0x7FF)
        exponent = exponent_field.astype(np.int64) - _DOUBLE_EXPONENT_BIAS
        # Like the C++ constructor, set the hidden bit even for subnormals (exponent field 0).
        mantissa = (bits & np.uint64((1 << _DOUBLE_MANTISSA_BITS) - 1)).astype(np.int64)
        mantissa |= np.int64(1 << _DOUBLE_MANTISSA_BITS)
        mantissa = np.where(values < 0, -mantissa, mantissa)
        mantissa = np.where(values == 0, 0, mantissa)
        # The double is mantissa * 2**(exponent - 52), a raw value with 52 - exponent fraction
        # bits.
        source_frac = _DOUBLE_MANTISSA_BITS - exponent
        return _assign(mantissa, source_frac - self.frac, self)

    def to_float(self, raw: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Convert raw values to doubles, ``raw * 2**-frac``.

        The result is exact for ``|raw| < 2**53``. Wider raw values round to nearest.
        """
        return np.ldexp(_as_raw(raw).astype(np.float64), -self.frac)

    def product_type(self, other: FixedType) -> FixedType:
        """Return the exact type of ``a * b``, as ap_fixed's ``operator*`` returns it."""
        return FixedType(
            width=self.width + other.width,
            integer=self.integer + other.integer,
            signed=self.signed or other.signed,
        )

    def sum_type(self, other: FixedType, terms: int = 2) -> FixedType:
        """Return the smallest type that can contain any sum of ``terms`` values of either type.

        The fraction bits are the larger of the two. An unsigned operand of a signed sum needs
        one more integer bit, and ``terms`` values need ``ceil(log2(terms))`` more. For
        ``terms=2`` this is the type of ap_fixed's ``operator+``.
        """
        terms = operator.index(terms)
        if terms < 1:
            raise ValueError(f"invalid number of terms {terms}: expected at least 1")
        signed = self.signed or other.signed
        integer = max(
            self.integer + (signed and not self.signed),
            other.integer + (signed and not other.signed),
        )
        integer += (terms - 1).bit_length()
        frac = max(self.frac, other.frac)
        return FixedType(width=integer + frac, integer=integer, signed=signed)


def quantize(raw: npt.ArrayLike, frac: int, dst: FixedType) -> npt.NDArray[np.int64]:
    """Assign the exact values ``raw * 2**-frac`` to ``dst`` as C++ ap_fixed assignment does.

    The value is rounded by ``dst.quantization`` and the rounded value is then wrapped or
    saturated by ``dst.overflow``. Returns the int64 raw values of ``dst``, with the shape of
    ``raw``. Raises ValueError if ``raw`` contains non-integers or values beyond int64.
    """
    raw_values = _as_raw(raw)
    shift = np.full(raw_values.shape, operator.index(frac) - dst.frac, dtype=np.int64)
    return _assign(raw_values, shift, dst)


def _as_raw(raw: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Convert integers to an int64 array, rejecting non-integers and values beyond int64."""
    values = np.asarray(raw)
    if values.dtype.kind == "O":
        try:
            values = values.astype(np.int64)
        except (OverflowError, TypeError, ValueError):
            raise ValueError(
                f"invalid raw values {raw!r}: expected integers that fit in int64"
            ) from None
    if values.dtype.kind not in "iu":
        raise ValueError(f"invalid raw values of dtype {values.dtype}: expected integers")
    if values.dtype == np.uint64 and np.any(values > np.iinfo(np.int64).max):
        raise ValueError("invalid raw values: uint64 values above 2**63 - 1 do not fit in int64")
    return values.astype(np.int64)


def _assign(
    raw: npt.NDArray[np.int64], shift: npt.NDArray[np.int64], dst: FixedType
) -> npt.NDArray[np.int64]:
    """Assign ``raw * 2**-(dst.frac + shift)`` to ``dst``, element by element.

    ``shift`` is the number of fraction bits the source has beyond ``dst``. A positive shift
    drops bits and rounds, a negative one appends zero bits and can only overflow.
    """
    raw, shift = np.broadcast_arrays(raw, shift)
    unsigned = raw.astype(np.uint64)  # two's complement bits of raw
    width_mask = np.uint64((1 << dst.width) - 1)

    # Right shift (shift > 0), with shifts clipped to 1..63 so numpy shifts stay defined.
    right = np.clip(shift, 1, 63)
    rounded = (raw >> right) + _round_up(raw, shift, right, dst.quantization)
    # |raw| <= 2**63 and right >= 1, so |rounded| <= 2**62 and the comparisons are exact.
    right_overflow = rounded > dst.max_raw
    right_underflow = rounded < dst.min_raw
    right_bits = rounded.astype(np.uint64) & width_mask

    # Left shift (shift <= 0). raw << left may not fit in int64, so compare raw with the range
    # bounds shifted right instead. max_raw < 2**62, so both bounds are 0 for left >= 62.
    left = np.clip(-shift, 0, 63)
    upper_bound = np.int64(dst.max_raw) >> left
    lower_bound = -(np.int64(-dst.min_raw) >> left)  # ceil(min_raw / 2**left)
    left_overflow = raw > upper_bound
    left_underflow = raw < lower_bound
    # A shift of `width` or more leaves no bits under the mask, also where left was clipped.
    left_bits = (unsigned << left.astype(np.uint64)) & width_mask

    is_right = shift > 0
    overflow = np.where(is_right, right_overflow, left_overflow)
    underflow = np.where(is_right, right_underflow, left_underflow)
    bits = np.where(is_right, right_bits, left_bits).astype(np.int64)
    if dst.signed:
        # Sign-extend the low `width` bits.
        sign_bit = np.int64(1 << (dst.width - 1))
        bits = (bits ^ sign_bit) - sign_bit
    return _apply_overflow(bits, overflow, underflow, dst)


def _round_up(
    raw: npt.NDArray[np.int64],
    shift: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    quantization: str,
) -> npt.NDArray[np.int64]:
    """Return 1 where ``quantization`` rounds ``raw * 2**-shift`` up from its floor, else 0.

    ``right`` is ``shift`` clipped to 1..63. Where ``shift`` exceeds 63 the value lies
    between -1/2 and 1/2 because ``|raw| <= 2**63``. It reaches -1/2, a tie, only for
    ``raw = -2**63`` and ``shift = 64``.
    """
    if quantization == "AP_TRN":
        return np.zeros(raw.shape, dtype=np.int64)
    one = np.uint64(1)
    right_unsigned = right.astype(np.uint64)
    dropped = raw.astype(np.uint64) & ((one << right_unsigned) - one)
    half = one << (right_unsigned - one)
    beyond_63 = shift > 63
    negative = raw < 0
    inexact = np.where(beyond_63, raw != 0, dropped != 0)
    far_tie = (shift == 64) & (raw == np.iinfo(np.int64).min)
    above_half = np.where(beyond_63, negative & ~far_tie, dropped > half)
    tie = np.where(beyond_63, far_tie, dropped == half)

    if quantization == "AP_TRN_ZERO":
        up = negative & inexact
    elif quantization == "AP_RND":
        up = above_half | tie
    elif quantization == "AP_RND_ZERO":
        up = above_half | (tie & negative)
    elif quantization == "AP_RND_MIN_INF":
        up = above_half
    elif quantization == "AP_RND_INF":
        up = above_half | (tie & ~negative)
    else:  # AP_RND_CONV: ties to the even neighbour
        odd_floor = ((raw >> right) & 1) == 1
        up = above_half | (tie & odd_floor)
    return (up & (shift > 0)).astype(np.int64)


def _apply_overflow(
    bits: npt.NDArray[np.int64],
    overflow: npt.NDArray[np.bool_],
    underflow: npt.NDArray[np.bool_],
    dst: FixedType,
) -> npt.NDArray[np.int64]:
    """Replace the wrapped results of out-of-range values as ``dst.overflow`` requires."""
    if dst.overflow == "AP_WRAP":
        return bits
    if dst.overflow == "AP_SAT_ZERO":
        return np.where(overflow | underflow, np.int64(0), bits)
    low = dst.min_raw
    if dst.overflow == "AP_SAT_SYM" and dst.signed:
        # The exact minimum also counts as underflow, and underflow gives min_raw | 1, which is
        # -max_raw except for width 1, where min_raw is -1 and max_raw is 0.
        low = dst.min_raw | 1
        underflow = underflow | (~overflow & (bits == dst.min_raw))
    result = np.where(overflow, np.int64(dst.max_raw), bits)
    return np.where(underflow, np.int64(low), result)
