"""Check altmin_hls.fixed against the C++ ap_fixed headers, compiled with g++.

One C++ program is built per module, from a main file and template instantiations spread over
part files that g++ compiles in parallel. It reads one request per line and prints one result
line per request:

- ``q TYPE RAW FRAC``: assign the exact value ``RAW * 2**-FRAC``, built in ``ap_fixed<192, 96>``,
  to target type TYPE and print the target's raw bits as an unsigned integer.
- ``d TYPE BITS``: initialise target type TYPE from the double with IEEE bits BITS (int64) and
  print the raw bits.
- ``n SOURCE TARGET RAW``: assign a value of a narrow source type, given by its raw bits, to a
  target type (the pairs are listed in NARROW_PAIRS).
- ``m PAIR RAW_A RAW_B``: print width, integer bits, signedness and raw bits of ``a * b`` and
  of ``a + b``.
- ``s SUM N RAW...``: add N values, alternately of the pair's two types, into an accumulator
  of ``sum_type(terms=N)`` and print its raw bits.
- ``a 0``: run one assignment on which the headers assert.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from altmin_hls.errors import BuildError
from altmin_hls.fixed import (
    MAX_WIDTH,
    OVERFLOW_MODES,
    QUANTIZATION_MODES,
    FixedType,
    quantize,
)
from altmin_hls.hls.aptypes import ap_types_include_dir

# The C++ source type ap_fixed<192, 96> represents RAW * 2**-FRAC exactly for int64 RAW and FRAC
# in this range.
SOURCE_FRAC_RANGE = (-32, 96)

SHAPES = [(8, 3), (16, 6), (12, 0), (10, 12), (8, -2)]
TARGET_TYPES = [
    FixedType(width, integer, signed, quantization, overflow)
    for (width, integer), signed, quantization, overflow in itertools.product(
        SHAPES, (True, False), QUANTIZATION_MODES, OVERFLOW_MODES
    )
] + [
    FixedType.parse(text)
    for text in (
        "ap_fixed<1,1,AP_RND,AP_SAT_SYM>",
        "ap_fixed<1,0,AP_TRN,AP_SAT_SYM>",
        "ap_ufixed<1,1,AP_RND_CONV,AP_SAT_SYM>",
        "ap_fixed<1,1,AP_RND_INF,AP_SAT_ZERO>",
        "ap_fixed<2,1,AP_RND_ZERO,AP_SAT_SYM>",
        "ap_fixed<62,20,AP_RND_CONV,AP_SAT>",
        "ap_fixed<62,31,AP_RND,AP_SAT_SYM>",
        "ap_ufixed<62,62,AP_RND_INF,AP_SAT_SYM>",
        "ap_fixed<62,-10,AP_RND_ZERO,AP_WRAP>",
        "ap_ufixed<62,70,AP_TRN_ZERO,AP_SAT_ZERO>",
        # More than 1022 fraction bits, where subnormal doubles matter.
        "ap_fixed<4,-1070,AP_RND,AP_SAT>",
        "ap_ufixed<8,-1066,AP_TRN,AP_WRAP>",
    )
]
# Targets whose quantize cases (up to 9 extra fraction bits) fit the C++ source type. The
# others have too many fraction bits and are checked by from_float only.
QUANTIZE_TARGET_TYPES = [t for t in TARGET_TYPES if t.frac + 9 <= SOURCE_FRAC_RANGE[1]]

# Narrow source types assigned straight to targets, to check that the result depends only on
# the source value and not on the source type's width, signedness or position. Sources whose
# MSB lies below the target's rounding bit are left out for the rounding modes, because the
# headers assert on them (see test_cpp_aborts_on_msb_below_rounding_bit).
NARROW_SOURCES = [
    FixedType.parse(text)
    for text in ("ap_fixed<6,2>", "ap_ufixed<5,-1>", "ap_fixed<7,9>", "ap_ufixed<4,4>")
]
# AP_WRAP keeps the low bits without any overflow test, and AP_SAT_ZERO uses the same test as
# AP_SAT, so both are left out here to save build time.
NARROW_TARGETS = [
    FixedType(3, 1, signed, quantization, overflow)
    for signed, quantization, overflow in itertools.product(
        (True, False), QUANTIZATION_MODES, ("AP_SAT", "AP_SAT_SYM")
    )
]
NARROW_PAIRS = [
    (source, target)
    for source, target in itertools.product(NARROW_SOURCES, NARROW_TARGETS)
    if source.frac - target.frac <= source.width or target.quantization == "AP_TRN"
]

OPERAND_PAIRS = [
    (FixedType.parse(a), FixedType.parse(b))
    for a, b in (
        ("ap_fixed<8,3>", "ap_ufixed<6,2>"),
        ("ap_ufixed<5,-1>", "ap_ufixed<7,9>"),
        ("ap_fixed<12,0>", "ap_fixed<10,12>"),
        ("ap_fixed<16,6>", "ap_fixed<8,-2>"),
        ("ap_ufixed<9,4>", "ap_fixed<6,6>"),
    )
]
SUM_TERMS = (1, 3, 30)
SUMS = [(pair, terms) for pair in range(len(OPERAND_PAIRS)) for terms in SUM_TERMS]

CPP_TEMPLATES = r"""
#include <ap_fixed.h>
#include <cstdio>
#include <cstring>
#include <type_traits>

