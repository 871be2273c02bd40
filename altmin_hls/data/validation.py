"""Statistics that compare two track samples, and a plot of their distributions.

The statistics are those that the classifier and FastHisto depend on: track
multiplicities, the pt and eta spectra of each label, the z0 spread, dz and the vertex
efficiency. Each comes with a standard error from a grouped jackknife over events. The
events are split into `JACKKNIFE_GROUPS` groups of consecutive events, and each statistic is
recomputed with one group left out, so correlations between the tracks of one event (jets,
a shared vertex) enter the error.

NOTE: the jackknife treats events as independent. The Pythia generator overlays pile-up
from a finite pool of minimum-bias interactions, so the pile-up statistics of a Pythia
sample also carry the error of the pool, which the jackknife does not see. Widen them (for
example with `add_error`) when the pool is small compared with the interactions drawn from it.

`compare` turns two sets of statistics into rows with a tolerance of n_sigma combined
standard errors plus an optional allowance per statistic, and `format_comparison` prints
them as a Markdown table.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from altmin_hls.data.tracks import TrackSet

VERTEX_WINDOW_CM = 0.15
"""An event's vertex is found when |z_pv - z_true| is below this (cm)."""
CENTRAL_ABS_ETA = 1.2
"""Tracks with |eta| below this count as central."""
PT_QUANTILES = (0.10, 0.50, 0.90, 0.99)
"""Quantiles of the pt spectrum of each label."""
JACKKNIFE_GROUPS = 20
"""Groups of events in the jackknife. With 20 groups, an error estimate is itself uncertain by
about 16 % (1 / sqrt(2 * 19))."""

STATISTICS: dict[str, tuple[str, str]] = {
    "tracks_per_event": ("tracks per event, mean", ""),
    "tracks_per_event_sd": ("tracks per event, sd", ""),
    "hard_tracks_per_event": ("hard-scatter tracks per event, mean", ""),
    "hard_tracks_per_event_sd": ("hard-scatter tracks per event, sd", ""),
    "pileup_tracks_per_event": ("pile-up tracks per event, mean", ""),
    "hard_fraction": ("hard-scatter fraction of tracks", ""),
    **{
        f"{label}_pt_q{round(100 * u):02d}": (f"{name} pt q{round(100 * u):02d}", "GeV")
        for label, name in (("hard", "hard-scatter"), ("pileup", "pile-up"))
        for u in PT_QUANTILES
    },
    "hard_central_fraction": (f"hard-scatter fraction with |eta| < {CENTRAL_ABS_ETA}", ""),
    "pileup_central_fraction": (f"pile-up fraction with |eta| < {CENTRAL_ABS_ETA}", ""),
    "z0_sd": ("z0 sd, all tracks", "cm"),
    "hard_dz_median": ("hard-scatter dz median", "cm"),
    "pileup_dz_median": ("pile-up dz median", "cm"),
    "vertex_efficiency": (f"events with |z_pv - z_true| < {VERTEX_WINDOW_CM} cm", ""),
}
"""Name of each statistic, mapped to its description and unit."""

REFERENCE_TTBAR = {"mean_tracks": 29.8, "sd_tracks": 11.1, "pt_quantiles": (2.3, 4.3, 15.3)}
"""Pythia 8 ttbar at 14 TeV: charged particles with pt > 2 GeV and |eta| < 2.4 per event, and
their pt q10, q50, q90 in GeV. The project's reference figures, also used by parametric.py.

NOTE: these figures may be slightly off. Two pythia8mc 8.317.2 samples of 3,000 ttbar
events (one at generator level, one after the L1 selection) give an sd of 11.8 and 12.1
(+-0.2), a q10 of 2.26 and 2.25 GeV, and a q50 of 4.23 and 4.20 GeV (+-0.02)."""
REFERENCE_MINIMUM_BIAS = {"mean_tracks": 0.91, "pt_quantiles": (2.1, 2.5, 3.9)}
"""Pythia 8 minimum bias at 14 TeV, per interaction, with the same cuts as REFERENCE_TTBAR."""
REFERENCE_CENTRAL_FRACTION = {"hard": 0.61, "pileup": 0.52}
"""Fractions with |eta| < 1.2 from pythia8mc 8.317.2 (3,000 ttbar events and 30,000
SoftQCD:inelastic events), as quoted in tests/test_data_parametric.py."""


