"""Figures of the continual-learning study, in the CMS style of mplhep.

Every ``plot_*`` function writes one PNG and returns its path. Lines are means over seeds
and bands or error bars the sample standard deviation over seeds, unless the legend
states otherwise.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mplhep  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.ticker import MaxNLocator, ScalarFormatter  # noqa: E402

from altmin_hls.reference.metrics import roc_curve  # noqa: E402
from altmin_hls.study import summary  # noqa: E402
from altmin_hls.study.study import METHOD_LABELS, StudyResult  # noqa: E402

COLORS = {
    "altmin": "#5790fc",
    "altmin-hw": "#f89c20",
    "altmin-hw-fixed": "#964a8b",
    "sgd": "#e42536",
    "frozen": "#7a21dd",
}
MARKERS = {"altmin": "o", "altmin-hw": "s", "altmin-hw-fixed": "D", "sgd": "^", "frozen": "v"}
LINESTYLES = {"altmin": "-", "altmin-hw": "-", "altmin-hw-fixed": "--", "sgd": "-", "frozen": ":"}
FEATURE_AXES = {
    "eta": (r"Track $\eta$", np.linspace(-2.4, 2.4, 25), False),
    "phi": (r"Track $\phi$ [rad]", np.linspace(-np.pi, np.pi, 25), False),
    "pt": (r"Track $p_\mathrm{T}$ [GeV]", np.geomspace(2.0, 200.0, 25), True),
    "z0": (r"Track $z_0$ [cm]", np.linspace(-15.0, 15.0, 31), False),
    "dz": (r"$|z_0 - z_\mathrm{PV}|$ [cm]", np.linspace(0.0, 4.0, 33), False),
}
DPI = 80


def _style() -> None:
    mplhep.style.use("CMS")
    plt.rcParams["legend.fontsize"] = 18
    plt.rcParams["legend.title_fontsize"] = 18


def _sample_text(result: StudyResult) -> str:
    source = result.data_source or result.config.generator
    if source.startswith("delphes:"):
        return "Delphes simulation"
    return "Pythia 8 simulation" if source == "pythia" else "Parametric simulation"


def _label(ax: plt.Axes, result: StudyResult, right: str) -> None:
    mplhep.label.exp_label(exp="", llabel=_sample_text(result), rlabel=right, loc=0, ax=ax, fontsize=20)


def _process_text(result: StudyResult) -> str:
    return rf"$t\bar{{t}}$ + {result.config.pileup:g} pile-up interactions, 14 TeV"


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _band(ax: plt.Axes, x: np.ndarray, values: np.ndarray, method: str, label: str | None, style: str = "-") -> None:
    """Draw the mean over seeds (axis 0 of ``values``) with a band of +- the sample std."""
    mean = values.mean(axis=0)
    std = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros_like(mean)
    ax.plot(x, mean, style, color=COLORS[method], label=label, lw=2)
    ax.fill_between(x, mean - std, mean + std, color=COLORS[method], alpha=0.25, lw=0)


def _smearing_axis(ax: plt.Axes, result: StudyResult) -> None:
    """Add a top axis with the extra smearing of each experience in units of the nominal resolution."""
    step = result.config.smearing_step
    top = ax.secondary_xaxis("top", functions=(lambda k: k * step, lambda s: s / step if step else s))
    top.set_xlabel("Extra smearing / nominal resolution", fontsize=18)
    top.tick_params(labelsize=16)


def _spread_note(result: StudyResult) -> str:
    return f"mean $\\pm$ std over {len(result.seeds)} seed(s)"


# ---- convergence -------------------------------------------------------------------------


def plot_pretraining(result: StudyResult, path: Path) -> Path:
    """Plot loss and accuracy per pre-training epoch of AltMin and SGD, on train and test split."""
    _style()
    fig, axes = plt.subplots(1, 2, figsize=(20, 11))
    # One curve per pre-training method, taken from the first study method that used it.
    sources: dict[str, str] = {}
    for method in result.methods:
        sources.setdefault(result.runs_of(method)[0].pretrained_with, method)
    for ax, metric, name in zip(axes, ("loss", "accuracy"), ("Binary cross-entropy", "Accuracy (score ≥ 0.5)")):
        for method, user in sources.items():
            runs = result.runs_of(user)
            n_epochs = len(runs[0].pretrain_curves["train_loss"])
            epochs = np.arange(1, n_epochs + 1)
            for split, style in (("train", "-"), ("test", "--")):
                values = np.array([run.pretrain_curves[f"{split}_{metric}"] for run in runs])
                _band(ax, epochs, values, method, f"{METHOD_LABELS[method]}, {split}", style)
        ax.set_xlabel("Pre-training epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _label(ax, result, "pre-training, unsmeared set")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, title=f"solid: train split, dashed: test split; {_spread_note(result)}",
               loc="lower center", ncols=3, fontsize=16)
    fig.suptitle(f"Convergence of AltMin and SGD in pre-training: {_process_text(result)}", fontsize=22)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    return _save(fig, path)


def plot_experience_convergence(result: StudyResult, path: Path) -> Path:
    """Plot train loss, train accuracy and test AUC per epoch across all experiences."""
    _style()
    fig, axes = plt.subplots(3, 1, figsize=(20, 22), sharex=True)
    epochs = result.epochs_per_experience
    rows = (
        ("train_loss", "Train loss (BCE)"),
        ("train_accuracy", "Train accuracy"),
        ("test_auc", "Test AUC, current experience"),
    )
    for ax, (key, name) in zip(axes, rows):
        for method in result.methods:
            runs = result.runs_of(method)
            for k in range(result.n_experiences):
                x = k * (epochs + 1) + np.arange(epochs + 1)
                values = np.array([run.curves[k][key] for run in runs])
                label = METHOD_LABELS[method] if k == 0 else None
                _band(ax, x, values, method, label, LINESTYLES[method])
        for k in range(1, result.n_experiences):
            ax.axvline(k * (epochs + 1) - 0.5, color="grey", lw=0.8, ls=":")
        ax.set_ylabel(name)
    ticks = [k * (epochs + 1) + epochs / 2 for k in range(result.n_experiences)]
    axes[-1].set_xticks(ticks, [str(k + 1) for k in range(result.n_experiences)])
    axes[-1].set_xlabel(f"Experience (each: epochs 0 to {epochs}, epoch 0 before learning it)")
    axes[0].legend(title=_spread_note(result), ncols=2, loc="upper left")
    _label(axes[0], result, "continual learning")
    fig.suptitle(f"Per-epoch learning curves over the experiences: {_process_text(result)}", fontsize=22)
    fig.tight_layout()
    return _save(fig, path)


# ---- performance per experience ----------------------------------------------------------


def _zoom_limits(cells: list[dict[str, float]]) -> tuple[float, float]:
    """Return y limits around the mean +- std of the given cells, padded by a third of their range."""
    finite = [c for c in cells if np.isfinite(c["mean"]) and np.isfinite(c["std"])]
    if not finite:
        return 0.0, 1.0
    low = min(c["mean"] - c["std"] for c in finite)
    high = max(c["mean"] + c["std"] for c in finite)
    pad = max((high - low) / 3.0, 0.002)
    return low - pad, min(high + pad, 1.0 + pad / 2)


def _errorbar_methods(ax: plt.Axes, result: StudyResult, table: dict[str, list[dict[str, float]]]) -> None:
    n_methods = len(result.methods)
    for index, method in enumerate(result.methods):
        offset = (index - (n_methods - 1) / 2) * 0.1
        x = np.arange(len(table[method])) + offset
        means = [cell["mean"] for cell in table[method]]
        stds = [cell["std"] for cell in table[method]]
        ax.errorbar(x, means, yerr=stds, marker=MARKERS[method], color=COLORS[method], ls=LINESTYLES[method],
                    lw=1.5, capsize=3, markersize=8, label=METHOD_LABELS[method])


def _full_and_zoom(result: StudyResult, tables: dict[str, dict], x_label: str, y_label: str, right: str,
                   title: str, path: Path) -> Path:
    """Draw each metric twice: on its full range (left) and zoomed to SGD and frozen (right)."""
    _style()
    fig, axes = plt.subplots(2, 2, figsize=(26, 20), sharex=True)
    references = [m for m in ("sgd", "frozen") if m in result.methods] or result.methods
    for row, metric in enumerate(summary.METRICS):
        name = "AUC" if metric == "auc" else "Accuracy (score ≥ 0.5)"
        table = tables[metric]
        for column, ax in enumerate(axes[row]):
            _errorbar_methods(ax, result, table)
            ax.set_ylabel(f"{name}, {y_label}")
            if column == 1:
                ax.set_ylim(*_zoom_limits([cell for m in references for cell in table[m]]))
                ax.text(0.02, 0.03, "zoomed to the range of " + " and ".join(references) + "; points "
                        "outside are in the left panel", transform=ax.transAxes, fontsize=15)
            if row == 0:
                _smearing_axis(ax, result)
    for ax in axes[-1]:
        ax.set_xlabel(x_label)
        ax.set_xticks(range(result.n_experiences + 1))
    for ax in axes[1]:
        _label(ax, result, right)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, title=_spread_note(result), loc="lower center", ncols=3, fontsize=18)
    fig.suptitle(f"{title}: {_process_text(result)}", fontsize=24)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _save(fig, path)


def plot_per_experience(result: StudyResult, path: Path) -> Path:
    """Plot AUC and accuracy on each experience's test split after learning it, per method."""
    tables = {metric: summary.per_experience(result, metric) for metric in summary.METRICS}
    return _full_and_zoom(result, tables, "Experience (0: unsmeared set after pre-training)",
                          "test split", "after learning each experience",
                          "Test AUC and accuracy on each experience after learning it", path)