typedef ap_fixed<192, 96> source_t;

// Build RAW * 2**-FRAC from raw bits, so the value is exact for FRAC in [-32, 96].
inline source_t make_source(long long raw, int frac) {
  ap_int<192> bits = raw;
  bits <<= 96 - frac;
  source_t value;
  value.range(191, 0) = bits;
  return value;
}

template <class T>
T from_raw(long long raw) {
  T value;
  value.range(T::width - 1, 0) = ap_int<T::width>(raw);
  return value;
}

template <class T>
unsigned long long raw_bits(const T& value) {
  ap_uint<T::width> bits = value.range(T::width - 1, 0);
  return bits.to_uint64();
}

template <class T>
void print_type_and_bits(const T& value) {
  const bool is_signed = std::is_same<T, ap_fixed<T::width, T::iwidth> >::value;
  const bool is_unsigned = std::is_same<T, ap_ufixed<T::width, T::iwidth> >::value;
  printf("%d %d %d %d %llu", T::width, T::iwidth, (int)is_signed, (int)is_unsigned,
         raw_bits(value));
}

template <class T>
void convert(char op, long long a, long long b) {
  if (op == 'q') {
    T value = make_source(a, (int)b);
    printf("%llu\n", raw_bits(value));
  } else {
    double x;
    std::memcpy(&x, &a, sizeof x);
    T value = x;
    printf("%llu\n", raw_bits(value));
  }
}

template <class S, class T>
void convert_narrow(long long raw) {
  T value = from_raw<S>(raw);
  printf("%llu\n", raw_bits(value));
}

template <class A, class B>
void multiply_and_add(long long a, long long b) {
  A x = from_raw<A>(a);
  B y = from_raw<B>(b);
  print_type_and_bits(x * y);
  printf(" ");
  print_type_and_bits(x + y);
  printf("\n");
}