@dataclass(frozen=True)
class Estimate:
    """A statistic of a sample and its standard error (0 for an exact reference)."""

    value: float
    error: float


@dataclass(frozen=True)
class ComparisonRow:
    """One statistic of a sample next to its reference value."""

    name: str
    description: str
    unit: str
    value: float
    reference: float
    difference: float
    tolerance: float
    passed: bool


def sample_statistics(tracks: TrackSet) -> dict[str, Estimate]:
    """Compute every statistic of STATISTICS with its jackknife standard error.

    Needs at least JACKKNIFE_GROUPS events. A statistic that is undefined for the sample
    (a quantile of a label without tracks, for example) is NaN.
    """
    if tracks.n_events < JACKKNIFE_GROUPS:
        raise ValueError(
            f"sample_statistics needs at least {JACKKNIFE_GROUPS} events for the jackknife, "
            f"got {tracks.n_events}"
        )
    full = _statistic_values(tracks, np.ones(tracks.n_events, dtype=bool))
    group = np.arange(tracks.n_events) * JACKKNIFE_GROUPS // tracks.n_events
    replicas = np.array([_statistic_values(tracks, group != g) for g in range(JACKKNIFE_GROUPS)])
    spread = ((replicas - replicas.mean(axis=0)) ** 2).sum(axis=0)
    errors = np.sqrt((JACKKNIFE_GROUPS - 1) / JACKKNIFE_GROUPS * spread)
    return {
        name: Estimate(float(value), float(error))
        for name, value, error in zip(STATISTICS, full, errors, strict=True)
    }


def reference_statistics(pileup: float = 200.0) -> dict[str, Estimate]:
    """Return the reference figures as exact estimates, for ttbar plus `pileup` interactions.

    Counts and fractions assume every interaction's tracks inside the acceptance, before
    the |z0| < 15 cm cut and the track resolution, so selected samples fall slightly below
    the counts.
    """
    hard = REFERENCE_TTBAR["mean_tracks"]
    soft = REFERENCE_MINIMUM_BIAS["mean_tracks"] * pileup
    values = {
        "tracks_per_event": hard + soft,
        "hard_tracks_per_event": hard,
        "hard_tracks_per_event_sd": REFERENCE_TTBAR["sd_tracks"],
        "pileup_tracks_per_event": soft,
        "hard_fraction": hard / (hard + soft),
        "hard_central_fraction": REFERENCE_CENTRAL_FRACTION["hard"],
        "pileup_central_fraction": REFERENCE_CENTRAL_FRACTION["pileup"],
    }
    for label, reference in (("hard", REFERENCE_TTBAR), ("pileup", REFERENCE_MINIMUM_BIAS)):
        for u, quantile in zip((0.10, 0.50, 0.90), reference["pt_quantiles"], strict=True):
            values[f"{label}_pt_q{round(100 * u):02d}"] = quantile
    return {name: Estimate(value, 0.0) for name, value in values.items()}


def add_error(estimate: Estimate, extra: float) -> Estimate:
    """Return the estimate with an independent error `extra` added in quadrature."""
    return replace(estimate, error=math.hypot(estimate.error, extra))


def compare(
    values: Mapping[str, Estimate],
    references: Mapping[str, Estimate],
    n_sigma: float = 5.0,
    allowances: Mapping[str, float] | None = None,
) -> list[ComparisonRow]:
    """Compare the statistics present in both mappings, in the order of STATISTICS.

    The tolerance of a row is n_sigma times the two standard errors added in quadrature,
    plus `allowances[name]` (default 0) for known differences such as rounding of a
    reference figure. A row passes when |value - reference| <= tolerance.
    """
    allowances = allowances or {}
    unknown = set(allowances) - set(STATISTICS)
    if unknown:
        raise ValueError(f"allowances name unknown statistics {sorted(unknown)}")
    rows = []
    for name, (description, unit) in STATISTICS.items():
        if name not in values or name not in references:
            continue
        value, reference = values[name], references[name]
        difference = value.value - reference.value
        tolerance = n_sigma * math.hypot(value.error, reference.error) + allowances.get(name, 0.0)
        rows.append(
            ComparisonRow(
                name=name,
                description=description,
                unit=unit,
                value=value.value,
                reference=reference.value,
                difference=difference,
                tolerance=tolerance,
                passed=bool(abs(difference) <= tolerance),
            )
        )
    return rows


