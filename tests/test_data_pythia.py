"""Pythia generator on a tiny sample: shape, selection, determinism and the pool cache.

The first pool generation in a fresh cache folder runs the minimum-bias MPI
initialisation once (5-13 s on one core), so all tests share one cache folder.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from altmin_hls.data import pythia
from altmin_hls.data.experiences import make_experiences
from altmin_hls.data.tracks import TrackSet
from altmin_hls.errors import DataFileError

pytestmark = pytest.mark.slow

N_EVENTS = 3
POOL_SIZE = 50
SEED = 17


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pythia-cache")


@pytest.fixture(scope="module")
def small_run(cache_dir: Path) -> tuple[TrackSet, float]:
    start = time.perf_counter()
    tracks = pythia.generate_pythia(
        N_EVENTS, SEED, pool_size=POOL_SIZE, cache_dir=cache_dir, progress=False
    )
    return tracks, time.perf_counter() - start


def test_small_run_shape(small_run: tuple[TrackSet, float]) -> None:
    tracks, elapsed = small_run
    assert tracks.n_events == N_EVENTS
    assert tracks.features().shape == (tracks.n_tracks, 5)
    # About 30 hard-scatter and 180 pile-up tracks per event.
    per_event = tracks.tracks_per_event()
    assert np.all(per_event > 50), per_event
    assert np.all(per_event < 500), per_event
    assert elapsed < 30.0, f"small Pythia run took {elapsed:.1f} s"


def test_small_run_has_both_labels(small_run: tuple[TrackSet, float]) -> None:
    tracks, _ = small_run
    hard = np.bincount(tracks.event[tracks.label == 1], minlength=N_EVENTS)
    assert np.all(hard > 0), hard
    assert np.any(tracks.label == 0)


def test_small_run_selection(small_run: tuple[TrackSet, float]) -> None:
    tracks, _ = small_run
    assert np.all(tracks.pt > 2.0)
    assert np.all(np.abs(tracks.eta) < 2.4)
    assert np.all(np.abs(tracks.z0) < 15.0)
    assert np.all(tracks.phi >= -np.pi)
    assert np.all(tracks.phi < np.pi)
    np.testing.assert_array_equal(tracks.dz, np.abs(tracks.z0 - tracks.z_pv[tracks.event]))


def test_same_seed_same_events(small_run: tuple[TrackSet, float], cache_dir: Path) -> None:
    again = pythia.generate_pythia(
        N_EVENTS, SEED, pool_size=POOL_SIZE, cache_dir=cache_dir, progress=False
    )
    assert again.equals(small_run[0])


def test_pool_regenerates_identically(small_run: tuple[TrackSet, float], cache_dir: Path) -> None:
    pool_seed = 12345
    first = pythia.load_or_generate_pool(POOL_SIZE, pool_seed, cache_dir, progress=False)
    pythia.pool_cache_path(POOL_SIZE, pool_seed, cache_dir).unlink()
    second = pythia.load_or_generate_pool(POOL_SIZE, pool_seed, cache_dir, progress=False)
    for name in ("counts", "eta", "phi", "pt", "z_offset"):
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_pool_is_cached(small_run: tuple[TrackSet, float], cache_dir: Path) -> None:
    pools = list(cache_dir.glob("minbias_pool_*.npz"))
    assert pools, "no pile-up pool written"
    assert not list(cache_dir.glob("*.tmp"))


def test_corrupt_pool_cache_raises(small_run: tuple[TrackSet, float], cache_dir: Path) -> None:
    path = pythia.pool_cache_path(POOL_SIZE, 999, cache_dir)
    path.write_bytes(b"not an npz file")
    with pytest.raises(DataFileError, match="Delete the file") as caught:
        pythia.load_or_generate_pool(POOL_SIZE, 999, cache_dir, progress=False)
    assert str(path) in str(caught.value)


def test_experiences_share_one_pool(small_run: tuple[TrackSet, float], cache_dir: Path) -> None:
    before = set(cache_dir.glob("minbias_pool_*.npz"))
    sets = make_experiences(
        "pythia",
        2,
        2,
        n_experiences=2,
        seed=3,
        pool_size=POOL_SIZE,
        cache_dir=cache_dir,
        progress=False,
    )
    assert [s.n_events for s in sets] == [2, 2, 2]
    assert len(set(cache_dir.glob("minbias_pool_*.npz")) - before) == 1


def test_missing_pythia_names_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pythia8mc", None)
    with pytest.raises(ImportError, match=r"pip install 'altmin-hls\[pythia\]'"):
        pythia.generate_pythia(1, 0, progress=False)
