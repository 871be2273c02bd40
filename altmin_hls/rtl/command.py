"""Subcommands ``rtl``, ``cosim`` and ``yosys`` of the altmin-hls command line."""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.table import Table

from altmin_hls import cli, pipeline
from altmin_hls.config import Config
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.errors import DataFileError, MismatchError
from altmin_hls.rtl import cosim
from altmin_hls.rtl.writer import RtlWriter
from altmin_hls.rtl.yosys import synthesise

DEFAULT_REUSE_FACTORS = (1, 2, 4)


def _add_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of the other subcommands, so cli.resolve_config finds every one it reads."""
    cli._add_common(parser)


def register(commands) -> None:
    """Add the rtl, cosim and yosys subcommands to the argparse sub-parsers."""
    text = "write Verilog of the inference datapath into <out>/rtl, weights from <out>/model"
    rtl = commands.add_parser("rtl", help=text, description=text)
    _add_options(rtl)
    rtl.add_argument("--reuse", type=int, metavar="R",
                     help="reuse factor: one track every R cycles (default: project.reuse_factor)")
    rtl.set_defaults(handler=command_rtl)

    text = ("co-simulate RTL with the cocotb bench: stream the smeared experiences of "
            "<out>/hls/tb_data and check every score against the emulator")
    sim = commands.add_parser("cosim", help=text, description=text)
    _add_options(sim)
    sim.add_argument("--sim", choices=cosim.SIMULATORS, required=True, help="simulator")
    sim.add_argument("--rtl", type=Path, metavar="DIR",
                     help="folder of .v files, e.g. Verilog exported by Vitis HLS (default: <out>/rtl)")
    sim.add_argument("--top", metavar="NAME", help="top module (default: project.name)")
    sim.add_argument("--tracks", type=int, metavar="N", help="stream only the first N tracks (default: all)")
    sim.add_argument("--idle", type=float, default=0.2, metavar="P",
                     help="probability of an idle cycle on the track stream (default: 0.2)")
    sim.add_argument("--stall", type=float, default=0.3, metavar="P",
                     help="probability that the sink keeps scores_TREADY low in a cycle (default: 0.3)")
    sim.add_argument("--timeout-cycles", type=int, default=2000, metavar="N",
                     help="fail after N cycles without a score word (default: 2000)")
    sim.add_argument("--bench-seed", type=int, default=1, metavar="N",
                     help="seed of the idle and back-pressure patterns (default: 1)")
    sim.set_defaults(handler=command_cosim)

    text = ("synthesise the RTL with Yosys for each reuse factor, in <out>/yosys, and print DSP, "
            "LUT, FF and BRAM counts")
    ys = commands.add_parser("yosys", help=text, description=text)
    _add_options(ys)
    ys.add_argument("--reuse", type=int, nargs="+", default=list(DEFAULT_REUSE_FACTORS), metavar="R",
                    help="reuse factors to synthesise (default: 1 2 4)")
    ys.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                    help="Yosys runs at a time (default: the number of cores)")
    ys.set_defaults(handler=command_yosys)


def _initial_parameters(config: Config, workspace: pipeline.Workspace) -> FixedParameters:
    """Return the pre-trained weights rounded as the HLS project's initial parameters are."""
    return FixedParameters.from_mlp(pipeline.load_model(workspace), Datapath.from_config(config))


def command_rtl(args: argparse.Namespace) -> int:
    config = cli.resolve_config(args)
    workspace = pipeline.Workspace(args.out)
    writer = RtlWriter(config, _initial_parameters(config, workspace), reuse_factor=args.reuse)
    out = writer.write(args.out / "rtl")
    manifest = writer.manifest()
    cli.console.print(
        f"[bold]rtl[/]: {config.name}, reuse factor {manifest['reuse_factor']} (II "
        f"{manifest['initiation_interval']}), latency {manifest['latency']} cycles -> {out}"
    )
    return 0


