"""Column-oriented container for L1 tracks grouped in events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

FEATURE_NAMES: tuple[str, ...] = ("eta", "phi", "pt", "z0", "dz")
"""Column order of `TrackSet.features()`."""

TRACK_SELECTION = {"pt_min": 2.0, "abs_eta_max": 2.4, "abs_z0_max": 15.0}
"""L1 track selection: pt > 2 GeV, |eta| < 2.4, |z0| < 15 cm."""


@dataclass
class TrackSet:
    """Tracks of several events, one array per column.

    Per-track arrays (length n_tracks): `event` (0-based event id, non-decreasing), `eta`,
    `phi` (rad), `pt` (GeV), `z0` (cm), `dz` = |z0 - z_pv| (cm) and `label` (1 for a
    hard-scatter track, 0 for pile-up). Per-event arrays (length n_events): `z_pv`, the
    reconstructed primary vertex z, and `z_true`, the true hard-scatter vertex z (cm).
    An event may have no tracks. The constructor converts dtypes and raises ValueError on
    inconsistent lengths, event ids outside [0, n_events) or out of order, and labels other
    than 0 and 1.
    """

    event: NDArray[np.int64]
    eta: NDArray[np.float64]
    phi: NDArray[np.float64]
    pt: NDArray[np.float64]
    z0: NDArray[np.float64]
    dz: NDArray[np.float64]
    label: NDArray[np.int8]
    z_pv: NDArray[np.float64]
    z_true: NDArray[np.float64]

    def __post_init__(self) -> None:
        self.event = _as_1d(self.event, np.int64, "event")
        for name in ("eta", "phi", "pt", "z0", "dz", "z_pv", "z_true"):
            setattr(self, name, _as_1d(getattr(self, name), np.float64, name))
        # Check labels before the int8 cast, which would wrap 257 to 1.
        label = np.asarray(self.label)
        if label.size and not np.all(np.isin(label, (0, 1))):
            raise ValueError("labels must be 0 (pile-up) or 1 (hard scatter)")
        self.label = _as_1d(label, np.int8, "label")

        n_tracks = len(self.event)
        for name in ("eta", "phi", "pt", "z0", "dz", "label"):
            if len(getattr(self, name)) != n_tracks:
                raise ValueError(
                    f"column {name!r} has {len(getattr(self, name))} entries but 'event' has "
                    f"{n_tracks}; every per-track column needs one entry per track"
                )
        if len(self.z_true) != len(self.z_pv):
            raise ValueError(
                f"'z_true' has {len(self.z_true)} entries but 'z_pv' has {len(self.z_pv)}; "
                "both need one entry per event"
            )
        if n_tracks == 0:
            return
        if np.any(np.diff(self.event) < 0):
            first = int(np.argmax(np.diff(self.event) < 0)) + 1
            raise ValueError(
                f"event ids must be non-decreasing, but track {first} has event "
                f"{self.event[first]} after event {self.event[first - 1]}"
            )
        if self.event[0] < 0 or self.event[-1] >= self.n_events:
            raise ValueError(
                f"event ids must lie in [0, {self.n_events}) because z_pv has {self.n_events} "
                f"entries, got ids from {self.event[0]} to {self.event[-1]}"
            )

    @property
    def n_tracks(self) -> int:
        """Number of tracks."""
        return len(self.event)

    @property
    def n_events(self) -> int:
        """Number of events, including events without tracks."""
        return len(self.z_pv)

    def tracks_per_event(self) -> NDArray[np.int64]:
        """Return the number of tracks in each event (length n_events)."""
        return np.bincount(self.event, minlength=self.n_events)

    def features(self) -> NDArray[np.float64]:
        """Return an (n_tracks, 5) float64 array with columns eta, phi, pt, z0, dz."""
        return np.column_stack([self.eta, self.phi, self.pt, self.z0, self.dz])

    def select(self, mask: ArrayLike) -> TrackSet:
        """Return the tracks where the boolean mask is true, keeping every event."""
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (self.n_tracks,):
            raise ValueError(
                f"select needs a boolean mask of shape ({self.n_tracks},), got dtype "
                f"{mask.dtype} and shape {mask.shape}"
            )
        return TrackSet(
            event=self.event[mask],
            eta=self.eta[mask],
            phi=self.phi[mask],
            pt=self.pt[mask],
            z0=self.z0[mask],
            dz=self.dz[mask],
            label=self.label[mask],
            z_pv=self.z_pv.copy(),
            z_true=self.z_true.copy(),
        )

    @classmethod
    def concat(cls, sets: Sequence[TrackSet]) -> TrackSet:
        """Join track sets one after the other, renumbering events to stay 0-based."""
        if not sets:
            return cls.empty(0)
        offsets = np.cumsum([0] + [s.n_events for s in sets[:-1]])
        return cls(
            event=np.concatenate([s.event + off for s, off in zip(sets, offsets, strict=True)]),
            eta=np.concatenate([s.eta for s in sets]),
            phi=np.concatenate([s.phi for s in sets]),
            pt=np.concatenate([s.pt for s in sets]),
            z0=np.concatenate([s.z0 for s in sets]),
            dz=np.concatenate([s.dz for s in sets]),
            label=np.concatenate([s.label for s in sets]),
            z_pv=np.concatenate([s.z_pv for s in sets]),
            z_true=np.concatenate([s.z_true for s in sets]),
        )

    @classmethod
    def empty(cls, n_events: int) -> TrackSet:
        """Return a set of n_events events with no tracks and all vertices at z = 0."""
        no_tracks = np.zeros(0)
        return cls(
            event=np.zeros(0, dtype=np.int64),
            eta=no_tracks,
            phi=no_tracks,
            pt=no_tracks,
            z0=no_tracks,
            dz=no_tracks,
            label=np.zeros(0, dtype=np.int8),
            z_pv=np.zeros(n_events),
            z_true=np.zeros(n_events),
        )

    def equals(self, other: TrackSet) -> bool:
        """Return True when every column of both sets is identical, bit for bit."""
        return all(
            np.array_equal(getattr(self, name), getattr(other, name))
            for name in ("event", "eta", "phi", "pt", "z0", "dz", "label", "z_pv", "z_true")
        )


def _as_1d(values: ArrayLike, dtype: type, name: str) -> NDArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"column {name!r} must be one-dimensional, got shape {array.shape}")
    needs_integers = np.issubdtype(dtype, np.integer) and not np.issubdtype(array.dtype, np.integer)
    if needs_integers and not np.all(np.isfinite(array) & (array == np.round(array))):
        raise ValueError(f"column {name!r} must contain integers, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=dtype)
