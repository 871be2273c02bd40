"""Track data: event generators, FastHisto vertexing, smeared experiences and event files.

The Pythia generator lives in `altmin_hls.data.pythia` and needs the optional `pythia8mc`
package, which it imports only when called. Likewise the Delphes reader in
`altmin_hls.data.delphes` imports the optional `uproot` package only when called, and the
generator comparison plot in `altmin_hls.data.validation` imports matplotlib and mplhep
only when called.
"""

from altmin_hls.data.eventfile import read_events, write_events
from altmin_hls.data.experiences import make_experiences, make_experiences_from_tracks, smear
from altmin_hls.data.parametric import generate_parametric
from altmin_hls.data.tracks import TrackSet
from altmin_hls.data.vertex import compute_dz, fasthisto

__all__ = [
    "TrackSet",
    "compute_dz",
    "fasthisto",
    "generate_parametric",
    "make_experiences",
    "make_experiences_from_tracks",
    "read_events",
    "smear",
    "write_events",
]
