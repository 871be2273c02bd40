"""Command-line interface: ``altmin-hls run`` and the stages it chains."""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from altmin_hls import __version__, pipeline
from altmin_hls.config import Config, load_config
from altmin_hls.errors import AltminError
from altmin_hls.hls.writer import check_output_folder

log = logging.getLogger("altmin_hls")
console = Console()
DEFAULT_OUT = Path("altmin-out")
# Modules that add subcommands of their own. Each has register(commands), which adds a
# parser to the argparse sub-parsers and sets its default `handler` to a function that
# takes the parsed arguments and returns the exit code.
COMMAND_MODULES: tuple[str, ...] = (
    "altmin_hls.study.command",
    "altmin_hls.hls.report_command",
    "altmin_hls.interop.command",
    "altmin_hls.rtl.command",
)


# Optional packages and the pyproject extra that installs each.
EXTRAS = {
    "matplotlib": "study",
    "mplhep": "study",
    "cocotb": "rtl",
    "cocotb_tools": "rtl",
    "cocotbext": "rtl",
    "tensorflow": "keras",
    "keras": "keras",
    "qkeras": "keras",
    "uproot": "delphes",
    "pythia8mc": "pythia",
}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="project config YAML (default: the output "
                        "folder's config.yaml if present, else the built-in default)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--generator", choices=("parametric", "pythia"),
                        help="event generator; overrides data.generator")
    parser.add_argument("--events-unsmeared", type=int, metavar="N",
                        help="events in the unsmeared set; overrides data.events_unsmeared")
    parser.add_argument("--events-per-experience", type=int, metavar="N",
                        help="events per smeared experience; overrides data.events_per_experience")
    parser.add_argument("--experiences", type=int, metavar="N",
                        help="number of smeared experiences; overrides data.experiences")
    parser.add_argument("--seed", type=int, help="data seed; overrides data.seed")
    parser.add_argument("--delphes", type=Path, metavar="FILE",
                        help="read events from a Delphes ROOT file instead of generating "
                        "them; its events are split in order into the sets")
    parser.add_argument("--force", action="store_true",
                        help="write into an output folder that contains something else")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``altmin-hls`` command."""
    parser = argparse.ArgumentParser(
        prog="altmin-hls",
        description="On-chip continual learning by Alternating Minimisation for L1 trigger "
        "tracks: events, float training, a bit-exact emulator, and a Vitis HLS project "
        "checked by C-simulation.",
    )
    parser.add_argument("--version", action="version", version=f"altmin-hls {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    helps = {
        "run": "do every stage: data, train, generate, csim, and print the table",
        "data": "generate the unsmeared set and the smeared experiences as event files",
        "train": "pre-train the float model on the unsmeared set",
        "generate": "write the HLS project and its tb_data streams",
        "csim": "compile and run C-simulation, and compare it with the emulator",
    }
    for name, text in helps.items():
        sub = commands.add_parser(name, help=text, description=text)
        _add_common(sub)
        if name in ("run", "data"):
            _add_data_options(sub)
        if name == "generate":
            sub.add_argument("--force", action="store_true",
                             help="write into an output folder that contains another project")
        if name == "train":
            sub.add_argument("--force", action="store_true",
                             help="pre-train even if the model in <out>/model was imported")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands)
    return parser


def resolve_config(args: argparse.Namespace) -> Config:
    """Load the config the command works with and apply the command-line overrides."""
    data: dict[str, Any] = {}
    options = {
        "generator": "generator",
        "events_unsmeared": "events_unsmeared",
        "events_per_experience": "events_per_experience",
        "experiences": "experiences",
        "seed": "seed",
    }
    for option, key in options.items():
        value = getattr(args, option, None)
        if value is not None:
            data[key] = value
    path = args.config
    saved = args.out / "config.yaml"
    if path is None and saved.is_file():
        path = saved
    config = load_config(path, {"data": data} if data else None)
    return config


def _check_out_folder(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise AltminError(f"output path {out} is a file, not a folder; choose another --out")
    if force or not out.exists() or not any(out.iterdir()):
        return
    if not (out / "config.yaml").is_file():
        raise AltminError(
            f"output folder {out} is not empty and is not an altmin-hls output folder; choose "
            "another --out, or pass --force"
        )


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def stage_data(config: Config, workspace: pipeline.Workspace, delphes: Path | None = None) -> list:
    source = f"Delphes file {delphes}" if delphes else f"{config.generator} generator"
    console.print(f"[bold]data[/]: {source}, {config.events_unsmeared} unsmeared "
                  f"events, {config.experiences} experiences of {config.events_per_experience} events")
    start = time.perf_counter()
    sets = pipeline.generate_data(config, workspace, progress=True, delphes=delphes)
    counts = ", ".join(str(s.n_tracks) for s in sets)
    console.print(f"      tracks per set: {counts} ({time.perf_counter() - start:.1f} s) -> {workspace.data}")
    return sets


def stage_train(config: Config, workspace: pipeline.Workspace, sets: list):
    with _progress() as progress:
        task = progress.add_task(f"train ({config.pretrain_method})", total=config.pretrain_epochs, status="")

        def update(epoch: int, total: int, metrics: dict) -> None:
            status = f"loss {metrics.get('train_loss', math.nan):.4f} AUC {metrics.get('train_auc', math.nan):.4f}"
            progress.update(task, completed=epoch, status=status)

        model, history = pipeline.pretrain(config, workspace, sets[0], progress=update)
    if history.train_auc:
        console.print(f"      pre-trained AUC on the training set {history.train_auc[-1]:.4f}, accuracy "
                      f"{history.train_accuracy[-1]:.4f} -> {workspace.model}")
    return model


def stage_generate(config: Config, workspace: pipeline.Workspace, model, sets: list, force: bool):
    start = time.perf_counter()
    expected = pipeline.generate_project(config, workspace, model, sets, force=force)
    n_tracks = sum(len(s) for s in expected.scores)
    console.print(f"[bold]generate[/]: project '{config.name}' with {n_tracks} streamed tracks and "
                  f"{len(expected.snapshots)} expected weight steps ({time.perf_counter() - start:.1f} s) "
                  f"-> {workspace.hls}")
    return expected


def stage_csim(config: Config, workspace: pipeline.Workspace, expected) -> pipeline.CsimComparison:
    with console.status("[bold]csim[/]: compiling with g++ and running the testbench"):
        start = time.perf_counter()
        comparison = pipeline.run_csim(config, workspace, expected)
    verdict = "bit-exact" if comparison.testbench_passed and all(comparison.scores_exact) and comparison.weights_exact else "MISMATCH"
    console.print(f"[bold]csim[/]: {verdict}; {sum(len(s) for s in comparison.scores)} scores and "
                  f"{comparison.weight_steps} weight steps ({time.perf_counter() - start:.1f} s); "
                  f"logs in {workspace.hls / 'csim'}")
    return comparison


def _number(value: float) -> str:
    # An AUC is undefined on a set with one class only, e.g. a sample without pile-up.
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def _typical_error(rows: list[dict]) -> str:
    errors = [row["frozen_auc_error"] for row in rows if not math.isnan(row["frozen_auc_error"])]
    return f"{float(np.median(errors)):.4f}" if errors else "n/a"


def print_table(rows: list[dict]) -> None:
    """Print the per-experience table; each view's cell shows its AUC above its accuracy."""
    table = Table(
        title="On-chip learning per smeared experience",
        caption="Each cell: AUC, then accuracy at score 0.5. Scores are prequential: each "
        "track is scored before its minibatch's weight step. Statistical error of one AUC "
        f"(Hanley-McNeil): about {_typical_error(rows)}; per view in results/summary.json.",
    )
    table.add_column("exp", justify="right")
    table.add_column("tracks\nin", justify="right")
    table.add_column("results\nout", justify="right")
    views = {"frozen": "frozen", "float_altmin": "float\nAltMin", "emulator": "emulator", "csim": "C-sim"}
    for title in views.values():
        table.add_column(title, justify="right")
    table.add_column("bit-\nexact", justify="center")
    for row in rows:
        cells = [f"{_number(row[f'{key}_auc'])}\n{_number(row[f'{key}_accuracy'])}" for key in views]
        table.add_row(
            str(row["experience"]),
            str(row["tracks_in"]),
            str(row["results_out"]),
            *cells,
            "yes" if row["bit_exact"] else "[red]NO[/]",
        )
    console.print(table)


