"""Text file format for L1 track events, with a strict reader.

One UTF-8 file per TrackSet, with LF line endings and a final newline:

    # altmin-hls events 1
    # generator: "parametric"
    # seed: 1234
    # experience: 0
    # n_events: 2
    # n_tracks: 3
    # vertex: 0,0.1171875,0.1093
    # vertex: 1,-3.28125,-3.3012
    event,eta,phi,pt,z0,dz,label
    0,0.52,-1.3,4.1,0.125,0.0078125,1
    0,-1.9,2.8,2.2,4.9,4.7828125,0
    1,1.1,0.4,3.3,-3.27,0.01125,1

Line 1 contains the format name and version. Metadata lines follow as `# key: value`, where the
key matches [A-Za-z_][A-Za-z0-9_]* and the value is JSON. `n_events` and `n_tracks` are
required and are written by `write_events`. Then come exactly n_events vertex lines
`# vertex: event,z_pv,z_true` for events 0, 1, ... in order, so events without tracks keep
their vertices. The CSV header line follows, then one row per track: the event id and label
as integers, the other columns as decimal floats. The writer uses Python's shortest
round-trip float repr, so values survive a round trip bit for bit. Comment lines are
allowed only above the header.

`read_events` raises DataFileError on anything else. The message names the file and the
1-based line number (except for a missing or unreadable file), states what is wrong and how
to fix it. Rejected are: a missing or empty file, CR characters (CRLF line endings), a
missing final newline (the file may be truncated), a missing or unknown format line,
malformed metadata or vertex lines, a wrong header, a wrong number of columns,
non-numeric, NaN or infinite values, non-integer event ids or labels, labels other than 0
and 1, event ids that decrease or lie outside [0, n_events), pt <= 0, dz that differs from
|z0 - z_pv| by more than 1e-4 cm, and a row count that differs from n_tracks. Nothing is
dropped or filled in.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from altmin_hls.data.atomic import atomic_write
from altmin_hls.data.tracks import TrackSet
from altmin_hls.errors import DataFileError

logger = logging.getLogger(__name__)

FORMAT_LINE = "# altmin-hls events 1"
HEADER = "event,eta,phi,pt,z0,dz,label"
COLUMNS = tuple(HEADER.split(","))
RESERVED_KEYS = ("n_events", "n_tracks", "vertex")
DZ_TOLERANCE_CM = 1e-4
"""Largest accepted difference between a stored dz and |z0 - z_pv| (1 micron)."""

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def write_events(path: str | os.PathLike[str], tracks: TrackSet, metadata: dict[str, Any]) -> None:
    """Write tracks and metadata to a text event file, replacing any existing file.

    Metadata keys must match [A-Za-z_][A-Za-z0-9_]* and must not be one of n_events,
    n_tracks or vertex. Values must be JSON-serialisable. The file is written to a temporary
    name and renamed, so an interrupted write leaves no partial file behind.
    """
    path = Path(path)
    lines = [FORMAT_LINE]
    for key, value in metadata.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            raise ValueError(f"metadata key {key!r} must match [A-Za-z_][A-Za-z0-9_]*")
        if key in RESERVED_KEYS:
            raise ValueError(f"metadata key {key!r} is reserved; write_events sets it")
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"metadata value of {key!r} is not JSON-serialisable: {error}"
            ) from error
        lines.append(f"# {key}: {text}")
    lines.append(f"# n_events: {tracks.n_events}")
    lines.append(f"# n_tracks: {tracks.n_tracks}")

    # repr gives the shortest text that reads back to the same float64.
    for event, (z_pv, z_true) in enumerate(
        zip(tracks.z_pv.tolist(), tracks.z_true.tolist(), strict=True)
    ):
        lines.append(f"# vertex: {event},{z_pv!r},{z_true!r}")
    lines.append(HEADER)
    columns = (tracks.event, tracks.eta, tracks.phi, tracks.pt, tracks.z0, tracks.dz)
    for event, eta, phi, pt, z0, dz, label in zip(
        *(c.tolist() for c in columns), tracks.label.tolist(), strict=True
    ):
        lines.append(f"{event},{eta!r},{phi!r},{pt!r},{z0!r},{dz!r},{label}")
    text = "\n".join(lines) + "\n"

    with atomic_write(path) as handle:
        handle.write(text)
    logger.debug("wrote %d events, %d tracks to %s", tracks.n_events, tracks.n_tracks, path)


def read_events(path: str | os.PathLike[str]) -> tuple[TrackSet, dict[str, Any]]:
    """Read a text event file and return its tracks and its metadata.

    The metadata dict contains every `# key: value` line, n_events and n_tracks included, but
    not the vertex lines, whose values are in the TrackSet. Raises DataFileError naming the
    file and line on any deviation from the format in this module's docstring.
    """
    path = Path(path)
    lines = _read_lines(path)
    metadata, n_events, n_tracks, line_index = _parse_preamble(path, lines)
    z_pv, z_true, line_index = _parse_vertices(path, lines, line_index, n_events)

    if line_index >= len(lines):
        raise _error(
            path,
            len(lines),
            f"header {HEADER!r} is missing after the vertex lines",
            "Add the header line above the track rows.",
        )
    if lines[line_index] != HEADER:
        raise _error(
            path,
            line_index + 1,
            f"expected header {HEADER!r}, found {_excerpt(lines[line_index])}",
            "Fix the header line.",
        )
    first_row = line_index + 1
    rows = lines[first_row:]
    if len(rows) < n_tracks:
        raise _error(
            path,
            len(lines),
            f"found {len(rows)} track rows but n_tracks is {n_tracks}",
            "The file may be truncated, so write it again.",
        )
    if len(rows) > n_tracks:
        raise _error(
            path,
            first_row + n_tracks + 1,
            f"found {len(rows)} track rows but n_tracks is {n_tracks}",
            "Remove the extra rows or fix the n_tracks line.",
        )

    columns = _parse_rows(path, rows, first_row + 1)
    _check_rows(path, columns, z_pv, first_row + 1)
    tracks = TrackSet(
        event=columns["event"],
        eta=columns["eta"],
        phi=columns["phi"],
        pt=columns["pt"],
        z0=columns["z0"],
        dz=columns["dz"],
        label=columns["label"],
        z_pv=z_pv,
        z_true=z_true,
    )
    return tracks, metadata


def _error(path: Path, line: int | None, problem: str, fix: str) -> DataFileError:
    where = f"{path}:{line}" if line is not None else str(path)
    return DataFileError(f"{where}: {problem}. {fix}")


def _excerpt(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _read_lines(path: Path) -> list[str]:
    """Read the file as UTF-8 and split it into lines, rejecting CR and a missing final LF."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _error(path, None, "event file not found", "Check the path.") from None
    except IsADirectoryError:
        raise _error(path, None, "is a folder, not an event file", "Check the path.") from None
    except OSError as error:
        raise _error(
            path, None, f"cannot read the event file ({error.strerror})", "Check its permissions."
        ) from error
    if not data:
        raise _error(path, 1, "event file is empty", "Write it again with write_events.")
    carriage_return = data.find(b"\r")
    if carriage_return >= 0:
        line = data.count(b"\n", 0, carriage_return) + 1
        raise _error(
            path,
            line,
            "contains a CR character (CRLF line endings?)",
            "Convert the file to LF line endings, for example with dos2unix.",
        )
    if not data.endswith(b"\n"):
        raise _error(
            path,
            data.count(b"\n") + 1,
            "last line does not end with a newline, so the file may be truncated",
            "Write the file again.",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _error(
            path, line, f"invalid UTF-8 byte at offset {error.start}", "Save the file as UTF-8."
        ) from None
    return text[:-1].split("\n")


def _parse_preamble(path: Path, lines: list[str]) -> tuple[dict[str, Any], int, int, int]:
    """Parse the format line and metadata lines, returning the index of the next line."""
    if lines[0] != FORMAT_LINE:
        raise _error(
            path,
            1,
            f"expected format line {FORMAT_LINE!r}, found {_excerpt(lines[0])}",
            "Only files from write_events are supported.",
        )
    metadata: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    index = 1
    while index < len(lines) and lines[index].startswith("#"):
        line = lines[index]
        if not line.startswith("# ") or ": " not in line:
            raise _error(
                path,
                index + 1,
                f"malformed comment line {_excerpt(line)}",
                "Write metadata as '# key: JSON value'.",
            )
        key, value_text = line[2:].split(": ", 1)
        if key == "vertex":
            break
        if not _KEY.fullmatch(key):
            raise _error(
                path,
                index + 1,
                f"invalid metadata key {key!r}",
                "Keys must match [A-Za-z_][A-Za-z0-9_]*.",
            )
        if key in metadata:
            raise _error(
                path, index + 1, f"metadata key {key!r} appears twice", "Keep one line per key."
            )
        try:
            metadata[key] = json.loads(value_text, parse_constant=_reject_constant)
        except ValueError as error:
            raise _error(
                path,
                index + 1,
                f"metadata value of {key!r} is not valid JSON ({error})",
                'Write the value as JSON, e.g. 12 or "text".',
            ) from None
        key_lines[key] = index + 1
        index += 1

    for key in ("n_events", "n_tracks"):
        value = metadata.get(key)
        if key not in metadata:
            raise _error(
                path,
                index + 1,
                f"metadata line '# {key}: ...' is missing above this line",
                f"Add the {key} line.",
            )
        if type(value) is not int or value < 0:
            raise _error(
                path,
                key_lines[key],
                f"{key} must be a non-negative integer, got {value!r}",
                f"Fix the {key} line.",
            )
    return metadata, metadata["n_events"], metadata["n_tracks"], index


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def _parse_vertices(
    path: Path, lines: list[str], index: int, n_events: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Parse n_events vertex lines starting at lines[index]."""
    if n_events > len(lines) - index:
        raise _error(
            path,
            len(lines),
            f"n_events is {n_events} but only {len(lines) - index} lines follow the metadata",
            "The file may be truncated, so write it again.",
        )
    z_pv = np.zeros(n_events)
    z_true = np.zeros(n_events)
    for event in range(n_events):
        line_no = index + event + 1
        line = lines[index + event] if index + event < len(lines) else ""
        if not line.startswith("# vertex: "):
            raise _error(
                path,
                line_no,
                f"expected vertex line {event} of {n_events} "
                f"('# vertex: {event},z_pv,z_true'), found {_excerpt(line)}",
                "Every event needs one vertex line, in event order.",
            )
        fields = line[len("# vertex: ") :].split(",")
        if len(fields) != 3:
            raise _error(
                path,
                line_no,
                f"vertex line has {len(fields)} values, expected 3 (event,z_pv,z_true)",
                "Fix the vertex line.",
            )
        number = _parse_int(path, line_no, "vertex event", fields[0])
        if number != event:
            raise _error(
                path,
                line_no,
                f"vertex line is for event {number}, expected {event}",
                "Vertex lines must list events 0, 1, ... in order.",
            )
        z_pv[event] = _parse_float(path, line_no, "z_pv", fields[1])
        z_true[event] = _parse_float(path, line_no, "z_true", fields[2])
    index += n_events
    if index < len(lines) and lines[index].startswith("# vertex: "):
        raise _error(
            path,
            index + 1,
            f"more vertex lines than n_events = {n_events}",
            "Fix n_events or remove the extra vertex lines.",
        )
    return z_pv, z_true, index


def _parse_float(path: Path, line_no: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _error(
            path,
            line_no,
            f"column {column!r}: value {_excerpt(text)} is not a number",
            "Write a decimal number.",
        ) from None
    if not math.isfinite(value):
        raise _error(
            path,
            line_no,
            f"column {column!r}: value {_excerpt(text)} is not finite",
            "NaN and infinity are not allowed; fix or remove the row.",
        )
    return value


def _parse_int(path: Path, line_no: int, column: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise _error(
            path,
            line_no,
            f"column {column!r}: value {_excerpt(text)} is not an integer",
            "Write a whole number such as 0 or 12.",
        ) from None
    if abs(value) >= 2**62:
        raise _error(
            path,
            line_no,
            f"column {column!r}: value {_excerpt(text)} is out of range",
            "Write a whole number below 2^62 in magnitude.",
        )
    return value


def _parse_rows(path: Path, rows: list[str], first_line_no: int) -> dict[str, np.ndarray]:
    """Parse track rows into column arrays, checking column count and number syntax."""
    n = len(rows)
    event = np.empty(n, dtype=np.int64)
    label = np.empty(n, dtype=np.int64)
    floats = np.empty((n, 5))
    for i, row in enumerate(rows):
        fields = row.split(",")
        line_no = first_line_no + i
        if len(fields) != len(COLUMNS):
            hint = (
                "Comments are allowed only above the header."
                if row.startswith("#")
                else f"Each row needs the columns {HEADER}."
            )
            raise _error(
                path,
                line_no,
                f"expected {len(COLUMNS)} comma-separated values, found {len(fields)}",
                hint,
            )
        event[i] = _parse_int(path, line_no, "event", fields[0])
        for j in range(5):
            floats[i, j] = _parse_float(path, line_no, COLUMNS[j + 1], fields[j + 1])
        label[i] = _parse_int(path, line_no, "label", fields[6])
    return {
        "event": event,
        "eta": floats[:, 0],
        "phi": floats[:, 1],
        "pt": floats[:, 2],
        "z0": floats[:, 3],
        "dz": floats[:, 4],
        "label": label,
    }


def _check_rows(
    path: Path, columns: dict[str, np.ndarray], z_pv: np.ndarray, first_line_no: int
) -> None:
    """Check labels, event order and range, pt and dz, in that order.

    Each check raises on its own first failing row.
    """
    event, label, pt = columns["event"], columns["label"], columns["pt"]
    n_events = len(z_pv)

    def first_index(mask: np.ndarray) -> int | None:
        return int(np.argmax(mask)) if mask.any() else None

    bad = first_index((label != 0) & (label != 1))
    if bad is not None:
        raise _error(
            path,
            first_line_no + bad,
            f"label {label[bad]} is not 0 or 1",
            "Use 1 for hard-scatter and 0 for pile-up tracks.",
        )
    bad = first_index(np.diff(event) < 0)
    if bad is not None:
        raise _error(
            path,
            first_line_no + bad + 1,
            f"event id {event[bad + 1]} follows event id {event[bad]}",
            "Sort the rows by event id.",
        )
    bad = first_index((event < 0) | (event >= n_events))
    if bad is not None:
        raise _error(
            path,
            first_line_no + bad,
            f"event id {event[bad]} is outside [0, {n_events})",
            "Fix the event id or n_events and the vertex lines.",
        )
    bad = first_index(pt <= 0.0)
    if bad is not None:
        raise _error(
            path,
            first_line_no + bad,
            f"pt {float(pt[bad])!r} is not positive",
            "Pt must be > 0 GeV.",
        )
    if len(event):
        expected = np.abs(columns["z0"] - z_pv[event])
        bad = first_index(np.abs(columns["dz"] - expected) > DZ_TOLERANCE_CM)
        if bad is not None:
            raise _error(
                path,
                first_line_no + bad,
                f"dz {float(columns['dz'][bad])!r} differs from "
                f"|z0 - z_pv| = {float(expected[bad])!r} of event {event[bad]}",
                "Recompute dz from z0 and the vertex line.",
            )
