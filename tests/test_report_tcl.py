"""build_prj.tcl under tclsh with stub Vitis commands, and the keys of hls_config.cfg.

Each stub prints its name, the working folder and its arguments, so the tests see which
steps the switches select and what part, clock and paths reach the Vitis commands.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from altmin_hls.config import load_config
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.hls.writer import ProjectWriter
from altmin_hls.reference.mlp import MLP

VITIS_COMMANDS = (
    "open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock",
    "csim_design", "csynth_design", "cosim_design", "export_design",
)
STEPS = ("csim_design", "csynth_design", "cosim_design", "export_design")
TESTBENCH_ARGV = "tb_data . learn"
# Sources build_prj.tcl (the first argument) with the rest as its argv; tab-separated output.
DRIVER = """\
foreach name {%s} {
    proc $name {args} [format {puts [join [list CALL %%s [pwd] {*}$args] "\\t"]} $name]
}
set script [lindex $::argv 0]
set ::argv [lrange $::argv 1 end]
source $script
""" % " ".join(VITIS_COMMANDS)
# Keys of the [hls] section that Vitis documents (UG1399, UG1702) and the template uses.
KNOWN_HLS_KEYS = {
    "flow_target", "package.output.format", "clock", "syn.top", "syn.file", "syn.cflags",
    "tb.file", "tb.cflags", "csim.argv", "cosim.argv",
}

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh is not installed")


def _write_project(folder: Path, overrides: dict | None = None) -> Path:
    config = load_config(overrides=overrides)
    model = MLP.init(config.sizes, np.random.default_rng(3))
    parameters = FixedParameters.from_mlp(model, Datapath.from_config(config))
    project = ProjectWriter(config, parameters).write(folder)
    (project / "tb_data").mkdir()  # written by the generate stage, which these tests skip
    return project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_project(tmp_path_factory.mktemp("tcl") / "hls")


def _run(project: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    driver = project.parent / "driver.tcl"
    driver.write_text(DRIVER)
    return subprocess.run(
        ["tclsh", str(driver), str(project / "build_prj.tcl"), *args],
        capture_output=True, text=True, cwd=cwd or project.parent, check=False, timeout=30,
    )


def _calls(project: Path, *args: str) -> list[list[str]]:
    result = _run(project, *args)
    assert result.returncode == 0, result.stderr
    return [line.split("\t")[1:] for line in result.stdout.splitlines() if line.startswith("CALL\t")]


def _steps(calls: list[list[str]]) -> list[str]:
    return [call[0] for call in calls if call[0] in STEPS]


def _call(calls: list[list[str]], name: str) -> list[str]:
    matches = [call[2:] for call in calls if call[0] == name]
    assert len(matches) == 1, f"{name} called {len(matches)} times"
    return matches[0]


def test_default_runs_csim_and_synthesis(project: Path):
    assert _steps(_calls(project)) == ["csim_design", "csynth_design"]


@pytest.mark.parametrize(
    ("args", "steps"),
    [
        (("csim=0",), ["csynth_design"]),
        (("synth=0",), ["csim_design"]),
        (("csim=0", "synth=0"), []),
        (("cosim=1",), ["csim_design", "csynth_design", "cosim_design"]),
        (("export=1", "csim=0"), ["csynth_design", "export_design"]),
        (("csim=1", "synth=1", "cosim=1", "export=1"), list(STEPS)),
        (("reset=0", "csim=0", "synth=0", "cosim=1"), ["cosim_design"]),
    ],
)
def test_switches_select_steps(project: Path, args: tuple[str, ...], steps: list[str]):
    assert _steps(_calls(project, *args)) == steps


@pytest.mark.parametrize(
    "args",
    [
        ("-tclargs", "csim=0", "cosim=1"),  # vitis_hls -f build_prj.tcl -tclargs ...
        ("csim=0 cosim=1",),  # one quoted argument, as hls4ml passes it to vivado_hls
    ],
)
def test_argument_forms(project: Path, args: tuple[str, ...]):
    assert _steps(_calls(project, *args)) == ["csynth_design", "cosim_design"]


def test_testbench_arguments(project: Path):
    calls = _calls(project, "cosim=1")
    assert _call(calls, "csim_design") == ["-argv", TESTBENCH_ARGV]
    assert _call(calls, "cosim_design") == ["-argv", TESTBENCH_ARGV]
    assert _call(calls, "csynth_design") == []


def test_export_format(project: Path):
    assert _call(_calls(project, "export=1"), "export_design") == ["-format", "ip_catalog"]


def test_reset_switch(project: Path):
    reset = _calls(project)
    assert _call(reset, "open_project") == ["-reset", "altmin_tracks_prj"]
    assert _call(reset, "open_solution") == ["-reset", "solution1", "-flow_target", "vivado"]
    kept = _calls(project, "reset=0")
    assert _call(kept, "open_project") == ["altmin_tracks_prj"]
    assert _call(kept, "open_solution") == ["solution1"]


def test_part_and_clock_from_config(tmp_path: Path):
    overrides = {"project": {"name": "trk", "part": "xc7z020clg400-1", "clock_period": 6.25}}
    project = _write_project(tmp_path / "hls", overrides)
    calls = _calls(project)
    assert _call(calls, "set_part") == ["xc7z020clg400-1"]
    assert _call(calls, "create_clock") == ["-period", "6.25", "-name", "default"]
    assert _call(calls, "set_top") == ["trk"]
    assert _call(calls, "open_project") == ["-reset", "trk_prj"]


def test_paths_relative_to_project(project: Path, tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _run(project, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    calls = [line.split("\t")[1:] for line in result.stdout.splitlines() if line.startswith("CALL\t")]
    assert {Path(call[1]) for call in calls} == {project}
    added = [call[2:] for call in calls if call[0] == "add_files"]
    files = [next(a for a in args if not a.startswith("-") and "=" not in a) for args in added]
    assert files == ["firmware/altmin_tracks.cpp", "altmin_tracks_test.cpp", "tb_data"]
    for name in files:
        assert (project / name).exists(), name
    cflags = added[0][added[0].index("-cflags") + 1]
    assert cflags == f"-std=c++14 -I{project}/firmware"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("csim=2",), "option 'csim' has invalid value '2'"),
        (("synthesis=1",), "unknown option 'synthesis'"),
        (("csim",), "invalid argument 'csim'"),
        (("synth=0", "cosim=1"), "cosim and export need the results of synthesis"),
        (("synth=0", "export=1"), "cosim and export need the results of synthesis"),
    ],
)
def test_invalid_arguments_rejected(project: Path, args: tuple[str, ...], message: str):
    result = _run(project, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "CALL" not in result.stdout


def _read_cfg(path: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Return (keys before any section, keys of [hls]), each key with all its values."""
    sections: dict[str, dict[str, list[str]]] = {"": {}}
    current = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, {})
            continue
        key, separator, value = line.partition("=")
        assert separator == "=", f"not a key=value line: {line!r}"
        sections[current].setdefault(key.strip(), []).append(value.strip())
    assert set(sections) == {"", "hls"}
    return sections[""], sections["hls"]


def test_unified_config_keys(tmp_path: Path):
    overrides = {"project": {"name": "trk", "part": "xc7z020clg400-1", "clock_period": 6.25}}
    project = _write_project(tmp_path / "hls", overrides)
    general, hls = _read_cfg(project / "hls_config.cfg")
    assert general == {"part": ["xc7z020clg400-1"]}
    assert set(hls) <= KNOWN_HLS_KEYS
    assert hls["clock"] == ["6.25ns"]
    assert hls["flow_target"] == ["vivado"]
    assert hls["syn.top"] == ["trk"]
    assert hls["csim.argv"] == [TESTBENCH_ARGV]
    assert hls["cosim.argv"] == [TESTBENCH_ARGV]


def test_unified_config_paths_exist(project: Path):
    _, hls = _read_cfg(project / "hls_config.cfg")
    assert hls["syn.file"] == ["firmware/altmin_tracks.cpp"]
    assert hls["tb.file"] == ["altmin_tracks_test.cpp", "tb_data"]
    for name in hls["syn.file"] + hls["tb.file"]:
        assert (project / name).exists(), name
