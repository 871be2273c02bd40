"""Yosys resource counts of the generated RTL, on a small network to keep synthesis short."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from altmin_hls.cli import main
from altmin_hls.config import load_config
from altmin_hls.errors import BuildError
from altmin_hls.reference.mlp import MLP
from altmin_hls.rtl.yosys import _kind, synthesise

needs_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys is not installed")

SMALL_NETWORK = """\
network:
  sizes: [5, 4, 3, 1]
sigmoid:
  table_size: 64
"""


def test_cell_kinds():
    assert _kind("DSP48E2") == "dsp"
    assert _kind("LUT6") == "lut"
    assert _kind("FDRE") == "ff"
    assert _kind("FDSE") == "ff"
    assert _kind("RAMB18E2") == "bram"
    assert _kind("CARRY8") is None
    assert _kind("MUXF7") is None


@needs_yosys
def test_folder_without_verilog_errors(tmp_path):
    with pytest.raises(BuildError, match="no .v files"):
        synthesise(tmp_path, "top", tmp_path / "work")


@needs_yosys
@pytest.mark.slow
def test_yosys_command_counts_cells(tmp_path: Path, capsys):
    out = tmp_path / "out"
    (out / "model").mkdir(parents=True)
    (out / "config.yaml").write_text(SMALL_NETWORK)
    config = load_config(out / "config.yaml")
    model = MLP.init(config.sizes, np.random.default_rng(5))
    np.savez(out / "model" / "pretrained.npz", **model.to_dict())

    assert main(["yosys", "--out", str(out), "--reuse", "1", "2"]) == 0
    printed = capsys.readouterr().out
    assert "synth_xilinx -family xcup" in printed
    rows = {row["reuse_factor"]: row for row in json.loads((out / "yosys" / "summary.json").read_text())}
    assert rows[1]["family"] == "xcup"
    assert rows[1]["dsp"] + rows[1]["lut"] > 0
    assert rows[1]["ff"] > 0
    # Reuse factor 2 shares each multiplier between two inputs.
    assert rows[2]["multipliers"] < rows[1]["multipliers"]
    assert rows[2]["dsp"] < rows[1]["dsp"]
