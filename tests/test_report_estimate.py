"""Static estimates: the multiply counts against the multiplications firmware/altmin.h performs.

The counts are derived independently of altmin_hls.hls.estimate by compiling altmin.h with a
number type that counts its products, and running one forward pass, the code steps, the
gradient accumulation and the weight step of each layer.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from altmin_hls.config import load_config
from altmin_hls.hls import estimate
from altmin_hls.hls.aptypes import ap_types_include_dir

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
# (n0, n1, n2, K): the default network at K = 1 and 3, and two others, so that every
# coefficient of the formulas is pinned down by more than one size.
CASES = ((5, 25, 30, 1), (5, 25, 30, 3), (5, 7, 11, 2), (5, 3, 4, 8))

COUNTER_CPP = r"""
#include <cstdio>
#include "ap_int.h"

namespace counting {
long multiplies[4];     // [0]: no weight involved; [l]: a product with a weight of layer l
long accumulations[4];  // [l]: values added into the gradient sums of layer l
}

// A number that counts the products it takes part in; `layer` marks a weight of that layer.
struct Value {
    double v = 0;
    int layer = 0;
    Value() = default;
    Value(double x) : v(x) {}
    Value(int x) : v(x) {}
    unsigned to_uint() const { return v < 0 ? 0u : unsigned(v); }
    int to_int() const { return int(v); }
    Value &operator+=(const Value &o) { v += o.v; return *this; }
    Value &operator-=(const Value &o) { v -= o.v; return *this; }
};
inline Value operator*(const Value &a, const Value &b) {
    counting::multiplies[a.layer ? a.layer : b.layer]++;
    return Value(a.v * b.v);
}
inline Value operator+(const Value &a, const Value &b) { return Value(a.v + b.v); }
inline Value operator-(const Value &a, const Value &b) { return Value(a.v - b.v); }
inline Value operator-(const Value &a) { return Value(-a.v); }
inline bool operator<(const Value &a, const Value &b) { return a.v < b.v; }
inline bool operator>(const Value &a, const Value &b) { return a.v > b.v; }
inline bool operator>=(const Value &a, const Value &b) { return a.v >= b.v; }

// The type of a power-of-two constant: a product with it is a shift and is not counted.
struct Shift {
    double v;
    Shift(double x) : v(x) {}
};
inline Value operator*(const Value &a, const Shift &s) { return Value(a.v * s.v); }

// A gradient sum of layer L, counting what is added into it.
template <int L>
struct Sum {
    Value value;
    Sum() = default;
    Sum(int x) : value(x) {}
    Sum &operator+=(const Value &x) { counting::accumulations[L]++; value += x; return *this; }
};
template <int L>
inline Value operator*(const Sum<L> &a, const Shift &s) { return a.value * s; }

template <unsigned N0, unsigned N1, unsigned N2, unsigned K>
struct Config {
    static const unsigned n_in = N0, n_h1 = N1, n_h2 = N2, code_steps = K;
    static const unsigned table_size = 16, table_index_bits = 4;
    static const bool sigmoid_hls4ml = false;
    typedef Value input_t, weight_t, bias_t, accum_t, code_t, act_t, grad_t, score_t;
    typedef Value output_error_t, backsum_t, bsum_t;
    typedef Sum<1> gsum1_t;
    typedef Sum<2> gsum2_t;
    typedef Sum<3> gsum3_t;
    typedef Shift top_rate_t, lower_rate_t, weight_rate_t, table_scale_t;
    static constexpr double top_rate = 1.0, lower_rate = 0.5, weight_rate = 1.0 / 1024;
    static constexpr double table_range = 8.0, table_scale = 1.0;
    static const Value sigmoid_table[16];
};
template <unsigned N0, unsigned N1, unsigned N2, unsigned K>
const Value Config<N0, N1, N2, K>::sigmoid_table[16] = {};

#include "altmin.h"

void reset() {
    for (int l = 0; l < 4; l++) counting::multiplies[l] = counting::accumulations[l] = 0;
}

