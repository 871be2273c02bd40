"""C-simulation of the generated project against the emulator, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from altmin_hls import pipeline
from altmin_hls.emulator.emulator import FixedParameters
from altmin_hls.errors import BuildError, DataFileError, MismatchError
from altmin_hls.hls import csim
from altmin_hls.hls import streams as stream_files
from altmin_hls.hls.tbdata import write_tb_data

pytestmark = pytest.mark.slow


def test_learning_stream_is_bit_exact(small_project):
    comparison = pipeline.run_csim(small_project.config, small_project.workspace, small_project.expected)
    n_tracks = sum(len(s) for s in comparison.scores)
    assert n_tracks >= 10_000
    assert comparison.testbench_passed
    assert all(comparison.scores_exact)
    assert comparison.weights_exact
    assert comparison.weight_steps == n_tracks // small_project.config.batch_size
    pipeline.check_bit_exact(comparison)


def test_every_track_gets_a_score(small_project):
    comparison = pipeline.run_csim(small_project.config, small_project.workspace, small_project.expected)
    for tracks, scores in zip(small_project.sets[1:], comparison.scores):
        assert len(scores) == tracks.n_tracks


def _flip_bit(path: Path, line_index: int, column: int, bit: int) -> None:
    lines = path.read_text().splitlines()
    fields = lines[line_index].split()
    fields[column] = str(int(fields[column]) ^ (1 << bit))
    lines[line_index] = " ".join(fields)
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("bit", [0, 9])
def test_flipped_weight_bit_fails(small_project, tmp_path: Path, bit: int):
    project = small_project.copy_to(tmp_path)
    # Step 5, parameter 100: the column after "step tracks_seen".
    _flip_bit(project / "tb_data" / "expected_weights.txt", 4, 2 + 100, bit)
    outcome = csim.run(project, small_project.binary)
    assert not outcome.passed
    assert "weights" in outcome.log_path.read_text()
    assert "MISMATCH weights line 5" in outcome.log_path.read_text()


def test_flipped_weight_bit_fails_python_check(small_project, tmp_path: Path):
    expected = small_project.expected
    snapshots = [s.copy() for s in expected.snapshots]
    snapshots[3][7] ^= 1
    altered = type(expected)(expected.scores, list(expected.tracks_seen), snapshots, expected.final)
    workspace = pipeline.Workspace(tmp_path)
    small_project.copy_to(tmp_path)
    comparison = pipeline.run_csim(small_project.config, workspace, altered)
    assert not comparison.weights_exact
    with pytest.raises(MismatchError, match="weights differ"):
        pipeline.check_bit_exact(comparison)


def test_flipped_score_bit_fails(small_project, tmp_path: Path):
    project = small_project.copy_to(tmp_path)
    _flip_bit(project / "tb_data" / "expected_scores.txt", 1234, 2, 0)
    outcome = csim.run(project, small_project.binary)
    assert not outcome.passed
    assert "MISMATCH scores line 1235" in outcome.log_path.read_text()


def test_inference_mode_is_bit_exact(small_project, tmp_path: Path):
    project = small_project.copy_to(tmp_path)
    config = small_project.config
    streams = [pipeline.to_stream(tracks, config) for tracks in small_project.sets[1:3]]
    initial = FixedParameters.from_mlp(small_project.model, pipeline.Datapath.from_config(config))
    expected = write_tb_data(project, config, initial, streams, ["a.txt", "b.txt"], learn=False)
    assert expected.snapshots == []
    outcome = csim.run(project, small_project.binary, learn=False)
    assert outcome.passed, outcome.log_path.read_text()
    table = stream_files.read_scores(outcome.scores_path)
    assert np.array_equal(table[:, 2], np.concatenate(expected.scores))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("9999 0 1 2 3 4\n", "expected 7 integers"),
        ("9999 0 1 2 3 4 nan\n", "not an integer: 'nan'"),
        ("9999 3 1 2 3 4 5\n", "label must be 0 or 1"),
        ("9999 0 1 2 3 4 99999\n", "does not fit 16 bits"),
        ("9999 0 1 2 3 4 5\r\n", "CRLF"),
        ("9999 0 1 2 3 4 5", "no final newline"),
        ("9999 0 1_0 2 3 4 5\n", "not an integer: '1_0'"),
    ],
)
def test_testbench_rejects_bad_stream(small_project, tmp_path: Path, line: str, message: str):
    project = small_project.copy_to(tmp_path)
    stream = project / "tb_data" / "experience_01.txt"
    with stream.open("a", newline="") as handle:
        handle.write(line)
    with pytest.raises(DataFileError, match=message):
        csim.run(project, small_project.binary)


def test_compile_error_shows_log_tail(small_project, tmp_path: Path):
    project = small_project.copy_to(tmp_path)
    top = project / "firmware" / f"{small_project.config.name}.cpp"
    top.write_text(top.read_text() + "\nthis is not C++;\n")
    with pytest.raises(BuildError, match=r"(?s)g\+\+ failed.*Last lines:.*this is not C\+\+"):
        csim.build(project)
