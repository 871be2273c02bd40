"""Write the study's tables as JSON and its Markdown report, ``report.md``."""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from altmin_hls.reference.altmin import AltMinPublished
from altmin_hls.reference.sgd import SGDBackprop
from altmin_hls.study import summary
from altmin_hls.study.study import METHOD_LABELS, RECOVERY_TOLERANCE, TRAIN_FRACTION, StudyResult

# Caption of each figure by file name. The feature figures get theirs from FEATURE_NAMES.
CAPTIONS = {
    "convergence_pretraining.png": "Convergence in pre-training: loss and accuracy per epoch of each "
    "pre-training method on the unsmeared train and test split.",
    "convergence_experiences.png": "Per-epoch train loss, train accuracy and test AUC on each experience, "
    "epoch 0 being the model that arrives from the previous experience.",
    "auc_accuracy_per_experience.png": "Test AUC and accuracy on each experience right after learning it; "
    "right column zoomed to SGD and the frozen model.",
    "difference_to_sgd.png": "Each method's test AUC and accuracy minus SGD's, with SGD's seed spread as "
    "a grey band.",
    "roc.png": "ROC curves after the last experience, on the unsmeared test split and on the last "
    "experience's test split.",
    "recovery_epochs.png": "Epochs needed on each experience until the test AUC is within "
    f"{RECOVERY_TOLERANCE} of the run's best on that experience (left) or of its pre-smearing AUC (right).",
    "forgetting_matrix_auc.png": "Forgetting matrix in AUC: change of each set's test AUC since it was learned.",
    "forgetting_matrix_accuracy.png": "Forgetting matrix in accuracy.",
    "forgetting_unsmeared.png": "AUC and accuracy on the unsmeared test split after pre-training and after "
    "each experience.",
}
FEATURE_NAMES = {"eta": "eta", "phi": "phi (rad)", "pt": "pt (GeV)", "z0": "z0 (cm)", "dz": "dz = |z0 - z_PV| (cm)"}


@dataclass
class GeneratorValidation:
    """Outcome of the optional generator comparison: a figure, or the reason there is none."""

    figure: Path | None
    message: str


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(item) for item in value]
    if isinstance(value, np.generic):
        return _finite_or_none(value.item())
    return value


def write_tables(result: StudyResult, path: Path) -> dict[str, Any]:
    """Write every table and curve of the study to ``path`` as JSON (NaN written as null)."""
    tables = summary.to_json(result)
    path.write_text(json.dumps(_finite_or_none(tables), indent=1) + "\n")
    return tables


def format_cell(cell: dict[str, float], digits: int = 4) -> str:
    """Format a spread cell as ``mean ± std``."""
    if math.isnan(cell["mean"]):
        return "n/a"
    return f"{cell['mean']:.{digits}f} ± {cell['std']:.{digits}f}"


def _set_name(index: int) -> str:
    return "0 (unsmeared)" if index == 0 else str(index)


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _metric_table(result: StudyResult, metric: str) -> list[str]:
    table = summary.per_experience(result, metric)
    header = ["experience", "extra smearing"] + [METHOD_LABELS[m] for m in result.methods]
    rows = []
    for k in range(result.n_experiences + 1):
        smearing = f"{k * result.config.smearing_step:g} × nominal"
        rows.append([_set_name(k), smearing] + [format_cell(table[m][k]) for m in result.methods])
    return _markdown_table(header, rows)


def _split_table(result: StudyResult) -> list[str]:
    reference = "sgd" if "sgd" in result.methods else result.methods[0]
    aucs = summary.per_experience(result, "auc")[reference]
    header = ["set", "train events", "train tracks", "test events", "test tracks", "test hard-scatter tracks",
              f"AUC stat. unc. at the {reference} AUC"]
    rows = []
    for index, (train, test) in enumerate(zip(result.data.train, result.data.test)):
        n_pile_up = test.n_tracks - test.n_hard_scatter
        error = summary.hanley_mcneil_error(aucs[index]["mean"], test.n_hard_scatter, n_pile_up)
        rows.append([_set_name(index), str(train.n_events), str(train.n_tracks), str(test.n_events),
                     str(test.n_tracks), str(test.n_hard_scatter), f"{error:.4f}"])
    return _markdown_table(header, rows)


