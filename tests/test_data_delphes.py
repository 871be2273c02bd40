"""Delphes reader: the real ttbar sample, a written file with pile-up, and every error case.

The real sample is `uproot-issue513.root` from scikit-hep-testdata 0.3.12: 10 Delphes ttbar
events without pile-up, with Delphes' split branches and Track.Particle as a TRef. The
pile-up files are written here with uproot, as flat `Track.*` and `Particle.*` branches
with `Track_size` and `Particle_size` counters and Track.Particle as plain unique IDs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from altmin_hls.data import delphes
from altmin_hls.data.experiences import make_experiences_from_tracks
from altmin_hls.data.tracks import TrackSet
from altmin_hls.data.vertex import compute_dz, fasthisto
from altmin_hls.errors import DataFileError

uproot = pytest.importorskip("uproot")
awkward = pytest.importorskip("awkward")
skhep_testdata = pytest.importorskip("skhep_testdata")

REAL_EVENTS = 10
REAL_SELECTED_TRACKS = 263
"""Tracks of the real sample that pass pt > 2 GeV, |eta| < 2.4, |z0| < 15 cm."""


@pytest.fixture(scope="module")
def real_path() -> Path:
    return Path(skhep_testdata.data_path("uproot-issue513.root"))


@pytest.fixture(scope="module")
def real_tracks(real_path: Path) -> TrackSet:
    return delphes.read_delphes(real_path)


@pytest.fixture(scope="module")
def real_branches(real_path: Path) -> dict[str, Any]:
    """Selected Track and Particle fields of the real sample, read directly with uproot."""
    with uproot.open(real_path) as root_file:
        tree = root_file["Delphes"]
        track = tree["Track"]
        # The tree has two top-level branches named Particle; the first is the GenParticle one.
        particle = next(
            branch
            for branch in tree.branches
            if branch.name == "Particle" and "Particle.IsPU" in branch.keys()
        )
        return {
            "ref": track["Track.Particle"].array()["ref"],
            "track_pid": track["Track.PID"].array(),
            "track_dz": track["Track.DZ"].array(),
            "uid": particle["Particle.fUniqueID"].array(),
            "particle_pid": particle["Particle.PID"].array(),
            "is_pu": particle["Particle.IsPU"].array(),
        }


# Real Delphes sample


def test_real_file_event_count(real_tracks: TrackSet) -> None:
    assert real_tracks.n_events == REAL_EVENTS
    assert real_tracks.n_tracks == REAL_SELECTED_TRACKS


def test_real_file_multiplicity_is_ttbar_like(real_tracks: TrackSet) -> None:
    # Pythia ttbar gives 29.8 +- 11.1 tracks per event, so 10 events have a standard error
    # of 3.5; the file gives 26.3.
    assert abs(real_tracks.tracks_per_event().mean() - 29.8) < 3 * 11.1 / np.sqrt(10)


def test_real_file_has_no_pileup(real_branches: dict[str, Any]) -> None:
    assert awkward.sum(real_branches["is_pu"]) == 0


def test_real_file_labels_all_hard_scatter(real_tracks: TrackSet) -> None:
    assert np.all(real_tracks.label == 1)


def test_real_file_references_match_particles(real_branches: dict[str, Any]) -> None:
    counts = awkward.to_numpy(awkward.num(real_branches["ref"]))
    particle_counts = awkward.to_numpy(awkward.num(real_branches["uid"]))
    matched = delphes._resolve_references(
        Path("real.root"),
        np.repeat(np.arange(REAL_EVENTS), counts),
        awkward.to_numpy(awkward.flatten(real_branches["ref"])),
        np.repeat(np.arange(REAL_EVENTS), particle_counts),
        awkward.to_numpy(awkward.flatten(real_branches["uid"])),
        unresolved_as_pileup=False,
    )
    track_pid = awkward.to_numpy(awkward.flatten(real_branches["track_pid"]))
    particle_pid = awkward.to_numpy(awkward.flatten(real_branches["particle_pid"]))
    assert np.all(matched >= 0)
    np.testing.assert_array_equal(particle_pid[matched], track_pid)


def test_real_file_z0_is_dz_in_cm(real_tracks: TrackSet, real_branches: dict[str, Any]) -> None:
    dz_mm = awkward.to_numpy(awkward.flatten(real_branches["track_dz"])).astype(np.float64)
    assert np.all(np.isin(real_tracks.z0, dz_mm / 10.0))
    # Delphes' DZ spread of about 0.5 mm is 0.05 cm.
    assert 0.01 < np.std(real_tracks.z0) < 0.2


def test_real_file_selection_and_vertex(real_tracks: TrackSet) -> None:
    assert np.all(real_tracks.pt > 2.0)
    assert np.all(np.abs(real_tracks.eta) < 2.4)
    assert np.all(np.abs(real_tracks.z0) < 15.0)
    assert np.all(real_tracks.phi >= -np.pi)
    assert np.all(real_tracks.phi < np.pi)
    z_pv = fasthisto(
        real_tracks.z0, real_tracks.pt, real_tracks.event, n_events=real_tracks.n_events
    )
    np.testing.assert_array_equal(real_tracks.z_pv, z_pv)
    np.testing.assert_array_equal(
        real_tracks.dz, compute_dz(real_tracks.z0, real_tracks.event, z_pv)
    )


def test_real_file_vertex_at_origin(real_tracks: TrackSet) -> None:
    # The sample has no vertex smearing, so every hard-scatter vertex is at z = 0.
    np.testing.assert_array_equal(real_tracks.z_true, np.zeros(REAL_EVENTS))
    assert np.all(np.abs(real_tracks.z_pv) < 0.15)


def test_max_events_reads_first_events(real_path: Path, real_tracks: TrackSet) -> None:
    first = delphes.read_delphes(real_path, max_events=3)
    assert first.n_events == 3
    np.testing.assert_array_equal(first.tracks_per_event(), real_tracks.tracks_per_event()[:3])
    assert delphes.read_delphes(real_path, max_events=100).n_events == REAL_EVENTS


def test_max_events_zero(real_path: Path) -> None:
    tracks = delphes.read_delphes(real_path, max_events=0)
    assert tracks.n_events == 0
    assert tracks.n_tracks == 0


def test_negative_max_events_raises(real_path: Path) -> None:
    with pytest.raises(ValueError, match="max_events"):
        delphes.read_delphes(real_path, max_events=-1)


def test_same_seed_same_tracks(real_path: Path, real_tracks: TrackSet) -> None:
    assert delphes.read_delphes(real_path, seed=0).equals(real_tracks)


def test_seed_changes_order_only(real_path: Path, real_tracks: TrackSet) -> None:
    other = delphes.read_delphes(real_path, seed=1)
    assert not np.array_equal(other.pt, real_tracks.pt)
    np.testing.assert_array_equal(other.event, real_tracks.event)
    for event in range(REAL_EVENTS):
        np.testing.assert_array_equal(
            np.sort(other.pt[other.event == event]),
            np.sort(real_tracks.pt[real_tracks.event == event]),
        )


def test_experiences_from_real_file(real_tracks: TrackSet) -> None:
    sets = make_experiences_from_tracks(real_tracks, 4, 2, n_experiences=3, step=0.4, seed=1)
    assert [s.n_events for s in sets] == [4, 2, 2, 2]
    first_rows = real_tracks.event < 4
    np.testing.assert_array_equal(sets[0].pt, real_tracks.pt[first_rows])
    np.testing.assert_array_equal(sets[0].z_pv, real_tracks.z_pv[:4])
    for k in (1, 2, 3):
        start = 4 + 2 * (k - 1)
        rows = (real_tracks.event >= start) & (real_tracks.event < start + 2)
        np.testing.assert_array_equal(sets[k].event, real_tracks.event[rows] - start)
        np.testing.assert_array_equal(sets[k].label, real_tracks.label[rows])
        assert not np.array_equal(sets[k].z0, real_tracks.z0[rows]), k


def test_experiences_from_tracks_are_reproducible(real_tracks: TrackSet) -> None:
    first = make_experiences_from_tracks(real_tracks, 4, 2, n_experiences=3, seed=5)
    second = make_experiences_from_tracks(real_tracks, 4, 2, n_experiences=3, seed=5)
    assert all(a.equals(b) for a, b in zip(first, second, strict=True))


def test_experiences_need_enough_events(real_tracks: TrackSet) -> None:
    with pytest.raises(ValueError, match="need 11"):
        make_experiences_from_tracks(real_tracks, 5, 2, n_experiences=3)


# Written Delphes-like file with pile-up


def make_events(seed: int, n_events: int = 6) -> list[dict[str, Any]]:
    """Build events with a hard scatter and pile-up, in Delphes units (GeV, mm).

    Each event has its particles in random order with non-contiguous unique IDs, so a
    reader that resolves references by position gets the labels wrong. Every particle
    makes one track except the beam protons. Returns per event the Track and Particle
    columns and the expected labels and hard-scatter vertex z (cm).
    """
    rng = np.random.default_rng(seed)
    events = []
    for _ in range(n_events):
        z_true_mm = rng.normal(0.0, 50.0)
        n_hard, n_vertices = 30, 60
        vertex_mm = rng.normal(0.0, 50.0, n_vertices)
        n_per_vertex = rng.integers(1, 4, n_vertices)
        hard_z = np.full(n_hard, z_true_mm)
        hard_z[:3] += rng.normal(0.0, 5.0, 3)  # a few displaced hard-scatter particles
        z_mm = np.concatenate([[z_true_mm, z_true_mm], hard_z, np.repeat(vertex_mm, n_per_vertex)])
        is_pu = np.concatenate([[0, 0], np.zeros(n_hard, int), np.ones(n_per_vertex.sum(), int)])
        makes_track = np.concatenate([[False, False], np.ones(len(z_mm) - 2, bool)])
        n_particles = len(z_mm)
        order = rng.permutation(n_particles)
        unique_ids = rng.choice(np.arange(1, 10 * n_particles), n_particles, replace=False)
        z_mm, is_pu, makes_track = z_mm[order], is_pu[order], makes_track[order]

        track_rows = rng.permutation(np.flatnonzero(makes_track))
        n_tracks = len(track_rows)
        pt = rng.uniform(2.5, 40.0, n_tracks)  # all above the cut, and distinct
        events.append(
            {
                "track": {
                    "PT": pt.astype(np.float32),
                    "Eta": rng.uniform(-2.0, 2.0, n_tracks).astype(np.float32),
                    "Phi": rng.uniform(-np.pi, np.pi, n_tracks).astype(np.float32),
                    "DZ": (z_mm[track_rows] + rng.normal(0.0, 1.0, n_tracks)).astype(np.float32),
                    "Particle": unique_ids[track_rows].astype(np.uint32),
                },
                "particle": {
                    "fUniqueID": unique_ids.astype(np.uint32),
                    "IsPU": is_pu.astype(np.int32),
                    "Z": z_mm.astype(np.float32),
                },
                "label": (is_pu[track_rows] == 0).astype(np.int8),
                "z_true_cm": np.float32(z_true_mm) / 10.0,
            }
        )
    return events


def write_delphes_like(
    path: Path,
    events: list[dict[str, Any]],
    drop_track: tuple[str, ...] = (),
    drop_particle: tuple[str, ...] = (),
    rename_track: dict[str, str] | None = None,
    keep_particle: Any = None,
) -> Path:
    """Write events as a flat Delphes-like TTree named Delphes.

    `keep_particle(event)` returns a boolean mask of the particles to store, to leave
    referenced particles out. `rename_track` renames Track fields, e.g. DZ to Zd.
    """
    rename_track = rename_track or {}
    track: dict[str, list[np.ndarray]] = {}
    particle: dict[str, list[np.ndarray]] = {}
    for event in events:
        keep = keep_particle(event) if keep_particle else slice(None)
        for name, values in event["track"].items():
            if name not in drop_track:
                track.setdefault(rename_track.get(name, name), []).append(values)
        for name, values in event["particle"].items():
            if name not in drop_particle:
                particle.setdefault(name, []).append(values[keep])
    collections = {}
    if track:
        collections["Track"] = awkward.zip({k: awkward.Array(v) for k, v in track.items()})
    if particle:
        collections["Particle"] = awkward.zip({k: awkward.Array(v) for k, v in particle.items()})
    with uproot.recreate(path) as root_file:
        root_file.mktree(
            "Delphes",
            {name: array.type for name, array in collections.items()},
            field_name=lambda outer, inner: f"{outer}.{inner}",
            counter_name=lambda counted: f"{counted}_size",
        )
        root_file["Delphes"].extend(collections)
    return path


@pytest.fixture(scope="module")
def pileup_events() -> list[dict[str, Any]]:
    return make_events(seed=3)


@pytest.fixture(scope="module")
def pileup_file(tmp_path_factory: pytest.TempPathFactory, pileup_events: list) -> Path:
    return write_delphes_like(tmp_path_factory.mktemp("delphes") / "pileup.root", pileup_events)


def expected_by_pt(events: list[dict[str, Any]], key: str) -> dict[float, Any]:
    """Map each track's float32 pt, unique in these events, to a per-track value."""
    table = {}
    for event in events:
        values = event["label"] if key == "label" else event["track"][key]
        for pt, value in zip(event["track"]["PT"].tolist(), values.tolist(), strict=True):
            table[pt] = value
    return table


