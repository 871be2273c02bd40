"""FastHisto on hand-built events with known results, and against a per-event loop."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from altmin_hls.data import vertex
from altmin_hls.data.vertex import compute_dz, fasthisto

BIN_WIDTH = 30.0 / 256  # default histogram: 256 bins over [-15, 15] cm


def centre(index: int) -> float:
    return -15.0 + (index + 0.5) * BIN_WIDTH


def bin_of(z: float) -> int:
    return int(np.floor((z + 15.0) / BIN_WIDTH))


def one_event(z0: list[float], pt: list[float]) -> float:
    return float(fasthisto(np.array(z0), np.array(pt), np.zeros(len(z0), np.int64))[0])


def reference_fasthisto(
    z0: np.ndarray,
    pt: np.ndarray,
    n_bins: int = 256,
    z_range: float = 15.0,
    pt_cap: float = 127.0,
) -> float:
    """Loop implementation of one event, written from the algorithm description."""
    width = 2 * z_range / n_bins
    hist = [0.0] * n_bins
    for z, p in zip(z0, pt, strict=True):
        if -z_range <= z <= z_range:
            hist[min(int((z + z_range) // width), n_bins - 1)] += min(p, pt_cap)
    best, best_sum = 0, -1.0
    for i in range(n_bins - 2):
        total = hist[i] + hist[i + 1] + hist[i + 2]
        if total > best_sum:
            best, best_sum = i, total
    if best_sum <= 0:
        return 0.0
    centres = [-z_range + (best + j + 0.5) * width for j in range(3)]
    return sum(c * hist[best + j] for j, c in enumerate(centres)) / best_sum


def test_single_track_gives_its_bin_centre() -> None:
    assert one_event([1.0], [5.0]) == pytest.approx(centre(bin_of(1.0)), abs=1e-12)


def test_weighted_mean_of_window_bin_centres() -> None:
    b = bin_of(2.0)
    z = one_event([centre(b), centre(b + 2)], [3.0, 1.0])
    assert z == pytest.approx((3 * centre(b) + 1 * centre(b + 2)) / 4, abs=1e-12)


def test_window_at_lower_edge() -> None:
    z = one_event([-14.99, centre(1), 3.0], [40.0, 20.0, 10.0])
    assert z == pytest.approx((40 * centre(0) + 20 * centre(1)) / 60, abs=1e-12)


def test_window_at_upper_edge_includes_last_bin() -> None:
    # The CMSSW emulation never puts the last bin in a window; here it does.
    z = one_event([14.99, centre(254), -3.0], [40.0, 20.0, 10.0])
    assert z == pytest.approx((40 * centre(255) + 20 * centre(254)) / 60, abs=1e-12)


def test_range_ends_fall_in_edge_bins() -> None:
    assert one_event([15.0], [5.0]) == pytest.approx(centre(255), abs=1e-12)
    assert one_event([-15.0], [5.0]) == pytest.approx(centre(0), abs=1e-12)


def test_tie_goes_to_lowest_z() -> None:
    z = one_event([-5.0, 5.0], [10.0, 10.0])
    assert z == pytest.approx(centre(bin_of(-5.0)), abs=1e-12)


def test_overlapping_tied_windows_agree() -> None:
    # Bins b and b+1 filled: the windows starting at b-1 and at b both hold everything, and
    # either choice must give the same weighted mean.
    b = bin_of(0.5)
    z = one_event([centre(b), centre(b + 1)], [4.0, 4.0])
    assert z == pytest.approx((centre(b) + centre(b + 1)) / 2, abs=1e-12)


def test_pt_cap_limits_one_hard_track() -> None:
    # 500 GeV alone would beat 2 x 100 GeV, but it is capped at 127 GeV.
    z = one_event([-3.0, 3.0, 3.0], [500.0, 100.0, 100.0])
    assert z == pytest.approx(centre(bin_of(3.0)), abs=1e-12)


def test_pt_cap_applies_to_weights_of_mean() -> None:
    b = bin_of(1.0)
    z = one_event([centre(b), centre(b + 1)], [500.0, 100.0])
    assert z == pytest.approx((127 * centre(b) + 100 * centre(b + 1)) / 227, abs=1e-12)


def test_pt_cap_parameter() -> None:
    z0 = np.array([-3.0, 3.0, 3.0])
    pt = np.array([500.0, 100.0, 100.0])
    event = np.zeros(3, np.int64)
    z = fasthisto(z0, pt, event, pt_cap=1000.0)[0]
    assert z == pytest.approx(centre(bin_of(-3.0)), abs=1e-12)


def test_tracks_outside_range_are_ignored() -> None:
    assert one_event([20.0, -16.0, 0.3], [900.0, 900.0, 2.5]) == pytest.approx(
        centre(bin_of(0.3)), abs=1e-12
    )


def test_event_without_tracks_gets_zero_and_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="altmin_hls.data.vertex"):
        z_pv = fasthisto(np.array([4.0]), np.array([3.0]), np.array([1]), n_events=3)
    assert z_pv[0] == 0.0
    assert z_pv[1] == pytest.approx(centre(bin_of(4.0)), abs=1e-12)
    assert z_pv[2] == 0.0
    assert "2 of 3 events" in caplog.text


def test_custom_binning() -> None:
    z = fasthisto(np.array([0.1]), np.array([3.0]), np.array([0]), n_bins=10, z_range=1.0)[0]
    assert z == pytest.approx(0.1, abs=1e-12)  # bin [0, 0.2) has centre 0.1


def test_matches_per_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # A chunk of 7 events makes the vectorised code cross chunk boundaries.
    monkeypatch.setattr(vertex, "_EVENTS_PER_CHUNK", 7)
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 40, 30)
    event = np.repeat(np.arange(30), counts)
    z0 = rng.normal(0, 6, event.size)
    pt = 2 + rng.pareto(1.5, event.size)
    z_pv = fasthisto(z0, pt, event, n_events=30)
    for e in range(30):
        expected = reference_fasthisto(z0[event == e], pt[event == e])
        assert z_pv[e] == pytest.approx(expected, abs=1e-9), f"event {e}"


def test_rejects_decreasing_events() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        fasthisto(np.zeros(2), np.ones(2), np.array([1, 0]))


def test_compute_dz() -> None:
    dz = compute_dz(np.array([1.0, -2.0, 0.5]), np.array([0, 0, 1]), np.array([0.5, 1.0]))
    np.testing.assert_array_equal(dz, [0.5, 2.5, 0.5])
