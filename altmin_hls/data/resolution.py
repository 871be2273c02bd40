"""Nominal L1 track resolutions as step functions of |eta|.

Each resolution is constant inside a |eta| bin of width 0.2 and takes the value of the last
bin (2.2-2.4) beyond |eta| = 2.4, which smeared tracks can reach.

| abs(eta)  | z0 (cm) | pt (relative) | eta      | phi (rad) |
| --------- | ------- | ------------- | -------- | --------- |
| 0.0-0.2   | 0.10    | 0.0050        | 0.0010   | 0.0010    |
| 0.2-0.4   | 0.10    | 0.0050        | 0.0010   | 0.0010    |
| 0.4-0.6   | 0.11    | 0.0055        | 0.0011   | 0.0010    |
| 0.6-0.8   | 0.12    | 0.0060        | 0.0012   | 0.0011    |
| 0.8-1.0   | 0.14    | 0.0070        | 0.0013   | 0.0011    |
| 1.0-1.2   | 0.16    | 0.0080        | 0.0014   | 0.0012    |
| 1.2-1.4   | 0.19    | 0.0100        | 0.0016   | 0.0013    |
| 1.4-1.6   | 0.22    | 0.0120        | 0.0018   | 0.0014    |
| 1.6-1.8   | 0.26    | 0.0150        | 0.0020   | 0.0015    |
| 1.8-2.0   | 0.30    | 0.0190        | 0.0023   | 0.0017    |
| 2.0-2.2   | 0.36    | 0.0240        | 0.0026   | 0.0018    |
| 2.2-2.4   | 0.42    | 0.0300        | 0.0030   | 0.0020    |

Only the end points of the z0 and pt columns are CMS L1 figures: a z0 resolution of about
0.10 cm for |eta| < 0.4 and 0.42 cm at 2.2-2.4, and a pt resolution of about 0.5 % rising to
3 %. The bins between them are an estimate, a smooth rise between the two end points. The eta
and phi columns are estimates at the 1e-3 scale with no CMS figure behind them.

The pt resolution is relative and applies to the curvature 1/pt (see `smear_pt`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

ETA_BIN_WIDTH = 0.2
"""Width of the |eta| bins of the tables below."""

Z0_RESOLUTION_CM = np.array(
    [0.10, 0.10, 0.11, 0.12, 0.14, 0.16, 0.19, 0.22, 0.26, 0.30, 0.36, 0.42]
)
PT_RELATIVE_RESOLUTION = np.array(
    [0.0050, 0.0050, 0.0055, 0.0060, 0.0070, 0.0080, 0.0100, 0.0120, 0.0150, 0.0190, 0.0240, 0.0300]
)
ETA_RESOLUTION = np.array(
    [0.0010, 0.0010, 0.0011, 0.0012, 0.0013, 0.0014, 0.0016, 0.0018, 0.0020, 0.0023, 0.0026, 0.0030]
)
PHI_RESOLUTION_RAD = np.array(
    [0.0010, 0.0010, 0.0010, 0.0011, 0.0011, 0.0012, 0.0013, 0.0014, 0.0015, 0.0017, 0.0018, 0.0020]
)


def eta_bin(eta: ArrayLike) -> NDArray[np.int64]:
    """Return the index of the |eta| bin of each track, clamped to the last bin."""
    abs_eta = np.abs(np.asarray(eta, dtype=np.float64))
    index = np.floor(abs_eta / ETA_BIN_WIDTH).astype(np.int64)
    return np.minimum(index, len(Z0_RESOLUTION_CM) - 1)


def z0_resolution(eta: ArrayLike) -> NDArray[np.float64]:
    """Return the z0 resolution in cm at each track's eta."""
    return Z0_RESOLUTION_CM[eta_bin(eta)]


def pt_resolution(eta: ArrayLike) -> NDArray[np.float64]:
    """Return the relative pt resolution (sigma_pt / pt, applied to 1/pt) at each eta."""
    return PT_RELATIVE_RESOLUTION[eta_bin(eta)]


def eta_resolution(eta: ArrayLike) -> NDArray[np.float64]:
    """Return the eta resolution at each track's eta."""
    return ETA_RESOLUTION[eta_bin(eta)]


def phi_resolution(eta: ArrayLike) -> NDArray[np.float64]:
    """Return the phi resolution in rad at each track's eta."""
    return PHI_RESOLUTION_RAD[eta_bin(eta)]


def wrap_phi(phi: ArrayLike) -> NDArray[np.float64]:
    """Map angles to [-pi, pi)."""
    phi = np.asarray(phi, dtype=np.float64)
    return (phi + np.pi) % (2.0 * np.pi) - np.pi


def smear_pt(
    pt: NDArray[np.float64], relative_sigma: NDArray[np.float64], rng: np.random.Generator
) -> NDArray[np.float64]:
    """Smear pt through the curvature: 1/pt gets a Gaussian of width relative_sigma / pt.

    The track fit measures curvature, so its error is Gaussian in 1/pt. A curvature that
    changes sign is a charge flip, and the returned pt is 1 / |curvature|, which keeps it
    positive. A curvature of exactly zero (probability zero) is floored at 1e-12 / GeV.
    """
    curvature = (1.0 + relative_sigma * rng.standard_normal(pt.shape)) / pt
    return 1.0 / np.maximum(np.abs(curvature), 1e-12)


def smear_track_parameters(
    eta: NDArray[np.float64],
    phi: NDArray[np.float64],
    pt: NDArray[np.float64],
    z0: NDArray[np.float64],
    scale: float,
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Add Gaussian noise of width scale * (nominal resolution at the input eta) to each track.

    Returns new (eta, phi, pt, z0) arrays. Phi is wrapped to [-pi, pi), and nothing else is
    clipped. Draw order is fixed (eta, phi, pt, z0), so the result is reproducible for a
    given generator state.
    """
    if scale < 0.0:
        raise ValueError(f"smearing scale must be >= 0, got {scale}")
    if scale == 0.0:
        return eta.copy(), phi.copy(), pt.copy(), z0.copy()

    bins = eta_bin(eta)
    eta_new = eta + scale * ETA_RESOLUTION[bins] * rng.standard_normal(eta.shape)
    phi_new = wrap_phi(phi + scale * PHI_RESOLUTION_RAD[bins] * rng.standard_normal(phi.shape))
    pt_new = smear_pt(pt, scale * PT_RELATIVE_RESOLUTION[bins], rng)
    z0_new = z0 + scale * Z0_RESOLUTION_CM[bins] * rng.standard_normal(z0.shape)
    return eta_new, phi_new, pt_new, z0_new