template <class A, class B, class Acc>
void accumulate(int terms) {
  Acc acc = 0;
  for (int i = 0; i < terms; ++i) {
    long long raw;
    if (scanf("%lld", &raw) != 1) return;
    if (i % 2 == 0) {
      acc = acc + from_raw<A>(raw);
    } else {
      acc = acc + from_raw<B>(raw);
    }
  }
  printf("%llu\n", raw_bits(acc));
}
"""

CPP_MAIN = r"""
int main() {
  char op;
  int id, id2;
  long long a, b;
  while (scanf(" %c %d", &op, &id) == 2) {
    if (op == 'q') {
      if (scanf("%lld %lld", &a, &b) != 2) return 2;
      convert_to(id, op, a, b);
    } else if (op == 'd') {
      if (scanf("%lld", &a) != 1) return 2;
      convert_to(id, op, a, 0);
    } else if (op == 'n') {
      if (scanf("%d %lld", &id2, &a) != 2) return 2;
      convert_narrow_pair(id * 1000 + id2, a);
    } else if (op == 'm') {
      if (scanf("%lld %lld", &a, &b) != 2) return 2;
      multiply_pair(id, a, b);
    } else if (op == 's') {
      if (scanf("%lld", &a) != 1) return 2;
      accumulate_sum(id, (int)a);
    } else if (op == 'a') {
      assert_case();
    } else {
      return 2;
    }
  }
  return 0;
}
"""


@dataclass(frozen=True)
class CppCase:
    """One instantiation of a CPP_TEMPLATES function, wrapped in a plain function."""

    name: str
    parameters: str
    body: str

    def declaration(self) -> str:
        """Return the C++ declaration."""
        return f"void {self.name}({self.parameters});"

    def definition(self) -> str:
        """Return the C++ definition."""
        return f"void {self.name}({self.parameters}) {{ {self.body}; }}"


def _cpp_dispatch(
    name: str, parameters: str, cases: Sequence[tuple[int, CppCase]], arguments: str
) -> str:
    """Render a function that calls the case with the requested id."""
    lines = [f"static void {name}({parameters}) {{", "  switch (id) {"]
    for case_id, case in cases:
        lines.append(f"    case {case_id}: {case.name}({arguments}); break;")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def _cpp_program(parts: int) -> tuple[str, list[str]]:
    """Generate the test program as a main file and `parts` files of template instantiations.

    The instantiations dominate the build time, so they are spread over files that g++
    compiles in parallel. Each part file starts with ``#include "templates.h"``.
    """
    targets = []
    for i, target in enumerate(TARGET_TYPES):
        body = f"convert<{target.cpp()} >(op, a, b)"
        targets.append((i, CppCase(f"convert_{i}", "char op, long long a, long long b", body)))
    narrow = []
    for source, target in NARROW_PAIRS:
        case_id = NARROW_SOURCES.index(source) * 1000 + NARROW_TARGETS.index(target)
        body = f"convert_narrow<{source.cpp()}, {target.cpp()} >(a)"
        narrow.append((case_id, CppCase(f"convert_narrow_{case_id}", "long long a", body)))
    products = []
    for i, (a, b) in enumerate(OPERAND_PAIRS):
        body = f"multiply_and_add<{a.cpp()}, {b.cpp()} >(a, b)"
        products.append((i, CppCase(f"multiply_{i}", "long long a, long long b", body)))
    sums = []
    for i, (pair, terms) in enumerate(SUMS):
        a, b = OPERAND_PAIRS[pair]
        body = f"accumulate<{a.cpp()}, {b.cpp()}, {a.sum_type(b, terms).cpp()} >(terms)"
        sums.append((i, CppCase(f"accumulate_{i}", "int terms", body)))
    # Source MSB below the target's rounding bit, on which the headers assert in operator=.
    assert_case = CppCase(
        "assert_case", "", "convert_narrow<ap_fixed<4, -4>, ap_fixed<8, 8, AP_RND_ZERO> >(-7)"
    )

    all_cases = [case for _, case in targets + narrow + products + sums] + [assert_case]
    main = ["#include <cstdio>"] + [case.declaration() for case in all_cases]
    main += [
        _cpp_dispatch(
            "convert_to", "int id, char op, long long a, long long b", targets, "op, a, b"
        ),
        _cpp_dispatch("convert_narrow_pair", "int id, long long a", narrow, "a"),
        _cpp_dispatch("multiply_pair", "int id, long long a, long long b", products, "a, b"),
        _cpp_dispatch("accumulate_sum", "int id, int terms", sums, "terms"),
        CPP_MAIN,
    ]
    part_files = [
        "\n".join(['#include "templates.h"'] + [c.definition() for c in all_cases[i::parts]])
        for i in range(parts)
    ]
    return "\n".join(main), part_files


def _compile_all(commands: Sequence[list[str]]) -> None:
    """Run the g++ commands concurrently and fail with the log of any that fails."""
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    for command, process in zip(commands, processes):
        _, stderr = process.communicate()
        assert process.returncode == 0, f"{' '.join(command)} failed:\n{stderr[-4000:]}"


@pytest.fixture(scope="module")
def ap_fixed_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compile the test program against the hls4ml ap_types headers."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ not found on PATH, so the C++ ap_fixed reference cannot be built")
    folder = tmp_path_factory.mktemp("ap_fixed")
    (folder / "templates.h").write_text(CPP_TEMPLATES)
    # One part per core, up to 8: more parts repeat the header parsing for little gain.
    main_source, part_sources = _cpp_program(parts=max(1, min(8, os.cpu_count() or 1)))
    source_files = [folder / "main.cpp"]
    source_files += [folder / f"part{i}.cpp" for i in range(len(part_sources))]
    for path, text in zip(source_files, [main_source] + part_sources):
        path.write_text(text)
    flags = ["-O1", "-std=c++14", f"-I{ap_types_include_dir()}"]
    objects = [path.with_suffix(".o") for path in source_files]
    _compile_all(
        [[compiler, *flags, "-c", str(s), "-o", str(o)] for s, o in zip(source_files, objects)]
    )
    program = folder / "ap_fixed_reference"
    _compile_all([[compiler, *map(str, objects), "-o", str(program)]])
    return program


def _run(program: Path, requests: Sequence[str]) -> list[str]:
    """Send request lines to the test program and return its output lines, one per request."""
    result = subprocess.run(
        [str(program)],
        input="\n".join(requests) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"test program failed: {result.stderr[-2000:]}"
    lines = result.stdout.splitlines()
    assert len(lines) == len(requests), f"expected {len(requests)} output lines, got {len(lines)}"
    return lines


def _signed_raw(bits: int, fixed_type: FixedType) -> int:
    """Interpret the unsigned raw bits printed by the test program as a raw value."""
    if fixed_type.signed and bits >= 1 << (fixed_type.width - 1):
        return bits - (1 << fixed_type.width)
    return bits


def _mismatch_report(
    fixed_type: FixedType, inputs: Sequence[str], expected: np.ndarray, actual: np.ndarray
) -> str:
    """List the first mismatches between C++ and Python results for one type."""
    rows = np.flatnonzero(expected != actual)
    lines = [f"{len(rows)} of {len(inputs)} results differ for {fixed_type.cpp()}:"]
    for row in rows[:10]:
        lines.append(f"  {inputs[row]}: C++ raw {expected[row]}, Python raw {actual[row]}")
    return "\n".join(lines)


def _fits_source(raw: int, frac: int) -> bool:
    """Check that RAW * 2**-FRAC can be built exactly in the C++ source type."""
    low, high = SOURCE_FRAC_RANGE
    return -(1 << 63) <= raw < (1 << 63) and low <= frac <= high


@functools.cache
def _quantize_cases(target: FixedType) -> list[tuple[int, int]]:
    """Build (raw, frac) inputs around ties, range limits and rounding carries, plus random ones.

    For each extra number of fraction bits k, the values sit at small offsets in units of the
    dropped bits from the target raw values 0, +-1, min, max, min - 1 and max + 1. This covers
    exact ties, values next to ties, the limits, one LSB beyond them and values that overflow
    only after rounding.
    """
    rng = np.random.default_rng(TARGET_TYPES.index(target))
    cases: set[tuple[int, int]] = set()
    anchors = {0, 1, -1, target.min_raw, target.max_raw, target.min_raw - 1, target.max_raw + 1}
    for k in (1, 2, 5, 9):
        step, half = 1 << k, 1 << (k - 1)
        offsets = {0, 1, -1, half, -half, half - 1, half + 1, -half - 1, -half + 1}
        offsets |= {step - 1, -step + 1, step, -step}
        for anchor, offset in itertools.product(anchors, offsets):
            cases.add(((anchor << k) + offset, target.frac + k))
    for k in (0, -3):
        for anchor in anchors:
            cases.add((anchor >> -k, target.frac + k))
    # Values whose dropped bits reach beyond int64, int64 extremes and large overflows.
    for raw in (1, -1, 5, -5, 1 << 62, -(1 << 62), (1 << 63) - 1, -(1 << 63)):
        for k in (63, 64, 70, -20):
            cases.add((raw, target.frac + k))
        cases.add((raw, 0))
    for _ in range(300):
        bits = int(rng.integers(0, 63))
        raw = int(rng.integers(-(1 << bits), 1 << bits, endpoint=True))
        cases.add((raw, target.frac + int(rng.integers(-20, 71))))
    return sorted(case for case in cases if _fits_source(*case))


@functools.cache
def _float_cases(target: FixedType) -> list[float]:
    """Build doubles at ties, limits and extremes for the target type, plus random ones."""
    rng = np.random.default_rng(TARGET_TYPES.index(target) + 1000)
    lsb = np.ldexp(1.0, -target.frac)
    anchors = (0, 1, -1, target.min_raw, target.max_raw, target.min_raw - 1, target.max_raw + 1)
    offsets = (0.0, 0.5, -0.5, 0.25, -0.25, 0.75, -0.75, 0.5 + 2**-20, 0.5 - 2**-20)
    values = [(anchor + offset) * lsb for anchor in anchors for offset in offsets]
    values += [0.0, -0.0, 1.0, -1.0, 0.5, float(np.nextafter(0.5, 1.0)), 1e300, -1e300]
    values += [2.0**62, -(2.0**62), 2.0**63, 2.0**200]
    # Smallest subnormal, largest subnormal, smallest normal.
    values += [5e-324, -5e-324, 2.225073858507201e-308, 2.2250738585072014e-308, 1e-300]
    exponents = rng.integers(-target.frac - 10, target.integer + 10, 200)
    values += (rng.uniform(-1.0, 1.0, 200) * np.ldexp(1.0, exponents)).tolist()
    values += (rng.uniform(target.min_raw - 2, target.max_raw + 2, 100) * lsb).tolist()
    return [value for value in values if np.isfinite(value)]


@pytest.fixture(scope="module")
def conversion_outputs(ap_fixed_program: Path) -> dict[tuple[str, FixedType], np.ndarray]:
    """Run all quantize and from_float cases through the C++ program in one run.

    Returns the C++ raw results keyed by ("q" or "d", target type).
    """
    keys: list[tuple[str, FixedType]] = []
    requests: list[str] = []
    for type_id, target in enumerate(TARGET_TYPES):
        if target in QUANTIZE_TARGET_TYPES:
            for raw, frac in _quantize_cases(target):
                keys.append(("q", target))
                requests.append(f"q {type_id} {raw} {frac}")
        for bits in np.array(_float_cases(target)).view(np.int64):
            keys.append(("d", target))
            requests.append(f"d {type_id} {bits}")
    outputs: dict[tuple[str, FixedType], list[int]] = defaultdict(list)
    for key, line in zip(keys, _run(ap_fixed_program, requests)):
        outputs[key].append(_signed_raw(int(line), key[1]))
    return {key: np.array(values, dtype=np.int64) for key, values in outputs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("target", QUANTIZE_TARGET_TYPES, ids=FixedType.cpp)
def test_quantize_matches_cpp(
    conversion_outputs: dict[tuple[str, FixedType], np.ndarray], target: FixedType
) -> None:
    cases = _quantize_cases(target)
    expected = conversion_outputs["q", target]

    # Call quantize once per source frac so that the vectorised path is what is checked.
    raws = np.array([raw for raw, _ in cases], dtype=np.int64)
    fracs = np.array([frac for _, frac in cases])
    actual = np.empty(len(cases), dtype=np.int64)
    for frac in np.unique(fracs):
        rows = fracs == frac
        actual[rows] = quantize(raws[rows], int(frac), target)

    inputs = [f"raw {raw} frac {frac}" for raw, frac in cases]
    mismatches = np.flatnonzero(expected != actual)
    assert mismatches.size == 0, _mismatch_report(target, inputs, expected, actual)


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGET_TYPES, ids=FixedType.cpp)
def test_from_float_matches_cpp(
    conversion_outputs: dict[tuple[str, FixedType], np.ndarray], target: FixedType
) -> None:
    values = np.array(_float_cases(target))
    expected = conversion_outputs["d", target]
    actual = target.from_float(values)
    inputs = [f"double {value!r}" for value in values]
    mismatches = np.flatnonzero(expected != actual)
    assert mismatches.size == 0, _mismatch_report(target, inputs, expected, actual)


def test_from_float_scalar_and_shape() -> None:
    fixed_type = FixedType.parse("ap_fixed<8,3,AP_RND,AP_SAT>")
    assert fixed_type.from_float(1.3).shape == ()
    assert int(fixed_type.from_float(1.3)) == 42  # 1.3 * 32 = 41.6 rounds to 42
    assert fixed_type.from_float([[0.5, -0.5], [100.0, -100.0]]).tolist() == [
        [16, -16],
        [127, -128],
    ]


def test_from_float_subnormal_as_cpp() -> None:
    # C++ reads the subnormal 2**-1074 as (2**52 + 1) * 2**-1075, far above the true raw value
    # 1, so it saturates. test_from_float_matches_cpp checks this value against C++.
    fixed_type = FixedType.parse("ap_fixed<4,-1070,AP_RND,AP_SAT>")
    assert fixed_type.frac == 1074
    assert int(fixed_type.from_float(5e-324)) == 7


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_from_float_rejects_non_finite(value: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        FixedType(8, 3).from_float([0.0, value])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("source", "target"), NARROW_PAIRS, ids=[f"{s.cpp()}->{t.cpp()}" for s, t in NARROW_PAIRS]
)
def test_quantize_independent_of_source_type(
    ap_fixed_program: Path, source: FixedType, target: FixedType
) -> None:
    raws = np.arange(source.min_raw, source.max_raw + 1, dtype=np.int64)
    case_ids = f"{NARROW_SOURCES.index(source)} {NARROW_TARGETS.index(target)}"
    requests = [f"n {case_ids} {raw}" for raw in raws]
    output = _run(ap_fixed_program, requests)
    expected = np.array([_signed_raw(int(line), target) for line in output])
    actual = quantize(raws, source.frac, target)
    inputs = [f"{source.cpp()} raw {raw}" for raw in raws]
    mismatches = np.flatnonzero(expected != actual)
    assert mismatches.size == 0, _mismatch_report(target, inputs, expected, actual)


@pytest.mark.slow
def test_cpp_aborts_on_msb_below_rounding_bit(ap_fixed_program: Path) -> None:
    # ap_fixed<4,-4> to ap_fixed<8,8,AP_RND_ZERO> reads source bit 7 of 4 in operator=, and
    # ap_private asserts on it unless NDEBUG is defined.
    result = subprocess.run(
        [str(ap_fixed_program)], input="a 0\n", capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "Attempting to read bit beyond MSB" in result.stderr
    # quantize returns the value-based result (-7 * 2**-8 rounds to 0).
    assert int(quantize(-7, 8, FixedType(8, 8, quantization="AP_RND_ZERO"))) == 0


def _pair_raws(a: FixedType, b: FixedType, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Build operand raw pairs at the extremes of both types, plus random ones."""
    extremes = itertools.product({a.min_raw, a.max_raw, 0, 1}, {b.min_raw, b.max_raw, 0, 1})
    random_pairs = zip(
        rng.integers(a.min_raw, a.max_raw, 50, endpoint=True).tolist(),
        rng.integers(b.min_raw, b.max_raw, 50, endpoint=True).tolist(),
    )
    return list(extremes) + list(random_pairs)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("a", "b"), OPERAND_PAIRS, ids=[f"{a.cpp()}*{b.cpp()}" for a, b in OPERAND_PAIRS]
)
def test_product_and_sum_types_match_cpp(
    ap_fixed_program: Path, a: FixedType, b: FixedType
) -> None:
    product_type = a.product_type(b)
    sum_type = a.sum_type(b)
    cases = _pair_raws(a, b, np.random.default_rng(a.width * 100 + b.width))
    pair_id = OPERAND_PAIRS.index((a, b))
    output = _run(ap_fixed_program, [f"m {pair_id} {raw_a} {raw_b}" for raw_a, raw_b in cases])
    rows = [[int(field) for field in line.split()] for line in output]

    # Each row contains width, integer bits, is-ap_fixed, is-ap_ufixed and raw bits, for a*b and
    # then for a+b.
    cpp_product_types = {(row[0], row[1], row[2], row[3]) for row in rows}
    cpp_sum_types = {(row[5], row[6], row[7], row[8]) for row in rows}
    signed_flags = (int(product_type.signed), int(not product_type.signed))
    assert cpp_product_types == {(product_type.width, product_type.integer, *signed_flags)}
    signed_flags = (int(sum_type.signed), int(not sum_type.signed))
    assert cpp_sum_types == {(sum_type.width, sum_type.integer, *signed_flags)}

    for (raw_a, raw_b), row in zip(cases, rows):
        exact_product = raw_a * raw_b  # with a.frac + b.frac == product_type.frac bits
        assert _signed_raw(row[4], product_type) == exact_product, (raw_a, raw_b)
        exact_sum = (raw_a << (sum_type.frac - a.frac)) + (raw_b << (sum_type.frac - b.frac))
        assert _signed_raw(row[9], sum_type) == exact_sum, (raw_a, raw_b)


