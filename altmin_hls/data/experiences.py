"""Unsmeared track set plus a series of increasingly smeared "experiences".

Experience 0 is the detector as designed: tracks with the nominal L1 resolutions. Experience
k (1..n) adds an extra Gaussian to every track parameter (eta, phi, pt, z0). Its width is
k * step * (nominal resolution of that parameter at the track's eta), so with the default
step of 0.4 experience 10 adds four times the nominal resolution.

Smeared tracks are not selected again. Each experience keeps every track of its source
sample, even where a smeared value leaves the acceptance, and nothing is clipped (phi is
wrapped to [-pi, pi)). Only z_pv (FastHisto on the smeared tracks) and dz are recomputed.

Every experience has its own events, generated with its own seed, so a learner gets new
events in each one. Seeds come from one SeedSequence: child 0 generates the unsmeared set,
child k generates and smears experience k, and a last child picks the Pythia pile-up pool,
which all experiences share.

`make_experiences_from_tracks` builds the same series from recorded events, such as those
of a Delphes file (`delphes.read_delphes`). It splits the events in order into the
unsmeared set and one block per experience, and smears block k as above with the
smearing seed of child k.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from altmin_hls.data.events import as_seed_sequence
from altmin_hls.data.parametric import generate_parametric
from altmin_hls.data.resolution import smear_track_parameters
from altmin_hls.data.tracks import TrackSet
from altmin_hls.data.vertex import compute_dz, fasthisto

logger = logging.getLogger(__name__)

GENERATORS = ("parametric", "pythia")
"""Names accepted by `make_experiences`."""


def smear(tracks: TrackSet, scale: float, rng: np.random.Generator) -> TrackSet:
    """Return a copy of the tracks with extra Gaussian smearing and recomputed z_pv and dz.

    Each of eta, phi, pt and z0 gets noise of width scale * (nominal resolution at the
    track's eta before smearing). Pt is smeared in 1/pt and stays positive (see
    `resolution.smear_pt`). Events, labels and z_true are unchanged.
    """
    eta, phi, pt, z0 = smear_track_parameters(
        tracks.eta, tracks.phi, tracks.pt, tracks.z0, scale, rng
    )
    z_pv = fasthisto(z0, pt, tracks.event, n_events=tracks.n_events)
    return TrackSet(
        event=tracks.event.copy(),
        eta=eta,
        phi=phi,
        pt=pt,
        z0=z0,
        dz=compute_dz(z0, tracks.event, z_pv),
        label=tracks.label.copy(),
        z_pv=z_pv,
        z_true=tracks.z_true.copy(),
    )


def make_experiences(
    generator: str,
    n_events_unsmeared: int,
    n_events_per_experience: int,
    n_experiences: int = 10,
    step: float = 0.4,
    seed: int | np.random.SeedSequence = 0,
    **generator_kwargs: Any,
) -> list[TrackSet]:
    """Generate the unsmeared set and n_experiences smeared sets, each with new events.

    Returns a list of n_experiences + 1 TrackSets, index 0 unsmeared. `generator` is
    "parametric" or "pythia", and `generator_kwargs` go to that generator (for example
    pileup, or pool_size and cache_dir for Pythia). The result is identical for an identical
    integer seed and arguments.
    """
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}; use one of {', '.join(GENERATORS)}")
    _check_series(n_experiences, step)

    children = as_seed_sequence(seed).spawn(n_experiences + 2)
    generate = _generator(generator, children[-1], generator_kwargs)

    sets = [generate(n_events_unsmeared, children[0])]
    _log_unsmeared(sets[0])
    for k in range(1, n_experiences + 1):
        generation_ss, smearing_ss = children[k].spawn(2)
        source = generate(n_events_per_experience, generation_ss)
        sets.append(_smear_experience(source, k, step, smearing_ss))
    return sets


def make_experiences_from_tracks(
    tracks: TrackSet,
    n_events_unsmeared: int,
    n_events_per_experience: int,
    n_experiences: int = 10,
    step: float = 0.4,
    seed: int | np.random.SeedSequence = 0,
) -> list[TrackSet]:
    """Split recorded events into the unsmeared set and n_experiences smeared sets.

    `tracks` are unsmeared events, for example from `read_delphes`. Events are taken in
    order: the first n_events_unsmeared form set 0, unchanged, and the next
    n_events_per_experience events form experience 1, and so on, so no event appears twice.
    Experience k gets k * step times the nominal smearing, drawn from the same seed child as
    in `make_experiences`. Events beyond those needed are left out. Returns a list of
    n_experiences + 1 TrackSets with event ids starting at 0 in each. Raises ValueError when
    `tracks` has fewer events than needed.
    """
    if n_events_unsmeared < 0 or n_events_per_experience < 0:
        raise ValueError(
            "n_events_unsmeared and n_events_per_experience must be >= 0, got "
            f"{n_events_unsmeared} and {n_events_per_experience}"
        )
    _check_series(n_experiences, step)
    needed = n_events_unsmeared + n_experiences * n_events_per_experience
    if tracks.n_events < needed:
        raise ValueError(
            f"the tracks have {tracks.n_events} events, but {n_events_unsmeared} unsmeared plus "
            f"{n_experiences} experiences of {n_events_per_experience} need {needed}. Read more "
            "events or request fewer"
        )
    if tracks.n_events > needed:
        logger.info("using %d of %d recorded events", needed, tracks.n_events)

    children = as_seed_sequence(seed).spawn(n_experiences + 2)
    sets = [_event_range(tracks, 0, n_events_unsmeared)]
    _log_unsmeared(sets[0])
    for k in range(1, n_experiences + 1):
        start = n_events_unsmeared + (k - 1) * n_events_per_experience
        source = _event_range(tracks, start, start + n_events_per_experience)
        _, smearing_ss = children[k].spawn(2)
        sets.append(_smear_experience(source, k, step, smearing_ss))
    return sets


def _check_series(n_experiences: int, step: float) -> None:
    if n_experiences < 0:
        raise ValueError(f"n_experiences must be >= 0, got {n_experiences}")
    if step < 0.0:
        raise ValueError(f"step must be >= 0, got {step}")


def _log_unsmeared(tracks: TrackSet) -> None:
    logger.info("experience 0 (unsmeared): %d events, %d tracks", tracks.n_events, tracks.n_tracks)


def _smear_experience(
    source: TrackSet, k: int, step: float, smearing_ss: np.random.SeedSequence
) -> TrackSet:
    """Smear the source events of experience k with k * step times the nominal resolution."""
    smeared = smear(source, k * step, np.random.default_rng(smearing_ss))
    logger.info(
        "experience %d (extra smearing %.2f x nominal): %d events, %d tracks",
        k,
        k * step,
        smeared.n_events,
        smeared.n_tracks,
    )
    return smeared


def _event_range(tracks: TrackSet, start: int, stop: int) -> TrackSet:
    """Return events start..stop-1 of a track set, renumbered from 0."""
    first, last = np.searchsorted(tracks.event, [start, stop])
    rows = slice(first, last)
    return TrackSet(
        event=tracks.event[rows] - start,
        eta=tracks.eta[rows].copy(),
        phi=tracks.phi[rows].copy(),
        pt=tracks.pt[rows].copy(),
        z0=tracks.z0[rows].copy(),
        dz=tracks.dz[rows].copy(),
        label=tracks.label[rows].copy(),
        z_pv=tracks.z_pv[start:stop].copy(),
        z_true=tracks.z_true[start:stop].copy(),
    )


def _generator(
    name: str, pool_ss: np.random.SeedSequence, kwargs: dict[str, Any]
) -> Callable[[int, np.random.SeedSequence], TrackSet]:
    """Bind the generator's keyword arguments, and for Pythia one shared pile-up pool seed."""
    if name == "parametric":
        return lambda n, ss: generate_parametric(n, ss, **kwargs)

    from altmin_hls.data.pythia import generate_pythia

    pythia_kwargs = dict(kwargs)
    pythia_kwargs.setdefault("pool_seed", int(pool_ss.generate_state(1)[0]))
    return lambda n, ss: generate_pythia(n, ss, **pythia_kwargs)