def plot_unsmeared_after(result: StudyResult, path: Path) -> Path:
    """Plot AUC and accuracy on the unsmeared test split after pre-training and after each experience."""
    tables = {metric: summary.unsmeared_after(result, metric) for metric in summary.METRICS}
    return _full_and_zoom(result, tables, "After learning experience (0: after pre-training)",
                          "unsmeared test split", "forgetting of the unsmeared set",
                          "Performance on the unsmeared set during continual learning", path)


def plot_difference_to_sgd(result: StudyResult, path: Path) -> Path:
    """Plot each method's AUC and accuracy minus SGD's on each experience's test split.

    Error bars are the method's own std; the grey band is SGD's std around zero. Points
    beyond the axis range are drawn as open triangles at its edge, with their value.
    """
    _style()
    fig, axes = plt.subplots(2, 1, figsize=(18, 20), sharex=True)
    others = [m for m in result.methods if m != "sgd"]
    caps = {"auc": 0.015, "accuracy": 0.04}
    for ax, metric in zip(axes, summary.METRICS):
        table = summary.per_experience(result, metric)
        sgd = table["sgd"]
        x_all = np.arange(result.n_experiences + 1)
        sgd_std = np.array([cell["std"] for cell in sgd])
        ax.fill_between(x_all, -sgd_std, sgd_std, step="mid", color="grey", alpha=0.3, lw=0, label="SGD std")
        ax.axhline(0.0, color=COLORS["sgd"], lw=1.5)
        if metric == "auc":
            errors = np.array([
                summary.hanley_mcneil_error(cell["mean"], test.n_hard_scatter, test.n_tracks - test.n_hard_scatter)
                for cell, test in zip(sgd, result.data.test)
            ])
            ax.step(x_all, errors, where="mid", color="black", ls="--", lw=1,
                    label="statistical uncertainty of one AUC on the test split (Hanley-McNeil)")
            ax.step(x_all, -errors, where="mid", color="black", ls="--", lw=1)
        differences = {m: np.array([c["mean"] - s["mean"] for c, s in zip(table[m], sgd)]) for m in others}
        extents = [np.abs(d) + [c["std"] for c in table[m]] for m, d in differences.items()] + [sgd_std]
        extent = float(np.nanmax(np.concatenate(extents)))
        limit = min(caps[metric], 1.15 * extent) if extent > 0 else caps[metric]
        for index, method in enumerate(others):
            offset = (index - (len(others) - 1) / 2) * 0.12
            stds = np.array([c["std"] for c in table[method]])
            inside = np.abs(differences[method]) <= 0.95 * limit  # NaN (diverged) is drawn nowhere
            x = x_all + offset
            ax.errorbar(x[inside], differences[method][inside], yerr=stds[inside], marker=MARKERS[method],
                        color=COLORS[method], ls="none", capsize=3, markersize=8, label=METHOD_LABELS[method])
            for k in np.nonzero(np.abs(differences[method]) > 0.95 * limit)[0]:
                edge = np.sign(differences[method][k]) * limit * 0.97
                ax.plot(x[k], edge, "^" if edge > 0 else "v", mfc="none", color=COLORS[method], markersize=12)
                shift = 14 * (index % 2)  # keeps the values of neighbouring methods apart
                ax.annotate(f"{differences[method][k]:+.2f}", (x[k], edge), textcoords="offset points",
                            xytext=(7, -16 - shift if edge > 0 else 7 + shift), fontsize=14,
                            color=COLORS[method])
        ax.set_ylim(-limit, limit)
        name = "AUC" if metric == "auc" else "accuracy (score ≥ 0.5)"
        ax.set_ylabel(f"Method − SGD, test {name}")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, title=f"{_spread_note(result)}; open triangles: off scale, with their value",
               loc="lower center", ncols=2, fontsize=16, title_fontsize=16)
    axes[-1].set_xlabel("Experience (0: unsmeared set after pre-training)")
    axes[-1].set_xticks(range(result.n_experiences + 1))
    _smearing_axis(axes[0], result)
    _label(axes[1], result, "difference to SGD")
    fig.suptitle(f"Test AUC and accuracy relative to SGD: {_process_text(result)}", fontsize=22)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return _save(fig, path)


