"""Smearing and the series of experiences."""

from __future__ import annotations

import numpy as np
import pytest

from altmin_hls.data import resolution
from altmin_hls.data.experiences import make_experiences, smear
from altmin_hls.data.parametric import generate_parametric
from altmin_hls.data.tracks import TrackSet
from altmin_hls.data.vertex import fasthisto

STEP = 0.4


@pytest.fixture(scope="module")
def source() -> TrackSet:
    return generate_parametric(300, seed=99)


@pytest.fixture(scope="module")
def experiences() -> list[TrackSet]:
    return make_experiences("parametric", 300, 300, n_experiences=10, step=STEP, seed=5)


def test_smear_keeps_every_track(source: TrackSet) -> None:
    smeared = smear(source, 4.0, np.random.default_rng(0))
    assert smeared.n_tracks == source.n_tracks
    np.testing.assert_array_equal(smeared.event, source.event)
    np.testing.assert_array_equal(smeared.label, source.label)
    np.testing.assert_array_equal(smeared.z_true, source.z_true)


def test_smear_recomputes_vertex_and_dz(source: TrackSet) -> None:
    smeared = smear(source, 2.0, np.random.default_rng(1))
    z_pv = fasthisto(smeared.z0, smeared.pt, smeared.event, n_events=smeared.n_events)
    np.testing.assert_array_equal(smeared.z_pv, z_pv)
    np.testing.assert_array_equal(smeared.dz, np.abs(smeared.z0 - z_pv[smeared.event]))


def test_smear_keeps_pt_positive_and_phi_wrapped(source: TrackSet) -> None:
    smeared = smear(source, 40.0, np.random.default_rng(2))
    assert np.all(smeared.pt > 0)
    assert np.all(smeared.phi >= -np.pi)
    assert np.all(smeared.phi < np.pi)


def test_smear_does_not_reselect(source: TrackSet) -> None:
    smeared = smear(source, 40.0, np.random.default_rng(3))
    # A 40x smearing pushes tracks out of the acceptance, and they must stay.
    assert np.any(smeared.pt <= 2.0)
    assert np.any(np.abs(smeared.eta) >= 2.4)


def test_smear_width_is_scale_times_nominal(source: TrackSet) -> None:
    smeared = smear(source, 2.0, np.random.default_rng(4))
    pulls = (smeared.z0 - source.z0) / resolution.z0_resolution(source.eta)
    # About 60k tracks, so one standard error of the pull sd is 0.3 %.
    assert np.std(pulls) == pytest.approx(2.0, rel=0.015)


def test_spread_grows_with_experience(source: TrackSet) -> None:
    spreads: dict[str, list[float]] = {"eta": [], "phi": [], "pt": [], "z0": []}
    for k in range(1, 11):
        smeared = smear(source, k * STEP, np.random.default_rng(k))
        spreads["eta"].append(np.std(smeared.eta - source.eta))
        spreads["phi"].append(np.std(resolution.wrap_phi(smeared.phi - source.phi)))
        spreads["pt"].append(np.std(smeared.pt / source.pt - 1))
        spreads["z0"].append(np.std(smeared.z0 - source.z0))
    for name, values in spreads.items():
        assert np.all(np.diff(values) > 0), f"{name} spread {np.round(values, 5)}"


def test_experience_count_and_sizes(experiences: list[TrackSet]) -> None:
    assert len(experiences) == 11
    assert all(s.n_events == 300 for s in experiences)


def test_experiences_have_new_events(experiences: list[TrackSet]) -> None:
    for k in range(1, 11):
        assert not np.array_equal(experiences[k].z_true, experiences[0].z_true), k
        assert not np.array_equal(experiences[k].z_true, experiences[k - 1].z_true), k


def test_experience_keeps_tracks_of_its_source(experiences: list[TrackSet]) -> None:
    # The seed scheme of make_experiences: child k of the root SeedSequence, then its
    # first child generates the source sample.
    children = np.random.SeedSequence(5).spawn(12)
    source = generate_parametric(300, children[3].spawn(2)[0])
    np.testing.assert_array_equal(experiences[3].event, source.event)
    np.testing.assert_array_equal(experiences[3].label, source.label)
    assert not np.array_equal(experiences[3].z0, source.z0)


def test_unsmeared_set_is_plain_generation(experiences: list[TrackSet]) -> None:
    children = np.random.SeedSequence(5).spawn(12)
    assert experiences[0].equals(generate_parametric(300, children[0]))


def test_hard_scatter_z0_spread_grows(experiences: list[TrackSet]) -> None:
    spreads = []
    for tracks in experiences:
        hard = tracks.label == 1
        spreads.append(np.std(tracks.z0[hard] - tracks.z_true[tracks.event[hard]]))
    assert np.all(np.diff(spreads) > 0), np.round(spreads, 4)


def test_same_seed_same_experiences() -> None:
    first = make_experiences("parametric", 50, 40, n_experiences=2, seed=8)
    second = make_experiences("parametric", 50, 40, n_experiences=2, seed=8)
    assert all(a.equals(b) for a, b in zip(first, second, strict=True))


def test_generator_kwargs_pass_through() -> None:
    sets = make_experiences("parametric", 20, 20, n_experiences=1, seed=1, pileup=0.0)
    assert all(np.all(s.label == 1) for s in sets)


def test_unknown_generator_raises() -> None:
    with pytest.raises(ValueError, match="parametric, pythia"):
        make_experiences("delphes", 10, 10)
