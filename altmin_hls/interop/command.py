"""The ``altmin-hls import`` and ``altmin-hls export`` subcommands.

``import MODEL`` reads a Keras or QKeras model file and writes ``<out>/config.yaml`` (the
current config with the imported sizes and precisions) and ``<out>/model/pretrained.npz``,
so that ``altmin-hls data``, ``generate`` and ``csim`` continue from the imported model.
``export --file FILE`` writes the weights of C-simulation (after its last weight step),
of the emulator or of the pre-trained model as a QKeras (or plain Keras) model file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from altmin_hls import pipeline
from altmin_hls.config import Config, validate
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.errors import AltminError, DataFileError
from altmin_hls.hls import streams as stream_files
from altmin_hls.interop.keras_io import merge_overrides
from altmin_hls.reference.mlp import MLP

IMPORT_HELP = "import a Keras or QKeras model file as the pre-trained model and its precisions"
EXPORT_HELP = "write the on-chip learned (or pre-trained) weights as a QKeras or Keras model file"
WEIGHT_SOURCES = ("csim", "emulator", "pretrained")


def register(commands: Any) -> None:
    """Add the ``import`` and ``export`` subcommands to the argparse sub-parsers ``commands``."""
    from altmin_hls.cli import _add_common

    parser = commands.add_parser("import", help=IMPORT_HELP, description=IMPORT_HELP)
    _add_common(parser)
    parser.add_argument(
        "model", type=Path, metavar="MODEL", help="Keras or QKeras model file (.h5 or .keras)"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing <out>/model/pretrained.npz"
    )
    parser.set_defaults(handler=command_import)

    parser = commands.add_parser("export", help=EXPORT_HELP, description=EXPORT_HELP)
    _add_common(parser)
    parser.add_argument(
        "--file",
        type=Path,
        required=True,
        metavar="FILE",
        help="model file to write; the suffix (.h5 or .keras) selects the format",
    )
    parser.add_argument(
        "--from",
        dest="source",
        choices=WEIGHT_SOURCES,
        default="csim",
        help="weights to export: csim (after the last weight step of "
        "<out>/hls/csim/csim_weights.txt), emulator (the emulator run over "
        "<out>/hls/tb_data) or pretrained (<out>/model/pretrained.npz rounded to "
        "the weight types); default csim",
    )
    parser.add_argument(
        "--plain-keras",
        action="store_true",
        help="write a plain Keras model without QKeras quantisers",
    )
    parser.set_defaults(handler=command_export)


def command_import(args: argparse.Namespace) -> int:
    """Import ``args.model`` into ``args.out``; return the exit code."""
    from altmin_hls.cli import _check_out_folder, console, resolve_config
    from altmin_hls.interop.keras_io import import_model_with_report

    _check_out_folder(args.out, args.force)
    workspace = pipeline.Workspace(args.out)
    target = workspace.model / "pretrained.npz"
    if target.exists() and not args.force:
        raise AltminError(
            f"{target} exists; pass --force to replace it with the imported model, or choose "
            "another --out"
        )
    base = resolve_config(args)
    overrides, model, report = import_model_with_report(args.model, base)
    config = validate(merge_overrides(base.raw, overrides))
    workspace.model.mkdir(parents=True, exist_ok=True)
    np.savez(target, **model.to_dict())
    pipeline.mark_imported_model(workspace, Path(args.model))
    (args.out / "config.yaml").write_text(config.to_yaml())

    console.print(f"[bold]import[/]: {args.model} -> {target} and {args.out / 'config.yaml'}")
    console.print(f"      sizes {list(config.sizes)}")
    for key, value in overrides.get("precision", {}).items():
        console.print(f"      precision.{key}: {value}")
    if report.skipped:
        console.print(f"      skipped (identity at inference): {', '.join(report.skipped)}")
    if report.float_weights:
        console.print(
            f"      float weights, rounded by 'generate': {', '.join(report.float_weights)}"
        )
    console.print("      next:")
    for stage in ("data", "generate", "csim"):
        console.print(f"        altmin-hls {stage} --out {args.out}")
    return 0


def csim_final_parameters(config: Config, workspace: pipeline.Workspace) -> FixedParameters:
    """Return the parameters after the last weight step of C-simulation."""
    path = workspace.hls / "csim" / "csim_weights.txt"
    if not path.is_file():
        raise DataFileError(f"{path}: file not found; run 'altmin-hls csim' first")
    n_parameters = Datapath.from_config(config).n_parameters
    steps = stream_files.read_weight_steps(path, n_parameters)
    if len(steps) == 0:
        raise DataFileError(
            f"{path} contains no weight steps; C-simulation took none, so export the "
            "initial weights with --from pretrained"
        )
    return FixedParameters.from_vector(steps[-1, 2:], config.sizes)


def export_weights(
    config: Config, workspace: pipeline.Workspace, source: str
) -> FixedParameters | MLP:
    """Return the weights of ``source`` (one of WEIGHT_SOURCES) in the output folder."""
    if source == "csim":
        return csim_final_parameters(config, workspace)
    if source == "emulator":
        final = pipeline.expected_from_project(config, workspace).final
        assert final is not None
        return final
    return pipeline.load_model(workspace)


def command_export(args: argparse.Namespace) -> int:
    """Export the weights of ``args.source`` to ``args.file``; return the exit code."""
    from altmin_hls.cli import console, resolve_config
    from altmin_hls.interop.keras_io import export_model

    workspace = pipeline.Workspace(args.out)
    # Weights from C-simulation or the emulator belong to the generated project, so they
    # are read with the config it was generated from.
    if args.source in ("csim", "emulator"):
        config = pipeline.project_config(workspace)
    else:
        config = resolve_config(args)
    weights = export_weights(config, workspace, args.source)
    path = export_model(weights, config, args.file, qkeras=not args.plain_keras)
    kind = "Keras" if args.plain_keras else "QKeras"
    console.print(
        f"[bold]export[/]: {args.source} weights of '{config.name}' -> {kind} model {path}"
    )
    return 0
