"""FastHisto primary-vertex finder of the CMS L1 trigger, vectorised over events.

Per event, the track z0 values fill a histogram of `n_bins` equal bins over
[-z_range, z_range] cm, each track weighted by min(pt, pt_cap). Every window of `window`
adjacent bins is a candidate, from bins 0..window-1 up to the window ending in the last bin.
The window with the largest weight sum wins, and ties go to the window with the lowest z.
The vertex z is the mean of the bin centres in that window, weighted by the bin contents.

Bins are half-open [low, high), except the last bin, which also takes z0 = +z_range. Tracks
outside the range are left out of the histogram. An event with no track inside the range
gets z_pv = 0.0, the nominal beam-spot centre, and a WARNING log counts such events.

The CMSSW emulation (L1Trigger/VertexFinder, VertexFinder::FastHisto) builds only
n_bins - window windows, so its window never contains the last bin. Here the last window is
kept, which makes the histogram symmetric about z = 0.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import ArrayLike, NDArray

logger = logging.getLogger(__name__)

_EVENTS_PER_CHUNK = 4096
"""Events histogrammed at once, which bounds memory at chunk * n_bins float64 values."""


def fasthisto(
    z0: ArrayLike,
    pt: ArrayLike,
    event: ArrayLike,
    n_bins: int = 256,
    z_range: float = 15.0,
    pt_cap: float = 127.0,
    *,
    window: int = 3,
    n_events: int | None = None,
) -> NDArray[np.float64]:
    """Find the primary vertex z (cm) of each event with FastHisto.

    `event` is the 0-based event id of each track and must be non-decreasing.
    `n_events` defaults to the largest event id + 1. Pass it when trailing events may
    have no tracks. Returns an array of length n_events.
    """
    z0 = np.asarray(z0, dtype=np.float64)
    pt = np.asarray(pt, dtype=np.float64)
    event = np.asarray(event, dtype=np.int64)
    if not (z0.shape == pt.shape == event.shape) or z0.ndim != 1:
        raise ValueError(
            f"z0, pt and event must be 1-D arrays of one length, got shapes {z0.shape}, "
            f"{pt.shape} and {event.shape}"
        )
    if n_bins < window or window < 1:
        raise ValueError(f"need 1 <= window <= n_bins, got window={window}, n_bins={n_bins}")
    if z_range <= 0.0 or pt_cap <= 0.0:
        raise ValueError(f"z_range and pt_cap must be positive, got {z_range} and {pt_cap}")
    if event.size and np.any(np.diff(event) < 0):
        raise ValueError("event ids must be non-decreasing")
    if n_events is None:
        n_events = int(event[-1]) + 1 if event.size else 0
    if event.size and (event[0] < 0 or event[-1] >= n_events):
        raise ValueError(f"event ids must lie in [0, {n_events}), got {event[0]}..{event[-1]}")

    bin_width = 2.0 * z_range / n_bins
    centres = -z_range + (np.arange(n_bins) + 0.5) * bin_width
    inside = (z0 >= -z_range) & (z0 <= z_range)
    bins = np.minimum(np.floor((z0 + z_range) / bin_width).astype(np.int64), n_bins - 1)
    weights = np.minimum(pt, pt_cap)

    z_pv = np.zeros(n_events)
    empty_events = 0
    for first_event in range(0, n_events, _EVENTS_PER_CHUNK):
        n_chunk = min(_EVENTS_PER_CHUNK, n_events - first_event)
        rows = slice(*np.searchsorted(event, [first_event, first_event + n_chunk]))
        keep = inside[rows]
        keys = (event[rows][keep] - first_event) * n_bins + bins[rows][keep]
        hist = np.bincount(keys, weights=weights[rows][keep], minlength=n_chunk * n_bins)
        hist = hist.reshape(n_chunk, n_bins)
        z_chunk, n_empty = _best_window_z(hist, centres, window)
        z_pv[first_event : first_event + n_chunk] = z_chunk
        empty_events += n_empty

    if empty_events:
        logger.warning(
            "FastHisto: %d of %d events have no track within |z0| <= %g cm; their z_pv is 0.0",
            empty_events,
            n_events,
            z_range,
        )
    return z_pv


def _best_window_z(
    hist: NDArray[np.float64], centres: NDArray[np.float64], window: int
) -> tuple[NDArray[np.float64], int]:
    """Return the weighted mean z of the heaviest window per row, and the count of empty rows."""
    n_windows = hist.shape[1] - window + 1
    sums = np.zeros((hist.shape[0], n_windows))
    moments = np.zeros_like(sums)
    # Add the bins of a window in increasing z, so equal windows give bit-equal sums.
    for offset in range(window):
        part = hist[:, offset : offset + n_windows]
        sums += part
        moments += part * centres[offset : offset + n_windows]

    best = np.argmax(sums, axis=1)  # the first maximum, so ties go to the lowest z
    rows = np.arange(hist.shape[0])
    best_sum = sums[rows, best]
    empty = best_sum <= 0.0
    z = np.where(empty, 0.0, moments[rows, best] / np.where(empty, 1.0, best_sum))
    return z, int(np.count_nonzero(empty))


def compute_dz(z0: ArrayLike, event: ArrayLike, z_pv: ArrayLike) -> NDArray[np.float64]:
    """Return |z0 - z_pv[event]| for each track, in cm."""
    z0 = np.asarray(z0, dtype=np.float64)
    z_pv = np.asarray(z_pv, dtype=np.float64)
    return np.abs(z0 - z_pv[np.asarray(event, dtype=np.int64)])