def test_written_file_layout(pileup_file: Path) -> None:
    with uproot.open(pileup_file) as root_file:
        names = [branch.name for branch in root_file["Delphes"].branches]
    assert "Track_size" in names
    assert "Track.Particle" in names
    assert "Particle.IsPU" in names


def test_written_file_labels(pileup_file: Path, pileup_events: list) -> None:
    tracks = delphes.read_delphes(pileup_file)
    expected = expected_by_pt(pileup_events, "label")
    labels = np.array([expected[float(np.float32(pt))] for pt in tracks.pt])
    np.testing.assert_array_equal(tracks.label, labels)
    assert 0 < tracks.label.mean() < 1


def test_written_file_keeps_selected_tracks(pileup_file: Path, pileup_events: list) -> None:
    tracks = delphes.read_delphes(pileup_file)
    # Every written track passes the pt and eta cuts, so only |z0| < 15 cm removes tracks.
    expected = [np.count_nonzero(np.abs(event["track"]["DZ"]) < 150.0) for event in pileup_events]
    np.testing.assert_array_equal(tracks.tracks_per_event(), expected)
    assert sum(expected) < sum(len(event["track"]["DZ"]) for event in pileup_events)


def test_written_file_units(pileup_file: Path, pileup_events: list) -> None:
    tracks = delphes.read_delphes(pileup_file)
    dz_mm = expected_by_pt(pileup_events, "DZ")
    expected = np.array([dz_mm[float(np.float32(pt))] for pt in tracks.pt]) / 10.0
    np.testing.assert_allclose(tracks.z0, expected, rtol=1e-12)
    z_true = [event["z_true_cm"] for event in pileup_events]
    np.testing.assert_allclose(tracks.z_true, z_true, rtol=1e-6)


