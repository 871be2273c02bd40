"""TrackSet construction, validation, selection and concatenation."""

from __future__ import annotations

import numpy as np
import pytest

from altmin_hls.data.tracks import TrackSet


def make_set(event: list[int], n_events: int) -> TrackSet:
    n = len(event)
    values = np.arange(n, dtype=np.float64)
    return TrackSet(
        event=np.array(event),
        eta=values * 0.1,
        phi=values * 0.2,
        pt=2.0 + values,
        z0=values * 0.3,
        dz=values * 0.4,
        label=np.array([i % 2 for i in range(n)]),
        z_pv=np.arange(n_events, dtype=np.float64),
        z_true=np.arange(n_events, dtype=np.float64) + 0.5,
    )


def test_dtypes_are_converted() -> None:
    tracks = make_set([0, 0, 1], 2)
    assert tracks.event.dtype == np.int64
    assert tracks.label.dtype == np.int8
    assert tracks.pt.dtype == np.float64


def test_counts() -> None:
    tracks = make_set([0, 0, 2], 4)
    assert tracks.n_tracks == 3
    assert tracks.n_events == 4
    np.testing.assert_array_equal(tracks.tracks_per_event(), [2, 0, 1, 0])


def test_features_column_order() -> None:
    tracks = make_set([0, 1], 2)
    features = tracks.features()
    assert features.shape == (2, 5)
    assert features.dtype == np.float64
    np.testing.assert_array_equal(features[1], [0.1, 0.2, 3.0, 0.3, 0.4])


def test_length_mismatch_raises() -> None:
    tracks = make_set([0, 1], 2)
    with pytest.raises(ValueError, match="'pt' has 1 entries"):
        TrackSet(**{**vars(tracks), "pt": np.array([2.0])})


def test_per_event_length_mismatch_raises() -> None:
    tracks = make_set([0, 1], 2)
    with pytest.raises(ValueError, match="'z_true' has 3 entries"):
        TrackSet(**{**vars(tracks), "z_true": np.zeros(3)})


def test_decreasing_events_raise() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        make_set([1, 0], 2)


def test_event_out_of_range_raises() -> None:
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        make_set([0, 2], 2)


def test_bad_label_raises() -> None:
    tracks = make_set([0, 1], 2)
    with pytest.raises(ValueError, match="labels"):
        TrackSet(**{**vars(tracks), "label": np.array([0, 2])})


def test_label_that_wraps_in_int8_raises() -> None:
    tracks = make_set([0, 1], 2)
    with pytest.raises(ValueError, match="labels"):
        TrackSet(**{**vars(tracks), "label": np.array([0, 257])})


def test_non_integer_event_raises() -> None:
    tracks = make_set([0, 1], 2)
    with pytest.raises(ValueError, match="integers"):
        TrackSet(**{**vars(tracks), "event": np.array([0.0, 0.5])})


def test_select_keeps_events() -> None:
    tracks = make_set([0, 0, 1], 3)
    chosen = tracks.select(np.array([True, False, True]))
    np.testing.assert_array_equal(chosen.event, [0, 1])
    np.testing.assert_array_equal(chosen.pt, [2.0, 4.0])
    assert chosen.n_events == 3


def test_select_rejects_index_array() -> None:
    tracks = make_set([0, 0, 1], 2)
    with pytest.raises(ValueError, match="boolean mask"):
        tracks.select(np.array([0, 2]))


def test_concat_renumbers_events() -> None:
    first = make_set([0, 1], 3)
    second = make_set([0, 0], 2)
    joined = TrackSet.concat([first, second])
    np.testing.assert_array_equal(joined.event, [0, 1, 3, 3])
    assert joined.n_events == 5
    np.testing.assert_array_equal(joined.z_pv, [0, 1, 2, 0, 1])


def test_concat_of_nothing_is_empty() -> None:
    empty = TrackSet.concat([])
    assert empty.n_tracks == 0
    assert empty.n_events == 0


def test_equals() -> None:
    assert make_set([0, 1], 2).equals(make_set([0, 1], 2))
    assert not make_set([0, 1], 2).equals(make_set([0, 0], 2))
