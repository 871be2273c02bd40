"""Reader of Delphes ROOT files into L1 track events (needs the `uproot` package).

Each entry of the tree is one event. The reader takes the `Track` collection and, for the
label, the generator particle that each track references in the `Particle` collection:

| TrackSet      | Delphes field                                        | conversion           |
| ------------- | ---------------------------------------------------- | -------------------- |
| `pt` (GeV)    | `Track.PT` (GeV)                                     | none                 |
| `eta`         | `Track.Eta`                                          | none                 |
| `phi` (rad)   | `Track.Phi` (rad)                                    | wrapped to [-pi, pi) |
| `z0` (cm)     | `Track.DZ`, else `Track.Zd`, else `Track.Z` (mm)     | divided by 10        |
| `label`       | `Particle.IsPU` of the particle in `Track.Particle`  | 1 where IsPU == 0    |
| `z_true` (cm) | `Particle.Z` (mm) of the hard-scatter particles      | median, divided by 10 |

`Track.DZ` is the longitudinal impact parameter, which is the L1 z0. Older Delphes
versions have no `Track.DZ`, and their `Track.Zd` is the z of the point of closest
approach. `Track.Z` is the production vertex of the particle, which equals z0 only for
prompt tracks, so it is the last choice and the reader logs a WARNING when it uses it.
Delphes writes lengths in mm: its `ParticlePropagator` stores `DZ = dz * 1.0E3` with dz
in m, for example. TrackSet uses cm.

`Track.Particle` is a ROOT TRef. It stores the fUniqueID of the referenced object, and
Delphes' `TreeWriter` copies the fUniqueID of each particle candidate into the
`Particle.fUniqueID` of the GenParticle it writes. The reader therefore resolves a
reference by matching the lower 24 bits (the object number of a ROOT unique ID) against
`Particle.fUniqueID` within the same event, never by position. In the Delphes ttbar
sample `uproot-issue513.root` of scikit-hep-testdata 0.3.12 the IDs happen to run 1, 2, ...
in branch order, but the reader does not rely on that. A reference of 0 is a null TRef,
which some Delphes versions write for every track, and the reader raises on it.

The hard-scatter vertex z of an event is the median production z of the hard-scatter
particles that its tracks reference, because most of them are prompt. Delphes'
`PileUpMerger` shifts exactly those (the stable particles) by the smeared vertex z, but not
the beam particles and partons of the `Delphes/allParticles` record. An event without a
hard-scatter track falls back to the median over all its particles with IsPU == 0.

Two layouts are read:
- Delphes' own split branches: a top-level branch `Track` with sub-branches `Track.PT`,
  ..., and `Track.Particle` of type TRef. A tree may hold several top-level branches of
  one name (that test file also has a jet collection named `Particle`), and the reader
  takes the one that has the required fields.
- Flat branches `Track.PT`, ... at the top level with a shared counter such as
  `Track_size`, which is what uproot writes from a record of jagged arrays. There
  `Track.Particle` may hold the referenced unique IDs as plain unsigned integers.

Pile-up: a Delphes file labels pile-up only if the `Particle` branch stores the pile-up
particles, as with `add Branch PileUpMerger/stableParticles Particle GenParticle` in the
TreeWriter of the card. With the usual `Delphes/allParticles`, tracks of pile-up
particles reference particles that are not stored. `read_delphes` raises on such
references unless `unresolved_as_pileup=True`.

The tracks keep the resolution of the Delphes card that made the file, and no L1
resolution is added. The L1 selection, the shuffle within events, FastHisto and dz are the
steps of the generators (`events.assemble_events`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from altmin_hls.data.events import as_seed_sequence, assemble_events
from altmin_hls.data.resolution import wrap_phi
from altmin_hls.data.tracks import TrackSet
from altmin_hls.errors import DataFileError

logger = logging.getLogger(__name__)

MM_PER_CM = 10.0
"""Delphes lengths are in mm, TrackSet lengths in cm."""
Z0_FIELDS = ("DZ", "Zd", "Z")
"""Track fields tried for z0, in order of preference."""
TRACK_FIELDS = ("PT", "Eta", "Phi", "Particle")
"""Track fields that must exist, besides one of Z0_FIELDS."""
PARTICLE_FIELDS = ("fUniqueID", "IsPU", "Z")
"""Particle fields that must exist."""

_ROOT_MAGIC = b"root"
_OBJECT_NUMBER_MASK = 0xFFFFFF
"""ROOT keeps the object number of a unique ID in its lower 24 bits."""


def read_delphes(
    path: str | os.PathLike[str],
    tree: str = "Delphes",
    max_events: int | None = None,
    seed: int | np.random.SeedSequence = 0,
    *,
    unresolved_as_pileup: bool = False,
) -> TrackSet:
    """Read the tracks of a Delphes ROOT file into a TrackSet of L1 tracks.

    Reads the first `max_events` entries of `tree` (all when None). Tracks pass the L1
    selection, and z_pv and dz come from FastHisto as for the generators. `seed` sets the
    order of the tracks within each event, so the result is identical for identical
    arguments. With `unresolved_as_pileup`, a track whose Track.Particle reference matches
    no stored particle is labelled pile-up. Use it only when the Particle branch contains the
    whole hard-scatter record. Raises DataFileError naming the file when it is missing or
    not a ROOT file, the tree or a branch or field is missing, or a reference cannot be
    resolved.
    """
    path = Path(path)
    if max_events is not None and (isinstance(max_events, bool) or max_events < 0):
        raise ValueError(f"max_events must be None or >= 0, got {max_events!r}")
    seed_sequence = as_seed_sequence(seed)

    _check_root_magic(path)
    with _open_root_file(path) as root_file:
        root_tree = _get_tree(path, root_file, tree)
        n_available = root_tree.num_entries
        n_events = n_available if max_events is None else min(max_events, n_available)
        event, columns, z_true, z0_field = _read_tracks(
            path, root_tree, n_events, unresolved_as_pileup
        )

    tracks = assemble_events(
        event,
        columns["eta"],
        columns["phi"],
        columns["pt"],
        columns["z0"],
        columns["label"],
        z_true,
        np.random.default_rng(seed_sequence),
    )
    logger.info(
        "delphes: %d events, %d tracks of which %d pass the L1 selection, z0 from Track.%s, "
        "from %s",
        n_events,
        len(event),
        tracks.n_tracks,
        z0_field,
        path,
    )
    return tracks


def _read_tracks(
    path: Path, root_tree: Any, n_events: int, unresolved_as_pileup: bool
) -> tuple[NDArray[np.int64], dict[str, NDArray], NDArray[np.float64], str]:
    """Read and label the tracks of the first n_events entries, before any selection.

    Returns the event id per track, the columns eta, phi, pt, z0 (cm) and label, the
    hard-scatter vertex z per event (cm), and the name of the field used for z0.
    """
    track_fields = _find_collection(path, root_tree, "Track", TRACK_FIELDS, Z0_FIELDS)
    particle_fields = _find_collection(path, root_tree, "Particle", PARTICLE_FIELDS)
    z0_field = next(name for name in Z0_FIELDS if name in track_fields)
    if z0_field == "Z":
        logger.warning(
            "%s: Track has neither DZ nor Zd, so z0 is the production vertex Track.Z, "
            "which differs from z0 for displaced tracks",
            path,
        )
    track_counts, track = _read_fields(
        path, track_fields, "Track", (*TRACK_FIELDS, z0_field), n_events
    )
    particle_counts, particle = _read_fields(
        path, particle_fields, "Particle", PARTICLE_FIELDS, n_events
    )

    event = np.repeat(np.arange(n_events, dtype=np.int64), track_counts)
    particle_event = np.repeat(np.arange(n_events, dtype=np.int64), particle_counts)
    matched = _resolve_references(
        path, event, track["Particle"], particle_event, particle["fUniqueID"], unresolved_as_pileup
    )
    is_pileup = particle["IsPU"] != 0
    label = np.zeros(len(event), dtype=np.int8)
    found = matched >= 0
    label[found] = ~is_pileup[matched[found]]
    z_true = _hard_scatter_vertex_z(
        path, event, matched, label, particle_event, particle["Z"], is_pileup, n_events
    )
    columns = {
        "eta": track["Eta"].astype(np.float64),
        "phi": wrap_phi(track["Phi"]),
        "pt": track["PT"].astype(np.float64),
        "z0": track[z0_field].astype(np.float64) / MM_PER_CM,
        "label": label,
    }
    return event, columns, z_true, z0_field


def _check_root_magic(path: Path) -> None:
    """Raise DataFileError unless path is a readable file that starts like a ROOT file."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(_ROOT_MAGIC))
    except FileNotFoundError:
        raise DataFileError(f"{path}: Delphes file not found. Check the path.") from None
    except IsADirectoryError:
        raise DataFileError(
            f"{path}: is a folder, not a Delphes ROOT file. Check the path."
        ) from None
    except OSError as error:
        raise DataFileError(
            f"{path}: cannot read the Delphes file ({error.strerror}). Check its permissions."
        ) from error
    if magic != _ROOT_MAGIC:
        raise DataFileError(
            f"{path}: not a ROOT file, because it starts with {magic!r} instead of "
            f"{_ROOT_MAGIC!r}. Pass the .root file that Delphes wrote."
        )