def test_written_file_vertex(pileup_file: Path) -> None:
    tracks = delphes.read_delphes(pileup_file)
    # 30 hard-scatter tracks within 0.1 cm of the vertex outweigh 60 pile-up vertices of
    # 1-3 tracks each, so FastHisto finds every vertex.
    assert np.all(np.abs(tracks.z_pv - tracks.z_true) < 0.15)
    np.testing.assert_array_equal(tracks.dz, compute_dz(tracks.z0, tracks.event, tracks.z_pv))


def test_reader_shuffles_tracks(tmp_path: Path, pileup_events: list) -> None:
    # Delphes lists the hard-scatter tracks before the pile-up ones. The reader must not
    # keep that order, because a track's position would then give away its label.
    ordered = []
    for event in pileup_events:
        rows = np.argsort(-event["label"], kind="stable")
        track = {name: values[rows] for name, values in event["track"].items()}
        ordered.append(dict(event, track=track, label=event["label"][rows]))
    tracks = delphes.read_delphes(write_delphes_like(tmp_path / "ordered.root", ordered))
    for event in range(tracks.n_events):
        labels = tracks.label[tracks.event == event]
        assert np.any(np.diff(labels) > 0), event


def test_unstored_pileup_particles_raise(tmp_path: Path, pileup_events: list) -> None:
    path = write_delphes_like(
        tmp_path / "unstored.root",
        pileup_events,
        keep_particle=lambda event: event["particle"]["IsPU"] == 0,
    )
    with pytest.raises(DataFileError, match="not in the Particle branch") as caught:
        delphes.read_delphes(path)
    assert str(path) in str(caught.value)
    assert "unresolved_as_pileup=True" in str(caught.value)