def _recovery_cell(cell: dict[str, Any], n_seeds: int) -> str:
    if cell["recovered"] == 0:
        return f"not recovered (0/{n_seeds})"
    return f"{cell['mean']:.1f} [{cell['min']}, {cell['max']}] ({cell['recovered']}/{n_seeds})"


def _recovery_table(result: StudyResult, kind: str) -> list[str]:
    table = summary.recovery(result, kind)
    header = ["experience"] + [METHOD_LABELS[m] for m in result.methods]
    rows = []
    for k in range(result.n_experiences):
        rows.append([str(k + 1)] + [_recovery_cell(table[m][k], len(result.seeds)) for m in result.methods])
    return _markdown_table(header, rows)


def _forgetting_tables(result: StudyResult) -> list[str]:
    lines = []
    for metric, name in (("auc", "AUC"), ("accuracy", "accuracy")):
        table = summary.unsmeared_after(result, metric)
        header = ["after experience"] + [METHOD_LABELS[m] for m in result.methods]
        rows = [
            [str(i) if i else "0 (pre-training)"] + [format_cell(table[m][i]) for m in result.methods]
            for i in range(result.n_experiences + 1)
        ]
        lines += [f"{name} on the unsmeared test split:", ""] + _markdown_table(header, rows) + [""]
    forgetting = {metric: summary.forgetting(result, metric) for metric in summary.METRICS}
    header = ["metric"] + [METHOD_LABELS[m] for m in result.methods]
    rows = [[name] + [format_cell(forgetting[metric][m]) for m in result.methods]
            for metric, name in (("auc", "AUC"), ("accuracy", "accuracy"))]
    lines += [
        "Average forgetting after the last experience: for each earlier set, the best value it had from "
        "the row where it was learned on, minus its value after the last experience, averaged over the "
        "sets (the unsmeared set included). Positive means forgotten.",
        "",
    ] + _markdown_table(header, rows)
    return lines


def _largest_difference_to_sgd(
    result: StudyResult, auc: dict[str, list[dict[str, float]]], variant: str
) -> tuple[int, float, float]:
    """Return the experience, AUC difference and Hanley-McNeil AUC error of a variant's largest |difference|."""
    differences = [auc[variant][k]["mean"] - auc["sgd"][k]["mean"] for k in range(1, result.n_experiences + 1)]
    k = int(np.nanargmax(np.abs(differences))) + 1 if np.any(np.isfinite(differences)) else 1
    test = result.data.test[k]
    error = summary.hanley_mcneil_error(auc["sgd"][k]["mean"], test.n_hard_scatter, test.n_tracks - test.n_hard_scatter)
    return k, differences[k - 1], error


def verdict_lines(result: StudyResult) -> list[str]:
    """Return the verdict as Markdown bullets, computed from the per-experience tables."""
    outcome = summary.verdict(result)
    if not outcome:
        return ["No verdict: the study needs the `sgd` method and at least one AltMin variant."]
    n = result.n_experiences
    auc = summary.per_experience(result, "auc")
    lines = []
    for variant, metrics in outcome.items():
        parts = []
        for metric, name in (("auc", "AUC"), ("accuracy", "accuracy")):
            entry = metrics[metric]
            text = f"{name}: matched or beat SGD on {entry['matched_or_better']} of {n} experiences"
            if entry["better_on"]:
                text += f" (better on {', '.join(map(str, entry['better_on']))})"
            if entry["worse_on"]:
                text += f", worse on {', '.join(map(str, entry['worse_on']))}"
            parts.append(text)
        differences = [auc[variant][k]["mean"] - auc["sgd"][k]["mean"] for k in range(1, n + 1)]
        mean_difference = float(np.mean(differences))
        answer = "yes" if metrics["auc"]["matched_or_better"] == n else "no"
        k, largest, error = _largest_difference_to_sgd(result, auc, variant)
        lines.append(
            f"- **{METHOD_LABELS[variant]}** (`{variant}`): matched SGD on every experience in AUC: "
            f"**{answer}**. {'; '.join(parts)}. AUC difference to SGD: {mean_difference:+.4f} on average "
            f"over the experiences, largest {largest:+.4f} on experience {k}, where the statistical "
            f"uncertainty of one AUC from the finite test split is {error:.4f}."
        )
    if "frozen" in result.methods:
        gains = [
            f"`{m}` {auc[m][n]['mean'] - auc['frozen'][n]['mean']:+.4f}"
            for m in result.methods if m != "frozen"
        ]
        lines.append(f"- AUC gained over the frozen pre-trained model on the last experience: {', '.join(gains)}.")
    if len(result.seeds) == 1:
        lines.append("- With one seed the spread is zero, so 'matched' here means equal to the last digit.")
    return lines