void print(const char *phase, bool last) {
    std::printf("\"%s\": {\"multiplies\": [%ld, %ld, %ld, %ld], \"accumulations\": [%ld, %ld, %ld, %ld]}%s",
                phase, counting::multiplies[0], counting::multiplies[1], counting::multiplies[2],
                counting::multiplies[3], counting::accumulations[0], counting::accumulations[1],
                counting::accumulations[2], counting::accumulations[3], last ? "" : ", ");
    reset();
}

template <unsigned N0, unsigned N1, unsigned N2, unsigned K>
void run() {
    typedef Config<N0, N1, N2, K> C;

    Value x[N0], w1[N1][N0], b1[N1], w2[N2][N1], b2[N2], w3[1][N2], b3[1];
    Value c1[N1], c2[N2], c1_forward[N1], gb1[N1], gb2[N2], gb3[1];
    Sum<1> g1[N1][N0];
    Sum<2> g2[N2][N1];
    Sum<3> g3[1][N2];

    // Positive inputs and weights keep every ReLU open and every code update taken.
    for (unsigned f = 0; f < N0; f++) x[f] = 0.5;
    for (unsigned o = 0; o < N1; o++) {
        b1[o] = 0.1;
        for (unsigned i = 0; i < N0; i++) { w1[o][i] = 0.1; w1[o][i].layer = 1; }
    }
    for (unsigned o = 0; o < N2; o++) {
        b2[o] = 0.1;
        for (unsigned i = 0; i < N1; i++) { w2[o][i] = 0.1; w2[o][i].layer = 2; }
    }
    b3[0] = 0.1;
    for (unsigned i = 0; i < N2; i++) { w3[0][i] = 0.1; w3[0][i].layer = 3; }
    const ap_uint<1> y = 1;

    std::printf("{\"case\": [%u, %u, %u, %u], ", N0, N1, N2, K);
    reset();
    const Value p = altmin::forward<C>(x, w1, b1, w2, b2, w3, b3, c1, c2);
    print("forward", false);
    for (unsigned i = 0; i < N1; i++) c1_forward[i] = c1[i];
    altmin::code_steps<C>(y, p, w2, b2, w3, b3, c1, c2);
    print("code_steps", false);
    altmin::accumulate_gradients<C>(x, y, c1_forward, c1, c2, w2, b2, w3, b3, g1, gb1, g2, gb2, g3, gb3);
    print("gradient", false);
    altmin::weight_step<C, Sum<1>, N0, N1>(w1, b1, g1, gb1);
    altmin::weight_step<C, Sum<2>, N1, N2>(w2, b2, g2, gb2);
    altmin::weight_step<C, Sum<3>, N2, 1>(w3, b3, g3, gb3);
    print("weight_step", true);
    std::printf("}\n");
}