def test_unstored_pileup_as_pileup(tmp_path: Path, pileup_events: list) -> None:
    path = write_delphes_like(
        tmp_path / "unstored.root",
        pileup_events,
        keep_particle=lambda event: event["particle"]["IsPU"] == 0,
    )
    tracks = delphes.read_delphes(path, unresolved_as_pileup=True)
    expected = expected_by_pt(pileup_events, "label")
    labels = np.array([expected[float(np.float32(pt))] for pt in tracks.pt])
    np.testing.assert_array_equal(tracks.label, labels)


def test_null_reference_raises(tmp_path: Path, pileup_events: list) -> None:
    events = [dict(event, track=dict(event["track"])) for event in pileup_events]
    references = events[2]["track"]["Particle"].copy()
    references[5] = 0
    events[2]["track"]["Particle"] = references
    path = write_delphes_like(tmp_path / "null.root", events)
    with pytest.raises(DataFileError, match="1 tracks have an empty Track.Particle reference"):
        delphes.read_delphes(path)


def test_duplicate_unique_id_raises(tmp_path: Path, pileup_events: list) -> None:
    events = [dict(event, particle=dict(event["particle"])) for event in pileup_events]
    unique_ids = events[1]["particle"]["fUniqueID"].copy()
    unique_ids[1] = unique_ids[0]
    events[1]["particle"]["fUniqueID"] = unique_ids
    path = write_delphes_like(tmp_path / "duplicate.root", events)
    with pytest.raises(DataFileError, match="event 1 has several particles with fUniqueID"):
        delphes.read_delphes(path)