def command_csim(args: argparse.Namespace, workspace: pipeline.Workspace) -> int:
    """Run C-simulation of the project in the output folder, with the config it was made from."""
    config = pipeline.project_config(workspace)
    if args.config is not None:
        requested = load_config(args.config)
        if requested.digest() != config.digest():
            raise AltminError(
                f"{args.config} differs from the config the project in {workspace.hls} was "
                "generated from; run 'altmin-hls generate' with it first, or leave out --config"
            )
    expected = pipeline.expected_from_project(config, workspace)
    pipeline.check_expected_files(config, workspace, expected)
    comparison = stage_csim(config, workspace, expected)
    pipeline.check_bit_exact(comparison)
    return 0


def command_run(args: argparse.Namespace, config: Config, workspace: pipeline.Workspace) -> int:
    sets = stage_data(config, workspace, args.delphes)
    model = stage_train(config, workspace, sets)
    expected = stage_generate(config, workspace, model, sets, args.force)
    comparison = stage_csim(config, workspace, expected)
    with console.status("float reference over the experiences"):
        frozen = pipeline.float_stream_scores(config, model, sets, learn=False)
        float_learning = pipeline.float_stream_scores(config, model, sets, learn=True)
    rows = pipeline.summarise(config, sets, frozen, float_learning, expected, comparison)
    pipeline.write_summary(workspace, rows, comparison)
    print_table(rows)
    console.print(f"table written to {workspace.results / 'summary.md'}")
    pipeline.check_bit_exact(comparison)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_time=False, show_path=False)],
    )
    try:
        if getattr(args, "handler", None) is not None:
            return args.handler(args)
        workspace = pipeline.Workspace(args.out)
        if args.command == "csim":
            return command_csim(args, workspace)
        config = resolve_config(args)
        _check_out_folder(args.out, getattr(args, "force", False))
        if args.command == "run":
            check_output_folder(workspace.hls, config.name, args.force)
        if args.command in ("run", "train") and not args.force:
            pipeline.check_model_not_imported(workspace, args.command)
        args.out.mkdir(parents=True, exist_ok=True)
        if args.command == "run":
            status = command_run(args, config, workspace)
        elif args.command == "data":
            stage_data(config, workspace, args.delphes)
            status = 0
        elif args.command == "train":
            stage_train(config, workspace, pipeline.load_data(config, workspace))
            status = 0
        else:
            stage_generate(config, workspace, pipeline.load_model(workspace),
                           pipeline.load_data(config, workspace), args.force)
            status = 0
        # Written last, so a command that failed leaves no config that marks the folder.
        (args.out / "config.yaml").write_text(config.to_yaml())
        return status
    except AltminError as exc:
        # Plain text on stderr: paths in the message must not be wrapped or styled.
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        extra = EXTRAS.get(missing)
        if extra is None:
            raise
        print(
            f"error: this command needs the Python package '{missing}', which is not installed; "
            f"install it with: pip install 'altmin-hls[{extra}]'",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
