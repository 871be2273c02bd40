"""Event file round trip, and one test per input that the strict reader must reject."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from altmin_hls.data.eventfile import HEADER, read_events, write_events
from altmin_hls.data.parametric import generate_parametric
from altmin_hls.data.tracks import TrackSet
from altmin_hls.errors import DataFileError

METADATA = {"generator": "parametric", "seed": 12, "experience": 3, "step": 0.4}

# Line numbers of the file written by `small_file`: format line, 4 metadata lines, n_events,
# n_tracks, 3 vertex lines, then the header.
HEADER_LINE = 11
FIRST_ROW = 12


def small_tracks() -> TrackSet:
    """Return 3 events (the middle one without tracks) with 4 tracks."""
    z0 = np.array([0.25, -4.0, 3.5, 3.125])
    z_pv = np.array([0.125, 2.0, 3.25])
    event = np.array([0, 0, 2, 2])
    return TrackSet(
        event=event,
        eta=np.array([0.5, -1.25, 2.0, 0.1]),
        phi=np.array([-3.0, 1.5, 0.25, 3.1]),
        pt=np.array([2.5, 10.0, 2.125, 40.0]),
        z0=z0,
        dz=np.abs(z0 - z_pv[event]),
        label=np.array([1, 0, 1, 0]),
        z_pv=z_pv,
        z_true=np.array([0.1, 1.9, 3.3]),
    )


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.csv"
    write_events(path, small_tracks(), METADATA)
    return path


def replace_line(path: Path, line_no: int, text: str) -> None:
    lines = path.read_text().split("\n")
    lines[line_no - 1] = text
    path.write_text("\n".join(lines))


def reject(path: Path, line_no: int | None, fragment: str) -> str:
    """Read the file, expect DataFileError naming the file, line and problem; return it."""
    with pytest.raises(DataFileError) as caught:
        read_events(path)
    message = str(caught.value)
    where = f"{path}:{line_no}:" if line_no is not None else f"{path}:"
    assert message.startswith(where), message
    assert fragment in message, message
    return message


def test_layout(small_file: Path) -> None:
    lines = small_file.read_text().split("\n")
    assert lines[0] == "# altmin-hls events 1"
    assert lines[HEADER_LINE - 1] == HEADER
    assert lines[FIRST_ROW - 1] == "0,0.5,-3.0,2.5,0.25,0.125,1"
    assert lines[-1] == ""


def test_round_trip_is_exact(small_file: Path) -> None:
    tracks, metadata = read_events(small_file)
    assert tracks.equals(small_tracks())
    assert metadata == {**METADATA, "n_events": 3, "n_tracks": 4}


def test_round_trip_generated_events(tmp_path: Path) -> None:
    tracks = generate_parametric(20, seed=3)
    write_events(tmp_path / "gen.csv", tracks, {})
    assert read_events(tmp_path / "gen.csv")[0].equals(tracks)


def test_round_trip_without_tracks(tmp_path: Path) -> None:
    write_events(tmp_path / "empty.csv", TrackSet.empty(2), {})
    tracks, _ = read_events(tmp_path / "empty.csv")
    assert tracks.n_events == 2
    assert tracks.n_tracks == 0


def test_write_rejects_reserved_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reserved"):
        write_events(tmp_path / "x.csv", small_tracks(), {"n_events": 3})


def test_write_rejects_bad_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="key"):
        write_events(tmp_path / "x.csv", small_tracks(), {"two words": 1})


def test_write_rejects_nan_metadata(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON"):
        write_events(tmp_path / "x.csv", small_tracks(), {"step": float("nan")})


def test_missing_file(tmp_path: Path) -> None:
    reject(tmp_path / "absent.csv", None, "not found")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    reject(path, 1, "empty")


def test_missing_format_line(small_file: Path) -> None:
    lines = small_file.read_text().split("\n")
    small_file.write_text("\n".join(lines[1:]))
    reject(small_file, 1, "expected format line")


def test_header_only_file(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text(HEADER + "\n")
    reject(path, 1, "expected format line")


def test_wrong_header(small_file: Path) -> None:
    replace_line(small_file, HEADER_LINE, "event,eta,phi,pt,z0,label,dz")
    reject(small_file, HEADER_LINE, "expected header")


def test_missing_header(small_file: Path) -> None:
    lines = small_file.read_text().split("\n")
    del lines[HEADER_LINE - 1]
    small_file.write_text("\n".join(lines))
    reject(small_file, HEADER_LINE, "expected header")


def test_too_few_columns(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 1, "0,0.5,-3,2.5,0.25,1")
    reject(small_file, FIRST_ROW + 1, "expected 7 comma-separated values, found 6")


def test_too_many_columns(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW, "0,0.5,-3,2.5,0.25,0.125,1,7")
    reject(small_file, FIRST_ROW, "found 8")


def test_blank_row(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 2, "")
    reject(small_file, FIRST_ROW + 2, "found 1")


def test_comment_after_header(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 1, "# note")
    message = reject(small_file, FIRST_ROW + 1, "found 1")
    assert "only above the header" in message


def test_non_numeric_value(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW, "0,0.5,-3,abc,0.25,0.125,1")
    reject(small_file, FIRST_ROW, "column 'pt': value 'abc' is not a number")


def test_nan_value(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 1, "0,nan,1.5,10,-4,4.125,0")
    reject(small_file, FIRST_ROW + 1, "column 'eta': value 'nan' is not finite")


def test_infinite_value(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 1, "0,-1.25,1.5,10,-inf,4.125,0")
    reject(small_file, FIRST_ROW + 1, "column 'z0': value '-inf' is not finite")


def test_non_integer_event(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW, "0.0,0.5,-3,2.5,0.25,0.125,1")
    reject(small_file, FIRST_ROW, "column 'event': value '0.0' is not an integer")


def test_huge_event_id(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 3, "99999999999999999999,0.1,3.1,40,3.125,0.125,0")
    reject(small_file, FIRST_ROW + 3, "is out of range")


def test_crlf_line_endings(small_file: Path) -> None:
    small_file.write_bytes(small_file.read_bytes().replace(b"\n", b"\r\n"))
    reject(small_file, 1, "CR character")


def test_single_cr_reports_its_line(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 2, "2,2,0.25,2.125,3.5,0.25,1\r")
    reject(small_file, FIRST_ROW + 2, "CR character")


def test_missing_final_newline(small_file: Path) -> None:
    small_file.write_bytes(small_file.read_bytes()[:-1])
    reject(small_file, FIRST_ROW + 3, "may be truncated")


def test_truncated_at_line_end(small_file: Path) -> None:
    lines = small_file.read_text().split("\n")
    small_file.write_text("\n".join(lines[:-2]) + "\n")
    reject(small_file, FIRST_ROW + 2, "found 3 track rows but n_tracks is 4")


def test_label_other_than_0_and_1(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 3, "2,0.1,3.1,40,3.125,0.125,2")
    reject(small_file, FIRST_ROW + 3, "label 2 is not 0 or 1")


def test_negative_label(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW, "0,0.5,-3,2.5,0.25,0.125,-1")
    reject(small_file, FIRST_ROW, "label -1 is not 0 or 1")


def test_decreasing_event_ids(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 3, "1,0.1,3.1,40,3.125,1.125,0")
    reject(small_file, FIRST_ROW + 3, "event id 1 follows event id 2")


def test_event_id_beyond_n_events(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 3, "3,0.1,3.1,40,3.125,0.125,0")
    reject(small_file, FIRST_ROW + 3, "event id 3 is outside [0, 3)")


def test_zero_pt(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 1, "0,-1.25,1.5,0,-4,4.125,0")
    reject(small_file, FIRST_ROW + 1, "pt 0.0 is not positive")


def test_negative_pt(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 1, "0,-1.25,1.5,-10,-4,4.125,0")
    reject(small_file, FIRST_ROW + 1, "pt -10.0 is not positive")


def test_inconsistent_dz(small_file: Path) -> None:
    replace_line(small_file, FIRST_ROW + 1, "0,-1.25,1.5,10,-4,4.5,0")
    reject(small_file, FIRST_ROW + 1, "differs from |z0 - z_pv|")


def test_invalid_metadata_json(small_file: Path) -> None:
    replace_line(small_file, 2, "# generator: parametric")
    reject(small_file, 2, "not valid JSON")


def test_nan_metadata_value(small_file: Path) -> None:
    replace_line(small_file, 5, "# step: NaN")
    reject(small_file, 5, "not valid JSON")


def test_malformed_comment_line(small_file: Path) -> None:
    replace_line(small_file, 3, "# just a note")
    reject(small_file, 3, "malformed comment line")


def test_duplicate_metadata_key(small_file: Path) -> None:
    replace_line(small_file, 3, '# generator: "pythia"')
    reject(small_file, 3, "appears twice")


def test_missing_n_tracks(small_file: Path) -> None:
    lines = small_file.read_text().split("\n")
    del lines[6]
    small_file.write_text("\n".join(lines))
    reject(small_file, 7, "'# n_tracks: ...' is missing")


def test_negative_n_events(small_file: Path) -> None:
    replace_line(small_file, 6, "# n_events: -1")
    reject(small_file, 6, "n_events must be a non-negative integer")


def test_non_integer_n_tracks(small_file: Path) -> None:
    replace_line(small_file, 7, "# n_tracks: 4.0")
    reject(small_file, 7, "n_tracks must be a non-negative integer, got 4.0")


def test_extra_row(small_file: Path) -> None:
    with small_file.open("a") as handle:
        handle.write("2,0.1,3.1,40.0,3.125,0.125,0\n")
    reject(small_file, FIRST_ROW + 4, "found 5 track rows but n_tracks is 4")


def test_huge_n_events(small_file: Path) -> None:
    replace_line(small_file, 6, "# n_events: 1000000000000")
    reject(small_file, FIRST_ROW + 3, "only 8 lines follow the metadata")


def test_missing_vertex_line(small_file: Path) -> None:
    lines = small_file.read_text().split("\n")
    del lines[9]
    small_file.write_text("\n".join(lines))
    reject(small_file, 10, "expected vertex line 2 of 3")


def test_extra_vertex_line(small_file: Path) -> None:
    replace_line(small_file, 6, "# n_events: 2")
    reject(small_file, 10, "more vertex lines than n_events = 2")


def test_vertex_line_out_of_order(small_file: Path) -> None:
    replace_line(small_file, 9, "# vertex: 2,2,1.9")
    reject(small_file, 9, "vertex line is for event 2, expected 1")


def test_non_numeric_vertex(small_file: Path) -> None:
    replace_line(small_file, 8, "# vertex: 0,zero,0.1")
    reject(small_file, 8, "column 'z_pv': value 'zero' is not a number")


def test_invalid_utf8(small_file: Path) -> None:
    data = small_file.read_bytes().replace(b'"parametric"', b'"param\xffetric"')
    small_file.write_bytes(data)
    reject(small_file, 2, "invalid UTF-8")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    reject(tmp_path, None, "is a folder")
