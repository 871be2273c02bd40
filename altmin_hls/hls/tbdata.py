"""Write a project's ``tb_data/`` from track streams, with the emulator's expected results."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from altmin_hls.config import Config
from altmin_hls.emulator.datapath import Datapath
from altmin_hls.emulator.emulator import Emulator, FixedParameters
from altmin_hls.hls import streams as files


@dataclass
class ExpectedResults:
    """Scores and weight steps that the emulator computed for a sequence of streams."""

    scores: list[np.ndarray]  # raw scores, one array per stream
    tracks_seen: list[int] = field(default_factory=list)  # tracks before each weight step
    snapshots: list[np.ndarray] = field(default_factory=list)  # parameters after each step
    final: FixedParameters | None = None


def emulate_streams(
    config: Config, initial: FixedParameters, streams: list[files.TrackStream], learn: bool = True
) -> ExpectedResults:
    """Run the emulator over the streams in order, as the testbench does."""
    emulator = Emulator(Datapath.from_config(config), initial)
    results = ExpectedResults(scores=[])
    seen = 0
    for stream in streams:
        run = emulator.stream(stream.features, stream.label, learn=learn)
        results.scores.append(run.scores)
        results.snapshots += run.snapshots
        results.tracks_seen += [seen + n for n in run.snapshot_tracks]
        seen += len(stream)
    results.final = emulator.parameters.copy()
    return results


def write_tb_data(
    project: Path,
    config: Config,
    initial: FixedParameters,
    streams: list[files.TrackStream],
    names: list[str],
    learn: bool = True,
) -> ExpectedResults:
    """Write the streams, the initial parameters and the expected results into tb_data/."""
    if len(names) != len(streams):
        raise ValueError("one file name per stream is required")
    tb_data = Path(project) / "tb_data"
    tb_data.mkdir(parents=True, exist_ok=True)
    input_type = config.precision.input
    for name, stream in zip(names, streams):
        files.write_stream(tb_data / name, stream, input_type)
    (tb_data / "streams.txt").write_text("".join(f"{name}\n" for name in names))
    files.write_parameters(tb_data / "initial_parameters.txt", initial.to_vector())

    expected = emulate_streams(config, initial, streams, learn)
    stream_index = np.concatenate([np.full(len(s), i) for i, s in enumerate(streams)])
    events = np.concatenate([s.event for s in streams])
    files.write_scores(tb_data / "expected_scores.txt", stream_index, events, np.concatenate(expected.scores))
    files.write_weight_steps(tb_data / "expected_weights.txt", expected.tracks_seen, expected.snapshots)
    return expected
