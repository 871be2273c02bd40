"""Nominal resolution tables and the smearing primitives."""

from __future__ import annotations

import numpy as np
import pytest

from altmin_hls.data import resolution


def test_z0_resolution_end_points() -> None:
    np.testing.assert_array_equal(resolution.z0_resolution([0.0, -0.39]), [0.10, 0.10])
    np.testing.assert_array_equal(resolution.z0_resolution([2.3, -2.25]), [0.42, 0.42])


def test_pt_resolution_end_points() -> None:
    assert resolution.pt_resolution([0.1])[0] == pytest.approx(0.005)
    assert resolution.pt_resolution([2.35])[0] == pytest.approx(0.03)


def test_resolutions_grow_with_eta() -> None:
    eta = np.arange(0.1, 2.4, 0.2)
    for function in (
        resolution.z0_resolution,
        resolution.pt_resolution,
        resolution.eta_resolution,
        resolution.phi_resolution,
    ):
        values = function(eta)
        assert np.all(np.diff(values) >= 0), function.__name__
        assert values[-1] > values[0], function.__name__


def test_beyond_acceptance_uses_last_bin() -> None:
    assert resolution.z0_resolution([3.0])[0] == 0.42


def test_wrap_phi_range() -> None:
    phi = resolution.wrap_phi(np.array([np.pi, -np.pi, 3 * np.pi / 2, -4.0]))
    assert np.all(phi >= -np.pi)
    assert np.all(phi < np.pi)
    assert phi[0] == pytest.approx(-np.pi)
    assert phi[2] == pytest.approx(-np.pi / 2)


def test_smear_pt_stays_positive_for_huge_width() -> None:
    rng = np.random.default_rng(0)
    pt = np.full(100_000, 50.0)
    smeared = resolution.smear_pt(pt, np.full(pt.shape, 2.0), rng)
    assert np.all(smeared > 0)
    assert np.all(np.isfinite(smeared))


def test_smear_pt_width_is_relative() -> None:
    rng = np.random.default_rng(1)
    pt = np.full(200_000, 10.0)
    smeared = resolution.smear_pt(pt, np.full(pt.shape, 0.01), rng)
    # 1/pt has a relative width of 1 %, and so has pt to first order. With 200k draws the
    # sd is known to 0.2 % of its value.
    assert np.std(pt / smeared - 1) == pytest.approx(0.01, rel=0.01)


def test_zero_scale_copies() -> None:
    rng = np.random.default_rng(2)
    values = [np.array([0.5]), np.array([1.0]), np.array([3.0]), np.array([2.0])]
    smeared = resolution.smear_track_parameters(*values, 0.0, rng)
    for before, after in zip(values, smeared, strict=True):
        np.testing.assert_array_equal(before, after)
        assert before is not after


def test_negative_scale_raises() -> None:
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="scale"):
        resolution.smear_track_parameters(*[np.ones(1)] * 4, -1.0, rng)