def plot_roc(result: StudyResult, path: Path) -> Path:
    """Plot ROC curves on the unsmeared and the last experience's test split after the last experience."""
    _style()
    fig, axes = plt.subplots(1, 2, figsize=(22, 14))
    last = result.n_experiences
    grid = np.geomspace(1e-3, 1.0, 300)
    for ax, index in zip(axes, (0, last)):
        split = result.data.test[index]
        for method in result.methods:
            curves, aucs = [], []
            for run in result.runs_of(method):
                if np.any(np.isnan(run.final_scores[index])):
                    continue  # a diverged run has no ROC curve
                fpr, tpr, _ = roc_curve(split.y, run.final_scores[index])
                curves.append(np.interp(grid, fpr, tpr))
                aucs.append(run.auc_matrix[last, index])
            if not curves:
                continue
            cell = summary.spread(aucs)
            label = f"{METHOD_LABELS[method]}: AUC {cell['mean']:.4f} ± {cell['std']:.4f}"
            _band(ax, grid, np.array(curves), method, label, LINESTYLES[method])
        ax.set_xscale("log")
        ax.set_xlim(1e-3, 1.0)
        ax.set_ylim(0.0, 1.05)
        ax.set_xlabel("Pile-up track efficiency (false positive rate)")
        ax.set_ylabel("Hard-scatter track efficiency (true positive rate)")
        name = "unsmeared test split" if index == 0 else f"experience {index} test split"
        pile_up = split.n_tracks - split.n_hard_scatter
        ax.legend(title=f"{split.n_hard_scatter} hard-scatter and {pile_up} pile-up tracks; {_spread_note(result)}",
                  loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=16, title_fontsize=16)
        _label(ax, result, name)
    fig.suptitle(f"ROC curves after learning all {last} experiences: {_process_text(result)}", fontsize=22)
    fig.tight_layout()
    return _save(fig, path)