@pytest.mark.slow
@pytest.mark.parametrize(("pair", "terms"), SUMS, ids=[f"pair{p}-terms{t}" for p, t in SUMS])
def test_sum_type_exact_for_many_terms(
    ap_fixed_program: Path, pair: int, terms: int
) -> None:
    a, b = OPERAND_PAIRS[pair]
    accumulator = a.sum_type(b, terms)
    rng = np.random.default_rng(pair * 100 + terms)
    operand_types = [a if i % 2 == 0 else b for i in range(terms)]
    sequences = [
        [t.max_raw for t in operand_types],
        [t.min_raw for t in operand_types],
        [t.max_raw if i % 2 == 0 else t.min_raw for i, t in enumerate(operand_types)],
        [t.min_raw if i % 2 == 0 else t.max_raw for i, t in enumerate(operand_types)],
    ] + [
        [int(rng.integers(t.min_raw, t.max_raw, endpoint=True)) for t in operand_types]
        for _ in range(20)
    ]
    sum_id = SUMS.index((pair, terms))
    requests = [f"s {sum_id} {terms} " + " ".join(map(str, raws)) for raws in sequences]
    output = _run(ap_fixed_program, requests)
    for sequence, line in zip(sequences, output):
        exact = sum(
            raw << (accumulator.frac - t.frac) for raw, t in zip(sequence, operand_types)
        )
        assert accumulator.min_raw <= exact <= accumulator.max_raw, (accumulator, sequence)
        assert _signed_raw(int(line), accumulator) == exact, (accumulator.cpp(), sequence)


