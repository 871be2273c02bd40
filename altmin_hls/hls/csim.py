"""Build a generated project with g++ and run its C-simulation testbench.

g++ compiles the testbench and the top function against the ``ap_types`` headers that
the ``hls4ml`` package ships, so no Vitis installation is needed. Build and run logs are
kept in ``<project>/csim/``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from altmin_hls.errors import BuildError, DataFileError
from altmin_hls.hls.aptypes import ap_types_include_dir

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 30
# Exit codes of the generated testbench.
TESTBENCH_PASS = 0
TESTBENCH_MISMATCH = 1
TESTBENCH_BAD_INPUT = 2


@dataclass
class CsimRun:
    """Outcome of one testbench run."""

    returncode: int
    passed: bool
    log_path: Path
    scores_path: Path
    weights_path: Path
    summary: str


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last lines of a log file, indented for an error message."""
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join("    " + line for line in text)


def _project_name(project: Path) -> str:
    tops = [p for p in (project / "firmware").glob("*.cpp")]
    if len(tops) != 1:
        raise BuildError(
            f"{project}/firmware should hold exactly one top .cpp file, found {len(tops)}; "
            "regenerate the project with 'altmin-hls generate'"
        )
    return tops[0].stem


def build(project: Path, optimisation: str = "-O1") -> Path:
    """Compile the testbench and top function; return the executable's path."""
    project = Path(project)
    requested = os.environ.get("CXX", "g++")
    compiler = shutil.which(requested)
    if compiler is None:
        where = f"CXX={requested!r}" if "CXX" in os.environ else "g++"
        raise BuildError(
            f"C++ compiler not found ({where}); install g++ (Debian: apt-get install -y g++) or "
            "set CXX to the path of a single compiler executable"
        )
    name = _project_name(project)
    out_dir = project / "csim"
    out_dir.mkdir(exist_ok=True)
    binary = out_dir / f"{name}_csim"
    build_log = out_dir / "build.log"
    command = [
        compiler,
        optimisation,
        "-std=c++14",
        "-Wno-unknown-pragmas",
        f"-I{project / 'firmware'}",
        f"-I{project}",
        f"-I{ap_types_include_dir()}",
        str(project / f"{name}_test.cpp"),
        str(project / "firmware" / f"{name}.cpp"),
        "-o",
        str(binary),
    ]
    log.info("compiling %s with %s", name, compiler)
    with build_log.open("w") as handle:
        handle.write(" ".join(command) + "\n")
        handle.flush()
        result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise BuildError(
            f"g++ failed with exit code {result.returncode}; full log in {build_log}. "
            f"Last lines:\n{log_tail(build_log)}"
        )
    return binary


def run(project: Path, binary: Path, learn: bool = True) -> CsimRun:
    """Run the testbench on ``<project>/tb_data``; raise BuildError unless it ran to a verdict.

    A run whose results differ from the emulator's expected files returns with
    ``passed=False``; the caller decides how to report it.
    """
    project = Path(project)
    out_dir = project / "csim"
    run_log = out_dir / "run.log"
    command = [str(binary), str(project / "tb_data"), str(out_dir), "learn" if learn else "infer"]
    log.info("running C-simulation of %s", project)
    with run_log.open("w") as handle:
        result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False)
    summary = log_tail(run_log, 6)
    if result.returncode == TESTBENCH_BAD_INPUT:
        raise DataFileError(f"the C-simulation testbench rejected its input; log {run_log}:\n{summary}")
    if result.returncode not in (TESTBENCH_PASS, TESTBENCH_MISMATCH):
        raise BuildError(
            f"the C-simulation testbench ended with exit code {result.returncode}; log "
            f"{run_log}. Last lines:\n{log_tail(run_log)}"
        )
    return CsimRun(
        returncode=result.returncode,
        passed=result.returncode == TESTBENCH_PASS,
        log_path=run_log,
        scores_path=out_dir / "csim_scores.txt",
        weights_path=out_dir / "csim_weights.txt",
        summary=summary,
    )