def command_cosim(args: argparse.Namespace) -> int:
    config = cli.resolve_config(args)
    workspace = pipeline.Workspace(args.out)
    if not (workspace.hls / "tb_data" / "initial_parameters.txt").is_file():
        raise DataFileError(
            f"{workspace.hls / 'tb_data'} contains no project streams; run 'altmin-hls generate' first"
        )
    rtl_dir = args.rtl if args.rtl is not None else args.out / "rtl"
    top = args.top or config.name
    work = args.out / "cosim" / args.sim
    with cli.console.status(f"[bold]cosim[/]: building {top} with {args.sim}"):
        built = cosim.build(args.sim, rtl_dir, top, work / "build")
    with cli.console.status(f"[bold]cosim[/]: running the bench on {args.sim}"):
        result = cosim.run(
            built,
            workspace.hls,
            work / "run",
            max_tracks=args.tracks,
            seed=args.bench_seed,
            idle_probability=args.idle,
            stall_probability=args.stall,
            timeout_cycles=args.timeout_cycles,
        )
    print_cosim(result)
    if not result.passed:
        raise MismatchError(f"co-simulation failed: {result.message}; see {result.log_path}")
    return 0


def _number(value, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_cosim(result: cosim.CosimResult) -> None:
    """Print one bench run as a table."""
    table = Table(title=f"Co-simulation on {result.simulator}: {result.message}")
    columns = ("tracks", "bit-exact", "latency", "II", "tracks/cycle", "with stalls", "build s", "run s")
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(
        str(result.tracks),
        "yes" if result.passed else "[red]NO[/]",
        _number(result.latency_cycles),
        _number(result.initiation_interval, 2),
        _number(result.tracks_per_cycle),
        _number(result.overall_tracks_per_cycle),
        f"{result.build_seconds:.1f}",
        f"{result.run_seconds:.1f}",
    )
    cli.console.print(table)
    cli.console.print(
        "latency and II in cycles, measured without back-pressure; 'with stalls' is the rate "
        f"under random idle cycles and back-pressure; log {result.log_path}",
        highlight=False,
    )


def command_yosys(args: argparse.Namespace) -> int:
    config = cli.resolve_config(args)
    workspace = pipeline.Workspace(args.out)
    parameters = _initial_parameters(config, workspace)
    writers = {reuse: RtlWriter(config, parameters, reuse_factor=reuse) for reuse in args.reuse}
    root = args.out / "yosys"

    def synthesise_one(reuse: int):
        folder = root / f"rf{reuse}"
        writers[reuse].write(folder / "rtl")
        return synthesise(folder / "rtl", config.name, folder)

    start = time.perf_counter()
    jobs = max(1, min(args.jobs, len(args.reuse)))
    with cli.console.status(f"[bold]yosys[/]: synthesising {len(args.reuse)} reuse factor(s), {jobs} at a time"):
        with ThreadPoolExecutor(jobs) as pool:
            counts = list(pool.map(synthesise_one, args.reuse))
    table = Table(title=f"Yosys synth_xilinx -family {counts[0].family}: {config.name}")
    for column in ("reuse", "II", "latency", "multipliers", "DSP", "LUT", "FF", "BRAM", "seconds"):
        table.add_column(column, justify="right")
    rows = []
    for reuse, count in zip(args.reuse, counts):
        writer = writers[reuse]
        row = {
            "reuse_factor": reuse,
            "initiation_interval": reuse,
            "latency": writer.latency,
            "multipliers": writer.context()["n_multipliers"],
            "dsp": count.dsp,
            "lut": count.lut,
            "ff": count.ff,
            "bram": count.bram,
            "family": count.family,
            "seconds": round(count.seconds, 1),
            "cells": count.cells,
        }
        rows.append(row)
        table.add_row(*(str(row[key]) for key in (
            "reuse_factor", "initiation_interval", "latency", "multipliers", "dsp", "lut", "ff", "bram", "seconds")))
    cli.console.print(table)
    (root / "summary.json").write_text(json.dumps(rows, indent=1) + "\n")
    cli.console.print(
        f"Yosys counts, not Vivado's ({time.perf_counter() - start:.0f} s); cells per type in {root / 'summary.json'}"
    )
    return 0