@pytest.mark.parametrize("terms", [2, 4, 8, 64])
@pytest.mark.parametrize("text", ["ap_fixed<8,3>", "ap_ufixed<8,3>", "ap_fixed<6,-2>"])
def test_sum_type_minimal_for_powers_of_two(text: str, terms: int) -> None:
    fixed_type = FixedType.parse(text)
    accumulator = fixed_type.sum_type(fixed_type, terms)
    extreme = terms * (fixed_type.min_raw if fixed_type.signed else fixed_type.max_raw)
    narrower = FixedType(accumulator.width - 1, accumulator.integer - 1, accumulator.signed)
    assert accumulator.min_raw <= extreme <= accumulator.max_raw
    assert not narrower.min_raw <= extreme <= narrower.max_raw


def test_sum_type_rejects_zero_terms() -> None:
    with pytest.raises(ValueError, match="terms"):
        FixedType(8, 3).sum_type(FixedType(8, 3), terms=0)


def test_type_properties() -> None:
    fixed_type = FixedType.parse("ap_fixed<8,-2>")
    assert fixed_type.frac == 10
    assert (fixed_type.min_raw, fixed_type.max_raw) == (-128, 127)
    assert fixed_type.lsb == 2.0**-10
    unsigned_type = FixedType.parse("ap_ufixed<10,12>")
    assert unsigned_type.frac == -2
    assert (unsigned_type.min_raw, unsigned_type.max_raw) == (0, 1023)
    assert unsigned_type.lsb == 4.0
    assert unsigned_type.to_float(np.array([0, 3, 1023])).tolist() == [0.0, 12.0, 4092.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ap_fixed<16,6>", FixedType(16, 6)),
        ("ap_fixed<16, 6, AP_RND, AP_SAT>", FixedType(16, 6, True, "AP_RND", "AP_SAT")),
        ("ap_ufixed<8,0,AP_RND_CONV>", FixedType(8, 0, False, "AP_RND_CONV")),
        (
            " ap_fixed < 10 , -3 , AP_TRN_ZERO , AP_SAT_SYM , 0 > ",
            FixedType(10, -3, True, "AP_TRN_ZERO", "AP_SAT_SYM"),
        ),
        (
            "ap_ufixed<62,70,AP_RND_INF,AP_SAT_ZERO>",
            FixedType(62, 70, False, "AP_RND_INF", "AP_SAT_ZERO"),
        ),
    ],
)
def test_parse_accepts(text: str, expected: FixedType) -> None:
    assert FixedType.parse(text) == expected