def _open_root_file(path: Path) -> Any:
    """Open a ROOT file with uproot, raising DataFileError when its header is unreadable."""
    import uproot

    try:
        return uproot.open(path)
    except (OSError, ValueError, uproot.deserialization.DeserializationError) as error:
        raise DataFileError(
            f"{path}: cannot read the ROOT file ({_first_line(error)}). The file may be "
            "truncated or damaged, so write it again."
        ) from error


def _get_tree(path: Path, root_file: Any, tree: str) -> Any:
    """Return the TTree `tree` of an open file, raising DataFileError listing the trees."""
    import uproot

    try:
        trees = _tree_names(root_file)
    except (OSError, ValueError, uproot.deserialization.DeserializationError) as error:
        raise DataFileError(
            f"{path}: cannot read the ROOT file ({_first_line(error)}). The file may be "
            "truncated or damaged, so write it again."
        ) from error
    if tree not in trees:
        found = ", ".join(repr(name) for name in trees) if trees else "none"
        raise DataFileError(
            f"{path}: tree {tree!r} not found. The file contains the trees {found}. "
            "Pass one of them as the tree name."
        )
    root_tree = root_file[tree]
    if not isinstance(root_tree, uproot.TTree):
        raise DataFileError(
            f"{path}: {tree!r} is a {root_tree.classname}, not a TTree. Write the file as a "
            "TTree, as Delphes does."
        )
    return root_tree


