"""Stream files: round trip, and a clear error for each kind of bad input."""

from pathlib import Path

import numpy as np
import pytest

from altmin_hls.errors import DataFileError
from altmin_hls.fixed import FixedType
from altmin_hls.hls import streams

INPUT = FixedType.parse("ap_fixed<16,6,AP_RND,AP_SAT>")
GOOD = "# comment\n0 0 1 2 3 4 5\n0 1 -6 7 -8 9 10\n1 0 0 0 0 0 0\n"


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "stream.txt"
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return path


def test_round_trip(tmp_path: Path):
    rng = np.random.default_rng(1)
    stream = streams.TrackStream(
        event=np.repeat(np.arange(4), 3),
        label=rng.integers(0, 2, 12),
        features=rng.integers(INPUT.min_raw, INPUT.max_raw + 1, (12, 5)),
    )
    path = tmp_path / "s.txt"
    streams.write_stream(path, stream, INPUT)
    back = streams.read_stream(path, INPUT)
    assert np.array_equal(back.event, stream.event)
    assert np.array_equal(back.label, stream.label)
    assert np.array_equal(back.features, stream.features)


def test_good_file_reads(tmp_path: Path):
    stream = streams.read_stream(write(tmp_path, GOOD), INPUT)
    assert len(stream) == 3
    assert stream.features[1].tolist() == [-6, 7, -8, 9, 10]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "is empty"),
        (b"# only a comment\n", "no tracks"),
        (GOOD.replace("\n", "\r\n").encode(), r":1: CRLF"),
        (GOOD.encode()[:-1], r":4: the last line has no final newline"),
        (b"0 0 1 2 3 4 5\n0 0 1 2 3\n", r":2: expected 7 columns, found 5"),
        (b"0 0 1 2 3 4 5 6\n", r":1: expected 7 columns, found 8"),
        (b"0 0 1 nan 3 4 5\n", r":1: 'nan' is not an integer"),
        (b"0 0 1 inf 3 4 5\n", r":1: 'inf' is not an integer"),
        (b"0 0 1 0.5 3 4 5\n", r":1: '0.5' is not an integer"),
        (b"0 2 1 2 3 4 5\n", r":1: label 2 is not 0 or 1"),
        (b"0 -1 1 2 3 4 5\n", r":1: label -1 is not 0 or 1"),
        (b"1 0 1 2 3 4 5\n0 0 1 2 3 4 5\n", r":2: event id 0 is lower"),
        (b"0 0 1 2 3 4 32768\n", r":1: dz raw value 32768 is outside"),
        (b"0 0 -32769 2 3 4 5\n", r":1: eta raw value -32769 is outside"),
        (b"0 0 1_0 2 3 4 5\n", r":1: '1_0' is not an integer"),
        (b"0 0 99999999999999999999 2 3 4 5\n", r":1: 99999999999999999999 is too large"),
        (b"0 0 1 2 3 4 5\n\xff\n", r":2: non-ASCII"),
    ],
)
def test_bad_stream_names_file_and_line(tmp_path: Path, text: bytes, message: str):
    path = write(tmp_path, text)
    with pytest.raises(DataFileError, match=message) as raised:
        streams.read_stream(path, INPUT)
    assert str(path) in str(raised.value)


def test_missing_stream_file(tmp_path: Path):
    with pytest.raises(DataFileError, match="file not found"):
        streams.read_stream(tmp_path / "absent.txt", INPUT)


def test_parameters_need_exact_count(tmp_path: Path):
    path = tmp_path / "p.txt"
    streams.write_parameters(path, np.arange(10))
    assert streams.read_parameters(path, 10).tolist() == list(range(10))
    with pytest.raises(DataFileError, match="expected 11 columns, found 10"):
        streams.read_parameters(path, 11)


def test_weight_steps_round_trip(tmp_path: Path):
    path = tmp_path / "w.txt"
    snapshots = [np.arange(4), np.arange(4) - 7]
    streams.write_weight_steps(path, [32, 64], snapshots)
    table = streams.read_weight_steps(path, 4)
    assert table[:, 0].tolist() == [1, 2]
    assert table[:, 1].tolist() == [32, 64]
    assert table[1, 2:].tolist() == [-7, -6, -5, -4]