@pytest.mark.parametrize("fixed_type", TARGET_TYPES, ids=FixedType.cpp)
def test_cpp_parse_round_trip(fixed_type: FixedType) -> None:
    assert FixedType.parse(fixed_type.cpp()) == fixed_type


def test_cpp_spells_all_arguments() -> None:
    assert FixedType(16, 6).cpp() == "ap_fixed<16,6,AP_TRN,AP_WRAP>"
    assert FixedType(8, 0, False, "AP_RND_CONV").cpp() == "ap_ufixed<8,0,AP_RND_CONV,AP_WRAP>"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ap_fixed<16>", "expected ap_fixed<W, I"),
        ("ap_fixed<16,6", "expected ap_fixed<W, I"),
        ("ap_int<16>", "expected ap_fixed<W, I"),
        ("fixed<16,6>", "expected ap_fixed<W, I"),
        ("ap_fixed<16.5,6>", "expected ap_fixed<W, I"),
        ("ap_fixed<16,6,AP_RND,AP_SAT,0,1>", "expected ap_fixed<W, I"),
        ("ap_fixed<16,6> x", "expected ap_fixed<W, I"),
        ("", "expected ap_fixed<W, I"),
        ("ap_fixed<16,6,AP_ROUND>", "unknown quantization mode 'AP_ROUND'"),
        ("ap_fixed<16,6,AP_RND,AP_SATURATE>", "unknown overflow mode 'AP_SATURATE'"),
        ("ap_fixed<16,6,AP_RND,AP_WRAP_SM>", "unknown overflow mode 'AP_WRAP_SM'"),
        ("ap_fixed<0,0>", "invalid fixed-point width 0"),
        (f"ap_fixed<{MAX_WIDTH + 1},6>", f"invalid fixed-point width {MAX_WIDTH + 1}"),
        ("ap_fixed<16,6,AP_RND,AP_SAT,2>", "unsupported saturation bits 2"),
    ],
)
def test_parse_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        FixedType.parse(text)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"width": 0, "integer": 0}, "invalid fixed-point width 0"),
        ({"width": -4, "integer": 0}, "invalid fixed-point width -4"),
        ({"width": MAX_WIDTH + 1, "integer": 0}, f"expected 1 to {MAX_WIDTH} bits"),
        ({"width": 8.0, "integer": 3}, "invalid fixed-point width 8.0"),
        ({"width": 8, "integer": 3, "quantization": "AP_RND_EVEN"}, "AP_RND_CONV"),
        ({"width": 8, "integer": 3, "overflow": "sat"}, "AP_SAT_SYM"),
    ],
)
def test_fixed_type_rejects(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        FixedType(**arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw",
    [np.array([1.5]), np.array([2**63], dtype=np.uint64), [2**70], np.array([True])],
    ids=["float", "uint64-above-int64", "python-int-above-int64", "bool"],
)
def test_quantize_rejects_unrepresentable_raw(raw: object) -> None:
    with pytest.raises(ValueError, match="raw values"):
        quantize(raw, 4, FixedType(8, 3))  # type: ignore[arg-type]


def test_quantize_handles_int64_extremes() -> None:
    target = FixedType(8, 3, True, "AP_RND", "AP_SAT")
    raws = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 1], dtype=np.int64)
    assert quantize(raws, 63, target).tolist() == [-32, 32, 0, 0]
    assert quantize(raws, 200, target).tolist() == [0, 0, 0, 0]
    assert quantize(raws, -200, target).tolist() == [-128, 127, -128, 127]


def test_ap_types_include_dir_found() -> None:
    assert (ap_types_include_dir() / "ap_fixed.h").is_file()


def test_ap_types_include_dir_missing_hls4ml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BuildError, match=re.escape("pip install hls4ml==1.3.0")):
        ap_types_include_dir()
