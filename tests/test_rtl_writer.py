"""The RTL writer: rounding functions against the emulator, ports, word layout, config checks."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from altmin_hls.config import load_config
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.errors import ConfigError
from altmin_hls.fixed import FixedType, quantize
from altmin_hls.hls.writer import ProjectWriter
from altmin_hls.reference.mlp import MLP
from altmin_hls.rtl import writer as rtl_writer
from altmin_hls.rtl.layout import word_layout
from altmin_hls.rtl.writer import RtlWriter, quantize_function, sigmoid_index_function

needs_iverilog = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed")

# Source (width, fraction bits), destination type and ReLU flag of each rounding case:
# positive, zero and negative shifts, a shift of 1, a shift beyond the source width,
# signed and unsigned destinations, every supported mode.
ROUNDING_CASES = [
    (34, 20, "ap_fixed<16,6,AP_RND,AP_SAT>", False),
    (34, 20, "ap_fixed<16,6,AP_TRN,AP_WRAP>", False),
    (34, 20, "ap_fixed<10,4,AP_RND_CONV,AP_SAT>", False),
    (37, 20, "ap_fixed<10,4,AP_RND_CONV,AP_WRAP>", False),
    (34, 20, "ap_ufixed<8,3,AP_RND,AP_SAT>", False),
    (34, 20, "ap_fixed<12,2,AP_TRN,AP_SAT>", False),
    (20, 11, "ap_fixed<16,6,AP_RND_CONV,AP_SAT>", False),
    (20, 11, "ap_fixed<16,6,AP_RND,AP_WRAP>", False),
    (16, 10, "ap_ufixed<16,6,AP_RND,AP_SAT>", True),
    (16, 10, "ap_ufixed<12,4,AP_RND_CONV,AP_SAT>", True),
    (16, 10, "ap_fixed<14,4,AP_TRN,AP_WRAP>", True),
    (16, 10, "ap_fixed<22,6,AP_RND,AP_SAT>", False),
    (16, 4, "ap_fixed<20,4,AP_RND,AP_SAT>", False),
    (16, 4, "ap_fixed<20,4,AP_TRN,AP_WRAP>", False),
    (8, 20, "ap_fixed<8,8,AP_RND,AP_SAT>", False),
    (8, 20, "ap_fixed<8,8,AP_RND_CONV,AP_WRAP>", False),
]


def _test_values(width: int, frac_shift: int, rng: np.random.Generator) -> list[int]:
    """Return edge values (range ends, rounding ties and their neighbours) and random ones."""
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    values = {0, 1, -1, low, high, low + 1, high - 1}
    if frac_shift > 0:
        half = 1 << (frac_shift - 1)
        for k in (-3, -2, -1, 0, 1, 2, 3, 1000, -1000):
            for delta in (-1, 0, 1):
                values.add(k * (1 << frac_shift) + half + delta)
                values.add(k * (1 << frac_shift) + delta)
    values |= set(rng.integers(low, high, size=300, endpoint=True).tolist())
    values |= set((rng.integers(-(1 << 20), 1 << 20, size=100)).tolist())
    return sorted(v for v in values if low <= v <= high)


def _run_iverilog(tmp_path: Path, source: str) -> list[str]:
    path = tmp_path / "check.v"
    path.write_text(source)
    binary = tmp_path / "check.vvp"
    subprocess.run(["iverilog", "-g2005", "-o", str(binary), str(path)], check=True, capture_output=True, text=True)
    result = subprocess.run(["vvp", "-n", str(binary)], check=True, capture_output=True, text=True)
    return [line for line in result.stdout.splitlines() if line.strip() and not line.startswith("VCD")]


@needs_iverilog
@pytest.mark.parametrize("src_width, src_frac, dst_text, relu", ROUNDING_CASES)
def test_rounding_function_matches_quantize(tmp_path, src_width, src_frac, dst_text, relu):
    dst = FixedType.parse(dst_text)
    function = quantize_function("q", "case under test", src_width, src_frac, dst, relu=relu)
    values = _test_values(src_width, src_frac - dst.frac, np.random.default_rng(src_width * 97 + src_frac))
    calls = []
    for v in values:
        literal = f"{src_width}'sd{v}" if v >= 0 else f"-{src_width}'sd{-v}"
        calls.append(f'        $display("%0d", q({literal}));')
    source = "\n".join(
        ["module check;"]
        + ["    " + line for line in function.lines()]
        + ["    initial begin"]
        + calls
        + ["        $finish;", "    end", "endmodule", ""]
    )
    lines = _run_iverilog(tmp_path, source)
    assert len(lines) == len(values)
    got = np.array([int(line) for line in lines], dtype=np.int64)
    if dst.signed:
        sign = 1 << (dst.width - 1)
        got = (got ^ sign) - sign
    raw = np.array(values, dtype=np.int64)
    if relu:
        raw = np.maximum(raw, 0)
    want = quantize(raw, src_frac, dst)
    mismatch = np.flatnonzero(got != want)
    assert mismatch.size == 0, (
        f"{dst_text}: input {values[mismatch[0]]} gives {got[mismatch[0]]}, expected {want[mismatch[0]]}"
    )


def _parameters(config, seed: int = 3) -> FixedParameters:
    path = Datapath.from_config(config)
    return FixedParameters.from_mlp(MLP.init(config.sizes, np.random.default_rng(seed)), path)


def _small_config(**precision):
    overrides = {"network": {"sizes": [5, 6, 4, 1]}}
    if precision:
        overrides["precision"] = precision
    return load_config(overrides=overrides)


def test_top_has_vitis_port_names(tmp_path):
    config = _small_config()
    out = RtlWriter(config, _parameters(config)).write(tmp_path / "rtl")
    text = (out / f"{config.name}.v").read_text()
    header = text[text.index(f"module {config.name} (") : text.index(");")]
    ports = re.findall(r"(?:input|output)\s+wire\s+(?:\[\d+:0\]\s+)?(\w+)", header)
    assert ports == [
        "ap_clk", "ap_rst_n",
        "tracks_TDATA", "tracks_TVALID", "tracks_TREADY", "tracks_TLAST",
        "scores_TDATA", "scores_TVALID", "scores_TREADY", "scores_TLAST",
    ]
    layout = word_layout(config)
    assert f"input  wire [{layout.track_word_bits - 1}:0] tracks_TDATA" in header
    assert f"output wire [{layout.score_word_bits - 1}:0] scores_TDATA" in header
    assert "The weights and biases are constants of this" in text


def test_word_layout_matches_hls_defines():
    config = load_config()
    parameters = _parameters(config)
    context = ProjectWriter(config, parameters).context()
    layout = word_layout(config, parameters)
    assert layout.track_word_bits == context["track_word_bits"] == 88
    assert layout.label_bit == context["label_bit"] == 80
    assert layout.event_bit == context["event_bit"] == 81
    assert layout.score_word_bits == context["score_word_bits"] == 24
    assert layout.score_event_bit == context["score_event_bit"] == 16
    assert layout.score_step_bit == context["score_step_bit"] == 17


def test_track_word_packs_fields():
    layout = word_layout(load_config())
    word = layout.pack_track(np.array([-1, 2, -32768, 32767, 0]), 1, True)
    assert word & 0xFFFF == 0xFFFF
    assert (word >> 16) & 0xFFFF == 2
    assert (word >> 32) & 0xFFFF == 0x8000
    assert (word >> 48) & 0xFFFF == 0x7FFF
    assert (word >> 64) & 0xFFFF == 0
    assert (word >> 80) & 1 == 1
    assert (word >> 81) & 1 == 1
    assert word >> 82 == 0
    assert layout.unpack_score((1 << 16) | 0x1234) == (0x1234, 1, 0)


@needs_iverilog
@pytest.mark.parametrize("reuse", [1, 2, 3, 8])
def test_rtl_compiles_as_verilog_2005(tmp_path, reuse):
    config = _small_config()
    out = RtlWriter(config, _parameters(config), reuse_factor=reuse).write(tmp_path / "rtl")
    sources = sorted(str(p) for p in out.glob("*.v"))
    result = subprocess.run(
        ["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "top.vvp"), "-s", config.name, *sources],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_multipliers_shrink_with_reuse_factor():
    config = load_config()
    parameters = _parameters(config)
    for reuse in (1, 2, 4):
        # One multiplier per output and group of R inputs, unless all the group's weights are 0.
        expected = 0
        for weights in parameters.weights:
            n_out, n_in = weights.shape
            for o in range(n_out):
                for start in range(0, n_in, reuse):
                    expected += int(np.any(weights[o, start : start + reuse] != 0))
        assert RtlWriter(config, parameters, reuse_factor=reuse).context()["n_multipliers"] == expected
    assert RtlWriter(config, parameters, reuse_factor=4).context()["n_multipliers"] <= 905 / 4 + 60


def test_latency_formula():
    config = _small_config()
    assert RtlWriter(config, _parameters(config), reuse_factor=1).latency == 9
    assert RtlWriter(config, _parameters(config), reuse_factor=4).latency == 18


@pytest.mark.parametrize(
    "key, text, mode",
    [
        ("code", "ap_fixed<16,6,AP_RND_ZERO,AP_SAT>", "AP_RND_ZERO"),
        ("code", "ap_fixed<16,6,AP_RND,AP_SAT_SYM>", "AP_SAT_SYM"),
        ("activation", "ap_ufixed<16,6,AP_RND_INF,AP_SAT>", "AP_RND_INF"),
        ("activation", "ap_ufixed<16,6,AP_RND,AP_SAT_ZERO>", "AP_SAT_ZERO"),
    ],
)
def test_unsupported_mode_names_key(key, text, mode):
    config = _small_config(**{key: text})
    with pytest.raises(ConfigError) as error:
        RtlWriter(config, _parameters(config))
    assert f"precision.{key}" in str(error.value)
    assert mode in str(error.value)


def test_too_wide_signal_rejected(monkeypatch):
    config = _small_config()
    monkeypatch.setattr(rtl_writer, "MAX_SIGNAL_BITS", 33)
    with pytest.raises(ConfigError, match=r"layer 1 sums would need 34 bits"):
        RtlWriter(config, _parameters(config)).context()


def test_verilog_keyword_name_rejected():
    config = load_config(overrides={"project": {"name": "module"}})
    with pytest.raises(ConfigError, match="Verilog keyword"):
        RtlWriter(config, _parameters(config))


def test_invalid_reuse_factor_rejected():
    config = _small_config()
    with pytest.raises(ConfigError, match="reuse factor 0"):
        RtlWriter(config, _parameters(config), reuse_factor=0)


# Output-sum width and fraction bits, table size and range: right and left shifts of the
# sum, and a range wider than the sum.
INDEX_CASES = [
    (37, 20, 1024, 8.0),
    (37, 20, 64, 8.0),
    (20, 4, 1024, 8.0),
    (12, 2, 4096, 0.5),
    (16, 10, 16, 64.0),
]


def _exact_index(z: int, frac: int, size: int, table_range: float, sample: str) -> int:
    """Return the table index in exact arithmetic: ``centre`` as docs/algorithm.md defines it,
    ``hls4ml`` as ``Datapath.sigmoid_index`` documents it."""
    value = Fraction(z, 2**frac)
    scale = Fraction(size) / (2 * Fraction(table_range))
    if sample == "centre":
        index = math.floor((value + Fraction(table_range)) * scale)
    else:
        index = size // 2 + math.trunc(value * scale)
    return min(max(index, 0), size - 1)


@needs_iverilog
@pytest.mark.parametrize("sample", ["centre", "hls4ml"])
@pytest.mark.parametrize("sum_width, sum_frac, size, table_range", INDEX_CASES)
def test_sigmoid_index_matches_formula(tmp_path, sum_width, sum_frac, size, table_range, sample):
    function = sigmoid_index_function(sum_width, sum_frac, size, table_range, sample)
    step = int(2 * table_range * 2**sum_frac) // size  # one table bin, in raw units (0 if finer)
    values = {0, 1, -1, -(1 << (sum_width - 1)), (1 << (sum_width - 1)) - 1}
    for k in range(-size // 2 - 2, size // 2 + 3, max(1, size // 32)):
        for delta in (-1, 0, 1):
            values.add(k * step + delta)
    rng = np.random.default_rng(sum_width + size)
    values |= set(rng.integers(-(1 << (sum_width - 1)), 1 << (sum_width - 1), size=200).tolist())
    values = sorted(v for v in values if -(1 << (sum_width - 1)) <= v < (1 << (sum_width - 1)))
    calls = []
    for v in values:
        literal = f"{sum_width}'sd{v}" if v >= 0 else f"-{sum_width}'sd{-v}"
        calls.append(f'        $display("%0d", sigmoid_index({literal}));')
    source = "\n".join(
        ["module check;"]
        + ["    " + line for line in function.lines()]
        + ["    initial begin"]
        + calls
        + ["        $finish;", "    end", "endmodule", ""]
    )
    got = [int(line) for line in _run_iverilog(tmp_path, source)]
    want = [_exact_index(v, sum_frac, size, table_range, sample) for v in values]
    assert len(got) == len(values)
    mismatch = [i for i in range(len(values)) if got[i] != want[i]]
    assert not mismatch, f"z = {values[mismatch[0]]}: index {got[mismatch[0]]}, expected {want[mismatch[0]]}"


def test_unknown_sigmoid_sample_rejected():
    with pytest.raises(ConfigError, match="sigmoid.sample"):
        sigmoid_index_function(37, 20, 1024, 8.0, "edges")
