"""Scale the five track features into the range of the firmware's input type.

The scaled features fit ``ap_fixed<16,6>`` (range [-32, 32)) with room to spare:

| feature | scaled as | range |
| --- | --- | --- |
| eta | eta / 2.4 | [-1, 1] |
| phi | phi / pi | [-1, 1] |
| pt | log2(min(pt, 128 GeV) / 2 GeV) / 2 | [0, 3] above the 2 GeV cut |
| z0 | z0 / 15 cm | [-1, 1] |
| dz | 2 * min(dz, 4 cm) | [0, 8] |
"""

from __future__ import annotations

import numpy as np

from altmin_hls.errors import DataFileError
from altmin_hls.fixed import FixedType

FEATURE_NAMES = ("eta", "phi", "pt", "z0", "dz")
PT_SATURATION = 128.0  # GeV
DZ_CLIP = 4.0  # cm


def scale_features(features: np.ndarray) -> np.ndarray:
    """Return the scaled features (n, 5) of raw features (n, 5) in order eta, phi, pt, z0, dz."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != 5:
        raise ValueError(f"features must have shape (n, 5), got {features.shape}")
    bad = ~np.isfinite(features)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise DataFileError(
            f"track {row} has a non-finite {FEATURE_NAMES[column]} ({features[row, column]}); "
            "remove or fix the track before scaling"
        )
    if (features[:, 2] <= 0).any():
        row = int(np.argmax(features[:, 2] <= 0))
        raise DataFileError(f"track {row} has pt {features[row, 2]} <= 0 GeV")
    scaled = np.empty_like(features)
    scaled[:, 0] = features[:, 0] / 2.4
    scaled[:, 1] = features[:, 1] / np.pi
    scaled[:, 2] = np.log2(np.minimum(features[:, 2], PT_SATURATION) / 2.0) / 2.0
    scaled[:, 3] = features[:, 3] / 15.0
    scaled[:, 4] = 2.0 * np.clip(features[:, 4], -DZ_CLIP, DZ_CLIP)
    return scaled


def quantize_features(features: np.ndarray, input_type: FixedType) -> np.ndarray:
    """Return the raw input integers (n, 5) of raw features, scaled and rounded to the input type."""
    return input_type.from_float(scale_features(features)).astype(np.int64)