def n_experiences_text(result: StudyResult) -> str:
    """Describe the experiences by count and events, e.g. "10 experiences of 10 events"."""
    counts = sorted({train.n_events + test.n_events for train, test in zip(result.data.train[1:], result.data.test[1:])})
    events = " to ".join(str(c) for c in (counts[0], counts[-1])) if len(counts) > 1 else str(counts[0])
    return f"{result.n_experiences} experiences of {events} events"


def _default_arguments(cls: type) -> dict[str, Any]:
    """Return the default constructor arguments of a trainer, which the study uses unchanged."""
    parameters = inspect.signature(cls).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def _config_lines(result: StudyResult) -> list[str]:
    settings = summary.settings(result)
    config = result.config
    sgd = _default_arguments(SGDBackprop)
    published = _default_arguments(AltMinPublished)
    return [
        f"- Data: `{settings['data_source']}`, {result.data.train[0].n_events + result.data.test[0].n_events} "
        f"unsmeared events and {n_experiences_text(result)}; pile-up {config.pileup:g}.",
        f"- Seeds: {', '.join(map(str, result.seeds))}. A seed draws the initial weights (`MLP.init`) and "
        "the epoch orders of pre-training and of every experience. Every method sees the same orders.",
        f"- Methods: {', '.join(f'`{m}`' for m in result.methods)}.",
        f"- Pre-training: {result.pretrain_epochs} epochs, minibatch {config.pretrain_batch_size}, on the unsmeared "
        f"train split. `altmin-hw-fixed` starts from the `altmin-hw` pre-trained model rounded to "
        f"{config.precision.weight.cpp()} weights; `frozen` is the `{config.pretrain_method}` pre-trained model.",
        f"- Continual learning: {result.epochs_per_experience} epochs per experience, minibatch "
        f"{config.batch_size} for every method. One learner per run persists over all experiences, so optimiser "
        "state carries over.",
        f"- `sgd`: back-propagation, SGD lr {sgd['lr']:g}, momentum {sgd['momentum']:g}. `altmin`: published AltMin, "
        f"{published['code_steps']} Nesterov code steps (rate {published['code_lr']:g}, momentum "
        f"{published['momentum']:g}, mu {published['mu']:g}), Adam lr {published['weight_lr']:g}. "
        "`altmin-hw`: the firmware's AltMin in float "
        f"(K = {config.code_steps}, g2 = {config.code_lr_top:g}, g1 = {config.code_lr_lower:g}, "
        f"eta = {config.weight_lr:g}). `altmin-hw-fixed`: the same in the bit-exact emulator; its scores are "
        "the raw scores times the score LSB.",
        f"- Splits: {TRAIN_FRACTION:.0%} of the events of each set train, the rest test, drawn from "
        f"`data.seed` = {config.data_seed} and the set index, identical for every seed and method.",
        f"- Accuracy threshold: score ≥ {settings['accuracy_threshold']}.",
        f"- Recovery: the first epoch e (0 = before any epoch on the experience) at which the test AUC on the "
        f"experience is at least the target minus {RECOVERY_TOLERANCE}. Targets: the best test AUC the run "
        "reaches on that experience, and the run's own AUC on the unsmeared test split after pre-training. "
        "Tables give the mean over the seeds that recovered, [min, max], and how many recovered.",
        f"- Spread: {settings['spread']}. 'Matched' means the intervals mean ± std of the variant and of SGD "
        "overlap once widened by the statistical uncertainty of the difference on the finite test sample "
        "(sqrt(2) times the Hanley-McNeil error of one AUC, or the binomial error of one accuracy). The seed "
        "spread covers training randomness only, because every seed is tested on the same events.",
        f"- Runtime: {result.seconds:.0f} s for training and evaluation.",
        f"- Config digest `{config.digest()}`; the merged config:",
        "",
        "```yaml",
        yaml.safe_dump(config.raw, sort_keys=False).rstrip(),
        "```",
    ]


