"""Steps shared by the event generators: seeds, vertex positions, selection, vertex finding."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from altmin_hls.data.tracks import TRACK_SELECTION, TrackSet
from altmin_hls.data.vertex import compute_dz, fasthisto

BEAMSPOT_SIGMA_Z_CM = 5.3
"""Gaussian width of the luminous region along the beam (cm)."""
BEAMSPOT_Z_LIMIT_CM = 25.0
"""Vertices are drawn only inside |z| < this limit (cm)."""


def as_seed_sequence(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    """Wrap a non-negative integer seed in a SeedSequence, and pass a SeedSequence through."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or numpy SeedSequence, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.SeedSequence(int(seed))


def truncated_normal(
    rng: np.random.Generator, size: int, sigma: float, limit: float
) -> NDArray[np.float64]:
    """Draw a zero-mean Gaussian of width sigma restricted to |x| < limit, by rejection."""
    values = sigma * rng.standard_normal(size)
    outside = np.flatnonzero(np.abs(values) >= limit)
    while outside.size:
        values[outside] = sigma * rng.standard_normal(outside.size)
        outside = outside[np.abs(values[outside]) >= limit]
    return values


def draw_vertex_z(rng: np.random.Generator, size: int) -> NDArray[np.float64]:
    """Draw interaction vertex z positions (cm) from the truncated beam-spot Gaussian."""
    return truncated_normal(rng, size, BEAMSPOT_SIGMA_Z_CM, BEAMSPOT_Z_LIMIT_CM)


def l1_selection(
    eta: NDArray[np.float64], pt: NDArray[np.float64], z0: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Return the mask of tracks passing pt > 2 GeV, |eta| < 2.4 and |z0| < 15 cm."""
    return (
        (pt > TRACK_SELECTION["pt_min"])
        & (np.abs(eta) < TRACK_SELECTION["abs_eta_max"])
        & (np.abs(z0) < TRACK_SELECTION["abs_z0_max"])
    )


def assemble_events(
    event: NDArray[np.int64],
    eta: NDArray[np.float64],
    phi: NDArray[np.float64],
    pt: NDArray[np.float64],
    z0: NDArray[np.float64],
    label: NDArray[np.int8],
    z_true: NDArray[np.float64],
    rng: np.random.Generator,
) -> TrackSet:
    """Select measured tracks, shuffle them within events, and find each event's vertex.

    Returns a TrackSet sorted by event, with the tracks of each event in random order so that
    the position of a track carries no information about its label. z_pv comes from FastHisto
    with its default settings on the selected tracks.
    """
    keep = l1_selection(eta, pt, z0)
    order = np.lexsort((rng.random(int(keep.sum())), event[keep]))
    event, eta, phi, pt, z0, label = (a[keep][order] for a in (event, eta, phi, pt, z0, label))

    z_pv = fasthisto(z0, pt, event, n_events=len(z_true))
    return TrackSet(
        event=event,
        eta=eta,
        phi=phi,
        pt=pt,
        z0=z0,
        dz=compute_dz(z0, event, z_pv),
        label=label,
        z_pv=z_pv,
        z_true=z_true,
    )