def format_comparison(
    rows: list[ComparisonRow], headers: tuple[str, str] = ("value", "reference")
) -> str:
    """Format comparison rows as a Markdown table."""
    lines = [
        f"| statistic | unit | {headers[0]} | {headers[1]} | difference | tolerance | pass |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        # Escape the pipes of |eta| so they do not split the cell.
        description = row.description.replace("|", "\\|")
        lines.append(
            f"| {description} | {row.unit} | {row.value:.4g} | {row.reference:.4g} | "
            f"{row.difference:+.3g} | {row.tolerance:.3g} | {'yes' if row.passed else 'NO'} |"
        )
    return "\n".join(lines)


def _statistic_values(tracks: TrackSet, keep_event: NDArray[np.bool_]) -> list[float]:
    """Compute the STATISTICS values, in order, over the events where keep_event is true."""
    keep_track = keep_event[tracks.event]
    hard = tracks.label == 1
    per_event = tracks.tracks_per_event()[keep_event]
    hard_per_event = np.bincount(tracks.event[hard], minlength=tracks.n_events)[keep_event]
    n_tracks = per_event.sum()

    values = [
        per_event.mean(),
        per_event.std(),
        hard_per_event.mean(),
        hard_per_event.std(),
        (per_event - hard_per_event).mean(),
        hard_per_event.sum() / n_tracks if n_tracks else math.nan,
    ]
    label_masks = (keep_track & hard, keep_track & ~hard)
    for mask in label_masks:
        pt = tracks.pt[mask]
        values.extend(np.quantile(pt, PT_QUANTILES) if pt.size else [math.nan] * len(PT_QUANTILES))
    for mask in label_masks:
        eta = tracks.eta[mask]
        values.append(np.mean(np.abs(eta) < CENTRAL_ABS_ETA) if eta.size else math.nan)
    values.append(tracks.z0[keep_track].std() if keep_track.any() else math.nan)
    for mask in label_masks:
        values.append(np.median(tracks.dz[mask]) if mask.any() else math.nan)
    residual = np.abs(tracks.z_pv - tracks.z_true)[keep_event]
    values.append(np.mean(residual < VERTEX_WINDOW_CM))
    return [float(value) for value in values]


def plot_generator_comparison(
    parametric: TrackSet,
    pythia: TrackSet,
    path: str | os.PathLike[str],
    names: tuple[str, str] = ("parametric", "Pythia 8"),
) -> Path:
    """Write a PNG with six panels that compare two samples, and return its path.

    Panels: tracks per event, pt and eta per label, z0, dz per label, and the vertex
    residual z_pv - z_true. Every histogram is normalised to its number of entries, including
    entries outside the axis range. `names` label the two samples in the legends. Needs
    matplotlib and mplhep (the `study` extra), and draws with the Agg renderer whatever
    backend pyplot uses.
    """
    import matplotlib.style
    import mplhep
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    samples = ((names[0], parametric, "-"), (names[1], pythia, "--"))
    with matplotlib.style.context(mplhep.style.CMS):
        figure = Figure(figsize=(21, 13), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(2, 3)
        _plot_tracks_per_event(axes[0, 0], samples)
        _plot_pt(axes[0, 1], samples)
        _plot_eta(axes[0, 2], samples)
        _plot_z0(axes[1, 0], samples)
        _plot_dz(axes[1, 1], samples)
        _plot_vertex_residual(axes[1, 2], samples)
        for axis in axes.flat:
            # Plain text, because mplhep's label functions redraw the figure to place it.
            axis.text(
                0.0,
                1.01,
                "Simulation",
                transform=axis.transAxes,
                style="italic",
                fontsize=18,
                verticalalignment="bottom",
            )
        figure.suptitle(
            r"$t\bar{t}$ + pile-up, L1 tracks with $p_T > 2$ GeV, $|\eta| < 2.4$, $|z_0| < 15$ cm"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=80)
    return path


_LABEL_STYLES = ((1, "hard scatter", "tab:red"), (0, "pile-up", "tab:blue"))


def _histogram(axis, values, bins, label, color, linestyle) -> None:
    # Normalised to all entries, so entries beyond the axis range lower the curve.
    counts, edges = np.histogram(values, bins=bins)
    density = counts / (len(values) * np.diff(edges)) if len(values) else counts.astype(float)
    axis.stairs(density, edges, label=label, color=color, linestyle=linestyle, linewidth=2)


def _plot_tracks_per_event(axis, samples) -> None:
    per_event = [tracks.tracks_per_event() for _, tracks, _ in samples]
    high = max(int(values.max()) if values.size else 1 for values in per_event)
    bins = np.linspace(0, high + 10, 40)
    for (name, _, linestyle), values in zip(samples, per_event, strict=True):
        label = f"{name}, {len(values)} events, mean {values.mean():.1f}"
        _histogram(axis, values, bins, label, "black", linestyle)
    axis.set_xlabel("Tracks per event")
    axis.set_ylabel("Events / track (normalised)")
    axis.set_ylim(0.0, axis.get_ylim()[1] * 1.3)
    axis.legend(fontsize=16)


def _plot_pt(axis, samples) -> None:
    bins = np.geomspace(2.0, 300.0, 41)
    for name, tracks, linestyle in samples:
        for label, label_name, color in _LABEL_STYLES:
            pt = tracks.pt[tracks.label == label]
            _histogram(axis, pt, bins, f"{name}, {label_name}", color, linestyle)
    axis.set_xscale("log")
    axis.set_yscale("log")
    low, high = axis.get_ylim()
    axis.set_ylim(low, high * 30.0)
    axis.set_xlabel(r"Track $p_T$ [GeV]")
    axis.set_ylabel(r"Tracks / GeV (normalised)")
    axis.legend(fontsize=16)


def _plot_eta(axis, samples) -> None:
    bins = np.linspace(-2.4, 2.4, 25)
    for name, tracks, linestyle in samples:
        for label, label_name, color in _LABEL_STYLES:
            eta = tracks.eta[tracks.label == label]
            _histogram(axis, eta, bins, f"{name}, {label_name}", color, linestyle)
    axis.set_xlabel(r"Track $\eta$")
    axis.set_ylabel(r"Tracks / unit $\eta$ (normalised)")
    axis.set_ylim(0.0, axis.get_ylim()[1] * 1.8)
    axis.legend(fontsize=14, ncols=2, loc="upper center")


def _plot_z0(axis, samples) -> None:
    bins = np.linspace(-15.0, 15.0, 61)
    for name, tracks, linestyle in samples:
        _histogram(
            axis, tracks.z0, bins, f"{name}, sd {tracks.z0.std():.2f} cm", "black", linestyle
        )
    axis.set_xlabel(r"Track $z_0$ [cm]")
    axis.set_ylabel("Tracks / cm (normalised)")
    axis.set_ylim(0.0, axis.get_ylim()[1] * 1.3)
    axis.legend(fontsize=16)


def _plot_dz(axis, samples) -> None:
    bins = np.linspace(0.0, 15.0, 76)
    for name, tracks, linestyle in samples:
        for label, label_name, color in _LABEL_STYLES:
            dz = tracks.dz[tracks.label == label]
            _histogram(axis, dz, bins, f"{name}, {label_name}", color, linestyle)
    axis.set_yscale("log")
    low, high = axis.get_ylim()
    axis.set_ylim(low, high * 30.0)
    axis.set_xlabel(r"$dz = |z_0 - z_{PV}|$ [cm]")
    axis.set_ylabel("Tracks / cm (normalised)")
    axis.legend(fontsize=16)


def _plot_vertex_residual(axis, samples) -> None:
    bins = np.linspace(-1.0, 1.0, 81)
    for name, tracks, linestyle in samples:
        residual = tracks.z_pv - tracks.z_true
        efficiency = np.mean(np.abs(residual) < VERTEX_WINDOW_CM) if residual.size else math.nan
        label = f"{name}, {efficiency:.1%} within {VERTEX_WINDOW_CM} cm"
        _histogram(axis, residual, bins, label, "black", linestyle)
    for edge in (-VERTEX_WINDOW_CM, VERTEX_WINDOW_CM):
        window_label = f"|residual| < {VERTEX_WINDOW_CM} cm" if edge > 0 else None
        axis.axvline(edge, color="grey", linestyle=":", linewidth=1.5, label=window_label)
    axis.set_yscale("log")
    low, high = axis.get_ylim()
    axis.set_ylim(low, high * 100.0)
    axis.set_xlabel(r"$z_{PV} - z_{true}$ [cm]")
    axis.set_ylabel("Events / cm (normalised)")
    axis.legend(fontsize=16, loc="upper left")