def _figure_lines(figures: list[Path], folder: Path) -> list[str]:
    lines = []
    for path in figures:
        name = path.name
        if name.startswith("features_"):
            feature = name[len("features_"):-len(".png")]
            caption = (f"Input feature {FEATURE_NAMES.get(feature, feature)} of hard-scatter and pile-up tracks "
                       "in a few experiences.")
        else:
            caption = CAPTIONS.get(name, name)
        relative = path.relative_to(folder) if path.is_relative_to(folder) else path
        lines += [f"### {name}", "", caption, "", f"[![{caption}]({relative})]({relative})", ""]
    return lines


def write_report(
    result: StudyResult,
    folder: Path,
    figures: list[Path],
    validation: GeneratorValidation | None = None,
) -> Path:
    """Write ``report.md`` into ``folder``, linking every figure; return its path."""
    n = result.n_experiences
    lines = [
        "# Continual-learning study: AltMin against SGD under growing track smearing",
        "",
        f"Question: is AltMin a valid alternative to SGD when the {'-'.join(map(str, result.config.sizes))} "
        "track classifier learns "
        f"continually while the detector resolution worsens? Set 0 is the unsmeared set, experiences 1 to {n} "
        f"add Gaussian smearing of k × {result.config.smearing_step:g} times the nominal track resolution.",
        "",
        "## Verdict",
        "",
        *verdict_lines(result),
        "",
        "## Test AUC per experience after learning it",
        "",
        f"Mean ± std over {len(result.seeds)} seed(s). Row 0 is the unsmeared test split after pre-training.",
        "",
        *_metric_table(result, "auc"),
        "",
        f"## Test accuracy (score ≥ {summary.ACCURACY_THRESHOLD}) per experience after learning it",
        "",
        *_metric_table(result, "accuracy"),
        "",
        "## Forgetting",
        "",
        "Full matrices (every test split after every experience, per seed and as means) are in `tables.json`.",
        "",
        *_forgetting_tables(result),
        "",
        "## Epochs to recover",
        "",
        f"Each epoch is one pass over the experience's train split (tracks per epoch in the data table). "
        f"Within {RECOVERY_TOLERANCE} of the best test AUC the run reaches on the experience:",
        "",
        *_recovery_table(result, "best"),
        "",
        f"Within {RECOVERY_TOLERANCE} of the run's own pre-smearing AUC (unsmeared test split after pre-training):",
        "",
        *_recovery_table(result, "pre_smearing"),
        "",
        "## Data and splits",
        "",
        *_split_table(result),
        "",
        "## Figures",
        "",
        *_figure_lines(figures, folder),
        "## Generator validation",
        "",
    ]
    if validation is None:
        lines.append("Not requested; pass `--validate-generator` to compare the parametric generator with Pythia 8.")
    elif validation.figure is None:
        lines.append(validation.message)
    else:
        relative = validation.figure.relative_to(folder) if validation.figure.is_relative_to(folder) else validation.figure
        lines += [validation.message, "", f"[![Generator comparison]({relative})]({relative})"]
    lines += ["", "## Settings", "", *_config_lines(result), ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    return path


def main_table(result: StudyResult) -> tuple[list[str], list[list[str]]]:
    """Return the header and rows of the per-experience AUC table, each cell the mean above ± std."""
    table = summary.per_experience(result, "auc")
    header = ["exp"] + result.methods
    rows = [
        [str(k)] + [f"{table[m][k]['mean']:.4f}\n±{table[m][k]['std']:.4f}" for m in result.methods]
        for k in range(result.n_experiences + 1)
    ]
    return header, rows

