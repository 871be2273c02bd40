"""The ``altmin-hls study`` subcommand: run the continual-learning study and write its report.

Reads the event files in ``<out>/data/`` if they exist (else generates them there), and
writes into ``<out>/study/``: ``report.md``, ``tables.json``, ``config.yaml`` and the
figures in ``figures/``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import time
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from altmin_hls import pipeline
from altmin_hls.config import Config, validate
from altmin_hls.data.eventfile import read_events
from altmin_hls.data.tracks import TrackSet
from altmin_hls.errors import AltminError
from altmin_hls.study import report
from altmin_hls.study.study import METHODS, Progress as StudyProgress, first_events, run_study

log = logging.getLogger(__name__)

DEFAULT_SEEDS = 3
DEFAULT_EPOCHS = 20
DEFAULT_VALIDATION_EVENTS = 20
# --quick: seeds, epochs per experience, pre-training epochs, and events kept per set.
QUICK = {"seeds": 2, "epochs": 2, "pretrain_epochs": 2, "events_unsmeared": 20, "events_per_experience": 4}
HELP = "run the continual-learning study of AltMin against SGD and write plots and a report"


def register(commands: Any) -> None:
    """Add the ``study`` subcommand to the argparse sub-parsers ``commands``."""
    from altmin_hls.cli import _add_common, _add_data_options

    parser = commands.add_parser("study", help=HELP, description=HELP)
    _add_common(parser)
    _add_data_options(parser)
    parser.add_argument("--seeds", type=int, metavar="N",
                        help=f"number of seeds, counted up from pretrain.seed (default {DEFAULT_SEEDS})")
    parser.add_argument("--epochs", type=int, metavar="N",
                        help=f"epochs of learning per experience, every method (default {DEFAULT_EPOCHS})")
    parser.add_argument("--pretrain-epochs", type=int, metavar="N",
                        help="pre-training epochs on the unsmeared set; overrides pretrain.epochs")
    parser.add_argument("--methods", nargs="+", choices=METHODS, metavar="METHOD",
                        help=f"methods to compare, any of {', '.join(METHODS)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help=f"tiny run: {QUICK['seeds']} seeds, {QUICK['epochs']} epochs per experience, "
                        f"{QUICK['pretrain_epochs']} pre-training epochs, the first {QUICK['events_unsmeared']} "
                        f"unsmeared events and the first {QUICK['events_per_experience']} events of each "
                        "experience; explicit options still win")
    parser.add_argument("--validate-generator", action="store_true",
                        help="compare the parametric generator with Pythia 8 in the report (needs pythia8mc "
                        "and altmin_hls.data.validation)")
    parser.add_argument("--validate-events", type=int, metavar="N", default=DEFAULT_VALIDATION_EVENTS,
                        help=f"events per generator for --validate-generator (default {DEFAULT_VALIDATION_EVENTS})")
    parser.set_defaults(handler=command_study)


# ---- inputs ------------------------------------------------------------------------------


def _study_config(args: argparse.Namespace) -> Config:
    from altmin_hls.cli import resolve_config

    config = resolve_config(args)
    pretrain_epochs = args.pretrain_epochs
    if pretrain_epochs is None and args.quick:
        pretrain_epochs = QUICK["pretrain_epochs"]
    if pretrain_epochs is None:
        return config
    raw = dict(config.raw)
    raw["pretrain"] = {**raw["pretrain"], "epochs": pretrain_epochs}
    return validate(raw)


def load_or_generate(
    config: Config, workspace: pipeline.Workspace, delphes: Path | None = None
) -> tuple[list[TrackSet], str]:
    """Return the sets from ``<out>/data/`` (generated first if the folder has none) and their source.

    The source is the generator name, or ``delphes:<file name>`` for sets read from a
    Delphes file. Raises AltminError when existing event files were made from another
    source, data seed or event count than the config and ``delphes`` request.
    """
    if not workspace.experience_file(0).is_file():
        sets = pipeline.generate_data(config, workspace, progress=True, delphes=delphes)
        source = f"delphes:{delphes.name}" if delphes is not None else config.generator
        return sets, source
    expected_source = f"delphes:{delphes.name}" if delphes is not None else config.generator
    sets = []
    for index in range(config.experiences + 1):
        path = workspace.experience_file(index)
        if not path.is_file():
            raise AltminError(f"{path}: file not found; remove {workspace.data} to regenerate every set, or "
                              "run 'altmin-hls data'")
        tracks, metadata = read_events(path)
        n_events = config.events_unsmeared if index == 0 else config.events_per_experience
        source = str(metadata.get("generator"))
        # Sets read from a Delphes file are accepted without --delphes, because their
        # metadata records only the file name.
        source_ok = source == expected_source or (delphes is None and source.startswith("delphes:"))
        if not source_ok or metadata.get("seed") != config.data_seed or tracks.n_events != n_events:
            raise AltminError(
                f"{path} contains {tracks.n_events} events from {source!r} with data seed "
                f"{metadata.get('seed')}, but the config requests {n_events} events from {expected_source!r} "
                f"with seed {config.data_seed}; choose another --out, or delete {workspace.data} to regenerate"
            )
        sets.append(tracks)
    return sets, source


def quick_sets(sets: list[TrackSet]) -> list[TrackSet]:
    """Keep the first events of each set, as ``--quick`` does."""
    return [first_events(s, QUICK["events_unsmeared"] if i == 0 else QUICK["events_per_experience"])
            for i, s in enumerate(sets)]


# ---- generator validation ----------------------------------------------------------------


def validate_generator(
    config: Config, sets: list[TrackSet], folder: Path, n_events: int, source: str = "parametric"
) -> report.GeneratorValidation:
    """Compare the parametric generator with Pythia 8 if the comparison function is installed.

    The study's own unsmeared set (its first ``n_events`` events) is used as the sample of
    the generator named by ``source``, and the other generator makes ``n_events`` new events.
    """
    try:
        module = importlib.import_module("altmin_hls.data.validation")
    except ModuleNotFoundError as exc:
        if exc.name != "altmin_hls.data.validation":
            raise
        module = None
    compare = getattr(module, "plot_generator_comparison", None)
    if compare is None:
        log.info("generator comparison skipped: altmin_hls.data.validation.plot_generator_comparison not found")
        return report.GeneratorValidation(
            None, "Skipped: this installation has no `altmin_hls.data.validation.plot_generator_comparison`, "
            "so the parametric generator was not compared with Pythia 8."
        )
    from altmin_hls.data.parametric import generate_parametric
    from altmin_hls.data.pythia import generate_pythia

    if source == "parametric":
        parametric = first_events(sets[0], n_events)
    else:
        parametric = generate_parametric(n_events, config.data_seed, pileup=config.pileup)
    try:
        if source == "pythia":
            pythia = first_events(sets[0], n_events)
        else:
            pythia = generate_pythia(n_events, config.data_seed, pileup=config.pileup)
    except ImportError as exc:
        log.warning("generator comparison skipped: Pythia 8 is not available: %s", exc)
        return report.GeneratorValidation(None, f"Skipped: Pythia 8 is not available ({exc}).")
    path = folder / "generator_comparison.png"
    compare(parametric, pythia, path)
    return report.GeneratorValidation(
        path, f"Parametric generator against Pythia 8, {parametric.n_events} and {pythia.n_events} events of "
        f"ttbar + {config.pileup:g} pile-up, from `altmin_hls.data.validation.plot_generator_comparison`."
    )


# ---- the command -------------------------------------------------------------------------


def _progress_bars() -> Progress:
    from altmin_hls.cli import console

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def print_main_table(result: Any) -> None:
    """Print the per-experience test AUC, mean ± std over seeds, per method."""
    from altmin_hls.cli import console

    header, rows = report.main_table(result)
    table = Table(title="Test AUC per experience after learning it",
                  caption=f"mean ± std over seeds {', '.join(map(str, result.seeds))}; experience 0 is the "
                  "unsmeared test split after pre-training")
    for name in header:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def command_study(args: argparse.Namespace) -> int:
    """Run the study subcommand; return the exit code."""
    from altmin_hls.cli import _check_out_folder, console

    # Import the plotting module first, so a missing matplotlib fails before the training.
    importlib.import_module("altmin_hls.study.plots")
    start = time.perf_counter()
    for option in ("seeds", "epochs", "pretrain_epochs"):
        value = getattr(args, option)
        if value is not None and value < (1 if option != "pretrain_epochs" else 0):
            raise AltminError(f"--{option.replace('_', '-')} must be at least "
                              f"{1 if option != 'pretrain_epochs' else 0}, got {value}")
    config = _study_config(args)
    n_seeds = args.seeds or (QUICK["seeds"] if args.quick else DEFAULT_SEEDS)
    epochs = args.epochs or (QUICK["epochs"] if args.quick else DEFAULT_EPOCHS)
    seeds = [config.pretrain_seed + i for i in range(n_seeds)]
    methods = args.methods or list(METHODS)

    workspace = pipeline.Workspace(args.out)
    generated = not workspace.experience_file(0).is_file()
    if generated:
        _check_out_folder(args.out, args.force)
    args.out.mkdir(parents=True, exist_ok=True)
    sets, source = load_or_generate(config, workspace, args.delphes)
    if generated and not (args.out / "config.yaml").exists():
        (args.out / "config.yaml").write_text(config.to_yaml())
    verb = "generated" if generated else "read"
    console.print(f"[bold]study[/]: {verb} {len(sets)} sets ({source}) in {workspace.data}")
    if args.quick:
        sets = quick_sets(sets)
    folder = args.out / "study"
    figures_folder = folder / "figures"
    figures_folder.mkdir(parents=True, exist_ok=True)
    for old in figures_folder.glob("*.png"):
        old.unlink()
    (folder / "config.yaml").write_text(config.to_yaml())

    with _progress_bars() as bars:
        overall = bars.add_task("all epochs", total=None)
        stage = bars.add_task("starting", total=None)

        def update(state: StudyProgress) -> None:
            bars.update(overall, completed=state.done, total=state.total)
            bars.update(stage, description=state.stage, completed=state.stage_done, total=state.stage_total)

        result = run_study(config, sets, seeds, methods, epochs, progress=update)
    result.data_source = source
    console.print(f"study: {result.seconds:.0f} s of training and evaluation; writing figures and the report")

    from altmin_hls.study import plots

    with console.status("writing figures"):
        figures = plots.plot_all(result, figures_folder)
    validation = None
    if args.validate_generator:
        with console.status("comparing the generators"):
            validation = validate_generator(config, sets, figures_folder, args.validate_events, source)
    report.write_tables(result, folder / "tables.json")
    report_path = report.write_report(result, folder, figures, validation)

    print_main_table(result)
    for line in report.verdict_lines(result):
        console.print(line.replace("**", ""), highlight=False)
    console.print(f"report: {report_path}; tables: {folder / 'tables.json'}; figures: {figures_folder}")
    console.print(f"study finished in {time.perf_counter() - start:.0f} s")
    return 0
