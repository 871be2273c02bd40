"""The ``altmin-hls report`` subcommand: print the Vitis synthesis report, or static estimates.

With a csynth.xml at PATH (default: searched under ``<out>/hls``) it prints the parsed
report. Without one it prints the static estimates of :mod:`altmin_hls.hls.estimate`,
after a line that lists the places it searched.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

from rich.console import Console

from altmin_hls.config import Config, load_config
from altmin_hls.hls import estimate, report

log = logging.getLogger(__name__)

HELP = "print the Vitis HLS synthesis report (csynth.xml), or static estimates when there is none"


def register(commands: Any) -> None:
    """Add the ``report`` subcommand to the argparse sub-parsers ``commands``."""
    # Deferred import: altmin_hls.cli imports this module while it builds its parser.
    from altmin_hls.cli import DEFAULT_OUT

    parser = commands.add_parser("report", help=HELP, description=HELP)
    parser.add_argument(
        "path", nargs="?", type=Path, metavar="PATH",
        help="a csynth.xml, a Vitis HLS project folder or a unified-flow work folder "
        "(default: search under <out>/hls)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder of the run (default: {DEFAULT_OUT})")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the report, or the estimates, as JSON to FILE")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="config for the static estimates (default: the project's config.yaml, "
                        "else <out>/config.yaml, else the built-in default)")
    parser.add_argument("--yosys", action="store_true",
                        help="for the static estimates, also synthesise <out>/rtl with Yosys "
                        "(takes minutes)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.set_defaults(handler=command_report)


def _estimate_config(args: argparse.Namespace, project: Path) -> tuple[Config, str]:
    """Load the config for the estimates; return it and where it came from."""
    if args.config is not None:
        return load_config(args.config), str(args.config)
    for candidate in (project / "config.yaml", args.out / "config.yaml"):
        if candidate.is_file():
            return load_config(candidate), str(candidate)
    return load_config(), "the built-in default config"


def _print_estimate(console: Console, args: argparse.Namespace, project: Path) -> dict[str, Any]:
    config, source = _estimate_config(args, project)
    result = estimate.static_estimate(config)
    rtl_dir = args.out / "rtl"
    work_dir = args.out / "yosys" / "report"
    figures, note = estimate.yosys_figures(rtl_dir, config.name, work_dir, run=args.yosys)
    result = dataclasses.replace(result, yosys=figures, yosys_note=note)
    console.print(f"config: {source}", soft_wrap=True, markup=False, highlight=False)
    for table in estimate.estimate_tables(result):
        console.print(table)
    for line in [*result.notes, note]:
        console.print(f"NOTE: {line}", soft_wrap=True, markup=False, highlight=False)
    return {"source": "static estimate", "config": source, "estimate": result.to_dict()}


def command_report(args: argparse.Namespace) -> int:
    """Print the synthesis report or the static estimates; return the exit code."""
    console = Console()
    project = args.path if args.path is not None else args.out / "hls"
    found: list[Path] = []
    searched: list[str] = [str(project)]
    if args.path is not None or project.exists():
        found, searched = report.find_reports(project)
    if found:
        if len(found) > 1:
            others = ", ".join(str(path) for path in found[1:])
            console.print(f"using the newest of {len(found)} reports; older: {others}",
                          soft_wrap=True, markup=False, highlight=False)
        parsed = report.parse_csynth(found[0])
        for table in report.report_tables(parsed):
            console.print(table)
        output: dict[str, Any] = {"source": "vitis csynth report", "report": parsed.to_dict()}
    else:
        places = "; ".join(searched)
        console.print(f"no Vitis report found (searched {places}); static estimates:",
                      soft_wrap=True, markup=False, highlight=False)
        folder = project if project.is_dir() else project.parent
        output = _print_estimate(console, args, folder)
        output["searched"] = searched
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(output, indent=2) + "\n")
        console.print(f"JSON written to {args.json}", soft_wrap=True, markup=False, highlight=False)
    return 0