# ---- recovery and forgetting -------------------------------------------------------------


def plot_recovery(result: StudyResult, path: Path) -> Path:
    """Plot the epochs each method needs to recover its test AUC on each experience."""
    _style()
    fig, axes = plt.subplots(1, 2, figsize=(24, 12), sharey=True)
    never = result.epochs_per_experience + 2
    titles = {
        "best": "within 0.002 of its best AUC on the experience",
        "pre_smearing": "within 0.002 of its own pre-smearing AUC",
    }
    n_methods = len(result.methods)

    for ax, kind in zip(axes, summary.RECOVERY_KINDS):
        table = summary.recovery(result, kind)
        for index, method in enumerate(result.methods):
            offset = (index - (n_methods - 1) / 2) * 0.12
            label: str | None = METHOD_LABELS[method]
            for k, cell in enumerate(table[method], start=1):
                missed = len(cell["epochs"]) - cell["recovered"]
                if cell["recovered"]:
                    low, high = cell["mean"] - cell["min"], cell["max"] - cell["mean"]
                    ax.errorbar(k + offset, cell["mean"], yerr=[[low], [high]], marker=MARKERS[method],
                                color=COLORS[method], capsize=3, markersize=8, ls="none", label=label)
                    label = None
                if missed:
                    ax.plot(k + offset, never, marker=MARKERS[method], mfc="none", color=COLORS[method],
                            markersize=10, ls="none", label=label)
                    ax.annotate(str(missed), (k + offset, never), textcoords="offset points", xytext=(-4, 9),
                                fontsize=11, color=COLORS[method])
                    label = None

        ax.axhspan(never - 1, never + 1, color="grey", alpha=0.15, lw=0)
        ticks = list(range(0, result.epochs_per_experience + 1, max(1, result.epochs_per_experience // 5)))
        ax.set_yticks(ticks + [never], [str(t) for t in ticks] + ["not\nrecovered"])
        ax.set_xticks(range(1, result.n_experiences + 1))
        ax.set_xlabel("Experience")
        ax.set_ylim(-0.8, never + 1)
        ax.set_ylabel("Epochs until the test AUC is recovered")
        _label(ax, result, titles[kind])

    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, title="filled: mean over the seeds that recovered, bars min to max; open (grey band): "
               "seeds that did not recover within the epochs, their count written above",
               loc="lower center", ncols=3, fontsize=16, title_fontsize=16)
    fig.suptitle("Epochs needed to recover the test AUC on each experience (epoch 0: before learning it)",
                 fontsize=22)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return _save(fig, path)


def plot_forgetting_matrix(result: StudyResult, metric: str, path: Path) -> Path:
    """Plot, per method, how each set's metric changed since the set was learned, as heatmaps.

    Cell (i, j) with i >= j is the seed-averaged metric on the test split of set j after
    learning experience i, minus the same after learning set j (the diagonal). Row and set
    0 are pre-training and the unsmeared set. Cells above the diagonal are left empty.
    """
    _style()
    n_methods = len(result.methods)
    n_columns = min(3, n_methods)
    n_rows = int(np.ceil(n_methods / n_columns))
    fig, axes = plt.subplots(n_rows, n_columns, figsize=(10 * n_columns, 9.5 * n_rows + 1.5), squeeze=False)
    limit = 0.02 if metric == "auc" else 0.05
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    n_sets = result.n_experiences + 1
    image = None
    for ax, method in zip(axes.flat, result.methods):
        matrix = summary.mean_matrix(result, method, metric)
        change = matrix - np.diag(matrix)[None, :]
        change[np.triu_indices(n_sets, k=1)] = np.nan
        image = ax.imshow(change, origin="lower", cmap="RdBu", norm=norm, aspect="auto")
        for i in range(n_sets):
            for j in range(i):
                if not np.isfinite(change[i, j]):
                    continue
                value = int(round(1000 * change[i, j]))
                ax.text(j, i, str(value), ha="center", va="center", fontsize=10 if n_sets <= 11 else 7,
                        color="white" if abs(change[i, j]) > 0.6 * limit else "black")
        ax.set_xticks(range(n_sets))
        ax.set_yticks(range(n_sets))
        ax.tick_params(labelsize=14, which="both", top=False, right=False)
        ax.minorticks_off()
        ax.set_xlabel("Test split of set j (0: unsmeared)", fontsize=18)
        ax.set_ylabel("After learning experience i (0: pre-training)", fontsize=18)
        diagonal_mean = float(np.mean(np.diag(matrix)))
        ax.set_title(f"{METHOD_LABELS[method]}\nmean on the diagonal {diagonal_mean:.4f}", fontsize=18)
    spare = list(axes.flat)[n_methods:]
    for ax in spare:
        ax.set_visible(False)
    name = "AUC" if metric == "auc" else "accuracy (score ≥ 0.5)"
    bar_label = f"Change of {name}"
    if spare:
        bar_axes = spare[0].inset_axes([0.05, 0.2, 0.08, 0.6])
        bar_axes.set_visible(True)
        spare[0].set_visible(True)
        spare[0].axis("off")
        fig.colorbar(image, cax=bar_axes, extend="both", label=bar_label)
    else:
        fig.colorbar(image, ax=axes.ravel().tolist(), extend="both", label=bar_label)
    fig.suptitle(
        f"Forgetting matrix, {name}, mean over {len(result.seeds)} seed(s): cell (i, j) is the value on set j "
        f"after experience i minus the value right after learning set j.\nNumbers: that change ×1000. Blue: better, red: forgotten. "
        f"{_sample_text(result)}.",
        fontsize=18, wrap=True,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return _save(fig, path)


# ---- inputs ------------------------------------------------------------------------------

FEATURE_COLORS = ("#000000", "#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6")


def shown_experiences(n_experiences: int) -> list[int]:
    """Return the sets drawn in the feature plots: the unsmeared set, two in between and the last."""
    picks = {0, n_experiences, round(n_experiences / 3), round(2 * n_experiences / 3)}
    return sorted(picks)


def plot_feature(result: StudyResult, feature: str, path: Path) -> Path:
    """Plot one input feature for hard-scatter and pile-up tracks in a few experiences."""
    _style()
    names = ("eta", "phi", "pt", "z0", "dz")
    column = names.index(feature)
    axis_label, bins, log_x = FEATURE_AXES[feature]
    fig, axes = plt.subplots(1, 2, figsize=(22, 10.5), sharey=True)
    drawn_sets = shown_experiences(result.n_experiences)
    log_y = feature in ("pt", "dz")

    for ax, label_value, name in zip(axes, (1.0, 0.0), ("hard-scatter tracks", "pile-up tracks")):
        for rank, index in enumerate(drawn_sets):
            values = np.concatenate(
                [split.features[split.y == label_value, column]
                 for split in (result.data.train[index], result.data.test[index])]
            )
            counts, _ = np.histogram(np.clip(values, bins[0], bins[-1]), bins=bins)
            total = max(counts.sum(), 1)
            fraction = counts / total
            smearing = index * result.config.smearing_step
            text = "unsmeared" if index == 0 else f"experience {index} (+{smearing:g} × nominal)"
            mplhep.histplot(fraction, bins, yerr=np.sqrt(counts) / total, ax=ax, lw=2,
                            color=FEATURE_COLORS[rank % len(FEATURE_COLORS)], label=f"{text}: {len(values)} tracks")

        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.set_xticks([2, 5, 10, 20, 50, 100, 200])
        if log_y:
            ax.set_yscale("log")
        ax.set_xlabel(axis_label)
        ax.set_ylabel("Fraction of tracks per bin")
        ax.legend(title="first and last bin include the tracks beyond them; bars: Poisson", loc="upper right",
                  fontsize=15,
                  title_fontsize=15)
        _label(ax, result, name)

    low, high = axes[0].get_ylim()
    axes[0].set_ylim(low, high * 6 if log_y else high * 1.45)
    title = axis_label.split(" [")[0].replace("Track ", "track ")
    fig.suptitle(f"Input feature {title} per experience: {_process_text(result)}", fontsize=22)
    fig.tight_layout()
    return _save(fig, path)


def plot_all(result: StudyResult, folder: Path) -> list[Path]:
    """Write every figure of the study into ``folder``; return their paths in report order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [
        plot_pretraining(result, folder / "convergence_pretraining.png"),
        plot_experience_convergence(result, folder / "convergence_experiences.png"),
        plot_per_experience(result, folder / "auc_accuracy_per_experience.png"),
    ]
    if "sgd" in result.methods and len(result.methods) > 1:
        paths.append(plot_difference_to_sgd(result, folder / "difference_to_sgd.png"))
    paths += [
        plot_roc(result, folder / "roc.png"),
        plot_recovery(result, folder / "recovery_epochs.png"),
        plot_forgetting_matrix(result, "auc", folder / "forgetting_matrix_auc.png"),
        plot_forgetting_matrix(result, "accuracy", folder / "forgetting_matrix_accuracy.png"),
        plot_unsmeared_after(result, folder / "forgetting_unsmeared.png"),
    ]
    for feature in FEATURE_AXES:
        paths.append(plot_feature(result, feature, folder / f"features_{feature}.png"))
    return paths