def _tree_names(root_file: Any) -> list[str]:
    """Return the paths of the TTrees and RNTuples in the file, without cycle numbers."""
    classes = root_file.classnames(recursive=True, cycle=False)
    return [name for name, kind in classes.items() if kind in ("TTree", "ROOT::RNTuple")]


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _find_collection(
    path: Path,
    tree: Any,
    name: str,
    required: tuple[str, ...],
    any_of: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Map the field names of collection `name` (such as "PT" for Track.PT) to branches.

    Looks for top-level branches named `name` with sub-branches (the Delphes layout) and
    for flat top-level branches named `name.field`. When several candidates exist, the
    first with every required field wins. Raises DataFileError listing what exists.
    """
    prefix = f"{name}."
    candidates = [
        {sub.name[len(prefix) :]: sub for sub in branch.branches if sub.name.startswith(prefix)}
        for branch in tree.branches
        if branch.name == name and branch.branches
    ]
    flat = {
        branch.name[len(prefix) :]: branch
        for branch in tree.branches
        if branch.name.startswith(prefix)
    }
    if flat:
        candidates.append(flat)
    if not candidates:
        top_level = list(dict.fromkeys(branch.name for branch in tree.branches))
        raise DataFileError(
            f"{path}: tree {tree.name!r} has no {name} branch. Its branches are "
            f"{', '.join(top_level) or 'none'}. Write the {name} collection with the Delphes "
            "TreeWriter."
        )

    def missing_fields(fields: dict[str, Any]) -> list[str]:
        missing = [field for field in required if field not in fields]
        if any_of and not any(field in fields for field in any_of):
            missing.append(" or ".join(any_of))
        return missing

    best = min(candidates, key=lambda fields: len(missing_fields(fields)))
    missing = missing_fields(best)
    if missing:
        missing_names = ", ".join(prefix + field for field in missing)
        present = ", ".join(prefix + field for field in best) or "none"
        raise DataFileError(
            f"{path}: branch {name} lacks the fields {missing_names}. It has {present}. "
            f"Write the file with a Delphes version whose {name} class has these fields."
        )
    return best


def _read_fields(
    path: Path,
    fields: dict[str, Any],
    collection: str,
    names: tuple[str, ...],
    n_events: int,
) -> tuple[NDArray[np.int64], dict[str, NDArray]]:
    """Read jagged fields of one collection for the first n_events entries.

    Returns the number of objects per event and one flat NumPy array per field. A TRef
    field (a record with a `ref` field) becomes its array of referenced unique IDs.
    """
    import awkward
    import uproot

    counts: dict[str, NDArray[np.int64]] = {}
    flat: dict[str, NDArray] = {}
    for name in names:
        branch = fields[name]
        try:
            values = branch.array(entry_stop=n_events, library="ak")
        except (OSError, ValueError, uproot.deserialization.DeserializationError) as error:
            raise DataFileError(
                f"{path}: cannot read branch {branch.name} ({_first_line(error)}). The file may "
                "be damaged, so write it again."
            ) from error
        if values.ndim != 2:
            raise DataFileError(
                f"{path}: branch {branch.name} has type {values.type}, expected one list of "
                f"values per event. Write {collection} as a jagged collection."
            )
        if awkward.fields(values):
            if "ref" not in awkward.fields(values):
                raise DataFileError(
                    f"{path}: branch {branch.name} is a record with fields "
                    f"{awkward.fields(values)}, expected a TRef with a 'ref' field or plain "
                    "unique IDs."
                )
            values = values["ref"]
        counts[name] = awkward.to_numpy(awkward.num(values, axis=1)).astype(np.int64)
        flat[name] = awkward.to_numpy(awkward.flatten(values, axis=1))

    first_name = names[0]
    for name in names[1:]:
        if not np.array_equal(counts[name], counts[first_name]):
            event = int(np.argmax(counts[name] != counts[first_name]))
            raise DataFileError(
                f"{path}: branch {fields[name].name} has {counts[name][event]} entries in event "
                f"{event} but {fields[first_name].name} has {counts[first_name][event]}. All "
                f"{collection} fields need one value per object."
            )
    return counts[first_name], flat


def _resolve_references(
    path: Path,
    track_event: NDArray[np.int64],
    references: NDArray,
    particle_event: NDArray[np.int64],
    unique_ids: NDArray,
    unresolved_as_pileup: bool,
) -> NDArray[np.int64]:
    """Return, per track, the index of the referenced particle, or -1 when it is not stored.

    Matches the object numbers of the references against Particle.fUniqueID within each
    event. Raises DataFileError on null references, duplicate unique IDs within an event,
    and (unless unresolved_as_pileup) references to particles that are not stored.
    """
    if not np.issubdtype(references.dtype, np.integer):
        raise DataFileError(
            f"{path}: Track.Particle has values of type {references.dtype}, expected a TRef "
            "or unsigned integer unique IDs."
        )
    track_numbers = references.astype(np.int64) & _OBJECT_NUMBER_MASK
    null = track_numbers == 0
    if np.any(null):
        first = int(np.argmax(null))
        raise DataFileError(
            f"{path}: {int(null.sum())} tracks have an empty Track.Particle reference, the "
            f"first in event {track_event[first]}, so their particle and label are unknown. "
            "Write the file with a Delphes version that fills Track.Particle."
        )

    particle_keys = (particle_event << 24) | (unique_ids.astype(np.int64) & _OBJECT_NUMBER_MASK)
    order = np.argsort(particle_keys, kind="stable")
    sorted_keys = particle_keys[order]
    duplicate = np.flatnonzero(np.diff(sorted_keys) == 0)
    if duplicate.size:
        key = int(sorted_keys[duplicate[0]])
        raise DataFileError(
            f"{path}: event {key >> 24} has several particles with fUniqueID "
            f"{key & _OBJECT_NUMBER_MASK}, so Track.Particle references are ambiguous. "
            "Write the file again with Delphes."
        )

    track_keys = (track_event << 24) | track_numbers
    position = np.searchsorted(sorted_keys, track_keys)
    inside = position < len(sorted_keys)
    found = np.zeros(len(track_keys), dtype=bool)
    found[inside] = sorted_keys[position[inside]] == track_keys[inside]
    matched = np.full(len(track_keys), -1, dtype=np.int64)
    matched[found] = order[position[found]]

    unresolved = int(np.count_nonzero(~found))
    if unresolved and not unresolved_as_pileup:
        first = int(np.argmax(~found))
        raise DataFileError(
            f"{path}: {unresolved} of {len(found)} tracks reference particles that are not in "
            f"the Particle branch, the first in event {track_event[first]} with unique ID "
            f"{track_numbers[first]}, so their labels are unknown. Store the pile-up particles "
            "(add Branch PileUpMerger/stableParticles Particle GenParticle in the TreeWriter of "
            "the card), or pass unresolved_as_pileup=True if the Particle branch contains the "
            "whole hard-scatter record."
        )
    if unresolved:
        logger.info(
            "%s: %d of %d tracks reference unstored particles and are labelled pile-up",
            path,
            unresolved,
            len(found),
        )
    return matched


def _hard_scatter_vertex_z(
    path: Path,
    track_event: NDArray[np.int64],
    matched: NDArray[np.int64],
    label: NDArray[np.int8],
    particle_event: NDArray[np.int64],
    particle_z_mm: NDArray,
    is_pileup: NDArray[np.bool_],
    n_events: int,
) -> NDArray[np.float64]:
    """Return per event the hard-scatter vertex z (cm), as described in the module docstring."""
    hard_tracks = label == 1
    z_mm = particle_z_mm.astype(np.float64)
    z_true, counts = _median_per_event(
        track_event[hard_tracks], z_mm[matched[hard_tracks]], n_events
    )
    without_tracks = counts == 0
    if np.any(without_tracks):
        hard_particles = ~is_pileup
        fallback, particle_counts = _median_per_event(
            particle_event[hard_particles], z_mm[hard_particles], n_events
        )
        if np.any(particle_counts[without_tracks] == 0):
            first = int(np.argmax(without_tracks & (particle_counts == 0)))
            raise DataFileError(
                f"{path}: event {first} has no particle with IsPU == 0, so its hard-scatter "
                "vertex is unknown. Store the hard-scatter particles in the Particle branch."
            )
        z_true[without_tracks] = fallback[without_tracks]
    return z_true / MM_PER_CM


def _median_per_event(
    event: NDArray[np.int64], values: NDArray[np.float64], n_events: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Return the median of the values of each event (NaN where none) and their counts."""
    counts = np.bincount(event, minlength=n_events)
    ordered = values[np.lexsort((values, event))]
    starts = np.cumsum(counts) - counts
    medians = np.full(n_events, np.nan)
    filled = counts > 0
    low = starts[filled] + (counts[filled] - 1) // 2
    high = starts[filled] + counts[filled] // 2
    medians[filled] = 0.5 * (ordered[low] + ordered[high])
    return medians, counts
