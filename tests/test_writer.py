"""The HLS project writer: exact literals, file headers, output-folder safety, packaging."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from altmin_hls.config import load_config
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.errors import ProjectExistsError
from altmin_hls.hls.writer import ProjectWriter, exact_decimal
from altmin_hls.reference.mlp import MLP


@pytest.mark.parametrize("frac", [0, 1, 10, 16, 30])
def test_exact_decimal_is_exact(frac: int):
    for raw in (0, 1, -1, 12345, -32768, 32767, 2**40 + 3):
        text = exact_decimal(raw, frac)
        assert Fraction(text) == Fraction(raw, 2**frac)
        assert float(text) == raw / 2**frac


@pytest.fixture()
def writer() -> ProjectWriter:
    config = load_config()
    path = Datapath.from_config(config)
    model = MLP.init(config.sizes, np.random.default_rng(3))
    return ProjectWriter(config, FixedParameters.from_mlp(model, path))


def test_weight_literals_equal_raw_values(writer: ProjectWriter, tmp_path: Path):
    writer.write(tmp_path / "p")
    text = (tmp_path / "p" / "firmware" / "weights.h").read_text()
    frac = writer.config.precision.weight.frac
    for layer, weights in enumerate(writer.parameters.weights, start=1):
        match = re.search(rf"w{layer}\[\d+\]\[\d+\] = (.*);", text)
        assert match is not None
        literals = re.findall(r"-?\d+(?:\.\d+)?", match.group(1))
        raws = [Fraction(v) * 2**frac for v in literals]
        assert [int(r) for r in raws] == weights.ravel().tolist()
        assert all(r.denominator == 1 for r in raws)


def test_every_file_names_its_config(writer: ProjectWriter, tmp_path: Path):
    writer.write(tmp_path / "p")
    digest = writer.config.digest()
    generated = [p for p in (tmp_path / "p").rglob("*") if p.suffix in {".h", ".cpp", ".tcl", ".cfg"}]
    library = {"altmin.h", "altmin_axis.h"}
    checked = [p for p in generated if p.name not in library]
    assert len(checked) == 8
    for path in checked:
        assert digest in path.read_text(), path.name


def test_part_and_clock_reach_build_scripts(writer: ProjectWriter, tmp_path: Path):
    writer.write(tmp_path / "p")
    tcl = (tmp_path / "p" / "build_prj.tcl").read_text()
    cfg = (tmp_path / "p" / "hls_config.cfg").read_text()
    assert "set_part xcvu9p-flga2104-2L-e" in tcl
    assert "create_clock -period 4.0" in tcl
    assert "part=xcvu9p-flga2104-2L-e" in cfg
    assert "clock=4.0ns" in cfg


def test_folder_with_other_project_is_rejected(writer: ProjectWriter, tmp_path: Path):
    writer.write(tmp_path / "p")
    other = load_config(overrides={"project": {"name": "other_top"}})
    other_writer = ProjectWriter(other, writer.parameters)
    with pytest.raises(ProjectExistsError, match="contains project 'altmin_tracks', not 'other_top'"):
        other_writer.write(tmp_path / "p")
    other_writer.write(tmp_path / "p", force=True)


def test_foreign_folder_is_rejected(writer: ProjectWriter, tmp_path: Path):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")
    with pytest.raises(ProjectExistsError, match="is not empty and contains no altmin-hls project"):
        writer.write(folder)


def test_same_project_can_be_rewritten(writer: ProjectWriter, tmp_path: Path):
    writer.write(tmp_path / "p")
    writer.write(tmp_path / "p")


@pytest.mark.slow
def test_wheel_ships_templates_and_headers(tmp_path: Path):
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)],
        check=True,
    )
    (wheel,) = tmp_path.glob("altmin_hls-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "altmin_hls/firmware/altmin.h" in names
    assert "altmin_hls/firmware/altmin_axis.h" in names
    assert "altmin_hls/templates/firmware/top.cpp.j2" in names
    assert "altmin_hls/templates/testbench.cpp.j2" in names
    assert "altmin_hls/default_config.yaml" in names
    assert "altmin_hls/templates/rtl/top.v.j2" in names
    assert "altmin_hls/sim/altmin_bench.py" in names
