"""The hls4ml-compatible sigmoid table (sigmoid.sample: hls4ml) against hls4ml's own C++."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from altmin_hls.config import load_config
from altmin_hls.emulator.datapath import Datapath, make_sigmoid_table
from altmin_hls.errors import ConfigError
from altmin_hls.fixed import FixedType
from altmin_hls.hls.aptypes import ap_types_include_dir

TABLE_SIZES = [2**k for k in range(2, 17)]
SCORE_TYPES = ["ap_ufixed<16,0,AP_RND,AP_SAT>", "ap_ufixed<12,1,AP_TRN,AP_WRAP>"]

# Prints hls4ml's table for every size, as "size index raw" lines.
DUMP_TABLES = """
#include <cstdio>
#include "nnet_utils/nnet_activation.h"

template <unsigned N> struct table_config {
    static const unsigned table_size = N;
    typedef SCORE_T table_t;
};

template <unsigned N> void dump() {
    static typename table_config<N>::table_t table[N];
    nnet::init_sigmoid_table<table_config<N>, N>(table);
    for (unsigned i = 0; i < N; i++)
        std::printf("%u %u %llu\\n", N, i, (unsigned long long)table[i].range().to_uint64());
}

int main() {
    SIZES
    return 0;
}
"""


def _hls4ml_tables(tmp_path: Path, score: str) -> dict[int, np.ndarray]:
    """Compile and run hls4ml 1.3.0's init_sigmoid_table; return raw entries by table size."""
    nnet_dir = ap_types_include_dir().parent
    source = tmp_path / "dump_tables.cpp"
    calls = " ".join(f"dump<{size}>();" for size in TABLE_SIZES)
    source.write_text(DUMP_TABLES.replace("SIZES", calls))
    binary = tmp_path / "dump_tables"
    # -O3 as hls4ml's build_lib.sh compiles its models.
    subprocess.run(
        [
            "g++",
            "-O3",
            "-std=c++14",
            f"-I{nnet_dir}",
            f"-I{ap_types_include_dir()}",
            f"-DSCORE_T={score}",
            str(source),
            "-o",
            str(binary),
        ],
        check=True,
    )
    output = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    rows = np.array([line.split() for line in output.splitlines()], dtype=np.int64)
    return {size: rows[rows[:, 0] == size, 2] for size in TABLE_SIZES}


@pytest.mark.slow
@pytest.mark.parametrize("score", SCORE_TYPES)
def test_table_equals_hls4ml_cpp(tmp_path: Path, score: str):
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    tables = _hls4ml_tables(tmp_path, score)
    score_type = FixedType.parse(score)
    for size in TABLE_SIZES:
        ours = make_sigmoid_table(size, 8.0, score_type, "hls4ml")
        assert len(tables[size]) == size
        assert np.array_equal(ours, tables[size]), f"table size {size}"


def _hls4ml_path(table_size: int = 1024) -> Datapath:
    return Datapath.from_config(
        load_config(overrides={"sigmoid": {"sample": "hls4ml", "table_size": table_size}})
    )


def test_index_truncates_toward_zero():
    path = _hls4ml_path()
    frac = 20
    bin_raw = 1 << (frac - path.table_index_shift)  # 16 / 1024 = 2**-6
    cases = {
        0: 512,
        1: 512,
        -1: 512,  # trunc(-tiny) = 0, not floor = -1
        -bin_raw + 1: 512,
        -bin_raw: 511,
        bin_raw - 1: 512,
        bin_raw: 513,
        -bin_raw - 1: 511,
    }
    for z, want in cases.items():
        assert int(path.sigmoid_index(np.array([z]), frac)[0]) == want, z


def test_index_clamps_at_table_ends():
    path = _hls4ml_path()
    frac = 20
    eight = 8 << frac
    assert path.sigmoid_index(np.array([eight - 1]), frac).tolist() == [1023]
    assert path.sigmoid_index(np.array([eight, 100 * eight]), frac).tolist() == [1023, 1023]
    assert path.sigmoid_index(np.array([-eight, -eight - 1, -100 * eight]), frac).tolist() == [
        0,
        0,
        0,
    ]
    assert path.sigmoid_index(np.array([-eight + 1]), frac).tolist() == [1]


def test_index_of_small_table():
    path = _hls4ml_path(table_size=4)  # index = 2 + trunc(z * 4 / 16) = 2 + trunc(z / 4)
    z = np.array([-9, -8, -7.5, -4, -3.75, -0.25, 0, 3.75, 4, 7.75, 8, 9])
    frac = 2
    raw = (z * 2**frac).astype(np.int64)
    assert path.sigmoid_index(raw, frac).tolist() == [0, 0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]


def test_default_sample_is_centre():
    config = load_config()
    assert config.sigmoid_sample == "centre"
    assert Datapath.from_config(config).table_sample == "centre"


def test_hls4ml_sample_needs_range_eight():
    with pytest.raises(ConfigError, match=r"sigmoid.input_range.*needs 8.0"):
        load_config(overrides={"sigmoid": {"sample": "hls4ml", "input_range": 4.0}})


def test_unknown_sample_is_rejected():
    with pytest.raises(ConfigError, match=r"sigmoid.sample.*'edge'.*centre, hls4ml"):
        load_config(overrides={"sigmoid": {"sample": "edge"}})


def test_generated_header_selects_hls4ml_index(tmp_path: Path):
    from altmin_hls.emulator.emulator import FixedParameters
    from altmin_hls.hls.writer import ProjectWriter
    from altmin_hls.reference.mlp import MLP

    for sample, flag in (("centre", "false"), ("hls4ml", "true")):
        config = load_config(overrides={"sigmoid": {"sample": sample}})
        parameters = FixedParameters.from_mlp(
            MLP.init(config.sizes, np.random.default_rng(0)), Datapath.from_config(config)
        )
        text = ProjectWriter(config, parameters).render("firmware/parameters.h.j2")
        assert f"static const bool sigmoid_hls4ml = {flag};" in text