def test_z0_from_zd_without_dz(tmp_path: Path, pileup_events: list) -> None:
    path = write_delphes_like(tmp_path / "zd.root", pileup_events, rename_track={"DZ": "Zd"})
    tracks = delphes.read_delphes(path)
    dz_mm = expected_by_pt(pileup_events, "DZ")
    expected = np.array([dz_mm[float(np.float32(pt))] for pt in tracks.pt]) / 10.0
    np.testing.assert_allclose(tracks.z0, expected, rtol=1e-12)


def test_z0_from_z_warns(
    tmp_path: Path, pileup_events: list, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_delphes_like(tmp_path / "z.root", pileup_events, rename_track={"DZ": "Z"})
    with caplog.at_level(logging.WARNING, logger="altmin_hls.data.delphes"):
        tracks = delphes.read_delphes(path)
    assert tracks.n_tracks > 0
    assert "production vertex Track.Z" in caplog.text


def test_vertex_without_hard_scatter_tracks(tmp_path: Path, pileup_events: list) -> None:
    # Event 0 keeps its hard-scatter particles but loses their tracks, so its vertex comes
    # from all its particles with IsPU == 0: two beam particles and 30 hard-scatter ones.
    events = list(pileup_events)
    pileup_rows = events[0]["label"] == 0
    track = {name: values[pileup_rows] for name, values in events[0]["track"].items()}
    events[0] = dict(events[0], track=track, label=events[0]["label"][pileup_rows])
    tracks = delphes.read_delphes(write_delphes_like(tmp_path / "no_hard_tracks.root", events))
    assert np.all(tracks.label[tracks.event == 0] == 0)
    assert tracks.z_true[0] == pytest.approx(events[0]["z_true_cm"], rel=1e-6)


def test_event_without_hard_scatter_raises(tmp_path: Path, pileup_events: list) -> None:
    path = write_delphes_like(
        tmp_path / "no_hard.root",
        pileup_events,
        keep_particle=lambda event: event["particle"]["IsPU"] != 0,
    )
    with pytest.raises(DataFileError, match="event 0 has no particle with IsPU == 0"):
        delphes.read_delphes(path, unresolved_as_pileup=True)


# Error cases


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.root"
    with pytest.raises(DataFileError, match="not found") as caught:
        delphes.read_delphes(path)
    assert str(path) in str(caught.value)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="is a folder") as caught:
        delphes.read_delphes(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_non_root_file(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("event,eta,phi,pt,z0,dz,label\n")
    with pytest.raises(DataFileError, match="not a ROOT file") as caught:
        delphes.read_delphes(path)
    assert str(path) in str(caught.value)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.root"
    path.write_bytes(b"")
    with pytest.raises(DataFileError, match="not a ROOT file"):
        delphes.read_delphes(path)


def test_truncated_root_file(tmp_path: Path, real_path: Path) -> None:
    path = tmp_path / "truncated.root"
    path.write_bytes(real_path.read_bytes()[:5000])
    with pytest.raises(DataFileError, match="cannot read the ROOT file") as caught:
        delphes.read_delphes(path)
    assert str(path) in str(caught.value)


def test_unknown_tree_lists_trees(real_path: Path) -> None:
    with pytest.raises(DataFileError, match="tree 'Events' not found") as caught:
        delphes.read_delphes(real_path, tree="Events")
    assert "'Delphes'" in str(caught.value)
    assert str(real_path) in str(caught.value)


def test_rntuple_is_not_a_tree(tmp_path: Path) -> None:
    path = tmp_path / "rntuple.root"
    with uproot.recreate(path) as root_file:
        # uproot 5.7 writes a dict of awkward arrays as an RNTuple.
        root_file["Delphes"] = {"Track": awkward.zip({"PT": awkward.Array([[3.0], [4.0]])})}
    with pytest.raises(DataFileError, match="not a TTree"):
        delphes.read_delphes(path)


def test_missing_track_branch_lists_branches(tmp_path: Path, pileup_events: list) -> None:
    path = write_delphes_like(
        tmp_path / "no_track.root",
        pileup_events,
        drop_track=("PT", "Eta", "Phi", "DZ", "Particle"),
    )
    with pytest.raises(DataFileError, match="has no Track branch") as caught:
        delphes.read_delphes(path)
    assert "Particle.IsPU" in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_track_field(tmp_path: Path, pileup_events: list) -> None:
    path = write_delphes_like(tmp_path / "no_eta.root", pileup_events, drop_track=("Eta",))
    with pytest.raises(DataFileError, match=r"lacks the fields Track\.Eta") as caught:
        delphes.read_delphes(path)
    assert str(path) in str(caught.value)


def test_missing_z0_field(tmp_path: Path, pileup_events: list) -> None:
    path = write_delphes_like(tmp_path / "no_dz.root", pileup_events, drop_track=("DZ",))
    with pytest.raises(DataFileError, match=r"Track\.DZ or Zd or Z"):
        delphes.read_delphes(path)


def test_missing_particle_field(tmp_path: Path, pileup_events: list) -> None:
    path = write_delphes_like(tmp_path / "no_ispu.root", pileup_events, drop_particle=("IsPU",))
    with pytest.raises(DataFileError, match=r"lacks the fields Particle\.IsPU"):
        delphes.read_delphes(path)


def test_missing_particle_branch(tmp_path: Path, pileup_events: list) -> None:
    path = write_delphes_like(
        tmp_path / "no_particle.root", pileup_events, drop_particle=("fUniqueID", "IsPU", "Z")
    )
    with pytest.raises(DataFileError, match="has no Particle branch"):
        delphes.read_delphes(path)
