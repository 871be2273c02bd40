"""Stream files of raw fixed-point tracks, and the result files of C-simulation.

A stream file contains one track per line, as whitespace-separated decimal integers::

    # altmin-hls track stream, format 1
    # input type: ap_fixed<16,6,AP_RND,AP_SAT>; columns: event label eta phi pt z0 dz
    0 0 -312 207 321 -38 5
    0 1 88 -1003 1021 11 0

``event`` is the event id. Ids never decrease, and a change of id is an event boundary.
``label`` is 1 for a hard-scatter track and 0 for pile-up. The five features are the raw
integers of the input type (the value times 2**fractional bits), so a reader never
rounds again. Lines starting with ``#`` are comments. Lines end with LF, and the
file ends with a newline.

``tb_data/`` of a project holds ``streams.txt`` (the stream files in order),
``initial_parameters.txt`` (one line, every parameter in firmware order),
``expected_scores.txt`` (``stream event score`` per track) and ``expected_weights.txt``
(``step tracks_seen parameters...`` after each weight step), written from the emulator.
C-simulation writes ``csim_scores.txt`` and ``csim_weights.txt`` in the same formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from altmin_hls.errors import DataFileError
from altmin_hls.features import FEATURE_NAMES
from altmin_hls.fixed import FixedType

FORMAT_LINE = "# altmin-hls track stream, format 1"
N_FEATURES = 5


@dataclass
class TrackStream:
    """Raw tracks of one stream: event ids (n,), labels (n,) and raw features (n, 5)."""

    event: np.ndarray
    label: np.ndarray
    features: np.ndarray

    def __len__(self) -> int:
        return len(self.label)


def write_stream(path: Path, stream: TrackStream, input_type: FixedType, note: str = "") -> None:
    """Write a stream file."""
    lines = [
        FORMAT_LINE,
        f"# input type: {input_type.cpp()}; columns: event label eta phi pt z0 dz",
    ]
    if note:
        lines.append(f"# {note}")
    table = np.column_stack([stream.event, stream.label, stream.features]).astype(np.int64)
    body = "\n".join(" ".join(str(v) for v in row) for row in table.tolist())
    Path(path).write_text("\n".join(lines) + "\n" + body + "\n")


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """Return the numbered non-comment lines of a text file, after checking its endings."""
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: file not found")
    data = path.read_bytes()
    if not data:
        raise DataFileError(f"{path}: the file is empty")
    if b"\r" in data:
        line = data[: data.index(b"\r")].count(b"\n") + 1
        raise DataFileError(
            f"{path}:{line}: CRLF or CR line ending; convert the file to LF endings "
            "(for example with dos2unix)"
        )
    if not data.endswith(b"\n"):
        line = data.count(b"\n") + 1
        raise DataFileError(
            f"{path}:{line}: the last line has no final newline, so the file may be truncated; "
            "regenerate it or check that it was copied whole"
        )
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFileError(f"{path}:{line}: non-ASCII byte; the file must hold decimal integers") from exc
    numbered = []
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            numbered.append((number, stripped))
    return numbered


_INTEGER = re.compile(r"[+-]?[0-9]+")
# Raw values of the largest type the emulator supports fit in 62 bits.
_MAX_MAGNITUDE = 2**62


def _parse_integers(path: Path, number: int, line: str, expected: int | None) -> list[int]:
    fields = line.split()
    if expected is not None and len(fields) != expected:
        raise DataFileError(f"{path}:{number}: expected {expected} columns, found {len(fields)}")
    values = []
    for field in fields:
        if _INTEGER.fullmatch(field) is None:
            raise DataFileError(
                f"{path}:{number}: '{field}' is not an integer; stream files contain raw "
                "fixed-point integers, not decimals (NaN and infinite values cannot occur in them)"
            )
        value = int(field)
        if abs(value) >= _MAX_MAGNITUDE:
            raise DataFileError(f"{path}:{number}: {field} is too large for any raw fixed-point value")
        values.append(value)
    return values


def read_stream(path: Path, input_type: FixedType) -> TrackStream:
    """Read and check a stream file; every problem raises DataFileError with file and line."""
    path = Path(path)
    numbered = _read_lines(path)
    if not numbered:
        raise DataFileError(f"{path}: no tracks in the stream (only comments or blank lines)")
    rows = [_parse_integers(path, n, line, 2 + N_FEATURES) for n, line in numbered]
    table = np.array(rows, dtype=np.int64)
    numbers = np.array([n for n, _ in numbered])
    labels = table[:, 1]
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        i = bad[0]
        raise DataFileError(f"{path}:{numbers[i]}: label {labels[i]} is not 0 or 1")
    decreasing = np.flatnonzero(np.diff(table[:, 0]) < 0)
    if decreasing.size:
        i = decreasing[0] + 1
        raise DataFileError(
            f"{path}:{numbers[i]}: event id {table[i, 0]} is lower than the one before; "
            "tracks of an event must be contiguous and events in increasing order"
        )
    features = table[:, 2:]
    out_of_range = (features < input_type.min_raw) | (features > input_type.max_raw)
    if out_of_range.any():
        i, f = np.argwhere(out_of_range)[0]
        raise DataFileError(
            f"{path}:{numbers[i]}: {FEATURE_NAMES[f]} raw value {features[i, f]} is outside "
            f"{input_type.cpp()} ({input_type.min_raw} to {input_type.max_raw})"
        )
    return TrackStream(event=table[:, 0], label=labels, features=features)


def read_stream_list(path: Path) -> list[str]:
    """Read ``streams.txt``: one stream file name per line, in streaming order."""
    return [line for _, line in _read_lines(path)]


def write_parameters(path: Path, vector: np.ndarray) -> None:
    """Write one line of raw parameters."""
    Path(path).write_text(" ".join(str(int(v)) for v in vector) + "\n")


def read_parameters(path: Path, n_parameters: int) -> np.ndarray:
    """Read one line of raw parameters."""
    numbered = _read_lines(path)
    if len(numbered) != 1:
        raise DataFileError(f"{path}: expected one line of parameters, found {len(numbered)}")
    number, line = numbered[0]
    return np.array(_parse_integers(path, number, line, n_parameters), dtype=np.int64)


def write_scores(path: Path, stream_index: np.ndarray, event: np.ndarray, scores: np.ndarray) -> None:
    """Write ``stream event score`` per track."""
    table = np.column_stack([stream_index, event, scores]).astype(np.int64)
    Path(path).write_text("".join(f"{a} {b} {c}\n" for a, b, c in table.tolist()))


def read_scores(path: Path) -> np.ndarray:
    """Read a scores file; return an int64 array (n, 3) of stream, event, score."""
    if not Path(path).is_file():
        raise DataFileError(f"{path}: file not found")
    numbered = _read_lines(path) if Path(path).stat().st_size else []
    rows = [_parse_integers(path, n, line, 3) for n, line in numbered]
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def write_weight_steps(path: Path, tracks_seen: list[int], snapshots: list[np.ndarray]) -> None:
    """Write ``step tracks_seen parameters...`` for each weight step, steps counted from 1."""
    lines = [
        f"{step} {seen} " + " ".join(str(int(v)) for v in vector) + "\n"
        for step, (seen, vector) in enumerate(zip(tracks_seen, snapshots), start=1)
    ]
    Path(path).write_text("".join(lines))


def read_weight_steps(path: Path, n_parameters: int) -> np.ndarray:
    """Read a weight-steps file; return an int64 array (steps, 2 + n_parameters)."""
    if not Path(path).is_file():
        raise DataFileError(f"{path}: file not found")
    numbered = _read_lines(path) if Path(path).stat().st_size else []
    rows = [_parse_integers(path, n, line, 2 + n_parameters) for n, line in numbered]
    return np.array(rows, dtype=np.int64).reshape(-1, 2 + n_parameters)