int main() {
    RUNS
    return 0;
}
"""


@pytest.fixture(scope="module")
def firmware_counts(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, ...], dict]:
    """Compile altmin.h with the counting type and return its counts for every case."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ is not installed")
    folder = tmp_path_factory.mktemp("count")
    runs = "\n    ".join(f"run<{n0}, {n1}, {n2}, {k}>();" for n0, n1, n2, k in CASES)
    source = folder / "count.cpp"
    source.write_text(COUNTER_CPP.replace("RUNS", runs))
    binary = folder / "count"
    build = subprocess.run(
        [compiler, "-O0", "-std=c++14", "-Wno-unknown-pragmas", f"-I{FIRMWARE}",
         f"-I{ap_types_include_dir()}", str(source), "-o", str(binary)],
        capture_output=True, text=True, check=False,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([str(binary)], capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    return {tuple(row["case"]): row for row in rows}


@pytest.mark.parametrize("case", CASES)
def test_forward_counts_per_layer(firmware_counts, case):
    counted = firmware_counts[case]["forward"]
    layers = estimate.layer_multiplies((*case[:3], 1), case[3])
    assert counted["multiplies"][0] == 0
    for layer in layers:
        assert counted["multiplies"][layer.layer] == layer.forward, f"layer {layer.layer}"


@pytest.mark.parametrize("case", CASES)
def test_code_step_counts_per_layer(firmware_counts, case):
    counted = firmware_counts[case]["code_steps"]
    layers = estimate.layer_multiplies((*case[:3], 1), case[3])
    assert counted["multiplies"][0] == 0
    for layer in layers:
        assert counted["multiplies"][layer.layer] == layer.code_steps, f"layer {layer.layer}"


@pytest.mark.parametrize("case", CASES)
def test_gradient_counts_per_layer(firmware_counts, case):
    counted = firmware_counts[case]["gradient"]
    layers = estimate.layer_multiplies((*case[:3], 1), case[3])
    # Products without a weight are the gradient terms, one per value added into a sum.
    assert counted["multiplies"][0] == sum(counted["accumulations"])
    for layer in layers:
        recomputed = counted["multiplies"][layer.layer]
        products = counted["accumulations"][layer.layer]
        assert recomputed + products == layer.gradient, f"layer {layer.layer}"


@pytest.mark.parametrize("case", CASES)
def test_weight_step_multiplies_nothing(firmware_counts, case):
    counted = firmware_counts[case]["weight_step"]
    assert counted["multiplies"] == [0, 0, 0, 0]


def test_default_config_figures():
    result = estimate.static_estimate(load_config())
    # Counted by hand from the 5-25-30-1 sizes with K = 1 and R = 1.
    assert [layer.forward for layer in result.layers] == [125, 750, 30]
    assert [layer.code_steps for layer in result.layers] == [0, 750, 30]
    assert [layer.gradient for layer in result.layers] == [125, 1500, 60]
    assert result.forward_multiplies == 905
    assert result.learning_sample_multiplies == 905 + 2465
    assert result.multiplier_limit == 905
    assert result.inference_ii == 1
    assert result.n_parameters == 961


@pytest.mark.parametrize("reuse", [1, 2, 4, 7, 905, 2000])
def test_reuse_factor_divides_with_ceiling(reuse):
    config = load_config(overrides={"project": {"reuse_factor": reuse}, "altmin": {"code_steps": 2}})
    result = estimate.static_estimate(config)
    data = result.to_dict()
    assert result.inference_ii == reuse
    assert result.multiplier_limit == math.ceil(905 / reuse)
    total = 905 + 125 + 3 * 750 + 2 * 750 + 3 * 30 + 2 * 30
    assert result.learning_sample_multiplies == total
    assert result.learning_multipliers == math.ceil(total / reuse)
    assert [row["forward_multipliers"] for row in data["layers"]] == [
        math.ceil(125 / reuse), math.ceil(750 / reuse), math.ceil(30 / reuse),
    ]


def test_estimate_is_labelled():
    data = estimate.static_estimate(load_config()).to_dict()
    assert data["kind"] == "static estimate, not a synthesis result"
    assert data["learning_ii"].startswith("set by synthesis")


def test_yosys_skipped_without_module(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, estimate.YOSYS_MODULE, None)
    figures, note = estimate.yosys_figures(tmp_path, "altmin_tracks", tmp_path / "work", run=True)
    assert figures is None
    assert note.startswith("Yosys figures skipped")
    assert estimate.YOSYS_MODULE in note


def test_yosys_skipped_without_rtl(tmp_path: Path):
    pytest.importorskip(estimate.YOSYS_MODULE)
    figures, note = estimate.yosys_figures(tmp_path / "rtl", "altmin_tracks", tmp_path / "work", run=True)
    assert figures is None
    assert "no generated Verilog" in note


def test_yosys_not_run_unless_requested(tmp_path: Path):
    pytest.importorskip(estimate.YOSYS_MODULE)
    (tmp_path / "top.v").write_text("module top; endmodule\n")
    figures, note = estimate.yosys_figures(tmp_path, "top", tmp_path / "work", run=False)
    assert figures is None
    assert "pass --yosys" in note
    assert not (tmp_path / "work").exists()
