"""Parametric generator: determinism, multiplicities, spectra, cuts and vertex finding.

Statistical tolerances are five standard errors of a 2,000-event sample, computed from the
model's own spread, plus a stated allowance for resolution effects. With 2,000 events:
- hard-scatter tracks per event: sd 11.1, so one standard error is 0.25;
- pile-up tracks per event: variance 200 * (1.99^2 + 0.91^2) = 958, standard error 0.69;
- all tracks per event: variance 123 + 958 = 1081, standard error 0.74;
- hard-scatter fraction 29.8 / 211.8 = 0.141, standard error about 0.0011 (delta method).
The L1 selection on measured values removes 0.5-1.5 % of the generated tracks (vertices
beyond |z| = 15 cm and resolution moving tracks below 2 GeV), so expected means carry a
one-sided allowance of 2 %.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from altmin_hls.data.parametric import MINIMUM_BIAS, TTBAR, ComponentModel, generate_parametric
from altmin_hls.data.tracks import TrackSet
from altmin_hls.data.vertex import fasthisto

N_EVENTS = 2000
SELECTION_LOSS = 0.02


@pytest.fixture(scope="module")
def sample() -> TrackSet:
    return generate_parametric(N_EVENTS, seed=20240)


def quantile_tolerance(model: ComponentModel, u: float, n: int) -> float:
    """Five standard errors of the u-quantile from n draws, plus 1 % for resolution."""
    low, high = model_quantile(model, u - 1e-4), model_quantile(model, u + 1e-4)
    slope = (high - low) / 2e-4
    return 5 * slope * np.sqrt(u * (1 - u) / n) + 0.01 * model_quantile(model, u)


def model_quantile(model: ComponentModel, u: float) -> float:
    ratio = (1 - u) ** (-1 / model.burr_a) - 1
    return 2.0 + model.burr_b * ratio ** (1 / model.burr_c)


def test_same_seed_same_events() -> None:
    assert generate_parametric(200, seed=7).equals(generate_parametric(200, seed=7))


def test_other_seed_other_events() -> None:
    assert not generate_parametric(200, seed=7).equals(generate_parametric(200, seed=8))


def test_seed_sequence_accepted() -> None:
    first = generate_parametric(50, np.random.SeedSequence(3))
    second = generate_parametric(50, np.random.SeedSequence(3))
    assert first.equals(second)


def test_thousand_events_are_fast() -> None:
    start = time.perf_counter()
    tracks = generate_parametric(1000, seed=1)
    elapsed = time.perf_counter() - start
    assert tracks.n_events == 1000
    assert elapsed < 5.0, f"1,000 events took {elapsed:.2f} s"


def test_tracks_per_event(sample: TrackSet) -> None:
    per_event = sample.tracks_per_event()
    expected = TTBAR.mean_tracks + 200 * MINIMUM_BIAS.mean_tracks  # 211.8
    tolerance = 5 * 0.74
    assert per_event.mean() > expected * (1 - SELECTION_LOSS) - tolerance
    assert per_event.mean() < expected + tolerance


def test_hard_scatter_multiplicity(sample: TrackSet) -> None:
    hard = np.bincount(sample.event[sample.label == 1], minlength=sample.n_events)
    assert hard.mean() > TTBAR.mean_tracks * (1 - SELECTION_LOSS) - 5 * 0.25
    assert hard.mean() < TTBAR.mean_tracks + 5 * 0.25
    # Standard error of an sd from n draws is about sd / sqrt(2n) = 0.18.
    assert abs(hard.std() - TTBAR.sd_tracks) < 5 * 0.18 + 0.02 * TTBAR.sd_tracks


def test_pileup_multiplicity(sample: TrackSet) -> None:
    soft = np.bincount(sample.event[sample.label == 0], minlength=sample.n_events)
    expected = 200 * MINIMUM_BIAS.mean_tracks
    assert soft.mean() > expected * (1 - SELECTION_LOSS) - 5 * 0.69
    assert soft.mean() < expected + 5 * 0.69


def test_hard_scatter_fraction(sample: TrackSet) -> None:
    expected = TTBAR.mean_tracks / (TTBAR.mean_tracks + 200 * MINIMUM_BIAS.mean_tracks)
    # The softer pile-up spectrum loses more tracks at the 2 GeV cut, which raises the
    # fraction by up to about 0.002.
    assert sample.label.mean() == pytest.approx(expected, abs=5 * 0.0011 + 0.002)


@pytest.mark.parametrize("u, expected", [(0.1, 2.3), (0.5, 4.3), (0.9, 15.3)])
def test_ttbar_pt_quantiles(sample: TrackSet, u: float, expected: float) -> None:
    pt = sample.pt[sample.label == 1]
    tolerance = quantile_tolerance(TTBAR, u, len(pt))
    assert np.quantile(pt, u) == pytest.approx(expected, abs=tolerance)


@pytest.mark.parametrize("u, expected", [(0.1, 2.1), (0.5, 2.5), (0.9, 3.9)])
def test_minimum_bias_pt_quantiles(sample: TrackSet, u: float, expected: float) -> None:
    pt = sample.pt[sample.label == 0]
    tolerance = quantile_tolerance(MINIMUM_BIAS, u, len(pt))
    assert np.quantile(pt, u) == pytest.approx(expected, abs=tolerance)


def test_selection_holds(sample: TrackSet) -> None:
    assert np.all(sample.pt > 2.0)
    assert np.all(np.abs(sample.eta) < 2.4)
    assert np.all(np.abs(sample.z0) < 15.0)
    assert np.all(sample.phi >= -np.pi)
    assert np.all(sample.phi < np.pi)


def test_ttbar_more_central_than_pileup(sample: TrackSet) -> None:
    central_hard = np.mean(np.abs(sample.eta[sample.label == 1]) < 1.2)
    central_soft = np.mean(np.abs(sample.eta[sample.label == 0]) < 1.2)
    # pythia8mc 8.317.2 gives 0.61 for ttbar (3,000 events) and 0.52 for minimum bias
    # (30,000 events), where 0.50 would be flat.
    assert central_hard == pytest.approx(0.61, abs=0.02)
    assert central_soft == pytest.approx(0.52, abs=0.02)


def test_phi_uniform(sample: TrackSet) -> None:
    counts = np.histogram(sample.phi, bins=4, range=(-np.pi, np.pi))[0]
    expected = sample.n_tracks / 4
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_dz_and_vertex_consistent(sample: TrackSet) -> None:
    z_pv = fasthisto(sample.z0, sample.pt, sample.event, n_events=sample.n_events)
    np.testing.assert_array_equal(z_pv, sample.z_pv)
    np.testing.assert_array_equal(sample.dz, np.abs(sample.z0 - sample.z_pv[sample.event]))


def test_vertex_efficiency(sample: TrackSet) -> None:
    efficiency = np.mean(np.abs(sample.z_pv - sample.z_true) < 0.15)
    # 20,000 events give 0.915. The bounds are far wider than the standard error (0.006)
    # because they only check that the efficiency stays in a CMS-like range.
    assert 0.85 < efficiency < 0.97, f"vertex efficiency {efficiency:.3f}"


def test_tracks_shuffled_within_events(sample: TrackSet) -> None:
    starts = np.searchsorted(sample.event, np.arange(sample.n_events))
    first_labels = sample.label[starts[:200]]
    # With about 14 % hard-scatter tracks, about 28 of 200 events start with one.
    assert 5 < first_labels.sum() < 60


def test_no_pileup_gives_only_hard_scatter() -> None:
    tracks = generate_parametric(100, seed=4, pileup=0.0)
    assert np.all(tracks.label == 1)
    assert tracks.n_tracks > 0


def test_zero_events() -> None:
    tracks = generate_parametric(0, seed=4)
    assert tracks.n_events == 0
    assert tracks.n_tracks == 0


def test_negative_seed_raises() -> None:
    with pytest.raises(ValueError, match="seed"):
        generate_parametric(1, seed=-1)
